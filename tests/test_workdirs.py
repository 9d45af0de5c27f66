"""Folders of bench processes killed outright are found by their lock and removed; a live
owner's, an older bench's run copy, and anything not bench's are left alone."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.engine.workdirs import LOCK_NAME, hold, sweep


def _locked_by_child(folder):
    """A separate process that holds `folder`'s lock until killed (like a live bench run)."""
    code = ("import sys, time; sys.path.insert(0, '.'); from bench.engine.workdirs import hold; "
            f"h = hold(__import__('pathlib').Path({str(folder)!r})); print('held', flush=True); time.sleep(600)")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_a_dead_owners_folders_are_removed_and_a_live_ones_kept(tmp_path):
    dead, live = tmp_path / "cold-0000aaaa", tmp_path / "registry-abc123"
    run_copy, foreign = tmp_path / "20261127T085629Z", tmp_path / "someone-elses"
    for d in (run_copy, foreign):
        d.mkdir()
    (dead / "data").mkdir(parents=True)
    child = _locked_by_child(live)
    gone = _locked_by_child(dead)
    gone.kill()
    gone.wait()
    try:
        assert sweep(tmp_path) == [dead]  # its owner was killed outright
        assert live.is_dir() and (live / LOCK_NAME).is_file()  # its owner lives
        assert run_copy.is_dir()  # no lock: made by an older bench, never guessed at
        assert foreign.is_dir()  # not a name bench uses
    finally:
        child.kill()
        child.wait()
    assert sweep(tmp_path) == [live]


def test_a_folder_can_be_held_by_one_process_only(tmp_path):
    child = _locked_by_child(tmp_path / "20261127T000000Z")
    try:
        with pytest.raises(BlockingIOError):
            hold(tmp_path / "20261127T000000Z")
    finally:
        child.kill()
        child.wait()
    h = hold(tmp_path / "20261127T000000Z")  # free again once its holder is gone
    h.release()


def test_an_unlocked_daemon_folder_named_by_a_running_process_is_kept(tmp_path):
    d = tmp_path / "cold-0000bbbb"
    d.mkdir()
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(d)])
    try:
        time.sleep(0.1)
        assert sweep(tmp_path) == []
    finally:
        p.kill()
        p.wait()
    assert sweep(tmp_path) == [d]


def test_every_folder_name_bench_gives_a_run_is_one_sweep_knows():
    from bench.engine.workdirs import _OURS
    from bench.measure.builds import run_key

    for run_id in ("20261201T222923Z", "20261201T222923Z-2", "20261201T222923Z-shard2of4"):
        assert _OURS.match(run_key(run_id, Path("/tmp/results/runs") / run_id)), run_id
    assert not _OURS.match("my-own-folder")
