"""The fault suite (issue #18): one test per fault, on a private real engine where the fault
involves one. Each ends with the same four checks (tests/faultkit.py): one line saying what
happened and what to do with a non-zero exit; every cell finished before the fault kept byte
for byte; the user's image, container, volume and build cache untouched (also by `bench
clean`); nothing of bench's left behind."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.faultkit import (BUSYBOX, ROOT, Sandbox, UserThings, cells_kept, finished_cells, make_apps,
                            nothing_left, run_args, said_one_line, short_dir)

pytestmark = [pytest.mark.fault]
engine = pytest.mark.docker
ROOTLESS = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (a private dockerd, tmpfs mounts)")
need_busybox = pytest.mark.skipif(BUSYBOX is None, reason="no static busybox: apt-get install busybox-static")


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def private():
    """A dockerd of the suite's own (bench's ColdEngine), so nothing here touches the engine
    other work uses."""
    from bench.engine.coldpull import ColdEngine

    base = short_dir()
    with ColdEngine(work_dir=base, bridge_prefix=28) as eng:
        yield eng
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def box(private):
    base = short_dir("bfb-")
    yield Sandbox(private.host, base)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def baseline(private, tmp_path_factory):
    """A finished run (two cells) on the private engine; each test gets a copy."""
    base = short_dir("bfr-")
    box = Sandbox(private.host, base)
    apps = make_apps(tmp_path_factory.mktemp("baseline"))
    results = tmp_path_factory.mktemp("baseline-results")
    p = box.bench(*run_args(apps, results))
    assert p.returncode == 0, p.stderr
    shutil.rmtree(base, ignore_errors=True)
    return results


@pytest.fixture
def results(baseline, tmp_path):
    r = tmp_path / "results"
    shutil.copytree(baseline, r)
    return r


def _stored_run(results: Path) -> str:
    """A run with one finished cell, stored without an engine (for faults that need none)."""
    from bench.settings import Asked, from_profile
    from bench.store import Cell, Run, Sample

    run = Run.create(results, {"run_id": "20260101T000000Z"}, settings=from_profile(Asked(profile="quick")),
                     planned=["tiny/ok1", "tiny/ok2"])
    run.record(Cell(app="tiny", variant="ok1", techniques=["scratch"], parent=None, summary="", bases=[],
                    status="ok"), [Sample("tiny", "ok1", "image", "disk_bytes", 2000, "B")])
    return run.run_id


def _dead_engine_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    return {**env, "DOCKER_HOST": f"unix://{tmp_path}/nobody.sock", "BENCH_WORK_DIR": str(tmp_path / "work")}


def _bench(*args, env, timeout=120):
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=timeout)


def _readable(path: Path) -> bool:
    """Whether a /proc file can be read (its process may be gone by now)."""
    try:
        path.read_bytes()
        return True
    except OSError:
        return False


def _wait_for(pred, timeout=90.0, what="it"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _cell_done(results: Path, key: str) -> bool:
    for f in (results / "runs").glob("*/cells.json"):
        try:
            if any(f"{c['app']}/{c['variant']}" == key and c["status"] != "pending" for c in json.loads(f.read_text())):
                return True
        except (OSError, ValueError):
            pass
    return False


# -- 1. no engine answers -------------------------------------------------------------------------
def test_1_no_engine_answers(tmp_path):
    apps = make_apps(tmp_path) if BUSYBOX else ROOT / "sample_apps"
    results = tmp_path / "results"
    _stored_run(results)
    before = finished_cells(results)
    env = _dead_engine_env(tmp_path)
    for args in (["run", "--apps", str(apps), "--results", str(results), "--no-push"],
                 ["run", "--resume", "--apps", str(apps), "--results", str(results)], ["clean"], ["doctor"]):
        said_one_line(_bench(*args, env=env), "no Docker engine answers", "start")
    cells_kept(before, results)
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").iterdir())


# -- 2. the engine is killed in the middle of a build ---------------------------------------------
@engine
@ROOTLESS
@need_busybox
def test_2_engine_killed_mid_build(tmp_path):
    from bench.engine.coldpull import ColdEngine

    base = short_dir()
    eng = ColdEngine(work_dir=base).start()  # a second engine of the test's own: this one is killed
    try:
        box = Sandbox(eng.host, short_dir("bfb-"))
        apps, results = make_apps(tmp_path, ("ok1", "slow")), tmp_path / "results"
        p = box.bench_bg(*run_args(apps, results))
        _wait_for(lambda: _cell_done(results, "tiny/ok1"), what="the first cell")
        before = finished_cells(results)
        time.sleep(3)  # the slow cell's build is under way
        eng.proc.kill()
        out, err = p.communicate(timeout=120)
        said_one_line(subprocess.CompletedProcess(p.args, p.returncode, out, err), "engine", "--resume")
        cells_kept(before, results)
        assert nothing_left(box, engine_alive=False) == []
    finally:
        eng.close()
        shutil.rmtree(base, ignore_errors=True)


# -- 3. the registry dies in the middle of a push ---------------------------------------------------
@engine
@ROOTLESS
@need_busybox
def test_3_registry_dies_mid_push(box, tmp_path):
    apps, results = make_apps(tmp_path, ("ok1", "big")), tmp_path / "results"
    user = UserThings(box, tmp_path)
    args = [a for a in run_args(apps, results, "--pull-profiles", "loopback") if a != "--no-push"]
    p = box.bench_bg(*args)

    def registry_pushing():
        reg = [d for d in box.work.glob("registry-*")]
        pushing = [c for c in Path("/proc").glob("[0-9]*/cmdline")
                   if _readable(c) and c.read_bytes().startswith(b"docker\0push")]
        return bool(reg and pushing)

    _wait_for(registry_pushing, timeout=150, what="a push")
    before = finished_cells(results)
    for c in Path("/proc").glob("[0-9]*/cmdline"):
        if _readable(c) and b"registry" in c.read_bytes() and str(box.work).encode() in c.read_bytes():
            os.kill(int(c.parent.name), signal.SIGKILL)
    out, err = p.communicate(timeout=240)
    text = out + err
    assert "Traceback" not in text, text
    cells_kept(before, results)
    stored = {c["variant"]: c for f in (results / "runs").glob("*/cells.json") for c in json.loads(f.read_text())}
    # Push/pull adds figures to a cell that built and served: its failure is said in the cell's reason.
    assert any("push/pull failed" in c["reason"] for c in stored.values()), stored
    assert nothing_left(box) == []
    user.after_clean()


# -- 4, 5, 6. a Dockerfile with a syntax error; a failing RUN; an image that does not serve --------
@engine
@ROOTLESS
@need_busybox
@pytest.mark.parametrize("variant, says", [("badsyntax", "does not build"), ("failrun", "does not build"),
                                           ("noserve", "smoke check failed")])
def test_4_5_6_a_cell_that_fails(box, results, tmp_path, variant, says):
    user = UserThings(box, tmp_path)
    before = finished_cells(results)
    apps = make_apps(tmp_path, ("ok1", variant))
    p = box.bench(*run_args(apps, results, "--only", f"tiny/{variant}"))
    assert p.returncode == 1 and "Traceback" not in p.stdout + p.stderr, p.stderr
    said = [ln for ln in (p.stdout + p.stderr).splitlines() if f"tiny/{variant}" in ln and says in ln]
    assert said and all("failed" in ln for ln in said), p.stdout + p.stderr
    print("user saw:", said[-1].strip())
    cells_kept(before, results)
    assert nothing_left(box) == []
    user.after_clean()


# -- 7. SIGINT and SIGTERM in the middle of a cell, then --resume ----------------------------------
@engine
@ROOTLESS
@need_busybox
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_7_interrupted_then_resumed(box, tmp_path, sig):
    user = UserThings(box, tmp_path)
    apps, results = make_apps(tmp_path, ("ok1", "slow")), tmp_path / "results"
    p = box.bench_bg(*run_args(apps, results))
    _wait_for(lambda: _cell_done(results, "tiny/ok1"), what="the first cell")
    before = finished_cells(results)
    time.sleep(2)
    p.send_signal(sig)
    out, err = p.communicate(timeout=60)
    said_one_line(subprocess.CompletedProcess(p.args, p.returncode, out, err), "interrupted", "--resume")
    cells_kept(before, results)
    assert nothing_left(box) == []
    user.intact()
    again = box.bench("run", "--resume", "--results", str(results), "--apps", str(apps), timeout=240)
    assert again.returncode == 0, again.stderr
    cells_kept(before, results)
    assert len(finished_cells(results)) == 2
    assert nothing_left(box) == []
    user.after_clean()


# -- 8. the results folder unwritable; the disk full while saving ------------------------------------
def _mount_tmpfs(where: Path, opts: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], check=True)


@engine
@ROOTLESS
@need_busybox
@pytest.mark.parametrize("opts, says", [("ro,size=1m", "cannot"), ("size=24k", "space")], ids=["read-only", "full"])
def test_8_results_unwritable_or_full(box, tmp_path, opts, says):
    user = UserThings(box, tmp_path)
    apps, results = make_apps(tmp_path, ("ok1", "ok2")), tmp_path / "results"
    _mount_tmpfs(results, opts)
    try:
        p = box.bench(*run_args(apps, results))
        said_one_line(p, says, "--results")
        before = finished_cells(results)
    finally:
        subprocess.run(["umount", str(results)], check=True)
    assert before == {} or before  # what was saved before the disk filled is read back whole
    assert nothing_left(box) == []
    user.after_clean()


# -- 9. a corrupt or truncated results file ---------------------------------------------------------
@pytest.mark.parametrize("name", ["samples.csv", "cells.json", "metadata.json"])
@pytest.mark.parametrize("how", ["truncated", "garbage"])
def test_9_corrupt_results_file(tmp_path, name, how):
    results = tmp_path / "results"
    broken = _stored_run(results)
    from bench.store import Run

    good = Run.create(results, {"run_id": "20260102T000000Z"}).run_id
    path = results / "runs" / broken / name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if how == "truncated" else b"\x00\xffnot,a\n\"result")
    snapshot = {p: p.read_bytes() for p in (results / "runs").rglob("*") if p.is_file()}
    env = _dead_engine_env(tmp_path)
    env.pop("DOCKER_HOST")
    for args in (["report", broken], ["compare", broken, good], ["export", broken, "-o", str(tmp_path / "x.json")]):
        said_one_line(_bench(*args, "--results", str(results), env=env), name)
    # a resume is refused before it touches the engine or the broken run
    p = _bench("run", "--resume", broken, "--results", str(results), "--apps", str(make_apps(tmp_path)),
               env=_dead_engine_env(tmp_path))
    said_one_line(p)
    assert {p: p.read_bytes() for p in (results / "runs").rglob("*") if p.is_file()} == snapshot


# -- 10. two runs at once: on the same results folder, and on different ones ---------------------------
@engine
@ROOTLESS
@need_busybox
def test_10_two_runs_at_once(box, tmp_path):
    user = UserThings(box, tmp_path)
    apps = make_apps(tmp_path, ("ok1", "ok2", "slow"))
    r1, r2, r3 = (tmp_path / n for n in ("r1", "r2", "r3"))
    first = box.bench_bg(*run_args(apps, r1, "--only", "tiny/ok1,tiny/slow"))
    _wait_for(lambda: _cell_done(r1, "tiny/ok1"), what="the first cell")
    before = finished_cells(r1)
    [run_id] = [p.name for p in (r1 / "runs").iterdir()]
    said_one_line(box.bench("run", "--resume", run_id, "--results", str(r1), "--apps", str(apps)),
                  "another bench process", "resume")
    # Different folders, at the same time: neither moves the other's image tags.
    a = box.bench_bg(*run_args(apps, r2, "--only", "tiny/ok1,tiny/ok2"))
    b = box.bench_bg(*run_args(apps, r3, "--only", "tiny/ok1,tiny/ok2"))
    for proc in (a, b):
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, out + err
    tags = box.docker("images", "--format", "{{.Repository}}:{{.Tag}}", "bench/tiny").stdout.split()
    keys = {t.split(":", 1)[1].split("-", 1)[1] for t in tags if t.startswith("bench/tiny:ok1-")}
    assert len(keys) >= 3, tags  # three runs, three sets of tags
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=60)
    cells_kept(before, r1)
    assert nothing_left(box) == []
    user.after_clean()


# -- 11. bad CLI arguments, for each verb ---------------------------------------------------------------
BAD_VALUES = [
    ["run", "--repeat", "many"], ["run", "--profile", "fastest"], ["run", "--shard", "3/2"],
    ["run", "--retry-failed"], ["run", "--bases", "moon"], ["list", "--bases", "moon"],
    ["compare", "A"], ["diff", "a", "b", "--top", "x"], ["export", "RUN"], ["report", "NO_SUCH_RUN"],
    ["analyze"], ["init"], ["merge"],
]


@pytest.mark.parametrize("args", [[v, "--nonsense"] for v in
                                  ("doctor", "bases", "list", "run", "merge", "analyze", "report", "compare",
                                   "export", "diff", "init", "clean")] + BAD_VALUES, ids=" ".join)
def test_11_bad_cli_arguments(tmp_path, args):
    p = _bench(*args, "--results", str(tmp_path / "r"), env=_dead_engine_env(tmp_path)) if args[0] in (
        "report", "compare", "export") and "--nonsense" not in args else _bench(*args, env=_dead_engine_env(tmp_path))
    said_one_line(p)


# -- 12. a bad app manifest ----------------------------------------------------------------------------
BAD_MANIFESTS = {
    "no variants folder": lambda app: shutil.rmtree(app / "variants"),
    "port not a number": lambda app: (app / "app.toml").write_text('name = "tiny"\nport = "http"\n'),
    "edit not a table": lambda app: (app / "app.toml").write_text('name = "tiny"\nedit = "main.go"\n'),
    "techniques not a list": lambda app: (app / "variants" / "ok1" / "variant.toml").write_text("techniques = 3\n"),
    "no Dockerfile": lambda app: (app / "variants" / "ok1" / "Dockerfile").unlink(),
    "not TOML": lambda app: (app / "app.toml").write_text("name = \n"),
}


@need_busybox
@pytest.mark.parametrize("fault", list(BAD_MANIFESTS))
def test_12_bad_app_manifest(tmp_path, fault):
    apps = make_apps(tmp_path, ("ok1",))
    BAD_MANIFESTS[fault](apps / "tiny")
    for verb in ("list", "run"):
        said_one_line(_bench(verb, "--apps", str(apps), env=_dead_engine_env(tmp_path)), str(apps / "tiny"))


def test_12_an_unknown_technique_is_a_free_tag(tmp_path):
    """Techniques are the app author's own tags (`bench init` writes none): an unknown one is
    listed as written, and only the claims that name a known one use it."""
    apps = make_apps(tmp_path, ("ok1",))
    (apps / "tiny" / "variants" / "ok1" / "variant.toml").write_text('techniques = ["teleportation"]\n')
    p = _bench("list", "--apps", str(apps), "--json", env=_dead_engine_env(tmp_path))
    assert p.returncode == 0 and json.loads(p.stdout)[0]["techniques"] == ["teleportation"], p.stderr


# -- the smoke container's lockdown; daemons on loopback only ---------------------------------------------
@engine
@ROOTLESS
@need_busybox
def test_smoke_container_is_locked_down(box, tmp_path):
    from bench.engine.docker import Docker
    from bench.engine.executor import default_executor
    from bench.measure.smoke import start_container

    ctx = make_apps(tmp_path, ("ok1",)) / "tiny"
    shutil.copy2(ctx / "variants" / "ok1" / "Dockerfile", ctx / "src" / "Dockerfile")
    box.docker("buildx", "build", "-q", "-t", "faultkit-smoke:1", "--label", "org.bench.managed=true", str(ctx / "src"))
    os.environ["DOCKER_HOST"], old = box.host, os.environ.get("DOCKER_HOST")
    try:
        name = "bench-smoke-faultkit"
        start_container(Docker(default_executor()), "faultkit-smoke:1", port=8080, user=None, name=name)
        try:
            info = json.loads(box.docker("inspect", name).stdout)[0]
            assert info["State"]["Running"]
            host = info["HostConfig"]
            assert host["ReadonlyRootfs"] is True
            assert "no-new-privileges" in host["SecurityOpt"]
            assert host["CapDrop"] == ["ALL"]
            assert info["Config"]["User"] == "65532:65532"  # the image's user, not root
            bound = {b["HostIp"] for p in host["PortBindings"].values() for b in p}
            assert bound == {"127.0.0.1"}
        finally:
            box.docker("rm", "-f", name)
    finally:
        os.environ.pop("DOCKER_HOST") if old is None else os.environ.__setitem__("DOCKER_HOST", old)
        box.docker("rmi", "faultkit-smoke:1", check=False)


def _listening(pid: int) -> list[str]:
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    return [line.split()[3] for line in out.splitlines() if f"pid={pid}," in line]


@engine
@ROOTLESS
def test_registry_and_cold_engine_listen_on_loopback_or_a_socket_only(private):
    from bench.engine.registry import LocalRegistry

    base = short_dir()
    try:
        with LocalRegistry(work_dir=base) as reg:
            addrs = _listening(reg.proc.pid)
            assert addrs and all(re.match(r"^(127\.\d+\.\d+\.\d+|\[::1\]):\d+$", a) for a in addrs), addrs
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert _listening(private.proc.pid) == []  # the cold engine: its unix socket only
    assert private.host.startswith("unix:///tmp/")
