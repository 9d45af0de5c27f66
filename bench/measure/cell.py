"""One cell, measured: its steps are handed in, its outcome is a value.

The steps (bases, context, builds, image, smoke, push/pull, analysis) are plain
callables, so a test hands in fakes instead of patching module globals (hyperfine's
`Benchmark::run` gets its executor and hooks the same way). `measure_cell` never
raises for what a cell can get wrong (a Dockerfile that does not build, an image that
does not serve): those are outcomes. It raises only when the engine itself is gone, or
on Ctrl-C.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from bench.bases.measure import CellBases
from bench.engine.executor import DockerError
from bench.errors import EngineUnavailable, UserError
from bench.measure.build import BuildFailed
from bench.measure.builds import BuildsOutcome, image_tag
from bench.measure.smoke import SmokeResult, smoke_samples
from bench.plan import Cell
from bench.settings import Settings
from bench.store import Cell as StoredCell
from bench.store import Sample

log = logging.getLogger("bench.measure.cell")

APK_UNREACHABLE = re.compile(r"unable to select packages|\(no such package\)|apk.*(?:fetch|temporary error)", re.I)
ENGINE_GONE = "it stopped answering mid-run; measured cells are saved, rerun with --resume"


@dataclass(frozen=True)
class Steps:
    bases: Callable[[list[str]], CellBases]
    context: Callable[[object], Path]  # App -> its private build context
    builds: Callable[[Cell, Path, list[str]], BuildsOutcome]
    image: Callable[[Cell, str, Path], list[Sample]]  # sizes, layers, context bytes
    smoke: Callable[[Cell, str, int], SmokeResult]
    push_pull: Callable[[Cell, str], list[Sample]] | None = None
    analysis: Callable[[Cell, str], list[Sample]] | None = None
    remove_images: Callable[[tuple[str, ...]], None] = lambda ids: None
    engine_answers: Callable[[], bool] = lambda: True
    step: Callable[[str], None] = lambda text: None
    note: str = ""  # said in every measured cell's reason (e.g. why push/pull was skipped)
    key: str = ""  # the run key in the cell's image tag (bench.measure.builds.run_key)


@dataclass(frozen=True)
class CellOutcome:
    cell: StoredCell
    samples: tuple[Sample, ...]


class _Phases:
    """`with phase("builds"): ...` adds the block's wall seconds to a phase total."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str):
        phases = self

        class _Timer:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                phases.seconds[name] = round(phases.seconds.get(name, 0.0) + time.perf_counter() - self.t0, 1)

        return _Timer()


def _utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _with_note(reason: str, note: str) -> str:
    return f"{reason}; {note}" if reason else note


def new_record(cell: Cell) -> StoredCell:
    v = cell.variant
    return StoredCell(app=cell.app.name, variant=v.name, techniques=list(v.techniques), parent=v.parent,
                      summary=v.summary, bases=list(v.bases), runtime_base=v.runtime_base)


def measure_cell(cell: Cell, steps: Steps, settings: Settings) -> CellOutcome:
    """The whole cell, timed: when it started, how long, the load average either side."""
    load0, t0, started = os.getloadavg()[0], time.perf_counter(), _utcnow()
    record = new_record(cell)
    phase = _Phases()
    samples: list[Sample] = []
    try:
        _measure(cell, steps, settings, record, samples, phase)
    finally:
        record.phase_seconds = phase.seconds
        record.loadavg = [round(load0, 2), round(os.getloadavg()[0], 2)]
        record.started_utc, record.seconds = started, round(time.perf_counter() - t0, 1)
    return CellOutcome(record, tuple(samples))


def _measure(cell: Cell, steps: Steps, settings: Settings, record: StoredCell, samples: list, phase) -> None:
    try:
        with phase("bases"):  # resolving, and building a stand-in the first time one is needed
            bases = steps.bases(list(record.bases))
        record.bases_resolved, record.standin = list(bases.resolved), bases.standin
        if bases.unavailable:
            record.status, record.reason = "skipped", bases.unavailable
            return
        with phase("context"):  # the private copy of the app and its prepare steps, once per app
            ctx = steps.context(cell.app)
    except UserError as e:
        record.status, record.reason = "failed", str(e)
        return
    try:
        _build_and_check(cell, steps, settings, record, samples, phase, ctx, list(bases.build_contexts))
    except BuildFailed as e:
        if not steps.engine_answers():  # the engine died under the build: not the Dockerfile's fault
            raise EngineUnavailable(ENGINE_GONE) from e
        record.status, record.reason = "failed", str(e)
        if record.standin and APK_UNREACHABLE.search(str(e)):
            # Not the Dockerfile's fault: the Alpine stand-in is a genuine minirootfs, but no
            # Alpine package mirror answers here, so `apk add` finds nothing to install.
            record.status = "skipped"
            record.reason = f"`apk add` needs an Alpine package mirror and none is reachable here: {e}"
    except DockerError as e:
        if not steps.engine_answers():
            raise EngineUnavailable(ENGINE_GONE) from e
        record.status, record.reason = "failed", str(e)


def _build_and_check(cell, steps: Steps, settings: Settings, record: StoredCell, samples: list, phase, ctx,
                     build_contexts) -> None:
    tag = image_tag(cell.app.name, cell.variant.name, steps.key)
    with phase("builds"):
        built = steps.builds(cell, ctx, build_contexts)
        samples += built.samples
        steps.remove_images(built.stale_images)
    with phase("image"):
        samples += steps.image(cell, tag, ctx)
    with phase("smoke"):
        record.smoke_ok = _smoke(cell, steps, settings, record, samples, tag)
    if not record.smoke_ok:
        # An image that does not do its job is not a result to push, pull or analyse.
        record.status = "failed"
        return
    # Push/pull and analysis add figures to a cell that already built and served: a
    # failure there is said in the cell's reason and the run goes on.
    if steps.push_pull is not None and settings.push_pull:
        with phase("push_pull"):
            samples += _optional("push/pull", record, steps, lambda: steps.push_pull(cell, tag))
    if steps.analysis is not None and settings.analyze:
        with phase("analysis"):
            samples += _optional("analysis", record, steps, lambda: steps.analysis(cell, tag))
    record.status = "ok"
    for note in (*built.notes, *([steps.note] if steps.note else [])):
        record.reason = _with_note(record.reason, note)


def _smoke(cell, steps: Steps, settings: Settings, record: StoredCell, samples: list, tag: str) -> bool:
    """Warmup starts first (kept and flagged: the first start of an image is the slowest),
    then the measured ones; any start that fails its contract fails the cell."""
    reps = [(w, True) for w in range(settings.warmup)] + [(r, False) for r in range(settings.repeat)]
    for rep, warmup in reps:
        steps.step(f"{cell.key}: smoke check {'warmup ' if warmup else ''}{rep + 1}")
        res = steps.smoke(cell, tag, rep)
        got = smoke_samples(res, app=cell.app.name, variant=cell.variant.name, repetition=rep)
        samples += [replace(x, warmup=True) for x in got] if warmup else got
        if not res.ok:
            record.reason = f"smoke check failed: {res.reason}"
            return False
    return True


def _optional(what: str, record: StoredCell, steps: Steps, fn) -> list[Sample]:
    try:
        return list(fn())
    except (KeyboardInterrupt, EngineUnavailable):
        raise
    except Exception as e:  # noqa: BLE001
        if not steps.engine_answers():
            raise EngineUnavailable(ENGINE_GONE) from e
        log.warning("%s: %s failed: %s", record.key, what, e)
        record.reason = _with_note(record.reason, f"{what} failed: {type(e).__name__}: {e}")
        return []
