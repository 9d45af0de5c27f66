"""The Node sample app (sample_apps/node): metadata, its own tests on the host's Node,
lint, and every variant built and served on the real engine.

Docker tests are parametrized per variant so CI can pick a few with -k, e.g.
`pytest tests/test_sample_node.py -k "optimized or bloated"`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

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

APP_DIR = ROOT / "sample_apps" / "node"
NODE_VARIANTS = ["bloated", "dockerignore", "chained", "cache-order", "multistage", "slim",
                 "alpine", "distroless", "optimized", "article"]
NON_ROOT = {"multistage", "slim", "alpine", "distroless", "optimized", "article"}
# What a developer's checkout has but an image never needs; the prepare steps make the
# gitignored ones (node_modules, dist, build, coverage).
CLUTTER = ["node_modules/express/package.json", "dist/server.js", "build/test/tests/app.test.js",
           "coverage/lcov.info", "tests/app.test.ts", "README.md", "CHANGELOG.md",
           "docs/architecture.md", ".vscode/settings.json", ".github/workflows/ci.yml",
           "src/.server.ts.swp", ".git/HEAD", "npm-debug.log"]
NEEDED = ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json",
          "src/server.ts", "src/app.ts", "src/config.ts", ".npmrc"]


@pytest.fixture(scope="module")
def node_app() -> App:
    return load_app(APP_DIR)


def _package(app: App) -> dict:
    return json.loads((app.context / "package.json").read_text())


def test_node_metadata_loads(node_app):
    check_metadata(node_app, NODE_VARIANTS, non_root=NON_ROOT)
    assert node_app.variant("optimized").parent == "distroless"
    assert node_app.variant("bloated").bases == ("node:20",)
    assert node_app.variant("slim").bases == ("node:20-slim",)
    assert node_app.variant("alpine").bases == ("node:20-alpine",)
    assert node_app.variant("distroless").bases == ("node:20-slim", "gcr.io/distroless/nodejs20-debian12")
    assert "optimized" in node_app.variant("optimized").techniques
    meta = tomllib.loads((APP_DIR / "app.toml").read_text())
    assert meta["prepare"][0] == "npm ci --no-audit --no-fund"
    assert tuple(meta["prepare"]) == node_app.prepare


def test_node_version_is_stated_once_and_agrees(node_app):
    pkg = _package(node_app)
    lock = json.loads((node_app.context / "package-lock.json").read_text())
    meta = tomllib.loads((APP_DIR / "app.toml").read_text())
    assert pkg["version"] == lock["version"] == meta["version"]
    assert f"## {pkg['version']}" in (node_app.context / "CHANGELOG.md").read_text()


def test_node_dependencies_are_pinned_and_express_is_the_only_runtime_one(node_app):
    pkg = _package(node_app)
    assert set(pkg["dependencies"]) == {"express"}
    assert {"typescript", "@types/express", "@types/node"} <= set(pkg["devDependencies"])
    for name, spec in {**pkg["dependencies"], **pkg["devDependencies"]}.items():
        assert spec[0].isdigit(), f"{name} {spec}: pin an exact version"
    lock = json.loads((node_app.context / "package-lock.json").read_text())
    assert lock["packages"][""]["dependencies"] == pkg["dependencies"], "lock matches package.json"


def test_node_lockfile_names_no_registry_host(node_app):
    # .npmrc sets omit-lockfile-registry-resolved: `npm ci` uses whatever registry the
    # build's npm is configured with, and no host name is written into the repository.
    lock = json.loads((node_app.context / "package-lock.json").read_text())
    resolved = [p for p, meta in lock["packages"].items() if "resolved" in meta]
    assert resolved == []
    assert all("integrity" in m for p, m in lock["packages"].items() if p), "integrity hashes kept"


def test_node_dockerignore_leaves_out_clutter_but_not_sources(node_app):
    from bench.engine.buildx import ignored, read_dockerignore

    # The article variant uses the article's own .dockerignore (Technique 3), as written.
    files = {v.dockerignore.read_text() for v in node_app.variants if v.dockerignore and v.name != "article"}
    assert len(files) == 1, "every variant after bloated uses the same ignore file"
    assert "(Technique 3" in node_app.variant("article").dockerignore.read_text()
    rules = read_dockerignore(node_app.variant("optimized").dockerignore)
    for rel in CLUTTER:
        assert ignored(rel, rules), rel
    for rel in NEEDED:
        assert not ignored(rel, rules), rel


def _copy_source(src: Path, dest: Path) -> Path:
    skip = shutil.ignore_patterns("node_modules", "dist", "build", "coverage")
    shutil.copytree(src, dest, ignore=skip)
    return dest


@pytest.mark.network
def test_node_app_tests_pass_on_host(node_app, tmp_path):
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but node/npm are not on PATH")
        pytest.skip("NODE MISSING: node and npm are needed to run the app's own tests")
    work = _copy_source(node_app.context, tmp_path / "src")
    env = {**os.environ, "npm_config_update_notifier": "false"}
    for argv in ([npm, "ci", "--no-audit", "--no-fund"], [npm, "run", "build"], [npm, "test"]):
        p = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=600, env=env)
        assert p.returncode == 0, f"{' '.join(argv[1:])}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    assert "# fail 0" in p.stdout and "# pass 0" not in p.stdout, p.stdout[-2000:]
    assert (work / "dist" / "server.js").is_file()
    assert not (work / "dist" / "tests").exists(), "tests never reach dist/"


def test_node_hadolint_clean_on_optimized(node_app):
    assert hadolint_findings(node_app.variant("optimized").dockerfile) == []


def test_node_hadolint_flags_bloated(node_app):
    codes = {f["code"] for f in hadolint_findings(node_app.variant("bloated").dockerfile)}
    assert {"DL3009", "DL3015", "DL3059"} <= codes  # apt lists kept, recommends, unchained RUNs


@pytest.mark.docker
@pytest.mark.parametrize("variant", NODE_VARIANTS)
def test_node_variant_builds_and_serves(node_app, variant):
    v = node_app.variant(variant)
    tag = build_variant(node_app, v)
    try:
        with Running(tag, v) as c:
            assert c.wait_healthy() == (200, "ok")
            status, body = c.get("/")
            assert status == 200 and json.loads(body) == {"app": "node", "version": _package(node_app)["version"]}
            assert c.get("/nope")[0] == 404
            # tini forwards `docker stop`'s SIGTERM; the server closes and exits 0.
            docker("stop", "-t", "10", c.name, timeout=60)
            assert docker("inspect", "-f", "{{.State.ExitCode}}", c.name).stdout.strip() == "0"
        user = docker("image", "inspect", "-f", "{{.Config.User}}", tag).stdout.strip()
        if variant in NON_ROOT:
            assert user and user.split(":")[0] not in ("0", "root"), user
        if variant in ("bloated", "dockerignore"):
            # Dockerfile.dockerignore beside the Dockerfile is honoured with -f and src/ as context.
            p = docker("run", "--rm", "--label", LABEL, "--entrypoint", "sh", tag, "-c",
                       "test -e /app/README.md && test -d /app/tests", check=False)
            assert (p.returncode == 0) == (variant == "bloated"), (variant, p.stdout, p.stderr)
        size = disk_bytes(tag)
        print(f"node/{variant}: {size} bytes on disk")
        if variant == "optimized":
            assert size <= 120_000_000
        if variant == "bloated":
            assert size >= 500_000_000  # the full node:20 image, about 1 GB
    finally:
        remove_image(tag)
