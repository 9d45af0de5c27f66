"""The build context a run builds from: a private copy of each app, edited in place.

Edits never touch the repository, and an app's `prepare` commands (a developer's
gitignored clutter, for the dockerignore variants to leave out) run in the copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

from bench.apps import App
from bench.engine.buildx import context_bytes
from bench.errors import UserError
from bench.store import Sample

WORK_DIR = Path(os.environ.get("BENCH_WORK_DIR", Path.home() / ".cache" / "bench" / "work"))


def prepare_context(app: App, run_key: str, work_dir: Path | None = None) -> Path:
    # One folder per run (its id and results folder): two runs at once never edit each other's sources.
    dest = (work_dir or WORK_DIR) / run_key / app.name
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(app.context, dest, symlinks=True)
    for cmd in app.prepare:
        p = subprocess.run(cmd, shell=True, cwd=dest, capture_output=True, text=True, timeout=900)
        if p.returncode != 0:
            tail = (p.stderr or p.stdout).strip().splitlines()[-1:] or [""]
            raise UserError(f"{app.name}: prepare step `{cmd}` failed ({tail[0][:200]}); "
                            f"fix it in {app.root / 'app.toml'} or install what it needs")
    return dest


class Contexts:
    """Each app's copy, made the first time a cell of that app needs it."""

    def __init__(self, run_key: str, work_dir: Path | None = None):
        self.run_key = run_key
        self.work_dir = work_dir or WORK_DIR
        self._made: dict[str, Path] = {}

    def __call__(self, app: App) -> Path:
        if app.name not in self._made:
            self._made[app.name] = prepare_context(app, self.run_key, self.work_dir)
        return self._made[app.name]


@contextmanager
def edited(path: Path, line: str):
    """The file with one line appended, restored byte for byte afterwards."""
    original = path.read_bytes()
    try:
        text = original.decode()
        sep = "" if text.endswith("\n") else "\n"
        path.write_text(text + sep + line + "\n")
        yield
    finally:
        path.write_bytes(original)


def context_samples(ctx: Path, dockerignore: Path | None, *, app: str, variant: str) -> list[Sample]:
    """What the build context holds once the variant's .dockerignore has applied."""
    nbytes, nfiles = context_bytes(ctx, dockerignore)
    base = dict(app=app, variant=variant, scenario="image")
    return [Sample(metric="context_bytes", value=nbytes, unit="B", **base),
            Sample(metric="context_files", value=nfiles, unit="count", **base)]
