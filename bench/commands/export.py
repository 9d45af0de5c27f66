"""`bench export RUN --format pytest-benchmark -o OUT.json`: a run's timings in another
tool's format.

    bench export 20261127T085629Z -o standard.json
    pytest-benchmark compare standard.json quick.json --group-by group

What goes where in the JSON: bench/export.py.
"""

from __future__ import annotations

import json
from pathlib import Path


def add_arguments(p) -> None:
    p.add_argument("run", metavar="RUN", help="run id under RESULTS/runs, or a run folder")
    p.add_argument("--results", type=Path, default=None, metavar="DIR",
                   help="results folder holding runs/ (default: results/ of this checkout)")
    p.add_argument("--format", choices=("pytest-benchmark",), default="pytest-benchmark")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.json", help="file to write")


def run(args) -> int:
    from bench.errors import UserError
    from bench.export import pytest_benchmark_json
    from bench.report.load import load_run

    if args.results and not Path(args.results).is_dir():
        raise UserError(f"--results {args.results}: no such folder; pass the folder that holds runs/")
    if args.output.is_dir():
        raise UserError(f"-o {args.output} is a folder; name a file, e.g. {args.output}/run.json")
    doc = pytest_benchmark_json(load_run(args.run, args.results))
    if not doc["benchmarks"]:
        raise UserError(f"run {args.run} holds no timings to export; pick a run with measured cells")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    print(f"{len(doc['benchmarks'])} timings of run {doc['benchmarks'][0]['extra_info']['run_id']} -> {args.output}")
    return 0
