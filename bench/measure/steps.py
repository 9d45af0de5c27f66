"""The real steps of a cell, wired to the engine: what `bench run` hands the runner.

Tests hand in their own `Steps` (bench.measure.cell) instead; nothing here is patched.
"""

from __future__ import annotations

import logging
import os
from contextlib import ExitStack
from pathlib import Path
from typing import Callable

from bench.bases.measure import RunBases, compressed_by_push
from bench.engine.docker import Docker
from bench.engine.endpoint import current as current_endpoint
from bench.errors import UserError
from bench.measure.builds import Builder, measure_builds, run_key
from bench.measure.cell import Steps
from bench.measure.context import WORK_DIR, Contexts, context_samples
from bench.measure.image import image_samples
from bench.measure.smoke import smoke
from bench.plan import Cell
from bench.settings import Settings
from bench.store import Run, Sample

log = logging.getLogger("bench.measure.steps")


def start_push_pull(stack: ExitStack, step: Callable[[str], None]):
    """The local registry and the cold-pull engine, stopped when `stack` closes."""
    try:
        from bench.engine.coldpull import ColdEngine
        from bench.engine.registry import LocalRegistry
    except ImportError as e:  # the registry part is optional for a partial install
        log.warning("push/pull disabled: %s", e)
        return None, None
    step("starting the local registry and the cold-pull engine")
    try:
        return stack.enter_context(LocalRegistry()), stack.enter_context(ColdEngine())
    except UserError:
        raise  # already one line that says what to do
    except Exception as e:  # noqa: BLE001
        raise UserError(f"could not start the local registry or cold-pull engine: {e}; "
                        "run `python -m bench doctor`, or rerun with --no-push") from e


def engine_steps(docker: Docker, run: Run, settings: Settings, stack: ExitStack, *, needs_registry: bool,
                 step: Callable[[str], None] = lambda text: None, work_dir: Path | None = None,
                 apps_dir: Path | None = None) -> Steps:
    ex = docker.executor
    registry = cold = None
    endpoint = current_endpoint()
    if needs_registry and settings.push_pull and endpoint.local:
        registry, cold = start_push_pull(stack, step)
    bases = RunBases(run, settings.bases_mode, ex, step=step,
                     compressed=compressed_by_push(registry, docker) if registry is not None else None,
                     disk_bytes=docker.image_size, catalogue=_catalogue(apps_dir))
    key = run_key(run.run_id, run.folder)  # concurrent runs never move each other's tags
    builder = Builder(ex, run.run_id, step=step, key=key)
    contexts = Contexts(key, work_dir)  # below the run's own work folder, which the runner locks

    def context(app):
        step(f"{app.name}: copying the build context")
        return contexts(app)

    def image(cell: Cell, tag: str, ctx: Path) -> list[Sample]:
        samples, _ = image_samples(ex, tag, app=cell.app.name, variant=cell.variant.name)
        return samples + context_samples(ctx, cell.variant.dockerignore, app=cell.app.name, variant=cell.variant.name)

    def smoke_step(cell: Cell, tag: str, rep: int):
        return smoke(ex, tag, port=cell.app.port, health_path=cell.app.health_path, user=None,
                     contract=cell.app.smoke, address=endpoint.address,
                     name=f"bench-smoke-{cell.app.name}-{cell.variant.name}-{os.getpid()}")

    return Steps(
        bases=bases, context=context,
        builds=lambda cell, ctx, bcs: measure_builds(builder, cell, settings, ctx, bcs),
        image=image, smoke=smoke_step,
        push_pull=_push_pull(ex, registry, cold, settings, step) if registry is not None else None,
        analysis=archive_analysis(docker, key, step, work_dir or WORK_DIR),
        remove_images=lambda ids: docker.rmi(*ids) if ids else None,
        engine_answers=docker.answers, step=step, key=key,
        note=endpoint.why_no_push_pull if settings.push_pull else "",
    )


def _catalogue(apps_dir: Path | None):
    """bench's base catalogue, with the bases.toml beside a user's apps when there is one."""
    if apps_dir is None:
        return None
    from bench.bases import load_catalogue

    return load_catalogue(extra=apps_dir)


def _push_pull(ex, registry, cold, settings: Settings, step):
    from bench.measure.pushpull import push_and_pull

    def push_pull(cell: Cell, tag: str) -> list[Sample]:
        step(f"{cell.key}: push and cold pulls ({', '.join(p.name for p in settings.pull_profiles)})")
        return push_and_pull(tag, app=cell.app.name, variant=cell.variant.name, registry=registry,
                             cold_engine=cold, profiles=settings.bandwidths, repetitions=settings.repeat,
                             warmup=settings.warmup,
                             executor=ex)

    return push_pull


def archive_analysis(docker: Docker, run_key: str, step, work_dir: Path, analyze: Callable | None = None):
    """The analysis step: one `docker save` read by both the layer analysis and syft (whose
    `docker:` source would export the image again): for 1 GB, one export instead of two."""

    def analysis(cell: Cell, tag: str) -> list[Sample]:
        run_analysis = analyze or _analyze_image()
        if run_analysis is None:
            return []
        step(f"{cell.key}: layer, package and lint analysis")
        archive = work_dir / run_key / f"{cell.app.name}-{cell.variant.name}.tar"
        archive.parent.mkdir(parents=True, exist_ok=True)
        try:
            docker.save(tag, archive)
            return run_analysis(tag, cell.app.name, cell.variant.name, dockerfile=cell.variant.dockerfile,
                                executor=docker.executor, archive=archive)
        finally:
            archive.unlink(missing_ok=True)

    return analysis


def _analyze_image():
    try:
        from bench.analyze import analyze_image
    except ImportError as e:  # the analysis tools are optional for a partial install
        log.warning("analysis disabled: %s", e)
        return None
    return analyze_image
