"""On the real engine: registry + cold engine + throttle + push_and_pull, with a tiny
FROM-scratch image carrying ~8 MB of random bytes (incompressible, so compressed size is
known in advance). Timing is only checked against a loose lower bound."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import LABEL
from bench.engine.coldpull import ColdEngine
from bench.engine.executor import default_executor
from bench.engine.registry import LocalRegistry
from bench.engine.throttle import Throttle
from bench.measure.pushpull import push_and_pull

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = 8_000_000


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    ctx = tmp_path_factory.mktemp("pushpull-ctx")
    (ctx / "payload.bin").write_bytes(os.urandom(PAYLOAD))
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY payload.bin /payload.bin\n")
    tag = f"bench-test/pushpull:{os.getpid()}"
    ex = default_executor()
    ex.run(["docker", "buildx", "build", "--quiet", "--label", f"{LABEL}=true", "-t", tag, str(ctx)], timeout=600)
    yield tag
    ex.run(["docker", "image", "rm", tag], check=False)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    with LocalRegistry(work_dir=tmp_path_factory.mktemp("reg")) as reg:
        yield reg


@pytest.fixture(scope="module")
def cold():
    with ColdEngine() as c:
        yield c


def _engine_refs(prefix: str) -> list[str]:
    out = default_executor().run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"]).stdout
    return [line for line in out.splitlines() if line.startswith(prefix)]


def test_push_and_pull_measures_and_cleans_up(image, registry, cold):
    profiles = {"loopback": None, "20mbit": 20e6}
    samples = push_and_pull(image, app="test", variant="scratch", registry=registry, cold_engine=cold,
                            profiles=profiles, repetitions=1)
    got = {(s.scenario, s.metric, s.profile): s.value for s in samples}
    compressed = got[("image", "compressed_bytes", "")]
    # random bytes do not compress: the blobs hold at least the payload, plus tar/gzip framing
    assert PAYLOAD <= compressed < PAYLOAD * 1.01
    assert got[("push", "push_seconds", "")] > 0
    assert got[("pull", "pull_seconds", "loopback")] > 0
    model = got[("pull", "pull_model_seconds", "20mbit")]
    assert model == pytest.approx(compressed * 8 / 20e6)
    # the throttle really limited the pull (loose lower bound only)
    assert got[("pull", "pull_seconds", "20mbit")] >= 0.5 * model
    assert cold.images() == []  # wiped after the last pull
    assert _engine_refs(registry.address) == []  # own tags removed from the main engine
    assert _engine_refs(image) == [image]  # the image itself kept


def test_cold_engine_pulls_through_a_throttle_port(image, registry, cold):
    ex = default_executor()
    ref = f"{registry.address}/bench/test-direct:t"
    ex.run(["docker", "tag", image, ref])
    try:
        ex.run(["docker", "push", "--quiet", ref])
    finally:
        ex.run(["docker", "image", "rm", ref])
    host, port = registry.address.split(":")
    with Throttle((host, int(port)), 200e6) as t:
        tref = f"{t.address}/bench/test-direct:t"
        cold.wipe()
        assert not cold.has_image(tref)
        assert cold.pull(tref) > 0
        assert cold.has_image(tref)  # a different port on 127.0.0.1 is trusted over HTTP too
        assert t.stats.bytes_down >= PAYLOAD
    assert not cold.has_image(ref)  # the cold engine never saw the main engine's image
    cold.wipe()
    assert cold.images() == []


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_sigterm_stops_the_cold_engine_and_removes_its_root(tmp_path):
    script = (
        "import sys, time; sys.path.insert(0, sys.argv[1])\n"
        "from bench.engine.coldpull import ColdEngine\n"
        "with ColdEngine(work_dir=sys.argv[2]) as c:\n"
        "    print(c.proc.pid, c.root, flush=True)\n"
        "    time.sleep(300)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", script, str(ROOT), str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline().split()
        assert line, "the child did not start a cold engine"
        pid, root = int(line[0]), Path(line[1])
        assert _alive(pid) and (root / "data").is_dir()
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=60) == 128 + signal.SIGTERM
        for _ in range(100):
            if not _alive(pid):
                break
            time.sleep(0.1)
        assert not _alive(pid)
        assert not root.exists()
    finally:
        if p.poll() is None:
            p.kill()


def _link_index(name: str) -> int | None:
    p = subprocess.run(["ip", "-o", "link", "show", name], capture_output=True, text=True)
    return int(p.stdout.split(":", 1)[0]) if p.returncode == 0 else None


def test_cold_engine_leaves_the_main_engines_bridge_alone():
    """A dockerd with --bridge=none deletes the host's docker0, which breaks every RUN
    step and container of the main engine; the cold engine must not do that."""
    before = _link_index("docker0")
    with ColdEngine() as c:
        bridge = c.bridge
        assert bridge and bridge != "docker0" and _link_index(bridge) is not None
        assert _link_index("docker0") == before
    assert _link_index("docker0") == before
    assert _link_index(bridge) is None  # its own bridge is removed with it


def test_a_stale_cold_bridge_is_removed_but_a_live_one_is_kept():
    from bench.engine.coldpull import _make_bridge, remove_stale_bridges

    stale = "bcold00000000"
    subprocess.run(["ip", "link", "del", stale], capture_output=True)
    _make_bridge(stale)
    try:
        with ColdEngine() as c:  # starting a cold engine sweeps dead ones' bridges
            assert _link_index(stale) is None
            assert c.bridge not in remove_stale_bridges()  # its own dockerd names it: kept
            assert _link_index(c.bridge) is not None
    finally:
        subprocess.run(["ip", "link", "del", stale], capture_output=True)


def test_a_dead_cold_engines_namespace_is_emptied_and_removed_and_nothing_else(image, tmp_path):
    """A pull cut short leaves blobs under a lease in the cold engine's containerd
    namespace; the next cold engine (and `bench clean`) removes it, and only it."""
    from bench.engine.coldpull import SYSTEM_CONTAINERD, remove_namespace, remove_stale_namespaces

    def ctr(*args, ns=None):
        argv = ["ctr", "--address", SYSTEM_CONTAINERD] + (["-n", ns] if ns else []) + list(args)
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)

    dead, other = "bench-cold-00000000", "bench-test-keep"
    tar = tmp_path / "img.tar"
    subprocess.run(["docker", "save", "-o", str(tar), image], check=True, timeout=120)
    for ns in (dead, other):
        assert ctr("images", "import", str(tar), ns=ns).returncode == 0
    assert ctr("leases", "create", ns=dead).returncode == 0
    try:
        assert ctr("content", "list", "--quiet", ns=dead).stdout.split()  # not empty
        with ColdEngine() as c:  # starting one sweeps the dead one's namespace
            names = ctr("namespaces", "list", "--quiet").stdout.split()
            assert dead not in names and other in names
            ctr("namespaces", "create", c.name)  # dockerd makes it lazily, at its first pull
            assert c.name not in remove_stale_namespaces()  # a live engine's is kept
            assert c.name in ctr("namespaces", "list", "--quiet").stdout.split()
    finally:
        for ns in (dead, other):
            remove_namespace(SYSTEM_CONTAINERD, ns)
    assert other not in ctr("namespaces", "list", "--quiet").stdout.split()
