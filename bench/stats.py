"""Summaries computed from raw samples: median, IQR, coefficient of variation, and the 95%
interval of a median (shared by `bench compare` and the report).

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


# --------------------------------------------------------------------------------------------
# A 95% interval for a median: one definition for `bench compare` and the report.
#
# Percentile bootstrap: BOOTSTRAP_RESAMPLES resamples with a fixed seed, so the same samples
# always give the same interval. With fewer than MIN_REPETITIONS samples there is no interval
# worth the name (NO_INTERVAL). With 3 samples the interval is about [min, max], which covers
# the true median only ~75% of the time: a floor on the uncertainty, not a generous bound.
# --------------------------------------------------------------------------------------------
MIN_REPETITIONS = 3
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261127
CONFIDENCE = 0.95
CI_HALF_WIDTH_WARN = 0.10  # a median whose interval reaches further than 10% of it is flagged
NO_INTERVAL = "n too small for an interval"
CI_METHOD = (f"95% percentile-bootstrap interval of the median ({BOOTSTRAP_RESAMPLES} resamples, "
             f"fixed seed {BOOTSTRAP_SEED}); n < {MIN_REPETITIONS}: {NO_INTERVAL}")


def median_ci(values, *, seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the median, reproducible (fixed seed)."""
    import numpy as np

    x = np.asarray(sorted(float(v) for v in values))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(BOOTSTRAP_RESAMPLES, len(x)))
    meds = np.median(x[idx], axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    lo, hi = np.percentile(meds, [tail, 100 - tail])
    return float(lo), float(hi)


def interval(values) -> tuple[float, float] | None:
    """median_ci, or None when there are too few samples for one."""
    xs = [float(v) for v in values]
    return median_ci(xs) if len(xs) >= MIN_REPETITIONS else None


def intervals_differ(a: tuple[float, float] | None, b: tuple[float, float] | None) -> int:
    """+1 when b's interval lies wholly above a's, -1 wholly below, 0 when they overlap or
    either is missing: a change is real only when the intervals say so."""
    if a is None or b is None:
        return 0
    if b[0] > a[1]:
        return 1
    if b[1] < a[0]:
        return -1
    return 0
