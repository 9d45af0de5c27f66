"""Summaries computed from raw samples: median, IQR, coefficient of variation.

One sample list at a time; bench/report/stats.py does the same per group of a DataFrame
with the same definitions (inclusive quartiles, sample stdev / mean, 10% limit)."""

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
