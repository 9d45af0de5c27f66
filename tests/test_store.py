import json

import pytest

from bench.errors import UserError
from bench.store import Cell, Run, Sample, find_run


def _cell(**kw):
    return Cell(app="go", variant="scratch", techniques=["multistage", "scratch"], parent="bloated",
                summary="s", bases=["golang:1.22"], bases_resolved=["bench-standin/golang:abc"], standin=True, **kw)


def test_sample_refuses_unknown_units_and_non_numbers():
    with pytest.raises(ValueError):
        Sample("go", "x", "cold", "build_wall_seconds", 1.0, "ms")
    with pytest.raises(ValueError):
        Sample("go", "x", "cold", "build_wall_seconds", "1", "s")


def test_rows_carry_cell_columns_and_survive_a_round_trip(tmp_path):
    run = Run.create(tmp_path, {"run_id": "20260101T000000Z"})
    c = _cell(status="ok")
    run.set_cell(c)
    run.add(c, [Sample("go", "scratch", "image", "disk_bytes", 2_000_000, "B")])
    run.save()
    again = Run.open(run.folder)
    (row,) = again.rows
    assert row["bases"] == "golang:1.22" and row["standin"] in (True, "True")
    assert row["techniques"] == "multistage+scratch"
    assert again.cells["go/scratch"].status == "ok"
    assert (run.folder / "samples.parquet").is_file()


def test_runs_never_overwrite_each_other(tmp_path):
    a = Run.create(tmp_path, {"run_id": "X"})
    b = Run.create(tmp_path, {"run_id": "X"})
    assert a.folder != b.folder and a.folder.is_dir() and b.folder.is_dir()


def test_sample_for_another_cell_is_refused(tmp_path):
    run = Run.create(tmp_path, {})
    with pytest.raises(ValueError):
        run.add(_cell(), [Sample("go", "bloated", "image", "disk_bytes", 1, "B")])


def test_unknown_schema_is_refused_with_the_fix(tmp_path):
    run = Run.create(tmp_path, {})
    meta = json.loads((run.folder / "metadata.json").read_text())
    meta["schema"] = 99
    (run.folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="re-run"):
        Run.open(run.folder)


def test_find_run_prefers_latest_complete(tmp_path):
    with pytest.raises(UserError):
        find_run(tmp_path)
    a = Run.create(tmp_path, {"run_id": "A"})
    a.finish()
    Run.create(tmp_path, {"run_id": "B"})  # incomplete
    assert find_run(tmp_path).name == "A"
    assert find_run(tmp_path, complete=False).name in ("A", "B")
    assert find_run(tmp_path, "B").name == "B"


def test_a_schema_1_run_is_read_with_its_settings_and_each_segments_commit():
    from bench.store import RESULTS_DIR

    run = Run.open(RESULTS_DIR / "runs" / "20261127T085629Z")
    s = run.settings
    assert (s.profile, s.repeat, s.scenarios) == ("standard", 3, ("cold", "warm", "edit"))
    assert s.bandwidths == {"loopback": None, "1gbit": 1e9, "150mbit": 150e6}
    raw = json.loads((run.folder / "metadata.json").read_text())
    assert raw["schema"] == 1  # read, upgraded in memory, not rewritten
    segs = run.segments
    assert len(segs) == len(raw["segments"])
    assert segs[0].bench["git_commit"] == raw["bench"]["git_commit"]
    assert [g.bench.get("git_commit") for g in segs[1:len(raw["resumed_with"]) + 1]] == \
        [r["git_commit"] for r in raw["resumed_with"]]


def test_a_corrupt_metadata_file_is_one_user_error(tmp_path):
    run = Run.create(tmp_path, {})
    (run.folder / "metadata.json").write_text('{"schema": 2, "run_')
    with pytest.raises(UserError, match="not valid JSON.*restore it"):
        Run.open(run.folder)


def test_a_write_the_folder_refuses_is_one_line_and_keeps_the_last_saved_version(tmp_path, monkeypatch):
    import os as _os

    from bench.store import ResultsUnwritable

    run = Run.create(tmp_path, {})
    run.record(_cell(status="ok"), [Sample("go", "scratch", "image", "disk_bytes", 2_000_000, "B")])
    saved = (run.folder / "samples.csv").read_bytes()

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_os, "replace", full)  # the disk fills as the next save lands
    with pytest.raises(ResultsUnwritable, match=r"No space left on device.*--results.*intact"):
        run.save()
    assert (run.folder / "samples.csv").read_bytes() == saved
    assert not [p for p in run.folder.iterdir() if p.name.startswith(".")]  # no half-written temp file
