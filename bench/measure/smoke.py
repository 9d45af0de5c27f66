"""Does the image still serve? Run it locked down and time start -> first 200 on /healthz."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from bench import LABEL
from bench.engine.docker import Docker, as_docker
from bench.engine.executor import DockerError, Executor
from bench.store import Sample


@dataclass(frozen=True)
class SmokeResult:
    ok: bool
    seconds: float | None
    reason: str
    logs: str = ""


def start_container(docker: Docker, image: str, *, port: int, user: str | None, name: str) -> str:
    """Run the image locked down: read-only root, no capabilities, 512 MB, loopback port only."""
    return docker.run_container(
        image, name=name, labels={LABEL: "true"}, read_only=True, tmpfs=["/tmp:rw,exec,size=64m"],
        security_opt=["no-new-privileges"], cap_drop=["ALL"], memory="512m", publish=[f"127.0.0.1::{port}"],
        user=user)


def _get(url: str, timeout: float) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read(4096).decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""


def smoke(
    executor: Executor | Docker,
    image: str,
    *,
    port: int,
    health_path: str,
    user: str | None,
    name: str,
    timeout: float = 60.0,
    get=_get,
) -> SmokeResult:
    docker = as_docker(executor)
    t0 = time.perf_counter()
    try:
        start_container(docker, image, port=port, user=user, name=name)
    except DockerError as e:
        return SmokeResult(False, None, f"container did not start: {e}")
    try:
        host_port = None
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            if host_port is None:
                host_port = docker.container_port(name, port)
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
            if docker.container_running(name) is False:
                logs = docker.logs(name, tail=20)
                tail = logs.strip().splitlines()[-3:]
                return SmokeResult(False, None, "container exited: " + " | ".join(tail), logs)
            time.sleep(0.05)
        return SmokeResult(False, None, f"no 200 on {health_path} within {timeout:.0f}s")
    finally:
        docker.rm(name)


def smoke_samples(result: SmokeResult, *, app: str, variant: str, repetition: int) -> list[Sample]:
    base = dict(app=app, variant=variant, scenario="smoke", repetition=repetition)
    out = [Sample(metric="smoke_ok", value=1 if result.ok else 0, unit="bool", **base)]
    if result.ok and result.seconds is not None:
        out.append(Sample(metric="start_to_healthy_seconds", value=result.seconds, unit="s", **base))
    return out
