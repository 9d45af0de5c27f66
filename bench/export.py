"""A run's timings as pytest-benchmark JSON, so that ecosystem's tools read bench's results:
`pytest-benchmark compare A.json B.json`, `--histogram`, `--csv`.

One benchmark per timed metric of a cell (unit s, no per-step detail):
  group     the metric with its scenario or pull profile: build_wall_seconds[cold], pull_seconds[1gbit]
  name      app/variant
  fullname  app/variant::group
  params    app, variant, scenario, profile
  stats     from the raw samples (one round per repetition, one iteration per round); min,
            max, mean, median and stddev as pytest-benchmark defines them; q1/q3 are bench's
            inclusive quartiles (bench.stats), the same as in bench's report; data holds
            every sample.
machine_info and commit_info come from the run's metadata (the machine and bench commit that
measured it); nothing is read from the machine doing the export.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left, bisect_right

from bench.stats import summarize

BASES_APP = "_bases"
DERIVED_METRICS = {"pull_model_seconds"}  # computed from sizes, not timed


def stats_of(values: list[float]) -> dict:
    """pytest-benchmark's `stats` block for one list of seconds."""
    xs = sorted(float(v) for v in values)
    s = summarize(xs)
    iqr = s.q3 - s.q1
    lo, hi = s.q1 - 1.5 * iqr, s.q3 + 1.5 * iqr
    iqr_out = sum(x < lo or x > hi for x in xs)
    std_out = sum(x < s.mean - s.stdev or x > s.mean + s.stdev for x in xs)
    total = sum(xs)
    return {
        "min": xs[0], "max": xs[-1], "mean": s.mean, "stddev": s.stdev, "rounds": len(xs),
        "median": statistics.median(xs), "iqr": iqr, "q1": s.q1, "q3": s.q3,
        "iqr_outliers": iqr_out, "stddev_outliers": std_out, "outliers": f"{std_out};{iqr_out}",
        "ld15iqr": xs[bisect_left(xs, lo)], "hd15iqr": xs[bisect_right(xs, hi) - 1],
        "ops": len(xs) / total if total else 0, "total": total, "iterations": 1, "data": list(values),
    }


def _machine_info(meta: dict) -> dict:
    m, e = meta.get("machine") or {}, meta.get("engine") or {}
    return {"node": m.get("hostname_hash", ""), "processor": m.get("cpu_model", ""), "machine": "",
            "python_implementation": "CPython", "python_version": m.get("python", ""),
            "python_compiler": "", "release": m.get("kernel", ""), "system": "Linux",
            "cpu": {"brand_raw": m.get("cpu_model", ""), "count": m.get("cpus")},
            "memory_bytes": m.get("memory_bytes"), "docker_engine": e.get("server", ""),
            "buildkit": e.get("buildkit", ""), "buildx": e.get("buildx", "")}


def _commit_info(meta: dict) -> dict:
    b = meta.get("bench") or {}
    return {"id": b.get("git_commit") or "", "time": meta.get("started_utc") or "",
            "author_time": meta.get("started_utc") or "", "dirty": bool(b.get("git_dirty")),
            "project": "bench", "branch": "", "bench_version": b.get("version", "")}


def pytest_benchmark_json(data) -> dict:
    """A loaded run (bench.report.load.RunData) -> pytest-benchmark's JSON document."""
    s = data.samples
    if "warmup" in s:  # warmup repetitions are kept in the run, never summarised (as in the report)
        s = s[~s["warmup"].astype(bool)]
    s = s[(s["unit"] == "s") & (s["detail"] == "") & (s["app"] != BASES_APP)
          & ~s["metric"].isin(DERIVED_METRICS) & s["value"].notna()]
    benchmarks = []
    for (app, variant, scenario, metric, profile), g in s.groupby(
            ["app", "variant", "scenario", "metric", "profile"], sort=True):
        qual = profile or (scenario if scenario in ("cold", "warm", "edit") else "")
        group = f"{metric}[{qual}]" if qual else metric
        name = f"{app}/{variant}"
        values = [float(v) for v in g.sort_values("repetition")["value"]]
        benchmarks.append({
            "group": group, "name": name, "fullname": f"{name}::{group}",
            "params": {"app": app, "variant": variant, "scenario": scenario, "profile": profile},
            "param": "-".join(x for x in (app, variant, scenario, profile) if x),
            "extra_info": {"unit": "s", "run_id": data.run_id, "metric": metric},
            "options": {"disable_gc": False, "timer": "bench (wall clock)", "min_rounds": len(values),
                        "max_time": 0, "min_time": 0, "warmup": False},
            "stats": stats_of(values),
        })
    return {"machine_info": _machine_info(data.metadata), "commit_info": _commit_info(data.metadata),
            "benchmarks": benchmarks, "datetime": data.metadata.get("started_utc") or "",
            "version": "5.0.0"}
