"""Manifest parsing on recorded manifests, LocalRegistry against a fake HTTP registry
serving them, and (docker-marked) the real Distribution registry process."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from bench.engine import registry as regmod
from bench.engine.registry import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    LocalRegistry,
    is_index,
    manifest_bytes,
    media_type,
    select_platform,
    work_root,
)
from bench.errors import UserError

FIX = Path(__file__).parent / "fixtures" / "manifests"
ROOT = Path(__file__).resolve().parent.parent

# Sizes as recorded in the fixtures (config 478 B + one 8 MB random layer, gzipped).
DOCKER_V2_BYTES = 478 + 8002635
AMD64_DIGEST = "sha256:c9ca720cfefa25d483f1431a5ded3660fb28e9ebea39f65eb2fd46513ae20e38"
ARM64_DIGEST = "sha256:63308b3cc59348cc4849a04b9458f8493cad22e4ef2364c6e1c58f79ab277bdc"


def load(name: str) -> dict:
    return json.loads((FIX / name).read_text())


# -- pure parsing -------------------------------------------------------------------------------
def test_media_types_of_recorded_manifests():
    assert media_type(load("docker-v2.json")) == DOCKER_MANIFEST
    assert media_type(load("docker-list.json")) == DOCKER_LIST
    assert media_type(load("oci-manifest.json")) == OCI_MANIFEST
    assert media_type(load("oci-index.json")) == OCI_INDEX
    assert is_index(load("docker-list.json")) and is_index(load("oci-index.json"))
    assert not is_index(load("docker-v2.json")) and not is_index(load("oci-manifest.json"))


def test_media_type_falls_back_to_content_type_then_shape():
    doc = load("oci-manifest.json")
    del doc["mediaType"]  # optional in OCI
    assert media_type(doc, "application/vnd.docker.distribution.manifest.v2+json; charset=utf-8") == DOCKER_MANIFEST
    assert media_type(doc) == OCI_MANIFEST
    index = load("oci-index.json")
    del index["mediaType"]
    assert is_index(index)


def test_compressed_bytes_sums_layers_and_config():
    assert manifest_bytes(load("docker-v2.json")) == DOCKER_V2_BYTES
    assert manifest_bytes(load("oci-manifest.json")) == DOCKER_V2_BYTES  # same blobs, OCI types


def test_compressed_bytes_counts_every_layer():
    doc = load("docker-v2.json")
    doc["layers"] = doc["layers"] * 3
    assert manifest_bytes(doc) == 478 + 3 * 8002635


def test_an_index_has_no_size_of_its_own():
    with pytest.raises(ValueError):
        manifest_bytes(load("oci-index.json"))


def test_select_platform_skips_attestations_and_other_arches():
    index = load("oci-index.json")
    assert index["manifests"][0]["platform"]["os"] == "unknown"  # attestation listed first
    assert select_platform(index)["digest"] == AMD64_DIGEST
    assert select_platform(index, ("linux", "arm64"))["digest"] == ARM64_DIGEST
    lst = load("docker-list.json")
    assert select_platform(lst)["platform"]["architecture"] == "amd64"


def test_select_platform_names_what_is_there_when_missing():
    with pytest.raises(UserError, match=r"no linux/s390x manifest.*linux/amd64, linux/arm64, unknown/unknown"):
        select_platform(load("oci-index.json"), ("linux", "s390x"))


# -- LocalRegistry's reading, against a fake HTTP registry ----------------------------------------
class _FakeRegistry(http.server.ThreadingHTTPServer):
    """Serves the fixtures: tags and digests -> (content type, body)."""

    def __init__(self):
        self.routes: dict[str, tuple[str, bytes]] = {}
        self.accepts: list[str] = []
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.server.accepts.append(self.headers.get("Accept", ""))
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
            return
        ctype, body = route
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture
def fake_registry():
    srv = _FakeRegistry()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    reg = LocalRegistry()
    reg.port = srv.server_address[1]  # read-only use: never started, never closed
    yield srv, reg
    srv.shutdown()
    srv.server_close()


def _route(srv, path, fixture, ctype):
    srv.routes[path] = (ctype, (FIX / fixture).read_bytes())


def test_manifest_follows_an_oci_index_to_linux_amd64(fake_registry):
    srv, reg = fake_registry
    _route(srv, "/v2/bench/app-v/manifests/r0", "oci-index.json", OCI_INDEX)
    _route(srv, f"/v2/bench/app-v/manifests/{AMD64_DIGEST}", "oci-index-child-c9ca720cfefa.json", OCI_MANIFEST)
    _route(srv, f"/v2/bench/app-v/manifests/{ARM64_DIGEST}", "oci-index-child-63308b3cc593.json", OCI_MANIFEST)
    m = reg.manifest("bench/app-v", "r0")
    assert m["mediaType"] == OCI_MANIFEST
    assert m["config"]["digest"] == "sha256:ac37c5e884c9049b47bbde85e39c7461eb105df343321f0d6ae183b888a4a6ce"
    assert reg.compressed_bytes("bench/app-v", "r0") == DOCKER_V2_BYTES
    # the arm64 child has a different config: picking it would show here
    assert reg.manifest("bench/app-v", "r0", ("linux", "arm64"))["config"]["size"] != 478
    first = srv.accepts[0]
    for mt in (OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST):
        assert mt in first


def test_manifest_reads_a_docker_v2_manifest(fake_registry):
    srv, reg = fake_registry
    _route(srv, "/v2/bench/app-v/manifests/r0", "docker-v2.json", DOCKER_MANIFEST)
    assert reg.manifest("bench/app-v", "r0")["mediaType"] == DOCKER_MANIFEST
    assert reg.compressed_bytes("bench/app-v", "r0") == DOCKER_V2_BYTES


def test_manifest_of_a_missing_tag_says_push_first(fake_registry):
    _, reg = fake_registry
    with pytest.raises(UserError, match="push it first"):
        reg.manifest("bench/nothing", "r0")


def test_missing_binary_says_what_to_install(tmp_path):
    with pytest.raises(UserError, match="docker-registry"):
        LocalRegistry(binary=str(tmp_path / "no-registry"), work_dir=tmp_path).__enter__()
    assert not list(tmp_path.glob("registry-*"))


def test_work_root_falls_back_when_sockets_would_not_fit(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCH_WORK_DIR", raising=False)
    assert work_root(tmp_path) == tmp_path
    deep = tmp_path / ("d" * 120)
    assert work_root(deep) == deep  # the registry has no sockets below it
    assert len(str(work_root(deep, max_chars=regmod.MAX_ROOT_CHARS))) <= regmod.MAX_ROOT_CHARS
    monkeypatch.setenv("BENCH_WORK_DIR", str(tmp_path / "env"))
    assert work_root() == tmp_path / "env"


# -- the real registry process ------------------------------------------------------------------
needs_binary = pytest.mark.skipif(
    not os.access(regmod.REGISTRY_BINARY, os.X_OK), reason=f"{regmod.REGISTRY_BINARY} missing: install docker-registry"
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.docker
@needs_binary
def test_local_registry_serves_then_leaves_nothing(tmp_path):
    with LocalRegistry(work_dir=tmp_path) as reg:
        host, port = reg.address.split(":")
        assert host == "127.0.0.1" and int(port) > 0
        with urllib.request.urlopen(f"{reg.url}/v2/", timeout=5) as r:
            assert r.status == 200
        assert reg.storage.is_dir() and reg.storage.parent.parent == tmp_path
        assert "127.0.0.1:" in (reg.dir / "config.yml").read_text()
        pid, folder, address = reg.proc.pid, reg.dir, reg.address
        (reg.storage / "marker").write_text("x")
        reg.clear()
        assert reg.address == address and not (reg.storage / "marker").exists()
        with urllib.request.urlopen(f"{reg.url}/v2/", timeout=5) as r:
            assert r.status == 200
        pid2 = reg.proc.pid
    assert not _alive(pid) and not _alive(pid2)
    assert not folder.exists()


@pytest.mark.docker
@needs_binary
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_stops_the_registry_and_removes_its_storage(tmp_path, sig):
    # Ctrl-C as at a terminal: a child of a background shell job inherits SIGINT ignored,
    # and Python then installs no KeyboardInterrupt handler, so the script restores it
    script = (
        "import signal, sys, time; sys.path.insert(0, sys.argv[1])\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from bench.engine.registry import LocalRegistry\n"
        "with LocalRegistry(work_dir=sys.argv[2]) as r:\n"
        "    print(r.proc.pid, r.dir, flush=True)\n"
        "    time.sleep(120)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", script, str(ROOT), str(tmp_path)], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    try:
        line = p.stdout.readline().split()
        assert line, "the child did not start a registry"
        pid, folder = int(line[0]), Path(line[1])
        assert _alive(pid) and folder.is_dir()
        p.send_signal(sig)
        code = p.wait(timeout=30)
        # SIGTERM unwinds as SystemExit(143); Ctrl-C as KeyboardInterrupt, which Python
        # ends by re-raising SIGINT on itself
        assert code == (128 + signal.SIGTERM if sig == signal.SIGTERM else -signal.SIGINT)
        for _ in range(100):
            if not _alive(pid):
                break
            time.sleep(0.1)
        assert not _alive(pid)
        assert not folder.exists()
    finally:
        if p.poll() is None:
            p.kill()
