"""How close does the throttle get to the bandwidth it is given?

    .venv/bin/python benchmarks/bench_throttle.py            # 150 Mbit/s and 1 Gbit/s, ~50 MB
    .venv/bin/python benchmarks/bench_throttle.py --mb 20 --rates 20e6 --connections 1 3

A bulk server and the client run in their own processes (as the registry and the cold
dockerd do), so only the proxy runs in this interpreter. The client opens `connections`
parallel connections (docker pulls three layers at a time) and splits the bytes between
them; the achieved rate is total bytes * 8 / (last byte received - first request sent).
Each configuration runs `--runs` times; every run is printed, then the median. A
"ceiling" line (the same pipeline with the bucket set to 1 Tbit/s) shows what the
processes manage at all on this machine at that moment: on a loaded 2-core machine the
client and server are starved too, and no user-space throttle can beat its ceiling.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import socket
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine.throttle import Throttle  # noqa: E402

BLOCK = b"\x5a" * (256 * 1024)


def _serve(ready) -> None:
    """Bulk server: a request is '<n>\\n', the answer n bytes."""
    import threading

    ls = socket.create_server(("127.0.0.1", 0), backlog=64)
    ready.send(ls.getsockname()[1])

    def handle(c: socket.socket) -> None:
        with c:
            buf = b""
            while not buf.endswith(b"\n"):
                part = c.recv(64)
                if not part:
                    return
                buf += part
            left = int(buf)
            while left > 0:
                chunk = BLOCK[: min(left, len(BLOCK))]
                c.sendall(chunk)
                left -= len(chunk)

    while True:
        c, _ = ls.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def _client(address: str, total: int, connections: int, out) -> None:
    import threading

    host, port = address.rsplit(":", 1)
    share = [total // connections + (1 if i < total % connections else 0) for i in range(connections)]
    got = [0] * connections
    start = threading.Barrier(connections + 1)

    def fetch(i: int) -> None:
        with socket.create_connection((host, int(port))) as s:
            start.wait()
            s.sendall(f"{share[i]}\n".encode())
            while data := s.recv(1 << 20):
                got[i] += len(data)

    ts = [threading.Thread(target=fetch, args=(i,)) for i in range(connections)]
    for t in ts:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in ts:
        t.join()
    out.send({"bytes": sum(got), "seconds": time.perf_counter() - t0})


def measure(port: int, bits_per_second: float, total: int, connections: int, **throttle_kw) -> dict:
    with Throttle(("127.0.0.1", port), bits_per_second, **throttle_kw) as t:
        recv, send = mp.Pipe(duplex=False)
        p = mp.Process(target=_client, args=(t.address, total, connections, send))
        p.start()
        result = recv.recv()
        p.join()
    achieved = result["bytes"] * 8 / result["seconds"]
    return {
        "configured_bits_per_second": bits_per_second,
        "connections": connections,
        "bytes": result["bytes"],
        "seconds": result["seconds"],
        "achieved_bits_per_second": achieved,
        "error_percent": (achieved / bits_per_second - 1) * 100,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=50.0, help="megabytes per transfer (default 50)")
    ap.add_argument("--rates", type=float, nargs="+", default=[150e6, 1e9], help="bits per second")
    ap.add_argument("--connections", type=int, nargs="+", default=[1, 3])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--chunk-kib", type=int, default=None, help="the throttle's read size (default: its own)")
    ap.add_argument("--catchup", type=float, default=None, help="the throttle's catch-up seconds (default: its own)")
    ap.add_argument("--no-ceiling", action="store_true", help="skip the unthrottled ceiling runs")
    ap.add_argument("--json", action="store_true", help="print one JSON object per run instead of a table")
    args = ap.parse_args(argv)

    ready_r, ready_w = mp.Pipe(duplex=False)
    server = mp.Process(target=_serve, args=(ready_w,), daemon=True)
    server.start()
    port = ready_r.recv()
    total = int(args.mb * 1e6)
    try:
        if not args.no_ceiling:
            for conns in args.connections:
                runs = [measure(port, 1e12, total, conns) for _ in range(args.runs)]
                med = statistics.median(r["achieved_bits_per_second"] for r in runs)
                if args.json:
                    for r in runs:
                        print(json.dumps({**r, "ceiling": True}))
                else:
                    print(f" ceiling  {conns} conn  median {med / 1e6:.1f} Mbit/s (unthrottled pipeline)")
        for rate in args.rates:
            for conns in args.connections:
                kw: dict = {"chunk_bytes": args.chunk_kib * 1024} if args.chunk_kib else {}
                if args.catchup is not None:
                    kw["catchup_seconds"] = args.catchup
                runs = [measure(port, rate, total, conns, **kw) for _ in range(args.runs)]
                if args.json:
                    for r in runs:
                        print(json.dumps(r))
                    continue
                for r in runs:
                    print(
                        f"{rate / 1e6:8.0f} Mbit/s  {conns} conn  {r['bytes'] / 1e6:6.1f} MB in {r['seconds']:6.3f} s"
                        f"  -> {r['achieved_bits_per_second'] / 1e6:8.1f} Mbit/s ({r['error_percent']:+.2f} %)"
                    )
                med = statistics.median(r["achieved_bits_per_second"] for r in runs)
                print(f"{rate / 1e6:8.0f} Mbit/s  {conns} conn  median {med / 1e6:.1f} Mbit/s ({(med / rate - 1) * 100:+.2f} %)")
    finally:
        server.terminate()
        server.join()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
