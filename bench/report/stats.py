"""Per cell and metric: median, IQR, coefficient of variation; flags for unstable numbers.

Definitions (stated in every report):
  median, q1, q3   inclusive quartiles (numpy "linear"), so n=3 gives min/median/max
  iqr              q3 - q1
  cv               sample standard deviation / mean (pyperf's measure); NaN for n < 2
  unstable         cv > 10% on a metric the report draws conclusions from
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.stats import CV_WARN as CV_LIMIT  # one limit for the runner and the report
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
                   "unstable"]
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
    return out[cols]


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
