"""Per cell and metric: median, IQR, coefficient of variation; flags for unstable numbers.

Definitions (stated in every report):
  median, q1, q3   inclusive quartiles (numpy "linear"), so n=3 gives min/median/max
  iqr              q3 - q1
  cv               sample standard deviation / mean (pyperf's measure); NaN for n < 2
  unstable         cv > 10% on a metric the report draws conclusions from
  ci_lo, ci_hi     timings only: bench.stats.CI_METHOD (a bootstrap with a fixed seed); NaN
                   with ci_note "n too small for an interval" when n < 3
  ci_note          sizes and counts: "single deterministic measurement" (no interval: an
                   image's size does not vary between repetitions)
  ci_wide          a timing whose interval's half-width exceeds 10% of its median
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.stats import CI_HALF_WIDTH_WARN, NO_INTERVAL, interval
from bench.stats import CV_WARN as CV_LIMIT  # one limit for the runner and the report

SINGLE = "single deterministic measurement"
TIMING_UNIT = "s"
CI_HINT = "more repetitions (`--repeat 5` or more), on a quieter machine, narrow it"
KEYS = ["app", "variant", "scenario", "metric", "profile", "detail"]

# Metrics whose spread matters to a conclusion. Per-step timings of sub-second steps and
# counts are left out: their CV is large by nature and no verdict rests on them.
CHECKED_METRICS = {
    "build_wall_seconds", "push_seconds", "pull_seconds", "start_to_healthy_seconds",
    "disk_bytes", "compressed_bytes",
}

CV_HINT = ("the machine was probably busy or the step depends on the network: rerun with more "
           "repetitions on an idle machine (pyperf check gives the same advice) before citing it")


def summarize(samples: pd.DataFrame, keys: list[str] | None = None) -> pd.DataFrame:
    """One row per group: n, median, q1, q3, iqr, mean, std, cv, min, max, unit, unstable."""
    keys = list(keys or KEYS)
    cols = keys + ["unit", "n", "median", "q1", "q3", "iqr", "mean", "std", "cv", "min", "max",
                   "unstable", "ci_lo", "ci_hi", "ci_note", "ci_wide"]
    if "warmup" in samples:  # warmup repetitions are kept in the data, never summarised
        samples = samples[~samples["warmup"].astype(bool)]
    if samples.empty:
        return pd.DataFrame(columns=cols)
    g = samples.groupby(keys, sort=False, dropna=False)["value"]
    out = pd.DataFrame({
        "n": g.count(),
        "median": g.median(),
        "q1": g.quantile(0.25),
        "q3": g.quantile(0.75),
        "mean": g.mean(),
        "std": g.std(ddof=1),
        "min": g.min(),
        "max": g.max(),
    })
    out["unit"] = samples.groupby(keys, sort=False, dropna=False)["unit"].first()
    out["iqr"] = out["q3"] - out["q1"]
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = out["std"] / out["mean"].abs()
    out["cv"] = cv.where((out["n"] >= 2) & (out["mean"] != 0))
    out = out.reset_index()
    out["unstable"] = (out["cv"] > CV_LIMIT) & out["metric"].isin(CHECKED_METRICS)
    out = _with_intervals(out, g)
    return out[cols]


def _with_intervals(out: pd.DataFrame, g) -> pd.DataFrame:
    """ci_lo, ci_hi, ci_note and ci_wide (see the module's docstring) from the grouped values."""
    cis = g.agg(lambda x: interval(x)).reset_index(drop=True)
    timing = out["unit"] == TIMING_UNIT
    out["ci_lo"] = [c[0] if t and c else np.nan for c, t in zip(cis, timing)]
    out["ci_hi"] = [c[1] if t and c else np.nan for c, t in zip(cis, timing)]
    out["ci_note"] = np.where(~timing, SINGLE, np.where(out["ci_lo"].isna(), NO_INTERVAL, ""))
    with np.errstate(divide="ignore", invalid="ignore"):
        half = (out["ci_hi"] - out["ci_lo"]) / 2 / out["median"].abs()
    out["ci_wide"] = timing & (half > CI_HALF_WIDTH_WARN)
    return out


def ci_text(r) -> str:
    """'[12.1–13.4 s]', or the reason there is no interval, for one summary row."""
    from bench.report import fmt

    if fmt.missing(r["ci_lo"]):
        return r["ci_note"] or NO_INTERVAL
    return f"[{fmt.by_unit(r['ci_lo'], r['unit']).removesuffix(' s')}–{fmt.by_unit(r['ci_hi'], r['unit'])}]"


def wide_intervals(summary: pd.DataFrame) -> pd.DataFrame:
    """Timing medians of the metrics conclusions rest on whose 95% interval is wider than
    ±10% of the median."""
    return summary[summary["ci_wide"].astype(bool) & summary["metric"].isin(CHECKED_METRICS)]


def unstable(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[summary["unstable"].astype(bool)]


def cv_warnings(summary: pd.DataFrame, samples: pd.DataFrame | None = None) -> list[str]:
    """One line per unstable number, saying what to do about it.

    With the samples, an unstable build time also names the build step whose time moved the
    most between repetitions: a package download that stalled reads very differently from a
    compile that was slow everywhere."""
    out = []
    for r in unstable(summary).itertuples(index=False):
        where = f"{r.app}/{r.variant} {r.scenario} {r.metric}"
        if r.profile:
            where += f" @{r.profile}"
        if r.detail:
            where += f" [{r.detail}]"
        line = f"{where}: CV {r.cv:.0%} over {r.n} samples (> {CV_LIMIT:.0%})"
        step = _moving_step(samples, r) if samples is not None and r.metric == "build_wall_seconds" else None
        if step:
            line += f"; {step}"
        out.append(f"{line}; {CV_HINT}")
    return out


def _moving_step(samples: pd.DataFrame, r) -> str | None:
    """'the step that varied most: `RUN npm ci` 5.0 s to 315.3 s' for one build cell."""
    s = samples[(samples["app"] == r.app) & (samples["variant"] == r.variant)
                & (samples["scenario"] == r.scenario) & (samples["metric"] == "step_seconds")]
    if s.empty:
        return None
    spread = s.groupby("detail")["value"].agg(["min", "max"])
    spread = spread[spread["max"] > spread["min"]]
    if spread.empty:
        return None
    detail = (spread["max"] - spread["min"]).idxmax()
    lo, hi = spread.loc[detail, "min"], spread.loc[detail, "max"]
    name = " ".join(str(detail).split())
    name = name if len(name) <= 70 else name[:67] + "..."
    return f"the step that varied most: `{name}`, {lo:.1f} s to {hi:.1f} s"


def median_of(summary: pd.DataFrame, app: str, variant: str, scenario: str, metric: str,
              profile: str = "", detail: str = "") -> pd.Series | None:
    """The summary row of one number, or None when it was not measured."""
    m = summary[(summary["app"] == app) & (summary["variant"] == variant)
                & (summary["scenario"] == scenario) & (summary["metric"] == metric)
                & (summary["profile"] == profile) & (summary["detail"] == detail)]
    if m.empty:
        return None
    return m.iloc[0]


def interval_warnings(summary: pd.DataFrame) -> list[str]:
    """One line per timing median whose 95% interval's half-width exceeds 10% of it."""
    from bench.report import fmt

    out = []
    for _, r in wide_intervals(summary).iterrows():
        where = f"{r['app']}/{r['variant']} {r['scenario']} {r['metric']}"
        where += f" @{r['profile']}" if r["profile"] else ""
        half = (r["ci_hi"] - r["ci_lo"]) / 2 / abs(r["median"])
        out.append(f"{where}: median {fmt.by_unit(r['median'], r['unit'])}, 95% CI {ci_text(r)} "
                   f"(±{half:.0%} > ±{CI_HALF_WIDTH_WARN:.0%}, n={r['n']}); {CI_HINT}")
    return out
