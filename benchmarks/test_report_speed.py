"""`bench report` on the recorded small run (tests/fixtures/run_small): tables, claims,
charts (PNG + SVG) and REPORT.md, in this process (matplotlib already imported after the
first, untimed round)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "run_small"


def test_report_of_the_small_run(benchmark, tmp_path, capsys):
    from bench.commands import report

    results = tmp_path / "results"
    shutil.copytree(FIXTURE, results / "runs" / "run-small")
    args = argparse.Namespace(run="run-small", results=results, out=None)
    assert report.run(args) == 0  # warm-up: imports, font cache
    benchmark.group = "report"
    codes = benchmark.pedantic(report.run, args=(args,), rounds=3, iterations=1)
    assert codes == 0
    assert (results / "runs" / "run-small" / "REPORT.md").is_file()
    capsys.readouterr()
