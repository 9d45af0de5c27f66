"""`bench merge RUN RUN... [--into RUN_ID]`: shards of one matrix -> one run."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.store import RESULTS_DIR, Run, find_run


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN", help="shard runs (ids under RESULTS/runs, or run folders)")
    p.add_argument("--into", metavar="RUN_ID", help="the merged run's id (default: the first shard's id + -merged)")
    p.add_argument("--allow-mixed", action="store_true",
                   help="merge shards measured by different engines, machine kinds or commits (the report says so)")
    p.add_argument("--results", type=Path, default=RESULTS_DIR, help="results directory (default: results/)")


def run(args) -> int:
    from bench.merge import merge

    shards = [Run.open(find_run(args.results, r, complete=False)) for r in args.runs]
    done = merge(shards, args.results, into=args.into, allow_mixed=args.allow_mixed)
    run_ = done.run
    if done.already:
        print(f"run {run_.run_id} already holds the merge of {', '.join(args.runs)}; nothing changed")
        return 0
    state = "complete" if run_.complete else f"incomplete: missing {', '.join(run_.missing())}"
    print(f"merged {len(shards)} shards into run {run_.run_id} ({len(run_.cells)} cells, {state}) -> {run_.folder}")
    if run_.metadata.get("mixed"):
        print(f"note: the run is mixed: {run_.metadata['mixed'][0]}")
    return 0
