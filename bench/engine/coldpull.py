"""A second Docker engine that starts empty, so a pull into it is truly cold.

    with ColdEngine() as cold:
        seconds = cold.pull("127.0.0.1:5123/bench/go-scratch:r0")
        cold.wipe()                    # every image gone: the next pull is cold again

The main engine already holds every layer it built, so pulling there measures nothing.
This dockerd runs beside it with its own data root, exec root, pid file and socket, its
own containerd namespaces on the shared containerd, no iptables rules, and a bridge of
its own: it only ever pulls.

Why not `--bridge=none`: a dockerd started with it deletes the host's `docker0`
interface (moby's removeDefaultBridgeInterface), which the main engine's containers and
RUN steps need ("adding interface veth... to bridge docker0 failed: Device does not
exist"). So the cold engine gets an empty bridge `bcold<8 hex>` made for it, with a /30
from the documentation range 198.51.100.0/24 (so the daemon takes no subnet from the
pools the main engine allocates from), removed again on exit. Everything in it is bench's, so `wipe()` removes all of
it. On exit (also Ctrl-C and SIGTERM) the daemon is stopped and its directory removed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from typing import Sequence

from bench.engine.executor import Completed, DockerError, Executor, HostExecutor, default_executor
from bench.engine.registry import _LIVE, MAX_ROOT_CHARS, ManagedDaemon, work_root
from bench.errors import UserError

log = logging.getLogger("bench.engine.coldpull")

SYSTEM_CONTAINERD = "/run/containerd/containerd.sock"
MAIN_BRIDGE = "docker0"
PROXY_VARS = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


def dockerd_argv(
    root: Path,
    *,
    name: str,
    bridge: str,
    dockerd: str = "dockerd",
    containerd: str | None = None,
    storage_driver: str | None = "overlay2",
) -> list[str]:
    """The command line of a cold engine rooted at `root` (pure, so tests can read it)."""
    if bridge in ("", "none", "docker0"):
        raise ValueError(f"the cold engine needs a bridge of its own, not {bridge!r}")
    root = Path(root)
    argv = [
        dockerd,
        "--config-file", str(root / "daemon.json"),  # not /etc/docker/daemon.json
        "--data-root", str(root / "data"),
        "--exec-root", str(root / "exec"),
        "--pidfile", str(root / "dockerd.pid"),
        "-H", f"unix://{root / 'docker.sock'}",
        "--containerd-namespace", name,
        "--containerd-plugins-namespace", f"{name}-plugins",
        # never "none": that deletes the host's docker0 (see the module docstring)
        "--bridge", bridge,
        "--iptables=false",
        "--ip6tables=false",
        "--ip-forward=false",
        "--ip-masq=false",
    ]
    if containerd:
        argv += ["--containerd", containerd]
    if storage_driver:
        argv += ["--storage-driver", storage_driver]
    return argv


class ColdEngine(ManagedDaemon):
    def __init__(
        self,
        *,
        work_dir: str | os.PathLike | None = None,
        dockerd: str = "dockerd",
        containerd: str | None = None,
        storage_driver: str | None = "overlay2",
        executor: Executor | None = None,
        start_timeout: float = 60.0,
        registry_mirrors: Sequence[str] = (),
        bridge_prefix: int = 30,
    ):
        self.bridge_prefix = bridge_prefix  # 28 for an engine that runs containers (tests' second engines)
        # registry_mirrors: daemon.json "registry-mirrors", e.g. a loopback registry standing
        # in for Docker Hub (`docker pull debian:bookworm-slim` then asks it first)
        self.registry_mirrors = tuple(registry_mirrors)
        self._work_dir = work_dir
        self.dockerd = dockerd
        # Share the system containerd when it runs (as the main engine does); otherwise
        # dockerd starts its own under the exec root.
        if containerd is None and os.path.exists(SYSTEM_CONTAINERD):
            containerd = SYSTEM_CONTAINERD
        self.containerd = containerd
        self.storage_driver = storage_driver
        self.executor = executor or default_executor()
        self.start_timeout = start_timeout
        self.root: Path | None = None
        self.name: str | None = None
        self.bridge: str | None = None
        self.proc: subprocess.Popen | None = None
        self._log = None
        self._guard: contextlib.ExitStack | None = None

    @property
    def host(self) -> str:
        """The -H value that addresses this engine."""
        if self.root is None:
            raise RuntimeError("cold engine is not started")
        return f"unix://{self.root / 'docker.sock'}"

    def client(self) -> Executor:
        """An executor whose docker commands go to this engine (for bench.engine.docker.Docker)."""
        return HostExecutor(self.host, self.executor)

    def docker(self, *args: str, check: bool = True, timeout: float | None = None) -> Completed:
        return self.executor.run(["docker", "-H", self.host, *args], check=check, timeout=timeout)

    # -- lifecycle: __enter__/__exit__ come from ManagedDaemon ------------------------------
    def start(self) -> "ColdEngine":
        if shutil.which(self.dockerd) is None:
            raise UserError(f"{self.dockerd} is not on PATH: run `sudo scripts/bootstrap-engine.sh` to install the engine")
        if os.geteuid() != 0:
            raise UserError("the cold-pull engine is a second dockerd and needs root: run bench as root, or skip pulls")
        from bench.engine.workdirs import hold, sweep

        parent = work_root(self._work_dir, max_chars=MAX_ROOT_CHARS)
        sweep(parent)  # what registries and cold engines killed outright left behind
        self.root, token = _new_root(parent)
        self._held = hold(self.root)
        _LIVE.add(self)
        # containerd namespaces allow [A-Za-z0-9] words joined by . _ -
        self.name = f"bench-cold-{token}"
        main_bridge = _link_index(MAIN_BRIDGE)
        remove_stale_bridges()
        if self.containerd:
            remove_stale_namespaces(self.containerd)
        bridge = f"bcold{token}"  # at most 15 characters (IFNAMSIZ)
        _make_bridge(bridge, self.bridge_prefix)
        self.bridge = bridge  # from here on ours to remove
        config = {"registry-mirrors": list(self.registry_mirrors)} if self.registry_mirrors else {}
        (self.root / "daemon.json").write_text(json.dumps(config) + "\n")
        argv = dockerd_argv(
            self.root, name=self.name, bridge=bridge, dockerd=self.dockerd, containerd=self.containerd,
            storage_driver=self.storage_driver,
        )
        # The daemon must reach 127.0.0.1 directly, never through an HTTP proxy.
        env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARS}
        self._log = open(self.root / "dockerd.log", "ab")
        log.info("cold engine: %s", " ".join(argv))
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        self._wait_ready()
        if main_bridge is not None and _link_index(MAIN_BRIDGE) != main_bridge:
            raise UserError(
                f"starting the cold-pull engine removed the host's {MAIN_BRIDGE} (the main engine's bridge); "
                "restart the main engine (`sudo scripts/bootstrap-engine.sh` after stopping dockerd) and report this bug"
            )
        if self.images():
            raise UserError(f"the cold engine at {self.root} is not empty; remove that directory and rerun")
        return self

    def _wait_ready(self) -> None:
        assert self.proc is not None and self.root is not None
        deadline = time.monotonic() + self.start_timeout
        sock = self.root / "docker.sock"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise UserError(
                    f"the cold-pull dockerd exited with {self.proc.returncode} at start ({self._log_tail()}); "
                    f"see {self.root}/dockerd.log"
                )
            if sock.exists():
                done = self.docker("version", "-f", "{{.Server.Version}}", check=False, timeout=10)
                if done.returncode == 0:
                    log.info("cold engine %s answers (server %s)", self.host, done.stdout.strip())
                    return
            time.sleep(0.25)
        raise UserError(
            f"the cold-pull dockerd did not answer within {self.start_timeout:.0f}s ({self._log_tail()}); "
            f"see {self.root}/dockerd.log"
        )

    def _log_tail(self, n: int = 3) -> str:
        try:
            lines = (self.root / "dockerd.log").read_text(errors="replace").strip().splitlines()  # type: ignore[operator]
        except OSError:
            return "no log"
        return " | ".join(lines[-n:])

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    log.warning("cold engine did not stop within 30s; killing it")
                    self.proc.kill()
                    self.proc.wait(timeout=10)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.root is not None:
            _unmount_under(self.root)
            shutil.rmtree(self.root, ignore_errors=True)
            if self.root.exists():
                log.warning("could not remove %s entirely", self.root)
            self._remove_namespaces()
            self.root = None
        if self.bridge is not None:
            _remove_bridge(self.bridge)
            self.bridge = None
        if getattr(self, "_held", None) is not None:
            self._held.release()
            self._held = None
        _LIVE.discard(self)
        if self._guard is not None:
            self._guard.close()
            self._guard = None

    def _remove_namespaces(self) -> None:
        """The daemon leaves its containerd namespaces behind; they are ours. A pull cut
        short (Ctrl-C, SIGTERM) also leaves a lease holding the blobs it had fetched."""
        if not self.containerd or not self.name or shutil.which("ctr") is None:
            return
        for ns in (self.name, f"{self.name}-plugins"):
            remove_namespace(self.containerd, ns)

    # -- use ---------------------------------------------------------------------------------
    def pull(self, ref: str, *, timeout: float | None = 3600) -> float:
        """Pull `ref`; the wall time of `docker -H <cold> pull` in seconds."""
        done = self.docker("pull", "--quiet", ref, timeout=timeout)
        return done.seconds

    def images(self) -> list[str]:
        out = self.docker("images", "--all", "--quiet", "--no-trunc").stdout
        return sorted({line.strip() for line in out.splitlines() if line.strip()})

    def has_image(self, ref: str) -> bool:
        return self.docker("image", "inspect", "--format", "{{.Id}}", ref, check=False).returncode == 0

    def wipe(self) -> None:
        """Remove every image (the engine is wholly bench's), so the next pull is cold."""
        ids = self.images()
        if ids:
            self.docker("rmi", "--force", *ids)
        left = self.images()
        if left:
            raise DockerError(
                Completed(("docker", "-H", self.host, "rmi", "--force", *ids), 1, "", f"images left after wipe: {left}", 0.0)
            )


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    if shutil.which("ip") is None:
        raise UserError("the `ip` command is missing: install iproute2 (the cold-pull engine needs a bridge of its own)")
    p = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=15, check=False)
    if check and p.returncode != 0:
        raise UserError(f"`ip {' '.join(args)}` failed: {p.stderr.strip()}; the cold-pull engine needs root and iproute2")
    return p


_BRIDGE_NAME = re.compile(r"^bcold[0-9a-f]{8}$")


_NAMESPACE_NAME = re.compile(r"^bench-cold-[0-9a-f]{8}(-plugins)?$")


def _ctr(containerd: str, *args: str, ns: str | None = None) -> subprocess.CompletedProcess:
    argv = ["ctr", "--address", containerd] + (["--namespace", ns] if ns else []) + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def remove_namespace(containerd: str, ns: str) -> bool:
    """Remove one of bench's cold-engine namespaces and whatever is left in it."""
    done = None
    for attempt in range(5):  # leases are released asynchronously after shutdown
        listed = _ctr(containerd, "namespaces", "list", "--quiet")
        if listed.returncode != 0 or ns not in listed.stdout.split():
            return True
        done = _ctr(containerd, "namespaces", "remove", ns)
        if done.returncode == 0:
            return True
        if "must be empty" in done.stderr:
            _purge_namespace(containerd, ns)
        else:
            time.sleep(0.5)
    log.warning("containerd namespace %s could not be removed: %s", ns, done.stderr.strip() if done else "")
    return False


def _purge_namespace(containerd: str, ns: str) -> None:
    """Everything in a cold engine's namespace is bench's: leases, images, blobs, snapshots."""
    for lease in _ctr(containerd, "leases", "list", "--quiet", ns=ns).stdout.split():
        _ctr(containerd, "leases", "delete", "--sync", lease, ns=ns)
    images = _ctr(containerd, "images", "list", "--quiet", ns=ns).stdout.split()
    if images:
        _ctr(containerd, "images", "remove", *images, ns=ns)
    blobs = _ctr(containerd, "content", "list", "--quiet", ns=ns).stdout.split()
    if blobs:
        _ctr(containerd, "content", "delete", *blobs, ns=ns)
    for _ in range(10):  # children before parents: repeat until none is left
        keys = [line.split()[0] for line in _ctr(containerd, "snapshots", "list", ns=ns).stdout.splitlines()[1:]
                if line.strip()]
        if not keys:
            break
        for key in keys:
            _ctr(containerd, "snapshots", "remove", key, ns=ns)


def _named_by_running_processes(prefix: str) -> set[str]:
    """Every command-line word starting with `prefix` of a running process: what a live cold
    engine's dockerd names (its bridge, its containerd namespace) is not stale."""
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        found.update(w.decode(errors="replace") for w in words if w.startswith(prefix.encode()))
    return found


def remove_stale_namespaces(containerd: str = SYSTEM_CONTAINERD) -> list[str]:
    """Namespaces of cold engines that died without cleaning up: `bench-cold-<8 hex>` that no
    running process names on its command line. Nothing outside that pattern is touched."""
    if shutil.which("ctr") is None or not os.path.exists(containerd):
        return []
    listed = _ctr(containerd, "namespaces", "list", "--quiet")
    if listed.returncode != 0:
        return []
    names = [n for n in listed.stdout.split() if _NAMESPACE_NAME.match(n)]
    if not names:
        return []
    in_use = _named_by_running_processes("bench-cold-")
    stale = [n for n in names if n not in in_use and n.removesuffix("-plugins") not in in_use]
    removed = []
    for n in stale:
        log.info("removing stale cold-engine containerd namespace %s", n)
        if remove_namespace(containerd, n):
            removed.append(n)
    return removed


def remove_stale_bridges() -> list[str]:
    """Bridges of cold engines that died without cleaning up (SIGKILL, power loss): a
    `bcold<8 hex>` link that no running process names on its command line."""
    try:
        links = [p.name for p in Path("/sys/class/net").iterdir() if _BRIDGE_NAME.match(p.name)]
    except OSError:
        return []
    if not links:
        return []
    in_use = _named_by_running_processes("bcold")
    stale = [name for name in links if name not in in_use]
    for name in stale:
        log.info("removing stale cold-engine bridge %s", name)
        _remove_bridge(name)
    return stale


def _link_index(name: str) -> int | None:
    """The interface index of a link, or None when there is none by that name."""
    try:
        return int(Path(f"/sys/class/net/{name}/ifindex").read_text())
    except (OSError, ValueError):
        return None


def _bridge_address(prefix: int = 30) -> str:
    """A free /prefix block in 198.51.100.0/24 (TEST-NET-2, never routed): the host address.
    A cold engine runs no container (/30); an engine that runs a few at once wants more."""
    size = 1 << (32 - prefix)
    used = _ip("-4", "-o", "addr", "show").stdout + _ip("-4", "route", "show").stdout
    taken = {int(m) for m in re.findall(r"198\.51\.100\.(\d+)", used)}
    blocks = list(range(256 // size))
    secrets.SystemRandom().shuffle(blocks)
    for k in blocks:
        if not taken & set(range(k * size, (k + 1) * size)):
            return f"198.51.100.{k * size + 1}/{prefix}"
    raise UserError(f"no free /{prefix} left in 198.51.100.0/24 for a second engine's bridge; remove stale bcold* links")


def _make_bridge(name: str, prefix: int = 30) -> None:
    _ip("link", "add", "name", name, "type", "bridge")
    try:
        _ip("addr", "add", _bridge_address(prefix), "dev", name)
    except BaseException:
        _remove_bridge(name)
        raise


def _remove_bridge(name: str) -> None:
    if not _BRIDGE_NAME.match(name):  # only ever a bridge made here
        raise ValueError(f"refusing to remove link {name!r}")
    _ip("link", "del", name, check=False)


def _new_root(parent: Path) -> tuple[Path, str]:
    for _ in range(100):
        token = secrets.token_hex(4)
        root = parent / f"cold-{token}"
        try:
            root.mkdir(mode=0o700)
        except FileExistsError:
            continue
        return root, token
    raise UserError(f"could not make a fresh directory under {parent}; clean it up and rerun")


def _unmount_under(root: Path) -> None:
    """A daemon killed hard can leave overlay mounts below its data root; rmtree would
    then fail or, worse, walk into a mounted layer. Deepest first, lazily."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return
    prefix = str(root).rstrip("/") + "/"
    points = [m.split()[1] for m in mounts if len(m.split()) > 1 and m.split()[1].startswith(prefix)]
    for p in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", p], capture_output=True, check=False)
