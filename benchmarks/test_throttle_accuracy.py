"""How close the throttle gets to the bandwidth it is given (port of bench_throttle.py).

The time of one transfer through the throttle is what pytest-benchmark records; the
achieved rate and its error against the configured one go to extra_info of each result
(median over the rounds). A bulk server and the client run in their own processes, as the
registry and the cold dockerd do, so only the proxy runs in this interpreter."""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics

import pytest

from bench_throttle import _serve, measure

MB = float(os.environ.get("BENCH_THROTTLE_MB", "20"))


@pytest.fixture(scope="module")
def server_port():
    ready_r, ready_w = mp.Pipe(duplex=False)
    server = mp.Process(target=_serve, args=(ready_w,), daemon=True)
    server.start()
    yield ready_r.recv()
    server.terminate()
    server.join()


@pytest.mark.parametrize("connections", [1, 3])
@pytest.mark.parametrize("rate", [150e6, 1e9], ids=["150mbit", "1gbit"])
def test_throttle_accuracy(benchmark, server_port, rate, connections):
    benchmark.group = f"throttle {rate / 1e6:.0f} Mbit/s"
    total = int(MB * 1e6)
    runs: list[dict] = []
    benchmark.pedantic(lambda: runs.append(measure(server_port, rate, total, connections)), rounds=3, iterations=1)
    assert all(r["bytes"] == total for r in runs)
    achieved = statistics.median(r["achieved_bits_per_second"] for r in runs)
    benchmark.extra_info.update({
        "configured_bits_per_second": rate, "connections": connections, "bytes": total,
        "median_achieved_bits_per_second": achieved, "median_error_percent": (achieved / rate - 1) * 100,
        "load_average_1m": os.getloadavg()[0],
    })
