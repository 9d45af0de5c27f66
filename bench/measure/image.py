"""Sizes of a built image: on disk, per layer with the instruction that made it."""

from __future__ import annotations

from bench.engine.docker import Docker, as_docker
from bench.engine.executor import Executor
from bench.store import Sample


def inspect(executor: Executor | Docker, ref: str) -> dict:
    """The image's `docker image inspect` record; DockerError when the engine lacks it."""
    return as_docker(executor).inspect_image(ref, check=True) or {}


def history(executor: Executor | Docker, ref: str) -> list[dict]:
    """Newest first, like `docker history`: CreatedBy and Size in bytes."""
    return as_docker(executor).history(ref)


def short_instruction(created_by: str, width: int = 160, *, ellipsis: bool = True) -> str:
    """A history line (`created_by`) as the Dockerfile instruction that made it, on one line.

    The one cleaner of history lines: layer_bytes details and the layer analysis both use
    it. `ellipsis=False` cuts at `width` without a mark (how layer_bytes details are stored)."""
    s = created_by.strip()
    if s.endswith("# buildkit"):
        s = s[: -len("# buildkit")].rstrip()
    for prefix in ("/bin/sh -c #(nop) ", "|"):
        if s.startswith(prefix):
            s = s[len(prefix):].lstrip()
    if s.startswith("/bin/sh -c "):
        s = "RUN " + s[len("/bin/sh -c "):]
    s = s.replace("RUN /bin/sh -c ", "RUN ", 1)
    s = " ".join(s.split())
    if len(s) <= width:
        return s
    return s[: width - 1] + "…" if ellipsis else s[:width]


def image_samples(executor: Executor | Docker, ref: str, *, app: str, variant: str) -> tuple[list[Sample], dict]:
    docker = as_docker(executor)
    info = inspect(docker, ref)
    layers = info.get("RootFS", {}).get("Layers", []) or []
    base = dict(app=app, variant=variant, scenario="image")
    samples = [
        Sample(metric="disk_bytes", value=int(info.get("Size", 0)), unit="B", **base),
        Sample(metric="layers", value=len(layers), unit="count", **base),
    ]
    hist = list(reversed(history(docker, ref)))  # oldest first
    idx = 0
    for h in hist:
        size = int(h.get("Size", 0) or 0)
        created_by = h.get("CreatedBy", "")
        # Layers with no filesystem change still show in history with size 0: only count
        # those that added a layer (ENV/LABEL/CMD are metadata, not layers).
        if size == 0 and ("#(nop)" in created_by or created_by.split(" ")[0] in {"ENV", "LABEL", "CMD", "ENTRYPOINT", "EXPOSE", "USER", "WORKDIR", "ARG", "HEALTHCHECK", "STOPSIGNAL", "SHELL", "VOLUME"}):
            continue
        idx += 1
        samples.append(
            Sample(metric="layer_bytes", value=size, unit="B", detail=f"{idx}: {short_instruction(created_by, ellipsis=False)}", **base)
        )
    return samples, info
