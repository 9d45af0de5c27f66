"""`python -m bench report [RUN]`: charts, tables and REPORT.md from stored results alone.

Never talks to the engine: a report can be regenerated anywhere, from the run folder only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", nargs="?", default=None,
                        help="run id under RESULTS/runs, or a run folder (default: the newest complete run)")
    parser.add_argument("--results", type=Path, default=None, metavar="DIR",
                        help="results folder (default: results/ of this checkout)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="where REPORT.md and report/ go (default: the run folder)")


def run(args: argparse.Namespace) -> int:
    from bench.report import generate
    from bench.report.load import load_run
    from bench.store import RESULTS_DIR

    results = Path(args.results) if args.results else RESULTS_DIR
    if args.results and not results.is_dir():
        raise UserError(f"--results {results}: no such folder; pass the folder that holds runs/")
    data = load_run(args.run, results)
    if data.samples.empty and data.cells.empty:
        raise UserError(f"run {data.run_id} holds no samples yet; wait for `bench run` to measure a cell, then rerun")
    if args.out and args.out.exists() and not args.out.is_dir():
        raise UserError(f"--out {args.out} is a file; pass a folder")
    w = generate(data, args.out, results)
    print(f"report for run {data.run_id}: {w.report}")
    if w.top_report:
        print(f"also: {w.top_report}")
    for f in w.files:
        if f.name == "README.md":
            print(f"also: {f} (its first screen: this run is results/latest)")
    v = w.verdicts
    from bench.report.claims_data import load_claims_file
    from bench.report.markdown import has_article_apps

    if not has_article_apps(data, load_claims_file()):
        print("claims: not judged (none of the article's apps is in this run)")
    else:
        print(f"claims: {v.get('holds', 0)} hold, {v.get('off', 0)} off, {v.get('inconclusive', 0)} inconclusive, "
              f"{v.get('not testable here', 0)} not testable here")
    if len(w.warnings) > 5:  # a standard run on a shared machine has dozens: count them, list them in the report
        print(f"warning: {len(w.warnings)} numbers vary by more than 10% between repetitions; "
              f"the list is in section 6 (Stability) of {w.report}")
    else:
        for line in w.warnings:
            print(f"warning: {line}")
    if data.provenance.synthetic:
        print("note: this run is a SYNTHETIC FIXTURE; nothing in the report was measured")
    return 0
