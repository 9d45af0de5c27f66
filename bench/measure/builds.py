"""A cell's builds: warmups, then per repetition cold, warm and edit, in a rotating order.

Cold is `--no-cache` with the bases present; warm changes nothing; edit appends a fresh
line to the app's edit target (one no earlier attempt wrote, so BuildKit cannot serve it
from a cut-short attempt's cache). A build that hit a network error is retried once.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from bench.measure.build import BuildFailed, BuildResult, run_build
from bench.measure.context import edited
from bench.plan import Cell, rotated
from bench.settings import Settings
from bench.store import Sample

log = logging.getLogger("bench.measure.builds")

NETWORK_FLAKE = re.compile(
    r"EAI_AGAIN|ETIMEDOUT|ECONNRESET|Temporary failure (?:in name resolution|resolving)|Could not resolve|"
    r"Could not connect to|Failed to fetch|Connection refused|Network is unreachable|"
    r"Read timed out|Connection timed out|TLS handshake timeout|i/o timeout", re.I)

RETRY_PAUSE = 15.0  # seconds before the one retry of a build that hit a network error


def run_key(run_id: str, folder: Path) -> str:
    """What makes a run's image tags its own: its id and a short hash of its folder (two runs
    started in the same second into different results folders share an id, not a folder)."""
    digest = hashlib.sha1(str(Path(folder).resolve()).encode()).hexdigest()[:6]
    return f"{run_id}-{digest}"


def image_tag(app: str, variant: str, key: str = "") -> str:
    """The tag a cell's builds make: `bench/<app>:<variant>-<run key>`, so concurrent runs
    never move each other's tags (without a key, the bare `bench/<app>:<variant>`)."""
    return f"bench/{app}:{variant}-{key}" if key else f"bench/{app}:{variant}"


@dataclass(frozen=True)
class BuildsOutcome:
    samples: tuple[Sample, ...]
    notes: tuple[str, ...]  # retries, edit builds served from cache
    stale_images: tuple[str, ...]  # images this cell's builds made that no tag names any more


@dataclass
class Builder:
    """Runs one build with the cell's settings; `build` is `run_build` unless a test says otherwise."""

    executor: object
    run_id: str
    build: Callable[..., BuildResult] = run_build
    sleep: Callable[[float], None] = time.sleep
    step: Callable[[str], None] = lambda text: None
    notes: list = field(default_factory=list)
    key: str = ""  # the run key in every image tag (see run_key)

    def __call__(self, cell: Cell, ctx: Path, build_contexts: list[str], scenario: str, rep: int) -> BuildResult:
        self.step(f"{cell.key}: {scenario} build {rep + 1}")
        v = cell.variant
        labels = {"org.bench.app": cell.app.name, "org.bench.variant": v.name, "org.bench.run": self.run_id}
        kw = dict(scenario=scenario, repetition=rep, context=ctx, dockerfile=v.dockerfile,
                  tag=image_tag(cell.app.name, v.name, self.key), build_contexts=build_contexts, target=v.target, labels=labels)
        try:
            return self.build(self.executor, **kw)
        except BuildFailed as e:
            if not NETWORK_FLAKE.search(str(e)):
                raise
            # A package registry that did not answer is not the Dockerfile's fault: one
            # retry, and the cell says so. The failed attempt's time is not a sample.
            log.warning("%s: %s build hit a network error, retrying once: %s", cell.key, scenario, e)
            self.notes.append(f"{scenario} build {rep + 1} retried after a network error")
            self.sleep(RETRY_PAUSE)  # a resolver that just failed rarely answers a moment later
            try:
                return self.build(self.executor, **kw)
            except BuildFailed as again:
                raise BuildFailed(f"{again} (a network error twice, {RETRY_PAUSE:g} s apart: "
                                  "rerun with --resume RUN --retry-failed)") from again


def order(scenarios: tuple[str, ...], rep: int) -> list[str]:
    """The scenarios of repetition `rep`: cold, warm, edit rotated by one each repetition."""
    return rotated(list(scenarios), rep)


def measure_builds(builder: Builder, cell: Cell, settings: Settings, ctx: Path,
                   build_contexts: list[str]) -> BuildsOutcome:
    """Warmup repetitions first (each scenario once per warmup, kept and flagged), then
    the measured ones; scenarios rotate between repetitions."""
    app, v = cell.app, cell.variant
    samples: list[Sample] = []
    built: list[str] = []  # every image this cell's builds made, in order
    attempt = uuid.uuid4().hex[:8]
    builder.notes = []

    def keep(result: BuildResult) -> BuildResult:
        if result.image_digest:
            built.append(result.image_digest)
        return result

    edits = "edit" in settings.scenarios and app.edit is not None
    reps = [(w, True) for w in range(settings.warmup)] + [(r, False) for r in range(settings.repeat)]
    for k, (rep, warmup) in enumerate(reps):
        for scenario in order(settings.scenarios, k):
            if scenario != "edit":
                got = list(keep(builder(cell, ctx, build_contexts, scenario, rep)).samples(app.name, v.name))
            elif edits:
                got = _edit_build(builder, cell, ctx, build_contexts, rep, f"{attempt}{'w' if warmup else ''}", keep)
            else:
                continue
            samples += [replace(s, warmup=True) for s in got] if warmup else got
    if edits:
        keep(builder(cell, ctx, build_contexts, "restore", 0))  # the tag names the unedited image again
    # Each --no-cache build and each edit makes a new image and moves the tag on; the
    # earlier ones are this cell's own, made moments ago: all but the tagged one go.
    stale = tuple(dict.fromkeys(d for d in built if built and d != built[-1]))
    return BuildsOutcome(tuple(samples), tuple(builder.notes), stale)


def _edit_build(builder: Builder, cell: Cell, ctx: Path, build_contexts: list[str], rep: int, attempt: str,
                keep) -> list[Sample]:
    edit = cell.app.edit
    line = f"{edit.append} {builder.run_id} {cell.variant.name} {rep} {attempt}"
    with edited(ctx / edit.file, line):
        result = keep(builder(cell, ctx, build_contexts, "edit", rep))
    p = result.progress
    if p.steps_total and p.steps_cached >= p.steps_total:
        builder.notes.append(f"edit build {rep + 1} reused every step from cache: "
                             f"the edit to {edit.file} did not reach this Dockerfile's build")
    return list(result.samples(cell.app.name, cell.variant.name))
