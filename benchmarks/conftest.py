"""pytest-benchmark suites (slow; not in the default `pytest` run, whose testpaths is tests/).

    make benchmark        # all of them; JSON kept in results/benchmarks/<UTC timestamp>.json

Engine benchmarks carry the `docker` marker and reuse the tests' engine probe: they skip
loudly without an engine and fail under CI=true. Timings are recorded, never asserted;
what is asserted is that a fast answer is also the right one (the same figures as dive).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from tests.conftest import pytest_runtest_setup, pytest_terminal_summary  # noqa: E402,F401  (hooks)
