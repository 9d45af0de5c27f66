"""Folders bench makes under its work root, and how a dead owner's are found.

The work root (`~/.cache/bench/work`, see registry.work_root) holds throwaway folders:
`registry-*` (the local registry's storage), `cold-*` (the cold-pull engine's data root)
and `<run_id>/` (a run's private copies of the apps). Each is locked (flock) by the
process that made it for as long as it lives. Ctrl-C and SIGTERM remove them on the way
out; a process killed outright (SIGKILL, the end of a CI job, power loss) cannot, and its
folders may hold gigabytes of layers. The lock tells them apart: a folder whose lock can
be taken has no owner left, so `sweep()` removes it. Folders without a lock file (made by
an older bench) are removed only when no running process names them on its command line.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
from pathlib import Path

log = logging.getLogger("bench.engine.workdirs")

LOCK_NAME = ".bench-lock"
_OURS = re.compile(r"^(cold-[0-9a-f]{8}|registry-[A-Za-z0-9_]+|\d{8}T\d{6}Z(-\d+)?(-shard\d+of\d+)?(-[0-9a-f]{6})?)$")


class Held:
    """The lock on one of bench's folders, held until `release()` (or the process ends)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def hold(folder: Path) -> Held:
    """Lock `folder` (made if missing) for this process; BlockingIOError if another has it."""
    return Held(folder)


def _owner_alive(folder: Path) -> bool:
    lock = folder / LOCK_NAME
    if lock.exists():
        try:
            fd = os.open(lock, os.O_RDWR)
        except OSError:
            return True  # cannot tell: leave it
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing drops the probe's own lock again
        return False
    # No lock file: an older bench made it. Its daemons name their folder on the command line.
    needle = str(folder).encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if needle in cmdline.read_bytes():
                return True
        except OSError:
            continue
    return not folder.name.startswith(("cold-", "registry-"))  # an unlocked run copy: leave it


def sweep(parent: Path) -> list[Path]:
    """Remove the folders under `parent` that bench made and whose owner is gone."""
    removed = []
    try:
        children = [p for p in Path(parent).iterdir() if p.is_dir() and _OURS.match(p.name)]
    except OSError:
        return []
    for d in children:
        if _owner_alive(d):
            continue
        from bench.engine.coldpull import _unmount_under

        log.info("removing %s, left by a bench process that is gone", d)
        _unmount_under(d)  # a cold engine killed outright leaves overlay mounts below it
        shutil.rmtree(d, ignore_errors=True)
        if not d.exists():
            removed.append(d)
    return removed
