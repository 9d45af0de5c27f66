"""bench run: build, measure and store every variant; print a summary table."""

from __future__ import annotations

import sys
from pathlib import Path

from bench import settings as settings_mod
from bench.apps import load_apps, select
from bench.engine.docker import Docker
from bench.engine.executor import default_executor
from bench.errors import UserError
from bench.plan import Plan, Shard, make_plan, reference_bases, shard_of, to_measure
from bench.settings import BANDWIDTHS, BASES_MODES, PROFILES, SCENARIOS, Asked
from bench.store import RESULTS_DIR, Run, find_run, new_run_id


def add_arguments(p):
    p.add_argument("--only", action="append", metavar="APP[/VARIANT]",
                   help="measure only these (repeatable, comma-separated)")
    p.add_argument("--apps", type=Path, help="a directory laid out like sample_apps/ (default: the bundled apps)")
    p.add_argument("--profile", choices=list(PROFILES), default=None,
                   help="quick: 1 repetition, loopback pulls; standard (default): 1 warmup + 3 repetitions, all "
                        "bandwidth profiles; full: 1 warmup + 5")
    p.add_argument("--repeat", type=int, help="repetitions per scenario (overrides the profile)")
    p.add_argument("--warmup", type=int, help="warmup repetitions of every scenario (builds, starts, push and pulls) before the measured "
                        "ones: kept in the data, flagged, never summarised (overrides the profile)")
    p.add_argument("--scenarios", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    p.add_argument("--pull-profiles", help=f"comma-separated subset of {','.join(BANDWIDTHS)}")
    p.add_argument("--no-push", action="store_true", help="skip the registry: no push, no cold pulls")
    p.add_argument("--no-analyze", action="store_true", help="skip dive/syft/hadolint analysis")
    p.add_argument("--bases", choices=list(BASES_MODES), default=None,
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
    p.add_argument("--shard", metavar="I/N",
                   help="measure only shard I of N of the plan (a run of its own; `bench merge` joins the shards)")
    p.add_argument("--balance-from", metavar="RUN",
                   help="with --shard: balance the shards by the cell times of this earlier run (default: by count)")
    p.add_argument("--allow-mixed", action="store_true",
                   help="with --resume: measure the rest on another engine, machine or bench commit than the "
                        "run's first part (the report says the run is mixed)")
    p.add_argument("--results", type=Path, default=None,
                   help="results directory (default: results/ of this checkout for the bundled apps; "
                        f"./{USER_RESULTS} for --apps, so your runs never replace the published ones)")


def _csv(s):
    return tuple(x.strip() for x in s.split(",") if x.strip()) if s else None


def _asked(args) -> Asked:
    return Asked(profile=args.profile, repeat=args.repeat, warmup=args.warmup, scenarios=_csv(args.scenarios),
                 pull_profiles=_csv(args.pull_profiles), analyze=False if args.no_analyze else None,
                 push_pull=False if args.no_push else None, bases_mode=args.bases)


USER_RESULTS = "bench-results"


def results_dir(args) -> Path:
    """Where this run's results go: the project's published results/ only for its own apps."""
    if args.results is not None:
        return Path(args.results)
    return Path.cwd() / USER_RESULTS if args.apps else RESULTS_DIR


def _check_flags(args) -> None:
    """Flags that contradict each other, before anything is loaded."""
    if args.balance_from and not args.shard:
        raise UserError("--balance-from goes with --shard I/N")
    if args.shard and args.resume is not None:
        raise UserError("--shard starts a new shard run; resume a shard with --resume RUN alone")
    if args.shard:
        Shard.parse(args.shard)
    for flag, given in (("--retry-failed", args.retry_failed), ("--redo", args.redo)):
        if given and args.resume is None:
            raise UserError(f"{flag} goes with --resume: name the run whose cells to measure again")


def _check_redo(args, pairs) -> None:
    for key in args.redo or []:
        if key not in {f"{a.name}/{v.name}" for a, v in pairs}:
            raise UserError(f"--redo {key}: not an APP/VARIANT of this run's apps (see `python -m bench list`)")


def _open_run(args, pairs) -> tuple[Run, Plan, bool]:
    """The run to measure into and its plan: a new one, or the resumed one with its own
    settings (and more cells, when --only names more). The bool: whether it is resumed."""
    if args.resume is None:
        settings = settings_mod.from_profile(_asked(args))
        plan = make_plan(pairs, settings, bases=_reference_bases(args))
        # Absolute, so a report made from another folder still finds the apps' app.toml.
        meta = {"argv": sys.argv[1:], "apps_dir": str(Path(args.apps).resolve()) if args.apps else "sample_apps",
                "reference_bases": list(plan.bases)}
        if args.shard:
            plan, meta["shard"] = _shard(args, plan)
            # Shards start at the same second on different runners: their ids must differ.
            meta["run_id"] = f"{new_run_id()}-shard{meta['shard']['index']}of{meta['shard']['of']}"
        return Run.create(args.results, meta, settings=settings, planned=plan.keys), plan, False
    run_ = Run.open(find_run(args.results, args.resume or None, complete=False))
    if run_.settings is None:
        raise UserError(f"run {run_.run_id} records no settings to resume with: start a new run")
    settings = settings_mod.for_resume(_asked(args), run_.settings, run_.run_id)
    if run_.metadata.get("shard"):  # a shard measures its own cells, whatever --only says
        pairs = [(a, v) for a, v in pairs if f"{a.name}/{v.name}" in run_.planned]
    plan = make_plan(pairs, settings, bases=tuple(run_.metadata.get("reference_bases") or ()))
    run_.extend_plan(plan.keys)
    return run_, plan, True


def _reference_bases(args) -> tuple[str, ...]:
    """The article's base-image table, measured by a run of the whole bundled matrix (by the
    first shard of a sharded one); a run of some cells, or of your own apps, measures the
    bases its cells use."""
    if args.apps or args.only or (args.shard and Shard.parse(args.shard).index != 1):
        return ()
    return reference_bases()


def _shard(args, plan: Plan) -> tuple[Plan, dict]:
    """This shard's part of the plan, and what its metadata says about it."""
    shard = Shard.parse(args.shard)
    cost = None
    if args.balance_from:
        earlier = Run.open(find_run(args.results, args.balance_from, complete=False))
        cost = {k: c.seconds for k, c in earlier.cells.items() if c.seconds}
    mine = shard_of(plan, shard, cost)
    return mine, {"index": shard.index, "of": shard.of, "plan": plan.keys,
                  "balanced_by": earlier.run_id if cost else "cell count"}


def run(args) -> int:
    from bench import metadata as md
    from bench.commands._progress import RichReporter
    from bench.commands._summary import print_summary
    from bench.measure.steps import engine_steps
    from bench.runner import Runner

    _check_flags(args)
    pairs = select(load_apps(args.apps), args.only)
    _check_redo(args, pairs)
    args.results = results_dir(args)
    docker = Docker(default_executor())
    docker.require()
    run_, plan, resumed = _open_run(args, pairs)
    if resumed and run_.complete and not args.redo:
        print(f"run {run_.run_id} is already complete; nothing to resume")
        return 0
    selection = to_measure(plan, run_.statuses() if resumed else {}, retry_failed=args.retry_failed,
                           redo=frozenset(args.redo or ()), recorded_bases=frozenset(run_.bases))
    print(("resuming " if resumed else "") + f"run {run_.run_id}: {plan.describe()} -> {run_.folder}")
    prov = md.provenance(docker.executor)
    if plan.settings.push_pull and selection.cells:  # the floor of push and pull times needs them
        print("measuring this machine's gzip, gunzip, disk write and extraction rates (about 15 s)")
        prov = md.with_limits(prov)
    with RichReporter(len(plan.cells)) as reporter:
        Runner(run_, selection, plan.settings, provenance=prov, argv=tuple(sys.argv[1:]),
               allow_mixed=args.allow_mixed, reporter=reporter, redo_because=args.because,
               open_steps=lambda stack, needs: engine_steps(docker, run_, plan.settings, stack,
                                                            needs_registry=needs, step=reporter.step,
                                                            apps_dir=args.apps),
               ).execute()
    print_summary(run_)
    failed = [c for c in run_.cells.values() if c.status == "failed"]
    return 1 if failed else 0
