"""Sizes of a built image: on disk, per layer with the instruction that made it."""

from __future__ import annotations

import json

from bench.engine.executor import Executor
from bench.store import Sample


def inspect(executor: Executor, ref: str) -> dict:
    out = executor.run(["docker", "image", "inspect", ref]).stdout
    data = json.loads(out)
    return data[0] if isinstance(data, list) else data


def history(executor: Executor, ref: str) -> list[dict]:
    """Newest first, like `docker history`: CreatedBy and Size in bytes."""
    out = executor.run(
        ["docker", "history", "--no-trunc", "--human=false", "--format", "{{json .}}", ref]
    ).stdout
    rows = []
    for line in out.splitlines():
        line = line.strip()
        if line:
            rows.append(json.loads(line))
    return rows


def _instruction(created_by: str) -> str:
    s = created_by.strip()
    for prefix in ("/bin/sh -c #(nop) ", "|"):
        if s.startswith(prefix):
            s = s[len(prefix):]
    if s.endswith("# buildkit"):
        s = s[: -len("# buildkit")].rstrip()
    if s.startswith("/bin/sh -c "):
        s = "RUN " + s[len("/bin/sh -c "):]
    s = s.replace("RUN /bin/sh -c ", "RUN ", 1)
    return " ".join(s.split())[:160]


def image_samples(executor: Executor, ref: str, *, app: str, variant: str) -> tuple[list[Sample], dict]:
    info = inspect(executor, ref)
    layers = info.get("RootFS", {}).get("Layers", []) or []
    base = dict(app=app, variant=variant, scenario="image")
    samples = [
        Sample(metric="disk_bytes", value=int(info.get("Size", 0)), unit="B", **base),
        Sample(metric="layers", value=len(layers), unit="count", **base),
    ]
    hist = list(reversed(history(executor, ref)))  # oldest first
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
            Sample(metric="layer_bytes", value=size, unit="B", detail=f"{idx}: {_instruction(created_by)}", **base)
        )
    return samples, info
