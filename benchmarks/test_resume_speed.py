"""`bench run --resume` of a finished run: every planned cell is done, nothing to build
(port of bench_harness.py's resume measure; issue 5's goal was <= 10 s). Runs the CLI in a
child process against a run made in a temp folder: it asks the engine (docker info) and
nothing more."""

from __future__ import annotations

import pytest

from bench_harness import resume_seconds

pytestmark = pytest.mark.docker


def test_resume_of_a_finished_run(benchmark):
    benchmark.group = "resume"
    seconds: list[float] = []
    benchmark.pedantic(lambda: seconds.append(resume_seconds()), rounds=3, iterations=1)
    benchmark.extra_info["cells"] = 36
