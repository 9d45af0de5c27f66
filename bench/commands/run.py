"""bench run: build, measure and store every variant; print a summary table."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

from bench.apps import load_apps, select
from bench.engine.executor import default_executor
from bench.errors import UserError
from bench.plan import PROFILES, PROFILES_BANDWIDTH, SCENARIOS, make_plan
from bench.store import RESULTS_DIR, Run, find_run


def add_arguments(p):
    p.add_argument("--only", action="append", metavar="APP[/VARIANT]",
                   help="measure only these (repeatable, comma-separated)")
    p.add_argument("--apps", type=Path, help="a directory laid out like sample_apps/ (default: the bundled apps)")
    p.add_argument("--profile", choices=list(PROFILES), default=None,
                   help="quick: 1 repetition, loopback pulls; standard (default): 3 repetitions, all bandwidth "
                        "profiles; full: 5 + warmup")
    p.add_argument("--repeat", type=int, help="repetitions per scenario (overrides the profile)")
    p.add_argument("--warmup", type=int, help="unrecorded builds before measuring (overrides the profile)")
    p.add_argument("--scenarios", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    p.add_argument("--pull-profiles", help=f"comma-separated subset of {','.join(PROFILES_BANDWIDTH)}")
    p.add_argument("--no-push", action="store_true", help="skip the registry: no push, no cold pulls")
    p.add_argument("--no-analyze", action="store_true", help="skip dive/syft/hadolint analysis")
    p.add_argument("--bases", choices=["auto", "hub", "local"], default="auto",
                   help="hub: pull real bases; local: build stand-ins; auto: hub when a registry answers")
    p.add_argument("--resume", nargs="?", const="", metavar="RUN",
                   help="continue the newest (or the named) interrupted run without redoing finished cells")
    p.add_argument("--redo", action="append", metavar="APP/VARIANT",
                   help="with --resume: measure these finished cells again; their earlier rows move to "
                        "the run's superseded.csv (repeatable)")
    p.add_argument("--because", metavar="TEXT", default="asked for with --redo",
                   help="with --redo: why, kept in the run's notes and beside the superseded rows")
    p.add_argument("--retry-failed", action="store_true",
                   help="with --resume: measure the cells that failed again (e.g. after a network error)")
    p.add_argument("--results", type=Path, default=RESULTS_DIR, help="results directory (default: results/)")


def _csv(s):
    return tuple(x.strip() for x in s.split(",") if x.strip()) if s else None


def _settings(args, stored: dict | None) -> dict:
    """The plan's settings: from the flags for a new run; from the run itself on --resume,
    so every cell of one run is measured the same way (a flag that disagrees is an error)."""
    asked = dict(
        profile=args.profile, repeat=args.repeat, warmup=args.warmup,
        scenarios=_csv(args.scenarios), pull_profiles=_csv(args.pull_profiles),
        analyze=False if args.no_analyze else None, push_pull=False if args.no_push else None,
    )
    if stored is None:
        return {**asked, "profile": args.profile or "standard"}
    plan = stored.get("plan", {})
    kept = dict(
        profile=stored.get("profile"), repeat=plan.get("repeat"), warmup=plan.get("warmup"),
        scenarios=tuple(plan["scenarios"]) if "scenarios" in plan else None,
        pull_profiles=tuple(plan["pull_profiles"]) if "pull_profiles" in plan else None,
        analyze=plan.get("analyze"), push_pull=plan.get("push_pull"),
    )
    flags = {"profile": "--profile", "repeat": "--repeat", "warmup": "--warmup", "scenarios": "--scenarios",
             "pull_profiles": "--pull-profiles", "analyze": "--no-analyze", "push_pull": "--no-push"}
    for k, v in asked.items():
        if v is not None and kept[k] is not None and v != kept[k]:
            raise UserError(f"run {stored.get('run_id')} was measured with {k.replace('_', ' ')} "
                            f"{_show(kept[k])}; resume it without {flags[k]} (or start a new run)")
    out = {k: kept[k] if kept[k] is not None else v for k, v in asked.items()}
    return {**out, "profile": out["profile"] or "standard"}


def _show(v) -> str:
    return ",".join(v) if isinstance(v, tuple) else str(v)


def run(args) -> int:
    from bench import metadata as md
    from bench.runner import Runner, check_engine

    if args.retry_failed and args.resume is None:
        raise UserError("--retry-failed goes with --resume: name the run whose failed cells to measure again")
    if args.redo and args.resume is None:
        raise UserError("--redo goes with --resume: name the run whose cells to measure again")
    apps = load_apps(args.apps)
    pairs = select(apps, args.only)
    run_ = None
    if args.resume is not None:
        run_ = Run.open(find_run(args.results, args.resume or None, complete=False))
        for key in args.redo or []:
            if key not in {f"{a.name}/{v.name}" for a, v in pairs}:
                raise UserError(f"--redo {key}: not an APP/VARIANT of this run's apps (see `python -m bench list`)")
        if run_.metadata.get("complete") and not args.redo:
            print(f"run {run_.run_id} is already complete; nothing to resume")
            return 0
    settings = _settings(args, run_.metadata if run_ else None)
    plan = make_plan(pairs, **settings)
    ex = default_executor()
    check_engine(ex)
    argv = sys.argv[1:]
    if run_ is not None:
        print(f"resuming run {run_.run_id}")
        # A resumed run may also be extended: the plan is the union of both.
        old = run_.metadata.setdefault("plan", {}).get("cells", [])
        run_.metadata["plan"]["cells"] = old + [c.key for c in plan.cells if c.key not in old]
        run_.metadata.setdefault("resumed_utc", []).append(
            datetime.now(timezone.utc).isoformat(timespec="seconds"))
        # The code that measures the rest: a resumed run may be measured by a newer commit.
        run_.metadata.setdefault("resumed_with", []).append(md.bench_info())
    else:
        meta = md.collect(ex, profile=plan.profile.name, argv=argv, bases_mode=args.bases,
                          plan={"cells": [c.key for c in plan.cells], "repeat": plan.cells[0].repeat if plan.cells else 0,
                                "warmup": plan.cells[0].warmup if plan.cells else 0,
                                "scenarios": list(plan.cells[0].scenarios) if plan.cells else [],
                                "pull_profiles": list(plan.cells[0].pull_profiles) if plan.cells else [],
                                "push_pull": plan.cells[0].push_pull if plan.cells else True,
                                "analyze": plan.cells[0].analyze if plan.cells else True},
                          apps_dir=str(args.apps or "sample_apps"))
        run_ = Run.create(args.results, meta)
    print(f"run {run_.run_id}: {plan.describe()} -> {run_.folder}")

    from bench.commands._progress import RichReporter

    with RichReporter(len(plan.cells)) as reporter:
        runner = Runner(ex, run_, plan, bases_mode=args.bases, reporter=reporter, resume=args.resume is not None,
                        retry_failed=args.retry_failed, redo=frozenset(args.redo or ()),
                        redo_because=args.because)
        runner.execute()
    from bench.commands._summary import print_summary

    print_summary(run_)
    failed = [c for c in run_.cells.values() if c.status == "failed"]
    return 1 if failed else 0
