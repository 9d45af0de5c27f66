"""Which engine bench talks to: the local default, `--context NAME`, or DOCKER_HOST.

Every docker and buildx call inherits the process environment, so choosing an engine is
setting DOCKER_HOST once, before the first call (docker-py reads it too). An engine on
another host can build and run images, but cannot reach this machine's loopback registry,
and its containers' ports are published on its own host: `Endpoint` says which case it is.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from urllib.parse import urlparse

from bench.errors import UserError

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class Endpoint:
    host: str  # as DOCKER_HOST writes it; "" is the client's default (the local socket)

    @property
    def local(self) -> bool:
        """Whether the engine runs on this machine (a unix socket, or TCP on loopback)."""
        if not self.host or self.host.startswith(("unix://", "npipe://")):
            return True
        name = urlparse(self.host).hostname or ""
        return name in LOOPBACK_NAMES or name.startswith("127.")

    @property
    def address(self) -> str:
        """The address a container's published port is reached at from here."""
        if self.local:
            return "127.0.0.1"
        name = urlparse(self.host).hostname or ""
        try:
            return socket.gethostbyname(name)
        except OSError as e:
            raise UserError(f"the engine host {name!r} does not resolve ({e}): check DOCKER_HOST or --context") from None

    @property
    def why_no_push_pull(self) -> str:
        return "" if self.local else (
            f"push and pull skipped: the engine at {self.host} is not on this machine, so it cannot reach "
            "bench's loopback registry (run a shard on that host instead)")


def current(environ=os.environ) -> Endpoint:
    return Endpoint(environ.get("DOCKER_HOST", ""))


def use_context(name: str, docker) -> Endpoint:
    """Point this process (and every docker call it makes) at the engine of context `name`."""
    host = docker.context_host(name)
    if not host:
        raise UserError(f"--context {name}: no such docker context (`docker context ls` lists them)")
    os.environ["DOCKER_HOST"] = host
    os.environ.pop("DOCKER_CONTEXT", None)
    return Endpoint(host)
