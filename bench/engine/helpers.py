"""The engine's optional helper programs, as the engine would find them.

dockerd decompresses a pulled layer with `unpigz` when it finds one on its own PATH at
the moment it decompresses (moby pkg/archive; MOBY_DISABLE_PIGZ in its environment turns
that off), else with Go's compress/gzip. Which of the two ran changes pull times, so the
provenance records it for both engines bench uses:

- the main engine (builds, pushes): a local dockerd's PATH is read from
  /proc/<pid>/environ when readable, else bench's own PATH stands in for it; for an engine
  on another host nothing can be said ("unknown");
- the cold-pull engine (bench.engine.coldpull): bench starts it with its own environment,
  so bench's PATH is the one it searches.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Helper:
    """One optional helper as one engine sees it. `path` is None when it is not on the
    engine's PATH, UNKNOWN when that cannot be known (a remote engine)."""

    name: str
    engine: str  # "main" or "cold-pull"
    path: str | None
    version: str = ""
    disabled: bool = False  # the engine's environment turns it off (MOBY_DISABLE_PIGZ)
    path_from: str = ""  # where the PATH came from: "/proc/<pid>/environ", "bench's PATH", ""

    def used(self) -> bool | None:
        if self.path == UNKNOWN:
            return None
        return bool(self.path) and not self.disabled

    def describe(self) -> str:
        if self.path == UNKNOWN:
            return f"{self.name} on the {self.engine} engine: unknown (engine on another host)"
        if not self.path:
            return f"{self.name} on the {self.engine} engine: absent (Go's gzip decompresses)"
        state = "present but disabled by MOBY_DISABLE_PIGZ" if self.disabled else "used"
        return f"{self.name} on the {self.engine} engine: {state}, {self.path} {self.version}".rstrip()

    def to_json(self) -> dict:
        return asdict(self)


def _environ(pid: int) -> dict[str, str] | None:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def main_dockerd_pid(proc: Path = Path("/proc")) -> int | None:
    """The pid of this machine's main dockerd: a `dockerd` process that is not one of
    bench's cold engines (theirs name a `bench-cold-` containerd namespace)."""
    for d in sorted(proc.glob("[0-9]*"), key=lambda p: int(p.name)):
        try:
            if (d / "comm").read_text().strip() != "dockerd":
                continue
            if b"bench-cold-" in (d / "cmdline").read_bytes():
                continue
        except OSError:
            continue
        return int(d.name)
    return None


def version_of(path: str) -> str:
    """What `<path> --version` says on its first line (pigz writes to stdout or stderr)."""
    try:
        p = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return ((p.stdout or p.stderr).strip().splitlines() or [""])[0]


def find_helper(name: str, engine: str, environ: dict[str, str] | None, path_from: str) -> Helper:
    env = environ if environ is not None else dict(os.environ)
    # A daemon started without PATH searches nothing (Go's exec.LookPath), so no default here.
    path = shutil.which(name, path=env.get("PATH", "")) if env.get("PATH") else None
    return Helper(name=name, engine=engine, path=path, version=version_of(path) if path else "",
                  disabled=bool(env.get("MOBY_DISABLE_PIGZ")), path_from=path_from)


def engine_helpers(local: bool, *, pid: int | None = None) -> list[Helper]:
    """unpigz as the main engine and the cold-pull engine would find it."""
    cold = find_helper("unpigz", "cold-pull", None, "bench's PATH")
    if not local:
        return [Helper("unpigz", "main", UNKNOWN), cold]
    pid = pid if pid is not None else main_dockerd_pid()
    env = _environ(pid) if pid is not None else None
    if env is not None:
        main = find_helper("unpigz", "main", env, f"/proc/{pid}/environ")
    else:
        main = find_helper("unpigz", "main", None, "bench's PATH")
    return [main, cold]
