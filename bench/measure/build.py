"""Time one `docker buildx build` and turn what it reports into samples."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.engine.buildx import BuildProgress, build_argv, parse_rawjson
from bench.engine.docker import Docker, as_docker
from bench.engine.executor import Completed, Executor
from bench.errors import UserError
from bench.store import Sample


@dataclass(frozen=True)
class BuildResult:
    scenario: str
    repetition: int
    wall_seconds: float
    progress: BuildProgress
    image_digest: str
    completed: Completed

    def samples(self, app: str, variant: str) -> list[Sample]:
        base = dict(app=app, variant=variant, scenario=self.scenario, repetition=self.repetition)
        out = [
            Sample(metric="build_wall_seconds", value=self.wall_seconds, unit="s", **base),
            Sample(metric="build_steps_total", value=self.progress.steps_total, unit="count", **base),
            Sample(metric="build_steps_cached", value=self.progress.steps_cached, unit="count", **base),
            Sample(metric="context_transferred_bytes", value=self.progress.context_transferred_bytes, unit="B", **base),
        ]
        for step in self.progress.dockerfile_steps:
            out.append(Sample(metric="step_seconds", value=step.seconds, unit="s", detail=step.name[:200], **base))
        return out


class BuildFailed(UserError):
    """A Dockerfile that does not build: the message names it and BuildKit's error."""


def run_build(
    executor: Executor | Docker,
    *,
    scenario: str,
    repetition: int,
    context: Path,
    dockerfile: Path,
    tag: str,
    build_contexts: list[str],
    target: str | None = None,
    labels: dict[str, str] | None = None,
    timeout: float = 3600,
) -> BuildResult:
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        meta = Path(tmp) / "metadata.json"
        argv = build_argv(
            context=context,
            dockerfile=dockerfile,
            tag=tag,
            metadata_file=meta,
            build_contexts=build_contexts,
            no_cache=(scenario == "cold"),
            target=target,
            labels=labels,
        )
        done = as_docker(executor).build(argv, timeout=timeout)
        wall = done.seconds  # the executor's clock, the same one that times pushes
        progress = parse_rawjson(done.stderr)
        if done.returncode != 0:
            why = progress.errors[-1] if progress.errors else (done.stderr.strip().splitlines() or ["?"])[-1]
            # The step's own output says why (apt, npm, pip): keep its last lines.
            tail = " | ".join(l.strip() for l in progress.logs_tail.strip().splitlines()[-3:] if l.strip())
            raise BuildFailed(f"{dockerfile} does not build ({scenario}): {why[:300]}"
                              + (f" -- last output: {tail[-400:]}" if tail else ""))
        digest = ""
        if meta.is_file():
            import json

            try:
                digest = json.loads(meta.read_text()).get("containerimage.config.digest", "")
            except ValueError:
                pass
    return BuildResult(scenario, repetition, wall, progress, digest, done)
