"""bench compare and bench export on committed runs and on copies of tests/fixtures/run_small
with known changes. No engine."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from bench.compare import (conditions, render_text, standin_label, warmup_ratio, FASTER, OUTSIDE, SAME, SLOWER, TOO_FEW, WITHIN, compare_runs, median_ci, parse_threshold,
                           render_markdown, timing_verdict)
from bench.errors import UserError
from bench.limits import Limits

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
QUICK, STANDARD = "20261127T064158Z", "20261127T085629Z"
SMALL = ROOT / "tests" / "fixtures" / "run_small"


def _copy_run(results: Path, run_id: str, change=None) -> Path:
    """run_small as RESULTS/runs/<run_id>, with `change(samples DataFrame)` applied."""
    dst = results / "runs" / run_id
    shutil.copytree(SMALL, dst)
    (dst / "samples.parquet").unlink(missing_ok=True)  # the CSV is the source of truth
    meta = json.loads((dst / "metadata.json").read_text())
    meta["run_id"] = run_id
    (dst / "metadata.json").write_text(json.dumps(meta))
    df = pd.read_csv(dst / "samples.csv", keep_default_na=False)
    if change:
        df = change(df)
    df["run_id"] = run_id
    df.to_csv(dst / "samples.csv", index=False)
    return dst


def _where(df, app, variant, metric, scenario=None):
    m = (df["app"] == app) & (df["variant"] == variant) & (df["metric"] == metric) & (df["detail"] == "")
    if scenario:
        m &= df["scenario"] == scenario
    return m


def _slower_and_bigger(df):
    cold = _where(df, "go", "bloated", "build_wall_seconds", "cold")
    df.loc[cold, "value"] = df.loc[cold, "value"] * 3
    disk = _where(df, "node", "bloated", "disk_bytes")
    df.loc[disk, "value"] = df.loc[disk, "value"] + 122_500_001  # +10% and one byte
    return df


@pytest.fixture
def results(tmp_path):
    _copy_run(tmp_path, "A")
    _copy_run(tmp_path, "B", _slower_and_bigger)
    _copy_run(tmp_path, "SAME")
    return tmp_path


def _find(c, cell, label):
    got = [d for d in c.deltas if d.cell == cell and d.label == label]
    assert len(got) == 1, (cell, label, [d.label for d in c.deltas if d.cell == cell])
    return got[0]


def test_committed_runs_exact_byte_deltas_and_added_cells():
    c = compare_runs(QUICK, STANDARD, RESULTS)
    a = pd.read_csv(RESULTS / "runs" / QUICK / "samples.csv", keep_default_na=False)
    b = pd.read_csv(RESULTS / "runs" / STANDARD / "samples.csv", keep_default_na=False)
    va = a[_where(a, "java", "bloated", "disk_bytes")]["value"].median()
    vb = b[_where(b, "java", "bloated", "disk_bytes")]["value"].median()
    d = _find(c, "java/bloated", "disk_bytes")
    assert (d.a, d.b, d.delta) == (va, vb, vb - va)
    # cells only in the standard run are listed as added, none removed
    assert "go/cache-order" in c.added and "python/dockerignore" in c.added
    assert not c.removed
    # the quick run timed everything once: it has no interval; its one sample is set against
    # the standard run's interval
    cold = _find(c, "go/bloated", "build_wall_seconds[cold]")
    assert cold.kind == "timing" and cold.ci_a is None and cold.ci_b is not None
    lo, hi = cold.ci_b
    assert cold.verdict == (WITHIN if lo <= cold.a <= hi else OUTSIDE)
    assert not any(d.label.startswith("pull_model_seconds") for d in c.deltas)


def test_a_run_against_itself_has_no_difference():
    c = compare_runs(STANDARD, STANDARD, RESULTS, [parse_threshold("disk_bytes:+0%"),
                                                    parse_threshold("cold_build:+0%")])
    assert all(d.delta == 0 for d in c.deltas if d.kind == "size")
    verdicts = {d.verdict for d in c.deltas if d.kind == "timing" and d.n_a >= 3}
    assert verdicts == {SAME}
    assert not c.violations and not c.added and not c.removed
    n = sum(d.kind == "size" and d.scenario == "image" for d in c.deltas)
    assert f"image sizes within ±0.1%: {n} of {n}" in render_text(c)


def test_verdicts_from_intervals():
    assert timing_verdict([1.0, 1.1, 1.2], [2.0, 2.1, 2.2])[0] == SLOWER
    assert timing_verdict([2.0, 2.1, 2.2], [1.0, 1.1, 1.2])[0] == FASTER
    assert timing_verdict([1.0, 1.5, 2.0], [1.2, 1.6, 2.1])[0] == SAME
    assert timing_verdict([1.0, 1.1], [2.0, 2.1])[0] == TOO_FEW
    # one side with an interval: is the other's median inside it?
    assert timing_verdict([2.1], [2.0, 2.1, 2.2])[0] == WITHIN
    assert timing_verdict([1.0], [2.0, 2.1, 2.2])[0] == OUTSIDE
    v, ca, cb = timing_verdict([2.0, 2.1, 2.2], [5.0])
    assert v == OUTSIDE and ca is not None and cb is None
    lo, hi = median_ci([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    assert 1.0 <= lo < 4.0 < hi <= 7.0
    assert median_ci([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]) == (lo, hi)  # fixed seed: reproducible


def test_known_changes_are_found(results):
    c = compare_runs("A", "B", results)
    cold = _find(c, "go/bloated", "build_wall_seconds[cold]")
    assert cold.verdict == SLOWER and cold.pct == pytest.approx(200.0)
    disk = _find(c, "node/bloated", "disk_bytes")
    assert disk.delta == 122_500_001 and disk.kind == "size" and disk.pct > 10.0
    assert _find(c, "go/bloated", "build_wall_seconds[warm]").verdict == SAME


@pytest.mark.parametrize("spec,expected", [
    ("disk_bytes:+5%", ["node/bloated disk_bytes"]),
    ("disk_bytes:+10%", ["node/bloated disk_bytes"]),
    ("disk_bytes:+10.1%", []),
    ("cold_build:+20%", ["go/bloated build_wall_seconds[cold]"]),
    ("build_wall_seconds:cold:+250%", []),
    ("build_wall_seconds:warm:+0%", []),  # warm did not change: noise is never a failure
])
def test_thresholds(results, spec, expected):
    c = compare_runs("A", "B", results, [parse_threshold(spec)])
    assert [f"{v.delta.cell} {v.delta.label}" for v in c.violations] == expected


def test_cli_exit_code_and_one_line_per_violation(results, capsys):
    rc = main(["compare", "A", "B", "--results", str(results), "--fail-on", "disk_bytes:+5%",
               "--fail-on", "cold_build:+20%"])
    out = capsys.readouterr().out
    assert rc == 1
    fails = [x for x in out.splitlines() if x.startswith("FAIL ")]
    assert len(fails) == 2
    assert any("go/bloated build_wall_seconds[cold]" in x and x.endswith("exceeds cold_build:+20%") for x in fails)
    assert any("node/bloated disk_bytes" in x and x.endswith("exceeds disk_bytes:+5%") for x in fails)
    assert main(["compare", "A", "SAME", "--results", str(results), "--fail-on", "disk_bytes:+0%"]) == 0
    assert "No size changed and no timing differs." in capsys.readouterr().out


def test_markdown_and_json(results, capsys):
    assert main(["compare", "A", "B", "--results", str(results), "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert "| cell | metric | A | B | change | verdict |" in md
    assert "| go/bloated | build_wall_seconds[cold] |" in md and "slower" in md
    assert main(["compare", "A", "B", "--results", str(results), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    row = next(m for m in doc["metrics"] if m["app"] == "node" and m["variant"] == "bloated"
               and m["metric"] == "disk_bytes")
    assert row["delta"] == 122_500_001 and row["kind"] == "size"
    assert "bootstrap" in doc["rule"]


def _drop_go_scratch(df):
    return df[~((df["app"] == "go") & (df["variant"] == "scratch"))]


def test_added_and_removed_cells(tmp_path):
    _copy_run(tmp_path, "A")
    _copy_run(tmp_path, "B", _drop_go_scratch)
    cells = json.loads((tmp_path / "runs" / "B" / "cells.json").read_text())
    (tmp_path / "runs" / "B" / "cells.json").write_text(json.dumps([x for x in cells if x["variant"] != "scratch"]))
    c = compare_runs("A", "B", tmp_path)
    assert c.removed == ["go/scratch"] and not c.added
    assert "removed (only in A): go/scratch" in render_markdown(c)


def test_unknown_run_and_bad_spec_are_one_line(results, capsys):
    assert main(["compare", "A", "nope", "--results", str(results)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("bench: error: no run 'nope'") and "\n" not in err
    with pytest.raises(UserError, match="METRIC"):
        parse_threshold("disk_bytes>5")
    assert main(["compare", "A", "B", "--results", str(results), "--fail-on", "disk_bytes:5%"]) == 1


# ---------------------------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------------------------
def test_export_stats_match_pytest_benchmark(tmp_path, capsys):
    from pytest_benchmark.stats import Stats

    out = tmp_path / "small.json"
    assert main(["export", str(SMALL), "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert {"machine_info", "commit_info", "benchmarks", "datetime", "version"} <= set(doc)
    assert doc["commit_info"]["id"] == json.loads((SMALL / "metadata.json").read_text())["bench"]["git_commit"]
    b = next(x for x in doc["benchmarks"] if x["fullname"] == "go/bloated::build_wall_seconds[cold]")
    df = pd.read_csv(SMALL / "samples.csv", keep_default_na=False)
    values = list(df[_where(df, "go", "bloated", "build_wall_seconds", "cold")].sort_values("repetition")["value"])
    assert b["stats"]["data"] == values
    ref = Stats()
    for v in values:
        ref.update(v)
    for k in ("min", "max", "mean", "stddev", "median", "rounds", "total", "ops"):
        assert b["stats"][k] == pytest.approx(getattr(ref, k)), k
    assert b["group"] == "build_wall_seconds[cold]" and b["params"]["variant"] == "bloated"


def test_pytest_benchmark_compare_reads_the_export(tmp_path):
    a, b = tmp_path / "0001_quick.json", tmp_path / "0002_standard.json"
    assert main(["export", QUICK, "--results", str(RESULTS), "-o", str(a)]) == 0
    assert main(["export", STANDARD, "--results", str(RESULTS), "-o", str(b)]) == 0
    cli = Path(sys.executable).with_name("pytest-benchmark")
    if not cli.exists():
        pytest.skip("pytest-benchmark's command is not installed beside this python")
    csv = tmp_path / "cmp"
    p = subprocess.run([str(cli), "compare", str(a), str(b), "--csv", str(csv)],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "Failed to load" not in p.stdout + p.stderr
    assert "benchmark 'build_wall_seconds[cold]'" in p.stdout and "go/bloated" in p.stdout
    rows = pd.read_csv(next(tmp_path.glob("cmp*.csv")))
    assert len(rows) == len(json.loads(a.read_text())["benchmarks"]) + len(json.loads(b.read_text())["benchmarks"])


def test_export_refuses_a_folder_and_unknown_runs(tmp_path):
    with pytest.raises(UserError):
        main_raising = __import__("bench.commands.export", fromlist=["run"]).run
        import argparse

        main_raising(argparse.Namespace(run=str(SMALL), results=None, format="pytest-benchmark", output=tmp_path))
    assert main(["export", "nope", "--results", str(RESULTS), "-o", str(tmp_path / "x.json")]) == 1


def test_warmup_repetitions_are_never_compared(tmp_path):
    def slow_warmup(df):
        cold = _where(df, "go", "bloated", "build_wall_seconds", "cold")
        first = df[cold].index[0]
        extra = df.loc[[first]].assign(value=df.loc[first, "value"] * 50, warmup=True, repetition=0)
        return pd.concat([df, extra], ignore_index=True)

    _copy_run(tmp_path, "A")
    _copy_run(tmp_path, "W", slow_warmup)
    d = _find(compare_runs("A", "W", tmp_path), "go/bloated", "build_wall_seconds[cold]")
    assert d.n_a == d.n_b and d.a == d.b and d.verdict == SAME


def test_export_leaves_warmup_repetitions_out(tmp_path):
    def with_warmup(df):
        cold = _where(df, "go", "bloated", "build_wall_seconds", "cold")
        first = df[cold].index[0]
        extra = df.loc[[first]].assign(value=999.0, warmup=True, repetition=0)
        return pd.concat([df, extra], ignore_index=True)

    run = _copy_run(tmp_path, "W", with_warmup)
    out = tmp_path / "w.json"
    assert main(["export", str(run), "-o", str(out)]) == 0
    b = next(x for x in json.loads(out.read_text())["benchmarks"] if x["fullname"] == "go/bloated::build_wall_seconds[cold]")
    assert 999.0 not in b["stats"]["data"] and b["stats"]["max"] < 999.0


def _meta(cpu="AMD EPYC", profile="quick", warmup=0, repeat=1, server="26.1.5", gzip=23e6, disk=1.4e9):
    limits = Limits(sample="tar of /usr/lib", sample_bytes=10**8, compressed_bytes=4 * 10**7, gzip_bytes_per_s=gzip,
                    gunzip_bytes_per_s=1e8, unpigz_bytes_per_s=None, unpigz="", disk_write_bytes_per_s=disk,
                    disk_dir="/tmp", seconds=7.0)
    seg = {"machine": {"cpu_model": cpu, "cpus": 2, "memory_bytes": 24 * 2**30, "kernel": "6.18"},
           "engine": {"server": server}, "limits": limits.to_json()}
    return {"settings": {"profile": profile, "warmup": warmup, "repeat": repeat}, "segments": [seg]}


def test_conditions_name_what_differs_in_how_two_runs_were_measured():
    assert conditions(_meta(), _meta(gzip=24e6)) == []  # limits a few percent apart are noise
    got = conditions(_meta(), _meta(cpu="Intel Xeon", profile="standard", warmup=1, repeat=3, gzip=31e6))
    assert got[0] == "profile: quick (no warmup, 1 repetition) vs standard (1 warmup, 3 repetitions)"
    assert got[1].startswith("machine: AMD EPYC, 2 CPUs, 24 GiB") and "vs Intel Xeon" in got[1]
    assert got[2].startswith("gzip: 23 MB/s vs 31 MB/s") and len(got) == 3
    assert conditions(_meta(), _meta(server="27.0.1")) == ["engine: 26.1.5 vs 27.0.1"]
    two = _meta(disk=3e8)
    two["segments"].append(_meta(disk=1.2e9)["segments"][0])  # a resumed run: each segment's limits
    assert conditions(_meta(disk=1.3e9), two) == []  # 1300 lies within 1.1 x 1200: not apart
    assert conditions(_meta(disk=2e9), two) == ["disk write: 2000 MB/s vs 300-1200 MB/s (measured by each run's limits probe)"]


def test_compare_prints_the_conditions_and_the_ratios(tmp_path):
    def warm_and_fast(df):  # B: every timing halved, with warmups at twice its medians
        t = df["unit"] == "s"
        df.loc[t, "value"] = df.loc[t, "value"] / 2
        warm = df[t & (df["detail"] == "")].assign(warmup=True, repetition=-1)
        warm["value"] = warm["value"] * 2
        return pd.concat([df, warm], ignore_index=True)

    _copy_run(tmp_path, "A")
    _copy_run(tmp_path, "B", warm_and_fast)
    meta = json.loads((tmp_path / "runs" / "B" / "metadata.json").read_text())
    meta.setdefault("machine", {})["cpu_model"] = "Some Other CPU"
    meta.pop("segments", None)
    (tmp_path / "runs" / "B" / "metadata.json").write_text(json.dumps(meta))
    c = compare_runs("A", "B", tmp_path)
    assert any(x.startswith("machine:") and "vs Some Other CPU" in x for x in c.conditions)
    text = render_text(c)
    assert "measured under different conditions, A vs B:" in text
    assert "B's timing medians over A's: 0.50×" in text
    assert "B's warmups (the first sample of each kind) over its measured medians: 2.00×" in text
    assert "their timings differ by those as well as by the runs" in text
    assert "Measured under different conditions" in render_markdown(c)
    assert warmup_ratio(pd.read_csv(SMALL / "samples.csv", keep_default_na=False).assign(warmup=False)) is None


def test_sizes_on_stand_in_bases_are_labelled_and_upstream_ones_are_not(tmp_path):
    def upstream(df):
        df["standin"] = False
        return df

    _copy_run(tmp_path, "A")  # the fixture's images are built on stand-ins
    _copy_run(tmp_path, "UP", upstream)
    meta = json.loads((tmp_path / "runs" / "UP" / "metadata.json").read_text())
    for base in meta["bases"].values():
        base["standin"] = False
    (tmp_path / "runs" / "UP" / "metadata.json").write_text(json.dumps(meta))
    cells_file = tmp_path / "runs" / "UP" / "cells.json"
    cells = json.loads(cells_file.read_text())
    for cell in cells:
        cell["standin"] = False
    cells_file.write_text(json.dumps(cells))

    mixed = compare_runs("UP", "A", tmp_path)
    assert mixed.standin == ["A"]
    assert "stand-in bases: the images of A are built with local stand-in bases" in render_markdown(mixed)
    assert standin_label(mixed).upper() in render_text(mixed)
    clean = compare_runs("UP", "UP", tmp_path)
    assert clean.standin == [] and "stand-in" not in render_markdown(clean) + render_text(clean)
