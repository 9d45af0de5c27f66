"""Measure a plan cell by cell and store every sample as soon as a cell is done.

For each cell (app/variant): resolve its bases, then per repetition a cold build
(--no-cache, bases present), a warm build (nothing changed) and an edit build (a one-line
change to a source file, reverted after); then sizes, a smoke check, push and cold pulls
through each bandwidth profile, and the layer/package/lint analysis.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from bench import LABEL
from bench.apps import App
from bench.engine.buildx import context_bytes
from bench.engine.docker import check_engine, cleanup, engine_answers  # noqa: F401 - moved to the seam; kept importable here
from bench.engine.executor import DockerError, Executor
from bench.errors import EngineUnavailable, UserError
from bench.measure.build import BuildFailed, run_build
from bench.measure.image import image_samples
from bench.measure.smoke import smoke, smoke_samples
from bench.plan import PROFILES_BANDWIDTH, Cell, Plan
from bench.store import Cell as StoredCell
from bench.store import Run, Sample

log = logging.getLogger("bench.runner")

_NETWORK_FLAKE = re.compile(
    r"EAI_AGAIN|ETIMEDOUT|ECONNRESET|Temporary failure (?:in name resolution|resolving)|Could not resolve|"
    r"Could not connect to|Failed to fetch|Connection refused|Network is unreachable|"
    r"Read timed out|Connection timed out|TLS handshake timeout|i/o timeout", re.I)

RETRY_PAUSE = 15.0  # seconds before the one retry of a build that hit a network error

WORK_DIR = Path(os.environ.get("BENCH_WORK_DIR", Path.home() / ".cache" / "bench" / "work"))


def image_tag(app: str, variant: str) -> str:
    return f"bench/{app}:{variant}"


@dataclass
class Reporter:
    """What the runner tells the person watching; the CLI plugs rich in here."""

    cell_started: Callable[[str, int, int], None] = lambda key, i, n: None
    step: Callable[[str], None] = lambda text: None
    cell_done: Callable[[StoredCell], None] = lambda cell: None
    # On --resume: how many planned cells are already done (the bar starts there, and the ETA
    # counts only the cells measured now).
    already_done: Callable[[int], None] = lambda n: None


class _Phases:
    """`with phase("builds"): ...` adds the block's wall seconds to a cell's phase_seconds."""

    def __init__(self, into: dict):
        self.into = into

    @contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.into[name] = round(self.into.get(name, 0.0) + time.perf_counter() - t0, 1)


def _utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@contextmanager
def _sigterm_as_interrupt():
    """SIGTERM ends a run like Ctrl-C does, so every context manager cleans up."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def prepare_context(app: App, run_id: str) -> Path:
    """A private copy of the app's context: edits never touch the repository, and the
    app's `prepare` commands (a developer's gitignored clutter) run there."""
    # One folder per run: two runs at once never edit each other's sources.
    dest = WORK_DIR / run_id / app.name
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


@contextmanager
def edited(path: Path, line: str):
    original = path.read_bytes()
    try:
        text = original.decode()
        sep = "" if text.endswith("\n") else "\n"
        path.write_text(text + sep + line + "\n")
        yield
    finally:
        path.write_bytes(original)


@dataclass
class Runner:
    executor: Executor
    run: Run
    plan: Plan
    bases_mode: str = "auto"
    reporter: Reporter = field(default_factory=Reporter)
    resume: bool = False
    retry_failed: bool = False  # with resume: measure failed cells again
    redo: frozenset = frozenset()  # with resume: finished cells to set aside and measure again
    redo_because: str = "asked for with --redo"
    _contexts: dict = field(default_factory=dict)
    _resolved: dict = field(default_factory=dict)
    _registry: object = None
    _notes: list = field(default_factory=list)  # said in the cell's reason: retries, suspicious builds
    _cold: object = None

    # -- the whole plan ---------------------------------------------------------------------
    def execute(self) -> Run:
        from bench.engine.workdirs import hold, sweep

        check_engine(self.executor)
        sweep(WORK_DIR)  # app copies, registries and cold engines of bench processes killed outright
        mine = WORK_DIR / self.run.run_id
        try:
            held = hold(mine)
        except BlockingIOError:
            raise UserError(f"run {self.run.run_id} is being measured by another bench process right now: "
                            "let it finish (or stop it), then resume") from None
        try:
            for key in sorted(self.redo):  # only now that this process owns the run
                if self.run.cells.get(key) is not None and self.run.cells[key].status != "pending":
                    n = self.run.supersede(key, self.redo_because)
                    self.reporter.step(f"{key}: its {n} earlier rows set aside in superseded.csv")
            return self._execute()
        finally:
            shutil.rmtree(mine, ignore_errors=True)  # every app copy of this run lives below it
            held.release()

    def _execute(self) -> Run:
        todo = [c for c in self.plan.cells if not self._finished(c)]
        needs_registry = any(c.push_pull for c in todo)
        with _sigterm_as_interrupt(), ExitStack() as stack:
            registry = cold = None
            if needs_registry:
                registry, cold = self._start_registry(stack)
            self._registry, self._cold = registry, cold
            # Each invocation (the first and every --resume) is one segment: the run's wall
            # time is their sum, whatever happened between them.
            segment = {"started_utc": _utcnow(), "ended_utc": None, "cells": 0}
            self.run.metadata.setdefault("segments", []).append(segment)
            try:
                done = sum(1 for c in self.plan.cells if self._finished(c))
                if done:
                    self.reporter.already_done(done)
                for i, cell in enumerate(self.plan.cells, 1):
                    self.reporter.cell_started(cell.key, i, len(self.plan.cells))
                    if self._finished(cell):
                        continue
                    load0, t0, started = os.getloadavg()[0], time.perf_counter(), _utcnow()
                    stored = self._measure_cell(cell, registry, cold)
                    stored.loadavg = [round(load0, 2), round(os.getloadavg()[0], 2)]
                    stored.started_utc, stored.seconds = started, round(time.perf_counter() - t0, 1)
                    if cell.key in self.redo:
                        note = "measured again with --redo; the earlier attempt's rows are in superseded.csv"
                        stored.reason = f"{stored.reason}; {note}" if stored.reason else note
                    segment["cells"] += 1
                    segment["ended_utc"] = _utcnow()  # kept current: a run killed outright still has it
                    self.run.set_cell(stored)
                    self.run.save()
                    self.reporter.cell_done(stored)
            finally:
                segment["ended_utc"] = _utcnow()
                self.run.save()
        # Complete only when every cell ever planned for this run (a resumed run may have
        # been given a smaller or larger --only) has been measured, failed or skipped.
        planned = self.run.metadata.get("plan", {}).get("cells") or [c.key for c in self.plan.cells]
        missing = [k for k in planned if self.run.cells.get(k) is None or self.run.cells[k].status == "pending"]
        if missing:
            self.run.metadata["missing_cells"] = missing
            self.run.save()
        else:
            self.run.metadata.pop("missing_cells", None)
            self.run.finish()
        return self.run

    def _finished(self, cell: Cell) -> bool:
        c = self.run.cells.get(cell.key)
        done = ("ok", "skipped") if self.retry_failed else ("ok", "failed", "skipped")
        return bool(self.resume and c and c.status in done)

    def _start_registry(self, stack: ExitStack):
        try:
            from bench.engine.coldpull import ColdEngine
            from bench.engine.registry import LocalRegistry
        except ImportError as e:  # the registry part is optional for a partial install
            log.warning("push/pull disabled: %s", e)
            return None, None
        self.reporter.step("starting the local registry and the cold-pull engine")
        try:
            registry = stack.enter_context(LocalRegistry())
            cold = stack.enter_context(ColdEngine())
        except UserError:
            raise  # already one line that says what to do
        except Exception as e:  # noqa: BLE001
            raise UserError(f"could not start the local registry or cold-pull engine: {e}; "
                            "run `python -m bench doctor`, or rerun with --no-push")
        return registry, cold

    # -- one cell -----------------------------------------------------------------------------
    def _measure_cell(self, cell: Cell, registry, cold) -> StoredCell:
        app, v = cell.app, cell.variant
        stored = StoredCell(
            app=app.name, variant=v.name, techniques=list(v.techniques), parent=v.parent,
            summary=v.summary, bases=list(v.bases),
        )
        self.run.drop_cell_rows(stored)  # a resumed, half-measured cell starts over
        samples: list[Sample] = []
        phase = _Phases(stored.phase_seconds)
        try:
            with phase("bases"):  # resolving, and building a stand-in the first time one is needed
                build_contexts = self._bases(stored)
        except UserError as e:
            stored.status, stored.reason = "failed", f"{e}"
            return stored
        if stored.status == "skipped":
            return stored
        try:
            with phase("context"):  # the private copy of the app and its prepare steps, once per app
                ctx = self._context(app)
        except UserError as e:
            stored.status, stored.reason = "failed", str(e)
            return stored
        self._notes = []
        try:
            with phase("builds"):
                samples += self._builds(cell, ctx, build_contexts)
            tag = image_tag(app.name, v.name)
            with phase("image"):
                img, info = image_samples(self.executor, tag, app=app.name, variant=v.name)
                samples += img
                samples += self._context_size(cell, ctx)
            smoke_ok = True
            with phase("smoke"):
                for rep in range(cell.repeat):
                    self.reporter.step(f"{cell.key}: smoke check {rep + 1}/{cell.repeat}")
                    res = smoke(self.executor, tag, port=app.port, health_path=app.health_path,
                                user=None, name=f"bench-smoke-{app.name}-{v.name}-{os.getpid()}")
                    samples += smoke_samples(res, app=app.name, variant=v.name, repetition=rep)
                    if not res.ok:
                        smoke_ok = False
                        stored.reason = f"smoke check failed: {res.reason}"[:400]
                        break
            stored.smoke_ok = smoke_ok
            # Push/pull and analysis add figures to a cell that already built and served:
            # a failure there is recorded in the cell's reason and the run goes on.
            if cell.push_pull and registry is not None:
                with phase("push_pull"):
                    samples += self._optional("push/pull", stored, lambda: self._push_pull(cell, tag, registry, cold))
            if cell.analyze:
                with phase("analysis"):
                    samples += self._optional("analysis", stored, lambda: self._analyze(cell, tag))
            stored.status = "ok"
            if self._notes:
                note = "; ".join(self._notes)
                stored.reason = f"{stored.reason}; {note}" if stored.reason else note
        except BuildFailed as e:
            stored.status, stored.reason = "failed", str(e)
        except DockerError as e:
            if not engine_answers(self.executor):
                self.run.add(stored, samples)
                raise EngineUnavailable("it stopped answering mid-run; measured cells are saved, "
                                        "rerun with --resume")
            stored.status, stored.reason = "failed", str(e)[:400]
        self.run.add(stored, samples)
        return stored

    def _optional(self, what: str, stored: StoredCell, fn) -> list[Sample]:
        try:
            return fn()
        except (KeyboardInterrupt, EngineUnavailable):
            raise
        except Exception as e:  # noqa: BLE001
            if not engine_answers(self.executor):
                raise EngineUnavailable("it stopped answering mid-run; measured cells are saved, rerun with --resume")
            log.warning("%s: %s failed: %s", stored.key, what, e)
            note = f"{what} failed: {type(e).__name__}: {str(e)[:200]}"
            stored.reason = f"{stored.reason}; {note}" if stored.reason else note
            return []

    def _bases(self, stored: StoredCell) -> list[str]:
        if not stored.bases:
            return []
        try:
            from bench.bases import build_context_args, resolve
        except ImportError:  # no catalogue: let BuildKit pull the refs as written
            stored.bases_resolved = list(stored.bases)
            return []
        missing = [r for r in stored.bases if r not in self._resolved]
        if missing:
            self.reporter.step(f"resolving bases {', '.join(missing)}")
            self._resolved.update(resolve(missing, self.bases_mode, executor=self.executor))
            self._record_bases(missing)
        res = [self._resolved[r] for r in stored.bases]
        stored.bases_resolved = [r.image_id or r.image or "unavailable" for r in res]
        stored.standin = any(r.standin for r in res)
        unavailable = [r for r in res if not r.available]
        if unavailable:
            stored.status = "skipped"
            stored.reason = "; ".join(f"{r.ref}: {r.reason}" for r in unavailable)
            return []
        return build_context_args(res)

    def _record_bases(self, refs: list[str]) -> None:
        meta = self.run.metadata.setdefault("bases", {})
        samples = []
        for ref in refs:
            r = self._resolved[ref]
            before = meta.get(ref)
            if before and before.get("image_id") == r.image_id and self._has_base_rows(ref):
                continue  # a resumed run: this base was measured already, and it is the same image
            if before and before.get("image_id") != r.image_id:
                # The base changed between invocations (a stand-in rebuilt, a new upstream
                # digest): cells on either side of the change were built on different bases.
                self.run.metadata.setdefault("notes", []).append(
                    f"{ref} resolved to {before.get('image_id')} before and to {r.image_id} from "
                    f"{_utcnow()}: cells measured on either side used different bases")
                self.run.rows = [x for x in self.run.rows if not (x["app"] == "_bases" and x["variant"] == ref)]
            meta[ref] = {"mode": r.mode, "image": r.image, "standin": r.standin, "available": r.available,
                         "reason": r.reason, "runtime_version": r.runtime_version,
                         "recipe_hash": r.recipe_hash, "image_id": r.image_id}
            if r.available:
                try:
                    from bench.measure.image import inspect

                    size = int(inspect(self.executor, r.image).get("Size", 0))
                    samples.append(Sample(app="_bases", variant=ref, scenario="base", metric="disk_bytes",
                                          value=size, unit="B"))
                except DockerError:
                    pass
                samples += self._base_compressed(ref, r.image)
        if samples:
            # Base rows are stored per ref; the cell columns say stand-in or not per row.
            for s in samples:
                r = self._resolved[s.variant]
                c = StoredCell(app="_bases", variant=s.variant, techniques=["base"], parent=None,
                               summary="base image", bases=[s.variant], bases_resolved=[r.image],
                               standin=r.standin, status="ok")
                self.run.add(c, [s])

    def _has_base_rows(self, ref: str) -> bool:
        return any(x["app"] == "_bases" and x["variant"] == ref for x in self.run.rows)

    def _base_compressed(self, ref: str, image: str) -> list[Sample]:
        """Push a base once to learn its compressed size (what a pull of it moves)."""
        if self._registry is None:
            return []
        from bench.measure.pushpull import push_and_pull

        try:
            got = push_and_pull(image, app="_bases", variant=ref, registry=self._registry, cold_engine=self._cold,
                                profiles={}, repetitions=1, executor=self.executor)
        except Exception as e:  # noqa: BLE001 - a base size is a nicety, never worth a run
            log.warning("compressed size of %s: %s", ref, e)
            return []
        return [Sample(app="_bases", variant=ref, scenario="base", metric="compressed_bytes", value=s.value, unit="B")
                for s in got if s.metric == "compressed_bytes"]

    def _context(self, app: App) -> Path:
        if app.name not in self._contexts:
            self.reporter.step(f"{app.name}: copying the build context")
            self._contexts[app.name] = prepare_context(app, self.run.run_id)
        return self._contexts[app.name]

    def _context_size(self, cell: Cell, ctx: Path) -> list[Sample]:
        ignore = cell.variant.dockerignore
        nbytes, nfiles = context_bytes(ctx, ignore)
        base = dict(app=cell.app.name, variant=cell.variant.name, scenario="image")
        return [Sample(metric="context_bytes", value=nbytes, unit="B", **base),
                Sample(metric="context_files", value=nfiles, unit="count", **base)]

    def _builds(self, cell: Cell, ctx: Path, build_contexts: list[str]) -> list[Sample]:
        app, v = cell.app, cell.variant
        tag = image_tag(app.name, v.name)
        labels = {"org.bench.app": app.name, "org.bench.variant": v.name, "org.bench.run": self.run.run_id}

        def build(scenario: str, rep: int):
            self.reporter.step(f"{cell.key}: {scenario} build {rep + 1}/{cell.repeat}")
            kw = dict(scenario=scenario, repetition=rep, context=ctx, dockerfile=v.dockerfile, tag=tag,
                      build_contexts=build_contexts, target=v.target, labels=labels)
            try:
                return run_build(self.executor, **kw)
            except BuildFailed as e:
                if not _NETWORK_FLAKE.search(str(e)):
                    raise
                # A package registry that did not answer is not the Dockerfile's fault: one
                # retry, and the cell says so. The failed attempt's time is not a sample.
                log.warning("%s: %s build hit a network error, retrying once: %s", cell.key, scenario, e)
                self._notes.append(f"{scenario} build {rep + 1} retried after a network error")
                time.sleep(RETRY_PAUSE)  # a resolver that just failed rarely answers a moment later
                try:
                    return run_build(self.executor, **kw)
                except BuildFailed as again:
                    raise BuildFailed(f"{again} (a network error twice, {RETRY_PAUSE:g} s apart: "
                                      "rerun with --resume RUN --retry-failed)") from again

        samples: list[Sample] = []
        built: list[str] = []  # every image this cell's builds made, in order
        # Each measurement of the cell (first, resumed after an interruption, --redo) edits
        # with lines no earlier attempt wrote: BuildKit keeps the cache of a cut-short attempt,
        # and an edit it has seen before is a cache hit, not an edit build.
        attempt = uuid.uuid4().hex[:8]

        def keep(result):
            if result.image_digest:
                built.append(result.image_digest)
            return result

        for w in range(cell.warmup):
            keep(build("warmup", w))
        for rep in range(cell.repeat):
            if "cold" in cell.scenarios:
                samples += keep(build("cold", rep)).samples(app.name, v.name)
            if "warm" in cell.scenarios:
                samples += keep(build("warm", rep)).samples(app.name, v.name)
            if "edit" in cell.scenarios and app.edit:
                # A fresh line each time, so no earlier edit build can be reused from cache.
                line = f"{app.edit.append} {self.run.run_id} {v.name} {rep} {attempt}"
                with edited(ctx / app.edit.file, line):
                    result = keep(build("edit", rep))
                samples += result.samples(app.name, v.name)
                p = result.progress
                if p.steps_total and p.steps_cached >= p.steps_total:
                    self._notes.append(f"edit build {rep + 1} reused every step from cache: "
                                         f"the edit to {app.edit.file} did not reach this Dockerfile's build")
        if "edit" in cell.scenarios and app.edit:
            # The tag points at the unedited image again (from cache).
            keep(build("restore", 0))
        # Each --no-cache build and each edit makes a new image and moves the tag on, so the
        # earlier ones are left untagged (a repeated 1 GB cell would leave GBs behind). They
        # are this cell's own, made moments ago: remove all but the one the tag names.
        if built:
            stale = list(dict.fromkeys(d for d in built if d != built[-1]))
            if stale:
                self.executor.run(["docker", "rmi", *stale], check=False)
        return samples

    def _push_pull(self, cell: Cell, tag: str, registry, cold) -> list[Sample]:
        from bench.measure.pushpull import push_and_pull

        self.reporter.step(f"{cell.key}: push and cold pulls ({', '.join(cell.pull_profiles)})")
        profiles = {p: PROFILES_BANDWIDTH[p] for p in cell.pull_profiles}
        return push_and_pull(tag, app=cell.app.name, variant=cell.variant.name, registry=registry,
                             cold_engine=cold, profiles=profiles, repetitions=cell.repeat,
                             executor=self.executor)

    def _analyze(self, cell: Cell, tag: str) -> list[Sample]:
        try:
            from bench.analyze import analyze_image
        except ImportError as e:
            log.warning("analysis disabled: %s", e)
            return []
        self.reporter.step(f"{cell.key}: layer, package and lint analysis")
        # One `docker save` read by both the layer analysis and syft (whose `docker:` source
        # would export the image again): for a 1 GB image that is one export instead of two.
        archive = WORK_DIR / self.run.run_id / f"{cell.app.name}-{cell.variant.name}.tar"
        archive.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.executor.run(["docker", "save", "-o", str(archive), tag], timeout=1800)
            return analyze_image(tag, cell.app.name, cell.variant.name, dockerfile=cell.variant.dockerfile,
                                 executor=self.executor, archive=archive)
        finally:
            archive.unlink(missing_ok=True)
