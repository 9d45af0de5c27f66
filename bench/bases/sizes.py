"""Sizes of base images: on disk (the engine's figure) and compressed (what a pull moves).

The compressed figure has one definition in bench, the one a run records for every image:
the bytes a push moves, i.e. the sizes of the blobs the pushed manifest names (see
bench.measure.pushpull.push_once). A base is pushed once to a throwaway local registry
and the figure cached per image id.
"""

from __future__ import annotations

import contextlib
import json

from bench.bases.standins import cache_dir
from bench.engine.docker import Docker, as_docker
from bench.engine.executor import Executor

# Renamed from compressed.json, whose figures were gzip sizes of `docker save` layers.
CACHE_NAME = "compressed-pushed.json"


def disk_bytes(executor: Executor | Docker, image: str) -> int | None:
    return as_docker(executor).image_size(image)


def compressed_bytes(image: str, image_id: str | None = None, *, docker: Docker | None = None,
                     registry=None) -> int:
    """What pushing `image` moves (compressed layers + config), through `registry` (a started
    LocalRegistry) or a throwaway one."""
    from bench.engine.registry import LocalRegistry
    from bench.measure.pushpull import push_once, untag

    docker = docker or Docker()
    cache = cache_dir() / CACHE_NAME
    known = json.loads(cache.read_text()) if cache.exists() else {}
    if image_id and image_id in known:
        return int(known[image_id])
    own_tags = docker.repo_tags(image) or []
    with contextlib.ExitStack() as stack:
        reg = registry or stack.enter_context(LocalRegistry())
        repo, tag = "bench/base-size", "b0"
        try:
            _, size = push_once(docker, image, reg, repo, tag)
        finally:
            untag(docker, image, [f"{reg.address}/{repo}:{tag}"], own_tags)
    key = image_id or (docker.inspect_image(image) or {}).get("Id")
    if key:
        known[key] = size
        cache.write_text(json.dumps(known, indent=1, sort_keys=True))
    return size


def layer_count(executor: Executor | Docker, image: str) -> int | None:
    """Filesystem layers of an image (ENV/CMD/LABEL steps add none)."""
    info = as_docker(executor).inspect_image(image)
    return None if info is None else len((info.get("RootFS") or {}).get("Layers") or [])
