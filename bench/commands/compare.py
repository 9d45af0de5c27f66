"""`bench compare RUN_A RUN_B`: what changed between two stored runs, for people and for CI.

    bench compare 20261127T064158Z 20261127T085629Z
    bench compare OLD NEW --fail-on disk_bytes:+5% --fail-on cold_build:+20%   # exit 1 past a threshold
    bench compare OLD NEW --format markdown > comment.md                        # a pull-request comment

Sizes are exact byte deltas; timings get a verdict (faster / slower / no difference) from
95% intervals of the medians. The rule and the --fail-on grammar: bench/compare.py.
"""

from __future__ import annotations

import json
from pathlib import Path


def add_arguments(p) -> None:
    p.add_argument("run_a", metavar="RUN_A", help="the baseline run (an id under RESULTS/runs, or a run folder)")
    p.add_argument("run_b", metavar="RUN_B", help="the run compared with it")
    p.add_argument("--results", type=Path, default=None, metavar="DIR",
                   help="results folder holding runs/ (default: results/ of this checkout)")
    p.add_argument("--fail-on", action="append", default=[], metavar="SPEC",
                   help="METRIC[:SCENARIO]:+N%%, e.g. disk_bytes:+5%% or cold_build:+20%%; exit 1 when B exceeds it "
                        "(a timing only when it is also 'slower'); repeatable")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    p.add_argument("--all", action="store_true", help="also list unchanged sizes and timings with no difference")


def run(args) -> int:
    from bench.compare import compare_runs, parse_threshold, render_markdown, render_text, to_json
    from bench.errors import UserError

    if args.results and not Path(args.results).is_dir():
        raise UserError(f"--results {args.results}: no such folder; pass the folder that holds runs/")
    thresholds = [parse_threshold(s) for s in args.fail_on]  # a bad spec fails before any reading
    c = compare_runs(args.run_a, args.run_b, args.results, thresholds)
    if args.format == "json":
        print(json.dumps(to_json(c), indent=2, allow_nan=False))
    elif args.format == "markdown":
        print(render_markdown(c, everything=args.all))
    else:
        print(render_text(c, everything=args.all))
    return 1 if c.violations else 0
