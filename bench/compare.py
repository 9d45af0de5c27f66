"""Two stored runs side by side: exact byte deltas for sizes, a noise-aware verdict for
timings, and CI thresholds (`bench compare`).

What is compared: every cell (app/variant) present in both runs, and every metric row
without a `detail` (per-step and per-layer rows are left to the report):
  * sizes  (unit B, and counts such as `layers`): the median of each run (sizes do not
    vary between repetitions), the exact difference in bytes and in percent;
  * timings (unit s): the medians, each with a 95% confidence interval, and a verdict.

The verdict rule (printed with every comparison, so a reader knows what "slower" means):
  each run's median gets a 95% percentile-bootstrap interval (BOOTSTRAP_RESAMPLES resamples
  with a fixed seed, so the same runs always give the same verdict); B is "slower" when
  its interval lies wholly above A's, "faster" when wholly below, "no difference" when the
  intervals overlap. With fewer than MIN_REPETITIONS samples on either side there is no
  interval worth the name: the verdict is "too few repetitions", unless the other run has
  one: then the median of the run with too few is "within" or "outside the other run's
  interval" (a quick run set beside a standard one). With 3 samples the
  interval is close to [min, max], so the rule then asks that every sample of B be beyond
  every sample of A (a one-sided Mann-Whitney U of 0).

Thresholds (`--fail-on`), grammar:  METRIC[:QUALIFIER]:+N%
  METRIC     a metric name (disk_bytes, compressed_bytes, build_wall_seconds, ...) or an
             alias: cold_build, warm_build, edit_build (build_wall_seconds of that scenario)
  QUALIFIER  a scenario (cold, warm, edit, image, push, pull, smoke, analyze) or a pull
             profile (loopback, 1gbit, 150mbit); absent: every row of the metric
  +N%        how much B may grow over A (N a number, e.g. +5% or +2.5%)
A size exceeds its threshold when it grew by more than N%; a timing only when its verdict
is "slower" AND its median grew by more than N% (noise is never a failure).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.errors import UserError
from bench.limits import Limits
from bench.stats import (BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, MIN_REPETITIONS, intervals_differ,  # noqa: F401
                         median_ci)

BASES_APP = "_bases"
# Computed from sizes by a model, not measured: comparing them would count a size change twice.
DERIVED_METRICS = {"pull_model_seconds"}
SIZE_UNITS = {"B", "count"}
ALIASES = {"cold_build": ("build_wall_seconds", "cold"), "warm_build": ("build_wall_seconds", "warm"),
           "edit_build": ("build_wall_seconds", "edit")}
RULE = (f"timings: 95% bootstrap intervals of the medians ({BOOTSTRAP_RESAMPLES} resamples, seed {BOOTSTRAP_SEED}); "
        f"slower/faster only when the intervals do not overlap; fewer than {MIN_REPETITIONS} repetitions: no verdict")

FASTER, SLOWER, SAME, TOO_FEW = "faster", "slower", "no difference", "too few repetitions"
WITHIN, OUTSIDE = "within the other run's interval", "outside the other run's interval"
SIZE_CLOSE_PCT = 0.1  # the summary counts the sizes that agree within this many percent


@dataclass(frozen=True)
class MetricDelta:
    """One metric of one cell in both runs."""

    app: str
    variant: str
    metric: str
    scenario: str
    profile: str
    unit: str
    kind: str  # size | timing
    a: float  # median in run A
    b: float
    n_a: int
    n_b: int
    ci_a: tuple[float, float] | None = None  # timings only
    ci_b: tuple[float, float] | None = None
    verdict: str = ""  # timings only: faster | slower | no difference | within/outside the other run's interval | too few repetitions

    @property
    def cell(self) -> str:
        return f"{self.app}/{self.variant}"

    @property
    def label(self) -> str:
        """The metric with what qualifies it: build_wall_seconds[cold], pull_seconds[1gbit]."""
        q = self.profile or (self.scenario if self.scenario in ("cold", "warm", "edit") else "")
        return f"{self.metric}[{q}]" if q else self.metric

    @property
    def delta(self) -> float:
        return self.b - self.a

    @property
    def pct(self) -> float:
        """Change in percent of A; inf when A is 0 and B is not."""
        if self.a == 0:
            return 0.0 if self.b == 0 else math.inf
        return 100.0 * (self.b - self.a) / self.a

    @property
    def changed(self) -> bool:
        return self.delta != 0 if self.kind == "size" else self.verdict in (FASTER, SLOWER, OUTSIDE)


@dataclass(frozen=True)
class Threshold:
    spec: str
    metric: str
    qualifier: str
    pct: float

    def applies(self, d: MetricDelta) -> bool:
        return d.metric == self.metric and (not self.qualifier or self.qualifier in (d.scenario, d.profile))

    def exceeded(self, d: MetricDelta) -> bool:
        if not self.applies(d):
            return False
        if d.kind == "timing" and d.verdict != SLOWER:
            return False
        return d.pct > self.pct


@dataclass(frozen=True)
class Violation:
    threshold: Threshold
    delta: MetricDelta

    def line(self) -> str:
        d = self.delta
        return (f"FAIL {d.cell} {d.label}: {fmt_value(d.a, d.unit)} -> {fmt_value(d.b, d.unit)} "
                f"({fmt_pct(d.pct)}) exceeds {self.threshold.spec}")


@dataclass(frozen=True)
class Comparison:
    run_a: str
    run_b: str
    deltas: list[MetricDelta]
    added: list[str]  # cells only in B
    removed: list[str]  # cells only in A
    status: dict[str, tuple[str, str]] = field(default_factory=dict)  # cell -> (status A, status B) when they differ
    violations: list[Violation] = field(default_factory=list)
    rule: str = RULE
    conditions: list[str] = field(default_factory=list)  # how the two runs' measuring differs (conditions())
    warmup_ratio: dict[str, tuple[float, int]] = field(default_factory=dict)  # run id -> warmup_ratio()
    standin: list[str] = field(default_factory=list)  # the runs whose images are built on local stand-in bases


# --------------------------------------------------------------------------------------------
# Thresholds
# --------------------------------------------------------------------------------------------
_SPEC = re.compile(r"^(?P<metric>[A-Za-z_][\w]*)(?::(?P<qual>[\w.-]+))?:\+(?P<pct>\d+(?:\.\d+)?)%$")


def parse_threshold(spec: str) -> Threshold:
    m = _SPEC.match(spec.strip())
    if not m:
        raise UserError(f"--fail-on {spec!r}: write METRIC[:SCENARIO]:+N%, e.g. disk_bytes:+5% or cold_build:+20%")
    metric, qual = m["metric"], m["qual"] or ""
    if metric in ALIASES:
        if qual:
            raise UserError(f"--fail-on {spec!r}: {metric} already names its scenario; drop :{qual}")
        metric, qual = ALIASES[metric]
    return Threshold(spec=spec.strip(), metric=metric, qualifier=qual, pct=float(m["pct"]))


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------
def timing_verdict(a: list[float], b: list[float]) -> tuple[str, tuple | None, tuple | None]:
    few_a, few_b = len(a) < MIN_REPETITIONS, len(b) < MIN_REPETITIONS
    if few_a and few_b:
        return TOO_FEW, None, None
    if few_a or few_b:  # one run has an interval: is the other's median inside it?
        lo, hi = median_ci(a if few_b else b)
        m = float(pd.Series(b if few_b else a).median())
        return (WITHIN if lo <= m <= hi else OUTSIDE), (None if few_a else (lo, hi)), (None if few_b else (lo, hi))
    ca, cb = median_ci(a), median_ci(b)
    return {1: SLOWER, -1: FASTER, 0: SAME}[intervals_differ(ca, cb)], ca, cb


# --------------------------------------------------------------------------------------------
# Comparing two runs
# --------------------------------------------------------------------------------------------
KEY = ["app", "variant", "scenario", "metric", "profile", "unit"]


def _rows(samples: pd.DataFrame, units: set[str]) -> pd.DataFrame:
    """The rows a comparison reads: the cells' own (not the reference bases'), without a
    `detail`, of these units, measured (not derived) and with a value; warmups included."""
    s = samples[(samples["app"] != BASES_APP) & (samples["detail"] == "")]
    s = s[s["unit"].isin(units) & ~s["metric"].isin(DERIVED_METRICS)]
    return s[s["value"].notna()]


def _comparable(samples: pd.DataFrame) -> pd.DataFrame:
    if "warmup" in samples:  # warmup repetitions are kept in the data, never compared (as in the report)
        samples = samples[~samples["warmup"].astype(bool)]
    return _rows(samples, SIZE_UNITS | {"s"})


def _cells(data) -> dict[str, str]:
    """cell -> status, from cells.json and from the samples (a run may lack either)."""
    out = {f"{a}/{v}": s for a, v, s in zip(data.cells.get("app", []), data.cells.get("variant", []),
                                             data.cells.get("status", []))}
    for a, v in _comparable(data.samples)[["app", "variant"]].drop_duplicates().itertuples(index=False):
        out.setdefault(f"{a}/{v}", "ok")
    return out


def warmup_ratio(samples: pd.DataFrame) -> tuple[float, int] | None:
    """How a run's warmup samples (the first of each kind, as a run without warmup measures
    everything) compare with its measured medians: the median over timings of warmup median /
    measured median, and over how many timings; None for a run without warmups."""
    if "warmup" not in samples:
        return None
    s = _rows(samples, {"s"})
    flag = s["warmup"].astype(bool)
    ratio = (s[flag].groupby(KEY)["value"].median() / s[~flag].groupby(KEY)["value"].median()).dropna()
    ratio = ratio[ratio.map(math.isfinite)]
    return (float(ratio.median()), len(ratio)) if len(ratio) else None


def _groups(samples: pd.DataFrame) -> dict[tuple, list[float]]:
    return {k: list(g["value"]) for k, g in _comparable(samples).groupby(KEY, sort=True)}


def _delta(key: tuple, a: list[float], b: list[float]) -> MetricDelta:
    app, variant, scenario, metric, profile, unit = key
    ma, mb = float(pd.Series(a).median()), float(pd.Series(b).median())
    if unit == "s":
        verdict, ca, cb = timing_verdict(a, b)
        return MetricDelta(app, variant, metric, scenario, profile, unit, "timing", ma, mb, len(a), len(b), ca, cb, verdict)
    return MetricDelta(app, variant, metric, scenario, profile, unit, "size", ma, mb, len(a), len(b))


def compare_runs(run_a: str | Path, run_b: str | Path, results_dir: str | Path | None = None,
                 thresholds: list[Threshold] = ()) -> Comparison:
    from bench.report.load import load_run

    da, db = load_run(run_a, results_dir), load_run(run_b, results_dir)
    ca, cb = _cells(da), _cells(db)
    both = [c for c in ca if c in cb]
    ga, gb = _groups(da.samples), _groups(db.samples)
    deltas = [_delta(k, ga[k], gb[k]) for k in ga if k in gb and f"{k[0]}/{k[1]}" in both]
    violations = [Violation(t, d) for d in deltas for t in thresholds if t.exceeded(d)]
    status = {c: (ca[c], cb[c]) for c in both if ca[c] != cb[c]}
    return Comparison(run_a=da.run_id, run_b=db.run_id, deltas=deltas,
                      added=sorted(c for c in cb if c not in ca), removed=sorted(c for c in ca if c not in cb),
                      status=status, violations=violations, conditions=conditions(da.metadata, db.metadata),
                      warmup_ratio={d.run_id: r for d in (da, db) if (r := warmup_ratio(d.samples))},
                      standin=[d.run_id for d in (da, db) if d.provenance.standin])


# --------------------------------------------------------------------------------------------
# Conditions: what differs in how the two runs were measured
# --------------------------------------------------------------------------------------------
LIMITS = (("gzip", "gzip_bytes_per_s"), ("unpigz", "unpigz_bytes_per_s"), ("disk write", "disk_write_bytes_per_s"))
LIMIT_APART = 1.10  # measured limits count as different when the ranges are this far apart


def _profile(meta: dict) -> str:
    s = meta.get("settings") or {}
    warm = f"{s['warmup']} warmup, " if s.get("warmup") else "no warmup, "
    n = s.get("repeat", "?")
    return f"{s.get('profile') or meta.get('profile') or '?'} ({warm}{n} repetition{'' if n == 1 else 's'})"


def _segments(meta: dict) -> list[dict]:
    return [s for s in meta.get("segments") or [] if isinstance(s, dict)] or [meta]


def _machine(meta: dict) -> str:
    seen = []
    for seg in _segments(meta):
        m = seg.get("machine") or meta.get("machine") or {}
        text = (f"{m.get('cpu_model', '?')}, {m.get('cpus', '?')} CPUs, "
                f"{(m.get('memory_bytes') or 0) / 2**30:.0f} GiB, kernel {m.get('kernel', '?')}")
        if text not in seen:
            seen.append(text)
    return " / ".join(seen)


def _engine(meta: dict) -> str:
    return " / ".join(dict.fromkeys(str((seg.get("engine") or meta.get("engine") or {}).get("server", "?"))
                                    for seg in _segments(meta)))


def _limit_range(meta: dict, key: str) -> tuple[float, float] | None:
    """The lowest and highest of one rate over the segments that measured this machine's limits."""
    got = [float(v) for seg in _segments(meta) if (lim := Limits.from_json(seg.get("limits")))
           if (v := getattr(lim, key)) is not None]
    return (min(got), max(got)) if got else None


def _fmt_rate(r: tuple[float, float]) -> str:
    lo, hi = (round(x / 1e6) for x in r)
    return f"{lo} MB/s" if lo == hi else f"{lo}-{hi} MB/s"


def conditions(meta_a: dict, meta_b: dict) -> list[str]:
    """What differs in how run A and run B were measured (profile, machine, engine, and this
    machine's measured gzip, unpigz and disk-write rates), "A vs B" each; [] when nothing does.
    Timing differences between such runs measure these differences as well as the runs'."""
    described = [(name, fa(meta_a), fa(meta_b)) for name, fa in
                 (("profile", _profile), ("machine", _machine), ("engine", _engine))]
    out = [f"{name}: {a} vs {b}" for name, a, b in described if a != b]
    for name, key in LIMITS:
        ra, rb = _limit_range(meta_a, key), _limit_range(meta_b, key)
        if ra and rb and (ra[0] > rb[1] * LIMIT_APART or rb[0] > ra[1] * LIMIT_APART):
            out.append(f"{name}: {_fmt_rate(ra)} vs {_fmt_rate(rb)} (measured by each run's limits probe)")
    return out


# --------------------------------------------------------------------------------------------
# Formatting helpers shared by the renderers
# --------------------------------------------------------------------------------------------
def fmt_value(v: float, unit: str) -> str:
    if unit == "B":
        return f"{int(round(v)):,} B"
    if unit == "s":
        return f"{v:.2f} s"
    return f"{v:g}"


def fmt_pct(p: float) -> str:
    if math.isinf(p):
        return "new"
    return f"{p:+.2f}%"


def fmt_delta(d: MetricDelta) -> str:
    if d.unit == "B":
        return f"{int(round(d.delta)):+,} B"
    if d.unit == "s":
        return f"{d.delta:+.2f} s"
    return f"{d.delta:+g}"


def fmt_ci(ci: tuple[float, float] | None) -> str:
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "none"


# --------------------------------------------------------------------------------------------
# Renderers: text (a terminal or CI log), markdown (a pull-request comment), JSON
# --------------------------------------------------------------------------------------------
def _shown(c: Comparison, everything: bool) -> list[MetricDelta]:
    return [d for d in c.deltas if everything or d.changed]


def _row(d: MetricDelta) -> list[str]:
    change = "" if d.kind == "timing" and d.verdict == TOO_FEW else f"{fmt_delta(d)} ({fmt_pct(d.pct)})"
    if d.kind == "size":
        verdict = "same" if d.delta == 0 else ("bigger" if d.delta > 0 else "smaller")
    else:
        verdict = d.verdict
        if d.ci_a or d.ci_b:
            verdict += f"; 95% CI {fmt_ci(d.ci_a)} vs {fmt_ci(d.ci_b)} (n={d.n_a} vs {d.n_b})"
        else:
            verdict += f" (n={d.n_a} vs {d.n_b})"
    return [d.cell, d.label, fmt_value(d.a, d.unit), fmt_value(d.b, d.unit), change, verdict]


HEADER = ["cell", "metric", "A", "B", "change", "verdict"]


def _summary(c: Comparison, shown: int) -> list[str]:
    sizes = [d for d in c.deltas if d.kind == "size"]
    times = [d for d in c.deltas if d.kind == "timing"]
    count = {v: sum(d.verdict == v for d in times) for v in (SLOWER, FASTER, SAME, WITHIN, OUTSIDE, TOO_FEW)}
    images = [d for d in sizes if d.scenario == "image"]  # not a build's transferred bytes or cached steps
    close = sum(abs(d.pct) <= SIZE_CLOSE_PCT for d in images if not math.isinf(d.pct))
    lines = [f"sizes: {sum(d.delta > 0 for d in sizes)} bigger, {sum(d.delta < 0 for d in sizes)} smaller, "
             f"{sum(d.delta == 0 for d in sizes)} unchanged; image sizes within ±{SIZE_CLOSE_PCT:g}%: {close} of {len(images)}",
             "timings: " + ", ".join(f"{n} {v}" for v, n in count.items() if n or v in (SLOWER, FASTER, SAME, TOO_FEW))]
    outside = [d for d in times if d.verdict == OUTSIDE]
    if outside:
        lines[-1] += (f" (B's median lower in {sum(d.delta < 0 for d in outside)}, "
                      f"higher in {sum(d.delta > 0 for d in outside)} of those outside)")
    lines += _timing_notes(c, times)
    if shown < len(c.deltas):
        lines.append(f"{len(c.deltas) - shown} unchanged rows not shown (--all shows them)")
    return lines


def _timing_notes(c: Comparison, times: list[MetricDelta]) -> list[str]:
    """How the timings compare as a whole: B's medians over A's, each run's warmups over its
    medians, and a caveat when the runs were measured under different conditions."""
    out = []
    ratios = [d.b / d.a for d in times if d.a > 0 and d.b > 0]
    if ratios:
        out.append(f"B's timing medians over A's: {float(pd.Series(ratios).median()):.2f}× "
                   f"(median over {len(ratios)} timings)")
    for run, (r, n) in c.warmup_ratio.items():
        out.append(f"{run}'s warmups (the first sample of each kind) over its measured medians: {r:.2f}× "
                   f"(median over {n} timings)")
    if c.conditions and times:
        out.append(f"the runs were measured under different conditions ({len(c.conditions)} listed at the top): "
                   "their timings differ by those as well as by the runs")
    return out


def standin_label(c: Comparison) -> str:
    """The stand-in label every table of sizes built on stand-in bases carries; "" for none."""
    if not c.standin:
        return ""
    from bench.report.claims import STANDIN_NOTE

    runs = " and ".join(dict.fromkeys(c.standin))
    return f"stand-in bases: the images of {runs} are {STANDIN_NOTE}, so their sizes are not upstream's"


def _extras(c: Comparison) -> list[str]:
    out = [f"added (only in {c.run_b}): {x}" for x in c.added]
    out += [f"removed (only in {c.run_a}): {x}" for x in c.removed]
    out += [f"status of {k}: {a} -> {b}" for k, (a, b) in c.status.items()]
    return out


def render_text(c: Comparison, *, everything: bool = False) -> str:
    shown = _shown(c, everything)
    rows = [HEADER] + [_row(d) for d in shown]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER) - 1)]
    lines = [f"A = run {c.run_a}, B = run {c.run_b}", f"rule: {c.rule}"]
    lines += [standin_label(c).upper()] if c.standin else []
    lines += ["measured under different conditions, A vs B:"] + [f"  {x}" for x in c.conditions] if c.conditions else []
    lines += [""]
    for r in rows if shown else []:
        lines.append("  ".join(x.rjust(w) if i in (2, 3, 4) else x.ljust(w)
                               for i, (x, w) in enumerate(zip(r, widths))) + "  " + r[-1])
    if not shown:
        lines.append("No size changed and no timing differs.")
    lines += [""] + _summary(c, len(shown)) + _extras(c) + [v.line() for v in c.violations]
    return "\n".join(lines)


def render_markdown(c: Comparison, *, everything: bool = False) -> str:
    shown = _shown(c, everything)
    esc = lambda s: s.replace("|", "\\|")  # noqa: E731 - one cell of a table
    lines = [f"### bench compare: `{c.run_a}` → `{c.run_b}`", ""]
    lines += [f"**{standin_label(c)}**", ""] if c.standin else []
    if c.conditions:
        lines += ["Measured under different conditions, A vs B:", ""] + [f"- {esc(x)}" for x in c.conditions] + [""]
    if c.violations:
        lines += [f"**{len(c.violations)} threshold(s) exceeded**", ""] + [f"- {v.line()}" for v in c.violations] + [""]
    if shown:
        lines += ["| " + " | ".join(HEADER) + " |", "|" + "---|" * 2 + "---:|" * 3 + "---|"]
        lines += ["| " + " | ".join(esc(x) for x in _row(d)) + " |" for d in shown]
    else:
        lines += ["No size changed and no timing differs."]
    lines += [""] + [f"- {x}" for x in _summary(c, len(shown)) + _extras(c)]
    lines += ["", f"<sub>{c.rule}</sub>"]
    return "\n".join(lines)


def to_json(c: Comparison) -> dict:
    def one(d: MetricDelta) -> dict:
        return {"app": d.app, "variant": d.variant, "metric": d.metric, "scenario": d.scenario,
                "profile": d.profile, "unit": d.unit, "kind": d.kind, "a": d.a, "b": d.b, "n_a": d.n_a,
                "n_b": d.n_b, "delta": d.delta, "pct": None if math.isinf(d.pct) else d.pct,
                "ci_a": list(d.ci_a) if d.ci_a else None, "ci_b": list(d.ci_b) if d.ci_b else None,
                "verdict": d.verdict or None}

    return {"run_a": c.run_a, "run_b": c.run_b, "rule": c.rule, "added": c.added, "removed": c.removed,
            "status_changed": {k: {"a": a, "b": b} for k, (a, b) in c.status.items()},
            "standin": c.standin, "conditions": c.conditions, "warmup_ratio": {k: {"ratio": r, "timings": n} for k, (r, n) in
                                                         c.warmup_ratio.items()},
            "metrics": [one(d) for d in c.deltas],
            "violations": [{"threshold": v.threshold.spec, "cell": v.delta.cell, "metric": v.delta.label,
                            "line": v.line()} for v in c.violations]}
