"""What does the harness itself cost? (issue 5's performance goals, measured, not asserted)

1. Overhead: bench's build path (argv builder + executor + rawjson parsing + metadata file)
   against a bare `docker buildx build` of the same cell, interleaved A/B/A/B so both see
   the same machine. Goal: median ratio <= 1.03. Also bench's own time around each build
   (everything but the build command), which A/B noise on a sub-second build can hide.
2. Resume: `python -m bench run --resume RUN` on a run whose every planned cell is done
   (nothing to rebuild). Goal: <= 10 s.

    .venv/bin/python benchmarks/bench_harness.py [--app go --variant scratch] [--runs 10]

Uses the stand-in/real bases exactly as `bench run` does. Prints every sample and the
medians; writes nothing under results/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.apps import load_apps  # noqa: E402
from bench.bases import build_context_args, resolve  # noqa: E402
from bench.engine.buildx import build_argv  # noqa: E402
from bench.engine.executor import default_executor  # noqa: E402
from bench.measure.build import run_build  # noqa: E402
from bench.settings import PROFILES
from bench.store import Cell, Run  # noqa: E402


def overhead(app_name: str, variant: str, runs: int, scenario: str) -> dict:
    app = next(a for a in load_apps() if a.name == app_name)
    v = app.variant(variant)
    ex = default_executor()
    res = resolve(list(v.bases), "auto", executor=ex)
    ctx_args = build_context_args(res.values())
    tag = f"bench/harness-{app_name}:{variant}"
    bare, harness, own = [], [], []
    made: set[str] = set()  # every image the builds made (a cold build makes a new one each time)
    with tempfile.TemporaryDirectory() as tmp:
        meta = Path(tmp) / "m.json"
        argv = build_argv(context=app.context, dockerfile=v.dockerfile, tag=tag, metadata_file=meta,
                          build_contexts=ctx_args, no_cache=(scenario == "cold"))
        subprocess.run(argv, capture_output=True, check=True)  # warm the cache and the client
        def one_bare():
            t0 = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=True)
            bare.append(time.perf_counter() - t0)
            made.add(json.loads(meta.read_text()).get("containerimage.config.digest", ""))

        def one_bench(i):
            t0 = time.perf_counter()
            r = run_build(ex, scenario=scenario, repetition=i, context=app.context, dockerfile=v.dockerfile,
                          tag=tag, build_contexts=ctx_args)
            r.samples(app_name, variant)
            made.add(r.image_digest)
            harness.append(time.perf_counter() - t0)
            # What bench adds around the same build: everything but the build command itself.
            own.append(harness[-1] - r.completed.seconds)

        for i in range(runs):
            # Alternate which goes first, so neither always follows the other.
            if i % 2:
                one_bench(i)
                one_bare()
            else:
                one_bare()
                one_bench(i)
            print(f"  pair {i + 1}: bare {bare[-1]:.3f} s, bench {harness[-1]:.3f} s", flush=True)
    ex.run(["docker", "rmi", tag, *sorted(d for d in made if d)], check=False)
    mb, mh, mo = statistics.median(bare), statistics.median(harness), statistics.median(own)
    return {"cell": f"{app_name}/{variant}", "scenario": scenario, "runs": runs, "bare_median_s": mb,
            "bench_median_s": mh, "ratio": mh / mb, "own_median_s": mo, "own_ratio": mo / mb,
            "bare": bare, "bench": harness, "own": own}


def resume_seconds(cells: int = 36) -> float:
    """A finished run of `cells` cells, marked incomplete, resumed with nothing to do."""
    apps = load_apps()
    pairs = [(a, v) for a in apps for v in a.variants][:cells]
    with tempfile.TemporaryDirectory() as tmp:
        run = Run.create(Path(tmp), {"run_id": "resume-bench"}, settings=PROFILES["quick"],
                         planned=[f"{a.name}/{v.name}" for a, v in pairs])
        for a, v in pairs:
            run.set_cell(Cell(app=a.name, variant=v.name, techniques=list(v.techniques), parent=v.parent,
                              summary=v.summary, bases=list(v.bases), status="ok"))
        run.save()
        only = ",".join(f"{a.name}/{v.name}" for a, v in pairs)
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "bench", "run", "--resume", run.run_id, "--results", tmp,
                            "--only", only, "--profile", "quick"], cwd=ROOT, capture_output=True, text=True)
        secs = time.perf_counter() - t0
        if p.returncode not in (0, 1):
            raise SystemExit(p.stderr[-2000:])
    return secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--app", default="go")
    ap.add_argument("--variant", default="scratch")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--scenario", choices=["warm", "cold"], default="warm")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    print(f"overhead: {a.app}/{a.variant} {a.scenario} builds, {a.runs} interleaved pairs (load {os.getloadavg()[0]:.1f})")
    o = overhead(a.app, a.variant, a.runs, a.scenario)
    print(f"  median bare {o['bare_median_s']:.3f} s, bench {o['bench_median_s']:.3f} s, ratio {o['ratio']:.3f} (goal <= 1.03)")
    print(f"  bench's own time around each build (argv, temp dir, rawjson parse, samples): median "
          f"{o['own_median_s'] * 1000:.1f} ms = {o['own_ratio']:.2%} of the bare build")
    r = [resume_seconds() for _ in range(3)]
    print(f"resume of a finished 36-cell run: {', '.join(f'{x:.2f}' for x in r)} s; median {statistics.median(r):.2f} s (goal <= 10 s)")
    if a.json:
        a.json.write_text(json.dumps({"overhead": o, "resume_seconds": r}, indent=2))


if __name__ == "__main__":
    main()
