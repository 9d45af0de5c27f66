"""Run docker CLI commands. Tests swap in a fake executor; nothing else calls subprocess.

Modelled on python-on-whales: argv is built by small typed helpers elsewhere, a failure
raises one exception that carries the command, return code, stdout and stderr, and the
command is logged with shlex.join.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from typing import Protocol, Sequence

log = logging.getLogger("bench.engine")


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


class DockerError(Exception):
    def __init__(self, completed: Completed):
        self.completed = completed
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-5:]
        super().__init__(
            f"`{shlex.join(completed.argv)}` exited {completed.returncode}: " + " | ".join(tail)
        )

    @property
    def returncode(self) -> int:
        return self.completed.returncode


class Executor(Protocol):
    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        timeout: float | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        input: str | None = None,
    ) -> Completed: ...


@dataclass
class SubprocessExecutor:
    """Runs commands for real. `docker` resolves to the packaged client when present."""

    docker: str = field(default_factory=lambda: os.environ.get("BENCH_DOCKER", "docker"))

    def run(self, argv, *, check=True, timeout=None, env=None, cwd=None, input=None) -> Completed:
        argv = tuple(argv)
        if argv and argv[0] == "docker":
            argv = (self.docker, *argv[1:])
        log.debug("$ %s", shlex.join(argv))
        full_env = None
        if env:
            full_env = {**os.environ, **env}
        t0 = time.perf_counter()
        try:
            p = subprocess.run(
                argv, capture_output=True, text=True, timeout=timeout, env=full_env, cwd=cwd,
                input=input,
            )
        except FileNotFoundError as e:
            done = Completed(argv, 127, "", str(e), time.perf_counter() - t0)
            if check:
                raise DockerError(done) from e
            return done
        done = Completed(argv, p.returncode, p.stdout, p.stderr, time.perf_counter() - t0)
        if check and p.returncode != 0:
            raise DockerError(done)
        return done


@dataclass(frozen=True)
class HostExecutor:
    """An executor whose docker commands talk to the engine at `host` (DOCKER_HOST), e.g. a
    second dockerd: `Docker(HostExecutor(cold.host))` is the seam pointed at that engine."""

    host: str
    inner: Executor = field(default_factory=lambda: default_executor())

    def run(self, argv, *, check=True, timeout=None, env=None, cwd=None, input=None) -> Completed:
        env = {**(env or {}), "DOCKER_HOST": self.host}
        return self.inner.run(argv, check=check, timeout=timeout, env=env, cwd=cwd, input=input)


_default: Executor | None = None


def default_executor() -> Executor:
    global _default
    if _default is None:
        _default = SubprocessExecutor()
    return _default
