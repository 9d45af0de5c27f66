"""A throwaway local image registry: the Distribution registry (v2.8) as a plain process.

    with LocalRegistry() as reg:          # 127.0.0.1:<free port>, its own storage dir
        reg.address                       # "127.0.0.1:5123"
        reg.manifest("bench/go-scratch", "r0")
        reg.compressed_bytes("bench/go-scratch", "r0")
        reg.clear()                       # empty storage, same address: next push is cold

No image registry is reachable from bench's machines, so push/pull is measured against
this one on loopback (the engine trusts 127.0.0.0/8 over plain HTTP). The process and its
storage are removed on exit, also on Ctrl-C and SIGTERM.

The helpers at the bottom (`sigterm_raises`, `free_port`, `work_root`) are shared with
the cold-pull engine, which owns a daemon in the same way.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

from bench.errors import UserError

log = logging.getLogger("bench.engine.registry")

REGISTRY_BINARY = "/usr/bin/docker-registry"

# Media types a registry may answer with, single-platform manifests first.
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEX_TYPES = (DOCKER_LIST, OCI_INDEX)
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))

DEFAULT_PLATFORM = ("linux", "amd64")


# -- manifests (pure functions, tested on recorded manifests) --------------------------------
def media_type(doc: dict, content_type: str = "") -> str:
    """The manifest's media type: its own field, else the HTTP Content-Type."""
    mt = doc.get("mediaType") or (content_type or "").split(";")[0].strip()
    if not mt and "manifests" in doc:
        mt = OCI_INDEX  # OCI allows an index without mediaType
    if not mt and "layers" in doc:
        mt = OCI_MANIFEST
    return mt


def is_index(doc: dict, content_type: str = "") -> bool:
    return media_type(doc, content_type) in INDEX_TYPES


def select_platform(index: dict, platform: tuple[str, str] = DEFAULT_PLATFORM) -> dict:
    """The descriptor for os/arch in an index. Attestation manifests (BuildKit marks them
    unknown/unknown) and other platforms are skipped."""
    want_os, want_arch = platform
    candidates = []
    for d in index.get("manifests", []):
        p = d.get("platform") or {}
        if p.get("os") == want_os and p.get("architecture") == want_arch:
            candidates.append(d)
    if not candidates:
        seen = sorted(
            {f"{(d.get('platform') or {}).get('os')}/{(d.get('platform') or {}).get('architecture')}" for d in index.get("manifests", [])}
        )
        raise UserError(
            f"the image index has no {want_os}/{want_arch} manifest (it has {', '.join(seen) or 'none'}); "
            f"build the image for {want_os}/{want_arch}"
        )
    # amd64 has no variant; for arm the first listed (usually the newest variant) wins.
    return candidates[0]


def manifest_bytes(manifest: dict) -> int:
    """Compressed size of an image: its layer blobs plus its config blob, as stored."""
    mt = media_type(manifest)
    if mt not in MANIFEST_TYPES:
        raise ValueError(f"not a single-platform image manifest: {mt!r}")
    total = int(manifest["config"]["size"])
    for layer in manifest.get("layers", []):
        total += int(layer["size"])
    return total


# -- the registry process -------------------------------------------------------------------
CONFIG_TEMPLATE = """\
# Written by bench for one LocalRegistry; removed with it.
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: {addr}
  secret: {secret}
"""


class ManagedDaemon:
    """A process bench starts and must stop: `with` starts it, and leaving the block (also
    by Ctrl-C or SIGTERM, see sigterm_raises) closes it. Subclasses define start/close."""

    def __enter__(self):
        self._guard = contextlib.ExitStack()
        self._guard.enter_context(sigterm_raises())
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LocalRegistry(ManagedDaemon):
    def __init__(
        self,
        *,
        work_dir: str | os.PathLike | None = None,
        binary: str = REGISTRY_BINARY,
        host: str = "127.0.0.1",
        start_timeout: float = 30.0,
    ):
        self.binary = binary
        self.host = host
        self.start_timeout = start_timeout
        self._work_dir = Path(work_dir) if work_dir else None
        self.dir: Path | None = None
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self._log = None
        self._guard: contextlib.ExitStack | None = None

    # -- addresses ---------------------------------------------------------------------------
    @property
    def address(self) -> str:
        if self.port is None:
            raise RuntimeError("registry is not started")
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def storage(self) -> Path:
        assert self.dir is not None
        return self.dir / "storage"

    # -- lifecycle: __enter__/__exit__ come from ManagedDaemon ------------------------------
    def start(self) -> "LocalRegistry":
        if not (os.path.isfile(self.binary) and os.access(self.binary, os.X_OK)):
            raise UserError(
                f"the registry binary {self.binary} is missing: install the Debian package docker-registry "
                "(`sudo scripts/bootstrap-engine.sh` does)"
            )
        root = work_root(self._work_dir)
        from bench.engine.workdirs import hold, sweep

        sweep(root)  # what registries and cold engines killed outright left behind
        self.dir = Path(tempfile.mkdtemp(prefix="registry-", dir=root))
        self._held = hold(self.dir)
        _LIVE.add(self)
        self.storage.mkdir()
        for attempt in range(3):  # a free port can be taken between probe and bind
            self.port = free_port(self.host)
            self._spawn()
            try:
                self._wait_ready()
                log.info("registry %s (storage %s)", self.address, self.storage)
                return self
            except _PortTaken:
                self._stop_process()
                log.info("registry: port %d was taken, trying another", self.port)
        raise UserError(f"the registry could not bind a port on {self.host}; see {self.dir}/registry.log")

    def _spawn(self) -> None:
        assert self.dir is not None
        config = self.dir / "config.yml"
        config.write_text(
            CONFIG_TEMPLATE.format(root=json.dumps(str(self.storage)), addr=f"{self.host}:{self.port}", secret=os.urandom(16).hex())
        )
        self._log = open(self.dir / "registry.log", "ab")
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("REGISTRY_")}
        self.proc = subprocess.Popen(
            [self.binary, "serve", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            # Its own session: Ctrl-C in a terminal reaches bench, which stops it in order.
            start_new_session=True,
        )

    def _wait_ready(self) -> None:
        assert self.proc is not None and self.dir is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                text = (self.dir / "registry.log").read_text(errors="replace")
                if "address already in use" in text:
                    raise _PortTaken()
                tail = " | ".join(text.strip().splitlines()[-3:])
                raise UserError(f"the registry exited with {self.proc.returncode} at start ({tail}); see {self.dir}/registry.log")
            try:
                with urllib.request.urlopen(f"{self.url}/v2/", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise UserError(f"the registry did not answer /v2/ within {self.start_timeout:.0f}s; see {self.dir}/registry.log")

    def _stop_process(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def clear(self) -> None:
        """Empty the storage and come back on the same address, so that the next push
        uploads every blob again (the engine skips blobs a registry already has)."""
        assert self.dir is not None and self.port is not None
        self._stop_process()
        shutil.rmtree(self.storage, ignore_errors=True)
        self.storage.mkdir()
        self._spawn()
        self._wait_ready()

    def close(self) -> None:
        self._stop_process()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        if getattr(self, "_held", None) is not None:
            self._held.release()
            self._held = None
        _LIVE.discard(self)
        if self._guard is not None:
            self._guard.close()
            self._guard = None

    # -- reading -----------------------------------------------------------------------------
    def _get(self, path: str, accept: str = ACCEPT) -> tuple[dict, str]:
        req = urllib.request.Request(f"{self.url}{path}", headers={"Accept": accept})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read()), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            if e.code == 404:
                raise UserError(f"{self.address}{path} is not in the registry: push it first") from e
            raise

    def manifest(self, repo: str, tag: str, platform: tuple[str, str] = DEFAULT_PLATFORM) -> dict:
        """The image manifest for repo:tag (docker v2 or OCI); an index is followed to the
        manifest of `platform` (linux/amd64 by default)."""
        doc, ctype = self._get(f"/v2/{repo}/manifests/{tag}")
        if is_index(doc, ctype):
            desc = select_platform(doc, platform)
            doc, ctype = self._get(f"/v2/{repo}/manifests/{desc['digest']}", accept=desc.get("mediaType") or ACCEPT)
        mt = media_type(doc, ctype)
        if mt not in MANIFEST_TYPES:
            raise UserError(f"{self.address}/{repo}:{tag} has an unsupported manifest type {mt!r}")
        doc.setdefault("mediaType", mt)
        return doc

    def compressed_bytes(self, repo: str, tag: str, platform: tuple[str, str] = DEFAULT_PLATFORM) -> int:
        return manifest_bytes(self.manifest(repo, tag, platform))


class _PortTaken(Exception):
    pass


# -- shared helpers ---------------------------------------------------------------------------
def work_root(work_dir: str | os.PathLike | None = None, *, max_chars: int | None = None) -> Path:
    """Where bench keeps throwaway daemons' files: `work_dir`, else BENCH_WORK_DIR, else
    ~/.cache/bench/work (the runner's default). A root longer than `max_chars` (unix
    sockets below it would not fit in 108 bytes) falls back to <tmp>/bench."""
    root = Path(work_dir or os.environ.get("BENCH_WORK_DIR") or Path.home() / ".cache" / "bench" / "work")
    if max_chars is not None and len(str(root)) > max_chars:
        log.info("%s is too deep for unix sockets; using %s/bench", root, tempfile.gettempdir())
        root = Path(tempfile.gettempdir()) / "bench"
    root.mkdir(parents=True, exist_ok=True)
    return root


# The cold engine's deepest socket, <root>/cold-XXXXXXXX/exec/libnetwork/<12 hex>.sock,
# must fit in sun_path (108 bytes with the NUL).
MAX_ROOT_CHARS = 107 - len("/cold-XXXXXXXX/exec/libnetwork/0123456789ab.sock")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


_sigterm_lock = threading.Lock()
_sigterm_depth = 0
_sigterm_previous = None


def _raise_on_sigterm(signum, frame):
    # SystemExit unwinds the main thread through every `with` block, so daemons are
    # stopped and their directories removed, as on Ctrl-C.
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """While any bench daemon lives, SIGTERM unwinds like Ctrl-C instead of killing the
    process outright (which would leave the daemon and its files behind). Only installed
    from the main thread, and only over the default handler."""
    global _sigterm_depth, _sigterm_previous
    installed = False
    if threading.current_thread() is threading.main_thread():
        with _sigterm_lock:
            if _sigterm_depth == 0:
                current = signal.getsignal(signal.SIGTERM)
                if current in (signal.SIG_DFL, None):
                    _sigterm_previous = current
                    signal.signal(signal.SIGTERM, _raise_on_sigterm)
                    installed = True
                    _sigterm_depth = 1
            elif signal.getsignal(signal.SIGTERM) is _raise_on_sigterm:
                _sigterm_depth += 1
                installed = True
    try:
        yield
    finally:
        if installed:
            with _sigterm_lock:
                _sigterm_depth -= 1
                if _sigterm_depth == 0:
                    signal.signal(signal.SIGTERM, _sigterm_previous or signal.SIG_DFL)


class _Live:
    """Daemons still running at interpreter exit (a path that skipped __exit__) are
    closed by atexit as a last resort."""

    def __init__(self):
        self._items: set = set()
        self._lock = threading.Lock()
        atexit.register(self._close_all)

    def add(self, x) -> None:
        with self._lock:
            self._items.add(x)

    def discard(self, x) -> None:
        with self._lock:
            self._items.discard(x)

    def _close_all(self) -> None:
        with self._lock:
            items = list(self._items)
        for x in items:
            try:
                x.close()
            except Exception:  # noqa: BLE001 - best effort at exit
                log.exception("closing %r at exit", x)


_LIVE = _Live()
