"""The published results regenerate byte for byte: `bench report` on the run results/latest
names gives back every committed chart and table of it, its REPORT.md, results/REPORT.md and
README's first screen, and nothing the current code would not write. No engine."""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.report import REPORT_DIR, generate, headline
from bench.report.load import load_run

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"


def _block(readme: str) -> str:
    return readme.split(headline.BEGIN, 1)[1].split(headline.END, 1)[0]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_bench_report_regenerates_the_published_run_byte_for_byte(tmp_path):
    latest = (RESULTS / "latest").read_text().strip()
    committed = RESULTS / "runs" / latest
    repo = tmp_path / "repo"
    run_dir = repo / "results" / "runs" / latest
    run_dir.mkdir(parents=True)
    for name in ("metadata.json", "cells.json", "samples.csv", "samples.parquet", "superseded.csv"):
        if (committed / name).exists():  # the measurements only: the report must come back from them
            shutil.copy2(committed / name, run_dir / name)
    (repo / "results" / "latest").write_text(latest + "\n")
    (repo / "README.md").write_text(f"# bench\n\n{headline.BEGIN}\n{headline.END}\n")

    generate(load_run(run_dir), None, repo / "results")

    want = _files(committed / REPORT_DIR)
    got = _files(run_dir / REPORT_DIR)
    assert sorted(got) == sorted(want), "the committed report folder holds files the report no longer writes, or lacks some"
    differ = [name for name in want if got[name] != want[name]]
    assert not differ, f"regenerating {latest} changes {differ}: run `python -m bench report {latest}` and commit"
    assert (run_dir / "REPORT.md").read_bytes() == (committed / "REPORT.md").read_bytes()
    assert (repo / "results" / "REPORT.md").read_bytes() == (RESULTS / "REPORT.md").read_bytes()
    assert _block((repo / "README.md").read_text()) == _block((ROOT / "README.md").read_text())


def test_results_compare_md_regenerates_from_the_two_runs_it_names():
    from bench.compare import compare_runs, render_markdown

    committed = (RESULTS / "COMPARE.md").read_text()
    head = committed.splitlines()[0]  # "### bench compare: `A` → `B`"
    run_a, run_b = head.split("`")[1], head.split("`")[3]
    assert run_b == (RESULTS / "latest").read_text().strip(), "COMPARE.md sets another run than results/latest beside its comparison run"
    assert render_markdown(compare_runs(run_a, run_b, RESULTS)) + "\n" == committed, "run `make results` and commit"
