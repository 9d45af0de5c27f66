"""The engine probe in conftest.py: only docker tests that survive deselection reach it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKER_TEST = "test_go_bloated_and_optimized_build_serve_and_are_stored"  # marked docker
UNIT_TESTS = "test_go_metadata_loads or test_go_dockerignore_leaves_out_clutter_but_not_sources"


@pytest.fixture
def fake_docker(tmp_path):
    """A `docker` first on PATH that records every invocation and answers like a client
    whose engine is down."""
    log = tmp_path / "docker.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\necho "Cannot connect to the Docker daemon" >&2\nexit 1\n')
    script.chmod(0o755)
    log.write_text("")
    return bin_dir, log


def _pytest(bin_dir: Path, *args: str, ci: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_not_docker_never_runs_docker(fake_docker):
    bin_dir, log = fake_docker
    # Collects the whole suite (import-time probes would show) and runs two unit tests.
    p = _pytest(bin_dir, "-m", "not docker", "-k", UNIT_TESTS)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert "2 passed" in p.stdout
    assert log.read_text() == ""


def test_a_selected_docker_test_probes_and_skips_loudly_without_an_engine(fake_docker):
    bin_dir, log = fake_docker
    p = _pytest(bin_dir, "-m", "docker", "-k", DOCKER_TEST)
    assert p.returncode == 0, p.stdout[-3000:]
    assert "1 skipped" in p.stdout and "NO DOCKER ENGINE" in p.stdout
    assert "docker tests skipped because no engine answers" in p.stdout
    assert log.read_text().splitlines() == ["info -f {{.ServerVersion}}"]


def test_a_missing_engine_fails_under_ci(fake_docker):
    bin_dir, _ = fake_docker
    p = _pytest(bin_dir, "-m", "docker", "-k", DOCKER_TEST, ci=True)
    assert p.returncode == 1, p.stdout[-3000:]
    assert "CI=true but no Docker engine answers" in p.stdout
