"""CPython builds made by pyenv on this machine: finding one, and pinning a recipe to it.

docker-library/python compiles CPython into /usr/local inside its build RUN; python.org is
not reachable here, but machines of this kind carry real CPython builds made by pyenv
(`--enable-shared`, linked against Debian's libssl3, libsqlite3, ...). A recipe whose
payload is `cpython:X.Y` is pinned to the newest X.Y.z build found, so the exact version
(`cpython:3.12.1`) is part of the stand-in's recipe hash and another build rebuilds it.
Where none fits, the entry's `fallback` recipe (Debian's CPython, labelled as a mismatch)
is used instead.

Where pyenv keeps its builds: $BENCH_PYENV_ROOT, else $PYENV_ROOT, else ~/.pyenv.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from bench.bases.catalogue import Entry

KINDS = ("cpython", "cpython-stripped")  # payload kinds laid out from a pyenv build (payloads.py)
# glibc of the suites a stand-in is built on: a build that needs newer symbols cannot run there
# (a Debian 13 host's pyenv builds need glibc 2.38+, a bookworm stand-in has 2.36).
SUITE_GLIBC = {"bookworm": (2, 36), "trixie": (2, 41)}
_VERSION = re.compile(r"\d+\.\d+\.\d+")
_GLIBC_SYMBOL = re.compile(rb"GLIBC_2\.(\d+)")


@dataclass(frozen=True)
class PyenvBuild:
    version: str  # "3.12.1"
    path: Path  # the build's prefix (bin, lib, include, share)

    @property
    def line(self) -> str:
        return self.version.rsplit(".", 1)[0]


def pyenv_root() -> Path:
    root = os.environ.get("BENCH_PYENV_ROOT") or os.environ.get("PYENV_ROOT") or "~/.pyenv"
    return Path(root).expanduser()


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def builds(root: Path | None = None) -> list[PyenvBuild]:
    """Every final-release build (X.Y.Z, no -dev or t suffix) with an interpreter, oldest first."""
    versions = (root or pyenv_root()) / "versions"
    if not versions.is_dir():
        return []
    found = [PyenvBuild(d.name, d) for d in versions.iterdir()
             if _VERSION.fullmatch(d.name) and (d / "bin" / f"python{d.name.rsplit('.', 1)[0]}").is_file()]
    return sorted(found, key=lambda b: _key(b.version))


def glibc_needed(build: PyenvBuild) -> tuple[int, int]:
    """The newest GLIBC_2.N symbol version the interpreter and its modules ask for."""
    lib = build.path / "lib"
    files = [build.path / "bin" / f"python{build.line}", *lib.glob("libpython*.so*"),
             *(lib / f"python{build.line}" / "lib-dynload").glob("*.so")]
    return max((_glibc_of(str(f), f.stat().st_mtime) for f in files if f.is_file() and not f.is_symlink()),
               default=(2, 0))


@lru_cache(maxsize=256)
def _glibc_of(path: str, mtime: float) -> tuple[int, int]:
    minors = [int(m) for m in _GLIBC_SYMBOL.findall(Path(path).read_bytes())]
    return (2, max(minors, default=0))


def newest_build(line: str, root: Path | None = None, *, suite: str | None = None) -> PyenvBuild | None:
    """The newest build of `line` (3.12 -> 3.12.z; 3.12.1 -> exactly that) that runs on `suite`."""
    exact = line.count(".") == 2
    fits = [b for b in builds(root) if (b.version == line if exact else b.line == line)]
    if suite in SUITE_GLIBC:
        fits = [b for b in fits if glibc_needed(b) <= SUITE_GLIBC[suite]]
    return fits[-1] if fits else None


def newest_line(root: Path | None = None, *, suite: str | None = None) -> str | None:
    """The newest X.Y line with a build that runs on `suite` (what python:slim or python:3 asks for)."""
    fits = [b for b in builds(root) if suite not in SUITE_GLIBC or glibc_needed(b) <= SUITE_GLIBC[suite]]
    return fits[-1].line if fits else None


def pin(entry: Entry) -> Entry:
    """`entry` with its `cpython:X.Y` payload pinned to the exact build, or its fallback recipe."""
    payloads = dict(entry.recipe.payloads)
    name = next((n for n, spec in payloads.items() if spec.partition(":")[0] in KINDS), None)
    if name is None:
        return entry
    kind, _, line = payloads[name].partition(":")
    build = newest_build(line, suite=entry.recipe.suite)
    if build is None:
        if entry.fallback is None:
            return replace(entry, unavailable=f"no pyenv CPython {line} build under {pyenv_root()}")
        return replace(entry.fallback, ref=entry.ref, same_as=entry.same_as)
    payloads[name] = f"{kind}:{build.version}"
    return replace(entry, recipe=replace(entry.recipe, payloads=tuple(sorted(payloads.items()))), fallback=None)
