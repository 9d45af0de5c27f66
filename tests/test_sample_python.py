"""The Python sample app (sample_apps/python): metadata, its own tests on the host's
Python, lint, and every variant built and served on the real engine.

Docker tests are parametrized per variant so CI can pick a few with -k, e.g.
`pytest tests/test_sample_python.py -k "optimized or bloated"`.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib

import pytest

from bench.apps import App, load_app
from tests.test_sample_go import (
    LABEL,
    ROOT,
    Running,
    build_variant,
    check_metadata,
    disk_bytes,
    docker,
    hadolint_findings,
    remove_image,
)

APP_DIR = ROOT / "sample_apps" / "python"
PY_VARIANTS = ["bloated", "dockerignore", "chained", "cache-order", "multistage", "slim",
               "alpine", "distroless", "optimized", "article"]
NON_ROOT = {"multistage", "slim", "alpine", "distroless", "optimized"}
CLUTTER = [".venv/bin/python", "app/__pycache__/__init__.cpython-311.pyc", ".pytest_cache/README.md",
           ".coverage", "htmlcov/index.html", "tests/test_app.py", "README.md", "CHANGELOG.md",
           "docs/architecture.md", ".vscode/settings.json", ".github/workflows/ci.yml",
           "app/.views.py.swp", ".git/HEAD", "pyproject.toml"]
NEEDED = ["requirements.txt", "requirements-dev.txt", "wsgi.py", "gunicorn.conf.py", "app/__init__.py"]
PIN = re.compile(r"^[A-Za-z0-9._-]+==[0-9][0-9A-Za-z.]*$")


@pytest.fixture(scope="module")
def py_app() -> App:
    return load_app(APP_DIR)


def _version(app: App) -> str:
    tree = ast.parse((app.context / "app" / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__version__" for t in node.targets):
            return node.value.value
    raise AssertionError("app/__init__.py has no __version__")


def _requirements(path) -> list[str]:
    return [l.strip() for l in path.read_text().splitlines() if l.strip() and not l.startswith("#")]


def test_python_metadata_loads(py_app):
    check_metadata(py_app, PY_VARIANTS, non_root=NON_ROOT)
    assert py_app.variant("optimized").parent == "distroless"
    assert py_app.variant("bloated").bases == ("python:3.12",)
    assert py_app.variant("slim").bases == ("python:3.12-slim",)
    assert py_app.variant("alpine").bases == ("python:3.12-alpine",)
    # distroless python3-debian12 runs Debian's 3.11: its venv is built by that same
    # interpreter on Debian, never on python:3.12.
    for name in ("distroless", "optimized"):
        v = py_app.variant(name)
        assert v.bases[0] == "debian:bookworm-slim" and v.bases[1].startswith("gcr.io/distroless/python3-debian12")
        assert "/usr/bin/python3.11 -m venv" in v.dockerfile.read_text()
    meta = tomllib.loads((APP_DIR / "app.toml").read_text())
    assert meta["prepare"][0] == "python3 -m venv .venv"
    assert tuple(meta["prepare"]) == py_app.prepare


def test_python_version_is_stated_once_and_agrees(py_app):
    meta = tomllib.loads((APP_DIR / "app.toml").read_text())
    assert _version(py_app) == meta["version"]
    assert f"## {meta['version']}" in (py_app.context / "CHANGELOG.md").read_text()


def test_python_requirements_are_pinned(py_app):
    runtime = _requirements(py_app.context / "requirements.txt")
    names = {r.split("==")[0].lower() for r in runtime}
    assert {"flask", "gunicorn", "werkzeug", "jinja2", "markupsafe"} <= names
    assert "pytest" not in names
    for line in runtime:
        assert PIN.match(line), f"requirements.txt: {line!r} is not pinned with =="
    dev = _requirements(py_app.context / "requirements-dev.txt")
    assert dev[0] == "-r requirements.txt"
    for line in dev[1:]:
        assert PIN.match(line), f"requirements-dev.txt: {line!r} is not pinned with =="
    assert any(l.startswith("pytest==") for l in dev)


def test_python_dockerignore_leaves_out_clutter_but_not_sources(py_app):
    from bench.engine.buildx import ignored, read_dockerignore

    # The article variant uses the article's own .dockerignore (Technique 3), as written.
    files = {v.dockerignore.read_text() for v in py_app.variants if v.dockerignore and v.name != "article"}
    assert len(files) == 1, "every variant after bloated uses the same ignore file"
    assert "(Technique 3" in py_app.variant("article").dockerignore.read_text()
    rules = read_dockerignore(py_app.variant("optimized").dockerignore)
    for rel in CLUTTER:
        assert ignored(rel, rules), rel
    for rel in NEEDED:
        assert not ignored(rel, rules), rel


@pytest.mark.network
def test_python_app_tests_pass_on_host(py_app, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-input", "--disable-pip-version-check",
                          "-q", "-r", str(py_app.context / "requirements-dev.txt")],
                         capture_output=True, text=True, timeout=900)
    if pip.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"pip could not install requirements-dev.txt:\n{pip.stderr[-3000:]}")
        pytest.skip(f"PYPI UNREACHABLE: pip install failed: {pip.stderr.strip().splitlines()[-1:]}")
    work = tmp_path / "src"
    shutil.copytree(py_app.context, work, ignore=shutil.ignore_patterns(".venv", "__pycache__", ".pytest_cache", "htmlcov", ".coverage"))
    p = subprocess.run([str(venv / "bin" / "python"), "-m", "pytest", "-p", "no:cacheprovider"],
                       cwd=work, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert re.search(r"\b[1-9]\d* passed\b", p.stdout) and "failed" not in p.stdout, p.stdout[-2000:]


def test_python_hadolint_clean_on_optimized(py_app):
    assert hadolint_findings(py_app.variant("optimized").dockerfile) == []


def test_python_hadolint_flags_bloated(py_app):
    codes = {f["code"] for f in hadolint_findings(py_app.variant("bloated").dockerfile)}
    assert {"DL3009", "DL3015", "DL3042", "DL3059"} <= codes  # apt lists, recommends, pip cache, unchained RUNs


@pytest.mark.docker
@pytest.mark.parametrize("variant", PY_VARIANTS)
def test_python_variant_builds_and_serves(py_app, variant):
    v = py_app.variant(variant)
    tag = build_variant(py_app, v)
    try:
        with Running(tag, v) as c:
            assert c.wait_healthy() == (200, "ok")
            status, body = c.get("/")
            assert status == 200 and json.loads(body) == {"app": "python", "version": _version(py_app)}
            assert c.get("/nope")[0] == 404
            # tini forwards `docker stop`'s SIGTERM; gunicorn stops its workers and exits 0.
            docker("stop", "-t", "15", c.name, timeout=60)
            assert docker("inspect", "-f", "{{.State.ExitCode}}", c.name).stdout.strip() == "0"
            logs = docker("logs", c.name)
            assert "Booting worker" in logs.stdout + logs.stderr
            assert "Traceback" not in logs.stdout + logs.stderr, logs.stderr[-2000:]
        user = docker("image", "inspect", "-f", "{{.Config.User}}", tag).stdout.strip()
        if variant in NON_ROOT:
            assert user and user.split(":")[0] not in ("0", "root"), user
        if variant in ("bloated", "dockerignore"):
            # Dockerfile.dockerignore beside the Dockerfile is honoured with -f and src/ as context.
            p = docker("run", "--rm", "--label", LABEL, "--entrypoint", "sh", tag, "-c",
                       "test -e /app/README.md && test -d /app/tests", check=False)
            assert (p.returncode == 0) == (variant == "bloated"), (variant, p.stdout, p.stderr)
        size = disk_bytes(tag)
        print(f"python/{variant}: {size} bytes on disk")
        if variant == "optimized":
            assert size <= 60_000_000
        if variant == "bloated":
            assert size >= 500_000_000  # the full python:3.12 image, about 1 GB
    finally:
        remove_image(tag)
