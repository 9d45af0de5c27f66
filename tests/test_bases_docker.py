"""Stand-ins on the real engine: build them, then build a Dockerfile whose FROM names the
upstream ref unchanged, through build_context_args."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import uuid

import pytest

from bench import LABEL
from bench.bases import build_context_args, resolve

pytestmark = pytest.mark.docker


def _docker(*argv, input=None, check=True):
    p = subprocess.run(["docker", *argv], capture_output=True, text=True, input=input, timeout=900)
    if check and p.returncode != 0:
        raise AssertionError(f"docker {' '.join(argv)} failed: {p.stderr[-2000:]}")
    return p


def _files_of(image: str) -> set[str]:
    cid = _docker("create", "--label", f"{LABEL}=true", image, "/none").stdout.strip()
    try:
        raw = subprocess.run(["docker", "export", cid], capture_output=True, timeout=300, check=True).stdout
    finally:
        _docker("rm", "-f", cid, check=False)
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        return {m.name.rstrip("/") for m in tf.getmembers()}


@pytest.fixture
def test_tag():
    tag = f"bench-test-bases:{uuid.uuid4().hex[:10]}"
    yield tag
    _docker("image", "rm", "-f", tag, check=False)


def _build(dockerfile: str, args: list[str], tag: str, tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    (tmp_path / "hello.txt").write_text("hello\n")
    # --network none: these builds need no network, and the engine's bridge is not ours to rely on
    _docker("buildx", "build", "--progress=plain", "--network", "none", "--label", f"{LABEL}=true",
            *args, "-t", tag, str(tmp_path))


def test_debian_slim_standin_builds_and_serves_an_unmodified_from(tmp_path, test_tag):
    res = resolve(["debian:bookworm-slim"], "local")
    r = res["debian:bookworm-slim"]
    assert r.available and r.standin and r.image.startswith("bench-standin/debian-bookworm-slim:")
    labels = json.loads(_docker("image", "inspect", "--format", "{{json .Config.Labels}}", r.image).stdout)
    assert labels[LABEL] == "true" and labels["org.bench.standin-of"] == "debian:bookworm-slim"
    assert labels["org.bench.recipe-hash"] == r.recipe_hash
    assert r.runtime_version and r.runtime_version.startswith("12.")

    _build("FROM debian:bookworm-slim\nRUN cat /etc/debian_version > /version && test -d /usr/share/man/man1 "
           "&& test ! -e /usr/share/man/man1/ls.1.gz && test -f /etc/dpkg/dpkg.cfg.d/docker\n",
           build_context_args(res.values()), test_tag, tmp_path)
    out = _docker("run", "--rm", "--network", "none", test_tag, "cat", "/version").stdout.strip()
    assert out == r.runtime_version
    # the stand-in is reused, not rebuilt
    assert resolve(["debian:bookworm-slim"], "local")["debian:bookworm-slim"].image_id == r.image_id


def test_distroless_static_standin_has_no_shell_and_serves_nonroot(tmp_path, test_tag):
    refs = ["gcr.io/distroless/static-debian12", "gcr.io/distroless/static-debian12:nonroot"]
    res = resolve(refs, "local")
    assert all(r.available for r in res.values())
    files = _files_of(res[refs[0]].image)
    for forbidden in ("bin/sh", "usr/bin/sh", "usr/bin/bash", "usr/bin/dpkg", "usr/bin/apt"):
        assert forbidden not in files
    assert not any("libc.so" in f for f in files)  # static: no libc
    assert {"etc/passwd", "etc/ssl/certs/ca-certificates.crt", "tmp", "home/nonroot"} <= files

    _build("FROM gcr.io/distroless/static-debian12:nonroot\nCOPY hello.txt /hello.txt\n"
           "FROM gcr.io/distroless/static-debian12\nCOPY --from=0 /hello.txt /copied.txt\n",
           build_context_args(res.values()), test_tag, tmp_path)
    assert "copied.txt" in _files_of(test_tag)
    nonroot = json.loads(_docker("image", "inspect", "--format", "{{json .Config}}", res[refs[1]].image).stdout)
    assert nonroot["User"] == "65532" and nonroot["WorkingDir"] == "/home/nonroot"


@pytest.mark.slow
def test_every_ref_shape_works_as_a_named_context(tmp_path, test_tag):
    """name:tag, name:tag-variant, host/path/name and host/path/name:tag, FROM lines unchanged."""
    refs = ["node:20", "python:3.12-slim", "gcr.io/distroless/static-debian12",
            "gcr.io/distroless/static-debian12:nonroot"]
    res = resolve(refs, "local")
    _build("FROM node:20 AS n\nRUN node --version > /n.txt && npm --version && id -u node\n"
           "FROM python:3.12-slim AS p\nRUN python --version > /p.txt && pip --version && python -m venv /v\n"
           "FROM gcr.io/distroless/static-debian12 AS s\nCOPY hello.txt /s.txt\n"
           "FROM gcr.io/distroless/static-debian12:nonroot\n"
           "COPY --from=n /n.txt /n.txt\nCOPY --from=p /p.txt /p.txt\nCOPY --from=s /s.txt /s.txt\n",
           build_context_args(res.values()), test_tag, tmp_path)
    assert {"n.txt", "p.txt", "s.txt"} <= _files_of(test_tag)
    assert _docker("image", "inspect", "--format", "{{.Config.User}}", test_tag).stdout.strip() == "65532"
