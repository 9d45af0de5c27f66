"""Machine limits (bench.limits), the engines' unpigz (bench.engine.helpers) and the report's
floor of push and pull times (bench.report.floor), on the synthetic fixture run."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from bench import metadata as md
from bench.engine import helpers
from bench.limits import Limits
from bench.report import floor
from bench.report.load import load_run
from bench.store import Run, Segment

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run_small"
MB = 1e6

LIM = Limits(sample="fixture", sample_bytes=100 * 2**20, compressed_bytes=40 * 2**20, gzip_bytes_per_s=20 * MB,
             gunzip_bytes_per_s=100 * MB, unpigz_bytes_per_s=None, unpigz="", disk_write_bytes_per_s=500 * MB,
             disk_dir="/fixture", seconds=9.0)


def with_limits(lim: Limits | None = LIM):
    """The fixture run as if its one segment had measured `lim` (and every cell belonged to it)."""
    run = load_run(FIXTURE)
    seg = {"index": 0, "started_utc": "2026-01-01T00:00:00+00:00", "machine": {"cpus": 2}}
    if lim is not None:
        seg["limits"] = lim.to_json()
    run.metadata = {**run.metadata, "segments": [seg]}
    run.cells = run.cells.assign(segment=0)
    return run


def test_push_floor_spreads_over_cores_but_not_below_the_largest_layer():
    assert floor.push_floor(200 * MB, 10 * MB, layers=4, cpus=2, lim=LIM) == pytest.approx(5.0)
    assert floor.push_floor(200 * MB, 10 * MB, layers=1, cpus=2, lim=LIM) == pytest.approx(10.0)
    assert floor.push_floor(200 * MB, 180 * MB, layers=4, cpus=2, lim=LIM) == pytest.approx(9.0)
    assert floor.push_floor(200 * MB, 10 * MB, layers=9, cpus=16, lim=LIM) == pytest.approx(2.0)  # 5 uploads at once


def test_pull_floor_is_the_slowest_of_its_overlapping_stages():
    # 100 MB compressed over 100 Mbit/s = 8 s; gunzip 1 s; 250 MB on disk 0.5 s: the wire bounds it
    assert floor.pull_floor(100 * MB, 250 * MB, 100e6, LIM) == pytest.approx(8.0)
    assert floor.pull_floor(100 * MB, 250 * MB, None, LIM) == pytest.approx(1.0)  # loopback: gunzip
    fast = replace(LIM, unpigz_bytes_per_s=200 * MB, unpigz="/usr/bin/unpigz")
    assert floor.pull_floor(100 * MB, 250 * MB, None, fast) == pytest.approx(0.5)  # then the disk
    slow_unpigz = replace(LIM, unpigz_bytes_per_s=10 * MB, unpigz="/usr/bin/unpigz")
    assert floor.pull_floor(100 * MB, 250 * MB, None, slow_unpigz) == pytest.approx(1.0)  # the faster one counts


def test_limits_round_trip_and_old_runs_have_none():
    assert Limits.from_json(LIM.to_json()) == LIM
    assert Limits.from_json(None) is None
    assert Limits.from_json({"error": "OSError: no space"}) is None


def test_run_without_limits_has_no_floor():
    assert floor.floor_section(load_run(FIXTURE)) == ""
    assert floor.floor_section(with_limits(None)) == ""


def test_floor_counts_every_push_and_pull_of_a_cell():
    run = with_limits()
    f = floor.cell_floors(run)
    s = run.samples[(run.samples.app == "node") & (run.samples.variant == "bloated")]
    disk = s[(s.scenario == "image") & (s.metric == "disk_bytes")].value.iloc[0]
    comp = s[(s.scenario == "image") & (s.metric == "compressed_bytes")].value.iloc[0]
    pushes = s[s.metric == "push_seconds"]
    cell = f[(f.app == "node") & (f.variant == "bloated")]
    push = cell[cell.phase == "push"].iloc[0]
    assert push.n == len(pushes) and push.measured == pytest.approx(pushes.value.sum())
    assert push.compressed == pytest.approx(comp * len(pushes))
    pull = cell[cell.phase == "pull 150mbit"].iloc[0]
    one = max(comp * 8 / 150e6, comp / LIM.gunzip_bytes_per_s, disk / LIM.disk_write_bytes_per_s)
    assert pull.floor == pytest.approx(one * pull.n)


def test_floor_section_says_the_floor_and_the_measured_time():
    run = with_limits()
    run.cells = run.cells.assign(phase_seconds=[{"builds": 100.0, "push_pull": 50.0}] * len(run.cells))
    text = floor.floor_section(run)
    f = floor.cell_floors(run)
    assert "| push |" in text and "| cold pull, 150mbit |" in text
    from bench.report import fmt

    assert f"on this machine is {fmt.duration(f.floor.sum())}; measured {fmt.duration(f.measured.sum())}" in text
    assert f"cannot take less than {fmt.duration(100.0 * len(run.cells) + f.floor.sum())}" in text


def test_cells_of_a_segment_without_limits_are_left_out():
    run = with_limits()
    run.cells = run.cells.assign(segment=[0] + [None] * (len(run.cells) - 1))
    assert set(floor.cell_floors(run).n) and len(floor.cell_floors(run)) < len(floor.cell_floors(with_limits()))


# -- the provenance: limits per segment, unpigz per engine --------------------------------------
def test_segment_stores_limits_only_when_measured(tmp_path):
    assert "limits" not in Segment(index=0, started_utc="x").to_json()
    run = Run.create(tmp_path)
    prov = md.Provenance(bench={}, engine={}, machine={}, limits=LIM.to_json())
    run.begin_segment(prov)
    assert Limits.from_json(Run.open(run.folder).segments[0].limits) == LIM


def test_with_limits_passes_the_cold_engines_unpigz_and_survives_a_failed_probe():
    seen = {}

    def fake(disk_dir, *, unpigz=None):
        seen.update(dir=disk_dir, unpigz=unpigz)
        return LIM

    cold = helpers.Helper("unpigz", "cold-pull", "/x/unpigz").to_json()
    prov = md.Provenance(bench={}, engine={"helpers": {"cold-pull": cold}}, machine={})
    assert md.with_limits(prov, fake).limits == LIM.to_json() and seen["unpigz"] == "/x/unpigz"

    def broken(disk_dir, *, unpigz=None):
        raise OSError("disk full")

    assert md.with_limits(prov, broken).limits["error"].startswith("error: OSError")


def _tool(directory: Path, name: str, version: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    p = directory / name
    p.write_text(f"#!/bin/sh\necho '{version}' >&2\n")
    p.chmod(p.stat().st_mode | stat.S_IXUSR)
    return p


def test_find_helper_reads_the_engines_path_and_version(tmp_path):
    tool = _tool(tmp_path / "bin", "unpigz", "pigz 9.9")
    h = helpers.find_helper("unpigz", "main", {"PATH": str(tmp_path / "bin")}, "/proc/1/environ")
    assert (h.path, h.version, h.used()) == (str(tool), "pigz 9.9", True)
    off = helpers.find_helper("unpigz", "main", {"PATH": str(tmp_path / "bin"), "MOBY_DISABLE_PIGZ": "1"}, "")
    assert off.disabled and off.used() is False
    assert helpers.find_helper("unpigz", "main", {}, "").path is None  # a daemon without PATH finds nothing


def test_remote_engine_helper_is_unknown():
    main, cold = helpers.engine_helpers(False)
    assert main.path == helpers.UNKNOWN and main.used() is None and "unknown" in main.describe()
    assert cold.engine == "cold-pull"


def test_main_dockerd_pid_skips_cold_engines(tmp_path):
    for pid, comm, cmd in ((7, "dockerd", b"dockerd\0--containerd-namespace\0bench-cold-0123abcd"),
                           (9, "bash", b"bash"), (12, "dockerd", b"dockerd\0--storage-driver=overlay2")):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "comm").write_text(comm + "\n")
        (tmp_path / str(pid) / "cmdline").write_bytes(cmd)
    assert helpers.main_dockerd_pid(tmp_path) == 12


@pytest.mark.docker
def test_probe_measures_this_machine(tmp_path):
    """The probe for real, on a small sample: every rate positive, nothing left behind."""
    from bench.limits import measure

    unpigz = helpers.find_helper("unpigz", "cold-pull", None, "").path
    lim = measure(tmp_path, unpigz=unpigz, sample_bytes=8 * 2**20)
    assert lim.sample_bytes > 0 and 0 < lim.compressed_bytes < lim.sample_bytes
    assert lim.gzip_bytes_per_s > 0 and lim.gunzip_bytes_per_s > 0 and lim.disk_write_bytes_per_s > 0
    assert (lim.unpigz_bytes_per_s is not None) == bool(unpigz)
    assert os.listdir(tmp_path) == []


def test_unpacking_counts_at_the_slower_of_a_sequential_write_and_a_many_file_extraction():
    # 100 MB compressed, 250 MB on disk, loopback: gunzip 1 s, write 0.5 s; extraction at 50 MB/s: 5 s
    slow_extract = replace(LIM, extract_bytes_per_s=50 * MB, sample_files=900)
    assert floor.pull_floor(100 * MB, 250 * MB, None, slow_extract) == pytest.approx(5.0)
    fast_extract = replace(LIM, extract_bytes_per_s=5000 * MB)
    assert floor.pull_floor(100 * MB, 250 * MB, None, fast_extract) == pytest.approx(1.0)  # the write still bounds
    assert any("extraction (GNU tar, 900 files): 50 MB/s" in line for line in slow_extract.lines())
    assert not any("extraction" in line for line in LIM.lines())  # a run that did not measure it says nothing


def test_the_probe_extracts_a_whole_tar_of_real_files(tmp_path):
    from bench import limits

    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    for i in range(30):
        (src / "d" / f"f{i}").write_bytes(os.urandom(4096) * (i + 1))
    (src / "link").symlink_to(src / "d" / "f0")
    data = limits.tar_sample(src, limit=200_000)
    assert limits.sample_files(data) < 30  # stopped at the limit, yet a whole archive
    assert limits.extract_rate(data, tmp_path) > 0
    assert [p.name for p in tmp_path.iterdir()] == ["src"]  # the extraction is removed
    lim = limits.measure(tmp_path / "disk", root=src, sample_bytes=10**9)
    assert lim.sample_files == 30 and lim.extract_bytes_per_s > 0


def test_a_pull_phase_far_above_its_floor_is_explained_and_a_close_one_is_not():
    f = pd.DataFrame([
        {"app": "a", "variant": "v", "phase": "push", "n": 1, "measured": 10.0, "floor": 2.0, "compressed": 1, "disk": 1},
        {"app": "a", "variant": "v", "phase": "pull loopback", "n": 1, "measured": 30.0, "floor": 5.0, "compressed": 1, "disk": 1},
        {"app": "a", "variant": "v", "phase": "pull 150mbit", "n": 1, "measured": 12.0, "floor": 10.0, "compressed": 1, "disk": 1},
    ])
    text = floor._far_above(f, {0: replace(LIM, extract_bytes_per_s=100 * MB, sample_files=340)})
    assert "The cold pulls at loopback sit at 3× or more" in text and "150mbit" not in text and "340 files" in text
    assert floor._far_above(f[f["phase"] != "pull loopback"], {0: LIM}) == ""  # push alone is never explained here


def test_segments_with_different_limits_are_each_named():
    other = replace(LIM, gzip_bytes_per_s=30 * MB)
    text = floor._limits_text({0: LIM, 1: other})
    assert text.startswith("segment 0: ") and " — segment 1: " in text and "30 MB/s" in text
    assert not floor._limits_text({0: LIM, 1: LIM}).startswith("segment")
