"""Summaries computed from raw samples: median, IQR, coefficient of variation."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

CV_WARN = 0.10  # pyperf warns when stdev >= 10% of the mean


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    q1: float
    q3: float
    mean: float
    stdev: float

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def cv(self) -> float:
        return self.stdev / self.mean if self.mean else 0.0

    @property
    def unstable(self) -> bool:
        return self.n >= 2 and self.cv > CV_WARN


def summarize(values) -> Summary:
    xs = sorted(float(v) for v in values)
    if not xs:
        raise ValueError("no samples")
    n = len(xs)
    if n == 1:
        return Summary(1, xs[0], xs[0], xs[0], xs[0], 0.0)
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return Summary(n, statistics.median(xs), q[0], q[2], statistics.fmean(xs), statistics.stdev(xs))


def unstable_hint(metric: str, s: Summary) -> str:
    return (
        f"{metric}: CV {s.cv:.0%} over {s.n} samples; the machine was probably busy. "
        "Rerun with more --repeat, or on an idle machine."
    )


def summarize_frame(df, by=("app", "variant", "scenario", "metric", "profile", "detail")):
    """One row per cell and metric: n, median, q1, q3, iqr, cv, unstable."""
    import pandas as pd

    rows = []
    for key, g in df.groupby(list(by), dropna=False, sort=False):
        s = summarize(g["value"])
        rows.append({**dict(zip(by, key)), "unit": g["unit"].iloc[0], "n": s.n, "median": s.median,
                     "q1": s.q1, "q3": s.q3, "iqr": s.iqr, "cv": s.cv, "unstable": s.unstable})
    return pd.DataFrame(rows)
