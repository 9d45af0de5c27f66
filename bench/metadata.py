"""Run metadata, collected once per run. Collection never crashes a run: a failure is
stored as the value (pyperf's rule)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import subprocess
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import bench
from bench.engine.docker import Docker, as_docker
from bench.engine.executor import Executor

ROOT = Path(__file__).resolve().parent.parent


def _safe(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - metadata must never crash a run
        return f"error: {type(e).__name__}: {e}"[:200]


def engine_info(executor: Executor | Docker) -> dict:
    docker = as_docker(executor)

    def buildx():
        v = docker.buildx_version()
        if v is None:
            raise RuntimeError("docker buildx is missing")
        return v

    def buildkit():
        return docker.buildx_inspect().get("BuildKit version", "unknown")

    v, i = _safe(docker.version_json), _safe(docker.info_json)
    out = {"buildx": _safe(buildx), "buildkit": _safe(buildkit)}
    if isinstance(v, dict):
        server = v.get("Server") or {}
        out["server"] = server.get("Version", "")
        out["client"] = (v.get("Client") or {}).get("Version", "")
        for comp in server.get("Components") or []:
            if comp.get("Name") == "containerd":
                out["containerd"] = comp.get("Version", "")
    else:
        out["server"] = v
    if isinstance(i, dict):
        out["storage_driver"] = i.get("Driver", "")
        out["cgroup"] = f'{i.get("CgroupDriver", "")} v{i.get("CgroupVersion", "")}'
        out["os"] = i.get("OperatingSystem", "")
        out["kernel"] = i.get("KernelVersion", "")
    # buildx reports v0.0.0+unknown for distro builds of the embedded BuildKit; say so.
    if out.get("buildkit") in ("v0.0.0+unknown", "unknown") and out.get("server"):
        out["buildkit"] = f'embedded in dockerd {out["server"]} (version not reported)'
    return out


def machine_info() -> dict:
    def cpu_model():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
        return platform.processor()

    def mem():
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return int(line.split()[1]) * 1024
        return None

    def debian():
        return Path("/etc/debian_version").read_text().strip()

    return {
        "cpu_model": _safe(cpu_model),
        "cpus": os.cpu_count(),
        "memory_bytes": _safe(mem),
        "kernel": platform.release(),
        "os": _safe(debian) if Path("/etc/debian_version").exists() else platform.platform(),
        "python": platform.python_version(),
        # A hash, not the name: results are published.
        "hostname_hash": hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12],
    }


def bench_info() -> dict:
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()

    return {
        "version": bench.__version__,
        "git_commit": _safe(lambda: git("rev-parse", "HEAD") or "unknown"),
        "git_dirty": _safe(lambda: bool(git("status", "--porcelain", "--untracked-files=no"))),
    }


def collect(executor: Executor, **extra) -> dict:
    return {
        "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "engine": engine_info(executor),
        "machine": machine_info(),
        "bench": bench_info(),
        **extra,
    }


@dataclass(frozen=True)
class Provenance:
    """What measures an invocation: bench's code, the engine, the machine. Collected once
    per invocation; each segment of a run stores its own."""

    bench: dict
    engine: dict
    machine: dict
    limits: dict = field(default_factory=dict)  # bench.limits.Limits.to_json(), when measured


def helpers_info(local: bool) -> dict:
    """The engines' optional helpers (unpigz), by engine: {"main": {...}, "cold-pull": {...}}."""
    from bench.engine.helpers import engine_helpers

    return {h.engine: h.to_json() for h in engine_helpers(local)}


def provenance(executor: Executor) -> Provenance:
    from bench.engine.endpoint import current

    endpoint = current()
    engine = {**engine_info(executor), "endpoint": endpoint.host or "local default",
              "helpers": _safe(lambda: helpers_info(endpoint.local))}
    return Provenance(bench=bench_info(), engine=engine, machine=machine_info())


def with_limits(prov: Provenance, measure=None) -> Provenance:
    """`prov` with this machine's limits (bench.limits) measured where the cold-pull engine
    keeps its data, decompressing with the unpigz it would use. A failed probe is stored
    as {"error": ...} and the run goes on."""
    from bench.engine.registry import MAX_ROOT_CHARS, work_root
    from bench.limits import measure as measure_limits

    measure = measure or measure_limits
    helpers = prov.engine.get("helpers")
    cold = (helpers.get("cold-pull") or {}) if isinstance(helpers, dict) else {}
    unpigz = cold.get("path") if cold.get("path") and not cold.get("disabled") else None
    got = _safe(lambda: measure(work_root(None, max_chars=MAX_ROOT_CHARS), unpigz=unpigz).to_json())
    return replace(prov, limits=got if isinstance(got, dict) else {"error": got})


# What must agree for two invocations to be one run (pyperf refuses to mix runs whose
# checked metadata differ): the code, the engine and its builder, the machine.
CHECKED = (
    ("bench", "git_commit", "bench commit"),
    ("bench", "git_dirty", "uncommitted changes"),
    ("bench", "version", "bench version"),
    ("engine", "server", "Docker Engine"),
    ("engine", "buildx", "buildx"),
    ("engine", "buildkit", "BuildKit"),
    ("engine", "storage_driver", "storage driver"),
    ("machine", "cpu_model", "CPU"),
    ("machine", "cpus", "CPU count"),
    ("machine", "memory_bytes", "memory"),
    ("machine", "hostname_hash", "machine"),
)


def differences(a, b, *, ignore: tuple[str, ...] = ()) -> list[str]:
    """Where two provenances (or segments) differ, in words: "Docker Engine 26.1.5 (now 27.0.1)".
    A value one side did not record is not a difference; keys in `ignore` are not compared."""
    out = []
    for group, key, label in CHECKED:
        if key in ignore:
            continue
        x, y = getattr(a, group).get(key), getattr(b, group).get(key)
        if x in (None, "") or y in (None, "") or x == y:
            continue
        if key == "git_dirty":
            out.append(f"{label} {'present' if x else 'absent'} (now {'present' if y else 'absent'})")
        else:
            out.append(f"{label} {str(x)[:40]} (now {str(y)[:40]})")
    return out
