"""Does the image still serve? Run it locked down and time start -> first 200 on /healthz."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from bench import LABEL
from bench.engine.executor import DockerError, Executor
from bench.store import Sample


@dataclass(frozen=True)
class SmokeResult:
    ok: bool
    seconds: float | None
    reason: str
    logs: str = ""


def smoke_argv(image: str, *, port: int, user: str | None, name: str) -> list[str]:
    argv = [
        "docker", "run", "-d",
        "--name", name,
        "--label", f"{LABEL}=true",
        "--read-only",
        "--tmpfs", "/tmp:rw,exec,size=64m",
        "--security-opt", "no-new-privileges",
        "--cap-drop", "ALL",
        "--memory", "512m",
        "-p", f"127.0.0.1::{port}",
    ]
    if user:
        argv += ["--user", user]
    argv.append(image)
    return argv


def _host_port(executor: Executor, name: str, port: int) -> int:
    out = executor.run(["docker", "port", name, f"{port}/tcp"]).stdout.strip().splitlines()
    for line in out:
        host, _, p = line.rpartition(":")
        if host in ("127.0.0.1", "0.0.0.0") and p.isdigit():
            return int(p)
    raise RuntimeError(f"{name}: port {port} is not published yet")


def _get(url: str, timeout: float) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read(4096).decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""


def smoke(
    executor: Executor,
    image: str,
    *,
    port: int,
    health_path: str,
    user: str | None,
    name: str,
    timeout: float = 60.0,
    get=_get,
) -> SmokeResult:
    t0 = time.perf_counter()
    try:
        executor.run(smoke_argv(image, port=port, user=user, name=name))
    except DockerError as e:
        return SmokeResult(False, None, f"container did not start: {e}")
    try:
        host_port = None
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            if host_port is None:
                try:
                    host_port = _host_port(executor, name, port)
                except Exception:
                    host_port = None
            if host_port is not None:
                try:
                    status, _ = get(f"http://127.0.0.1:{host_port}{health_path}", 2.0)
                    if status == 200:
                        secs = time.perf_counter() - t0
                        # The contract also says GET / answers JSON; check it, do not time it.
                        st, body = get(f"http://127.0.0.1:{host_port}/", 2.0)
                        try:
                            ok_root = st == 200 and isinstance(json.loads(body), dict)
                        except ValueError:
                            ok_root = False
                        if not ok_root:
                            return SmokeResult(False, secs, f"GET / answered {st} without a JSON object")
                        return SmokeResult(True, secs, "")
                except (OSError, urllib.error.URLError):
                    pass
            state = executor.run(["docker", "inspect", "-f", "{{.State.Running}}", name], check=False).stdout.strip()
            if state == "false":
                logs = executor.run(["docker", "logs", "--tail", "20", name], check=False)
                tail = (logs.stdout + logs.stderr).strip().splitlines()[-3:]
                return SmokeResult(False, None, "container exited: " + " | ".join(tail), logs.stdout + logs.stderr)
            time.sleep(0.05)
        return SmokeResult(False, None, f"no 200 on {health_path} within {timeout:.0f}s")
    finally:
        executor.run(["docker", "rm", "-f", "-v", name], check=False)


def smoke_samples(result: SmokeResult, *, app: str, variant: str, repetition: int) -> list[Sample]:
    base = dict(app=app, variant=variant, scenario="smoke", repetition=repetition)
    out = [Sample(metric="smoke_ok", value=1 if result.ok else 0, unit="bool", **base)]
    if result.ok and result.seconds is not None:
        out.append(Sample(metric="start_to_healthy_seconds", value=result.seconds, unit="s", **base))
    return out
