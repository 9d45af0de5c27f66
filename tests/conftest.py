"""Engine tests carry the `docker` marker. They skip loudly where no engine answers,
and never skip under CI=true: there a missing engine is a failure."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _engine_answers() -> tuple[bool, str]:
    docker = shutil.which("docker")
    if not docker:
        return False, "no docker client on PATH"
    try:
        p = subprocess.run([docker, "info", "-f", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        return False, "docker info timed out"
    if p.returncode != 0:
        return False, (p.stderr.strip().splitlines() or ["docker info failed"])[-1]
    b = subprocess.run([docker, "buildx", "version"], capture_output=True, text=True, timeout=15)
    if b.returncode != 0:
        return False, "docker buildx is missing"
    return True, p.stdout.strip()


_STATE: dict = {}


def engine_state() -> tuple[bool, str]:
    if "engine" not in _STATE:
        _STATE["engine"] = _engine_answers()
    return _STATE["engine"]


# Per-variant build-and-serve tests: `make test` (and CI) runs these few, which need only
# small bases; `make test-all` runs every variant of every app (slow: ~1 GB images).
DEFAULT_FAST_VARIANTS = "go/scratch,go/optimized,python/slim"
_VARIANT_TEST = re.compile(r"^test_(?P<app>\w+?)_variant_builds_and_serves\[(?P<variant>[^\]]+)\]$")
# A build step that fetches packages: PyPI, npm, or a distribution's package mirror.
_FETCHES = re.compile(r"\b(pip3? install|npm (ci|install)|apt-get (update|install)|apk add)\b")


def _variant_fetches(app: str, variant: str) -> bool:
    dockerfile = ROOT / "sample_apps" / app / "variants" / variant / "Dockerfile"
    return dockerfile.is_file() and bool(_FETCHES.search(dockerfile.read_text()))


def pytest_itemcollected(item):
    """Marks that depend on the variant; added as each item is collected, so `-m` sees them."""
    m = _VARIANT_TEST.match(item.name)
    if not m:
        return
    fast = {v.strip() for v in os.environ.get("BENCH_FAST_VARIANTS", DEFAULT_FAST_VARIANTS).split(",") if v.strip()}
    if f"{m['app']}/{m['variant']}" not in fast:
        item.add_marker(pytest.mark.slow)
    if _variant_fetches(m["app"], m["variant"]):
        item.add_marker(pytest.mark.network)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """The engine probe runs when the first docker test is set up (before its fixtures), so
    only tests that survived `-m`/`-k` deselection ever reach it: `-m "not docker"` never
    runs `docker`."""
    if not item.get_closest_marker("docker"):
        return
    ok, why = engine_state()
    if ok:
        return
    if os.environ.get("CI") == "true":
        # Under CI a missing engine is a failure, not a skip.
        pytest.fail(f"CI=true but no Docker engine answers: {why}", pytrace=False)
    pytest.skip(f"NO DOCKER ENGINE ({why}): run scripts/bootstrap-engine.sh to run this test")


def pytest_terminal_summary(terminalreporter):
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "NO DOCKER ENGINE" in str(r.longrepr)]
    if skipped:
        terminalreporter.write_line(
            f"WARNING: {len(skipped)} docker tests skipped because no engine answers", red=True, bold=True
        )


@pytest.fixture
def fake_executor():
    from tests.fakes import FakeExecutor

    return FakeExecutor()


@pytest.fixture
def no_pyenv(monkeypatch, tmp_path):
    """A machine without pyenv CPython builds: python stand-ins take their Debian 3.11 fallback."""
    monkeypatch.setenv("BENCH_PYENV_ROOT", str(tmp_path / "no-pyenv"))
