"""Does the image still do its job? Run it locked down, time start -> first 2xx on the health
path, then check every request of the app's smoke contract (bench.apps.SmokeRequest)."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from bench import LABEL
from bench.apps import SmokeRequest
from bench.engine.docker import Docker, as_docker
from bench.engine.executor import DockerError, Executor
from bench.store import Sample


@dataclass(frozen=True)
class SmokeResult:
    ok: bool
    seconds: float | None
    reason: str
    logs: str = ""


def start_container(docker: Docker, image: str, *, port: int, user: str | None, name: str,
                    address: str = "127.0.0.1") -> str:
    """Run the image locked down: read-only root, no capabilities, 512 MB, its port published
    on one address only (loopback, unless the engine runs on another host)."""
    return docker.run_container(
        image, name=name, labels={LABEL: "true"}, read_only=True, tmpfs=["/tmp:rw,exec,size=64m"],
        security_opt=["no-new-privileges"], cap_drop=["ALL"], memory="512m", publish=[f"{address}::{port}"],
        user=user)


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: str


def _fetch(method: str, url: str, timeout: float) -> Answer:
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Answer(r.status, r.headers.get("Content-Type", ""), r.read(65536).decode("utf-8", "replace"))
    except urllib.error.HTTPError as e:
        return Answer(e.code, e.headers.get("Content-Type", "") if e.headers else "",
                      e.read(65536).decode("utf-8", "replace"))


def _excerpt(body: str, n: int = 80) -> str:
    one = " ".join(body.split())
    return repr(one if len(one) <= n else one[:n] + "...")


def check_answer(req: SmokeRequest, a: Answer) -> str:
    """'' when the answer meets the request's contract, else why not (naming the request)."""
    what = f"{req.describe()} answered {a.status}"
    if a.status != req.status:
        return f"{what}, expected {req.status}: {_excerpt(a.body)}"
    media = a.content_type.split(";")[0].strip().lower()
    if req.content_type and media != req.content_type.lower():
        return f"{what} with Content-Type {a.content_type or 'none'!r}, expected {req.content_type!r}"
    if req.body_contains is not None and req.body_contains not in a.body:
        return f"{what} without {req.body_contains!r} in its body: {_excerpt(a.body)}"
    if req.json_keys:
        try:
            obj = json.loads(a.body)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            return f"{what} without a JSON object: {_excerpt(a.body)}"
        missing = [k for k in req.json_keys if k not in obj]
        if missing:
            return f"{what} with a JSON object lacking {', '.join(missing)}: {_excerpt(a.body)}"
    return ""


def check_contract(base_url: str, contract: tuple[SmokeRequest, ...], fetch=_fetch) -> str:
    """Every request of the contract, in order; the first failure's reason, or ''."""
    for req in contract:
        try:
            answer = fetch(req.method, base_url + req.path, 5.0)
        except (OSError, http.client.HTTPException) as e:  # URLError is an OSError
            return f"{req.describe()} got no answer: {e!r}"
        reason = check_answer(req, answer)
        if reason:
            return reason
    return ""


def smoke(
    executor: Executor | Docker,
    image: str,
    *,
    port: int,
    health_path: str,
    user: str | None,
    name: str,
    contract: tuple[SmokeRequest, ...] = (),
    timeout: float = 60.0,
    fetch=_fetch,
    address: str = "127.0.0.1",
) -> SmokeResult:
    """Start -> first 2xx on the health path is the timed sample; then every request of the
    app's contract must be answered as it says (the default contract is the health check)."""
    docker = as_docker(executor)
    t0 = time.perf_counter()
    try:
        try:
            start_container(docker, image, port=port, user=user, name=name, address=address)
        except DockerError as e:
            # `docker run -d` may have created the container before its start failed.
            return SmokeResult(False, None, f"container did not start: {e}")
        host_port, last = None, "no answer"
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            if host_port is None:
                host_port = docker.container_port(name, port)
            if host_port is not None:
                base = f"http://{address}:{host_port}"
                try:
                    status = fetch("GET", base + health_path, 2.0).status
                    last = f"last answer {status}"
                    if 200 <= status < 300:
                        secs = time.perf_counter() - t0
                        reason = check_contract(base, contract, fetch)
                        return SmokeResult(not reason, secs, reason)
                except (OSError, http.client.HTTPException):  # not listening yet
                    pass
            if docker.container_running(name) is False:
                logs = docker.logs(name, tail=20)
                tail = logs.strip().splitlines()[-3:]
                return SmokeResult(False, None, "container exited: " + " | ".join(tail), logs)
            time.sleep(0.05)
        return SmokeResult(False, None, f"no 2xx on GET {health_path} within {timeout:.0f}s ({last})")
    finally:
        docker.rm(name)


def smoke_samples(result: SmokeResult, *, app: str, variant: str, repetition: int) -> list[Sample]:
    base = dict(app=app, variant=variant, scenario="smoke", repetition=repetition)
    out = [Sample(metric="smoke_ok", value=1 if result.ok else 0, unit="bool", **base)]
    if result.ok and result.seconds is not None:
        out.append(Sample(metric="start_to_healthy_seconds", value=result.seconds, unit="s", **base))
    return out
