"""Push an image to the local registry and pull it cold, per bandwidth profile.

What a smaller image buys at deploy time is a shorter push and a shorter pull. Per
repetition:

1. the registry is emptied, so the push uploads every blob (the engine skips blobs a
   registry already holds, so a second push of the same image to a fresh repository name
   would only mount them and measure nothing): `push_seconds`;
2. `compressed_bytes` is read from the pushed manifest (layer blobs + config), once;
3. per profile the cold engine is wiped and the image pulled, directly for `loopback`,
   else through a `Throttle` at the profile's bandwidth: `pull_seconds`. Next to it,
   `pull_model_seconds` = compressed_bytes * 8 / bandwidth is what the link alone would
   cost, so the report can show how much of a pull is transfer and how much is
   decompression and extraction.

The registry tags this makes in the main engine are removed afterwards; the image itself
is never removed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Callable, Mapping

from bench.engine.docker import Docker, as_docker
from bench.engine.executor import Executor
from bench.engine.throttle import Throttle
from bench.errors import UserError
from bench.plan import rotated
from bench.settings import BANDWIDTHS
from bench.store import Sample

log = logging.getLogger("bench.measure.pushpull")



def repository(app: str, variant: str) -> str:
    """A registry repository name for an app/variant: lowercase [a-z0-9._-] path parts."""
    parts = []
    for raw in (app, variant):
        p = re.sub(r"[^a-z0-9._-]+", "-", raw.lower()).strip("._-")
        if not p:
            raise UserError(f"cannot make a registry repository name from {app!r}/{variant!r}: use letters or digits")
        parts.append(p)
    return f"bench/{parts[0]}-{parts[1]}"


def _repo_tags(docker: Docker, image: str) -> list[str]:
    tags = docker.repo_tags(image)
    if tags is None:
        raise UserError(f"image {image} is not in the engine: build it first")
    return tags


def push_once(docker: Docker, image: str, registry, repo: str, tag: str) -> tuple[float, int]:
    """Tag `image` into the (emptied) registry and push it: (push seconds, compressed bytes).

    This is bench's one definition of an image's compressed size: the bytes a push moves,
    i.e. the sizes of the blobs the pushed manifest names (layers as the engine compressed
    them for the push, plus the config), read back from the registry. The caller removes
    the tag `registry.address/repo:tag` this makes (see `_untag`)."""
    registry.clear()  # every blob is uploaded again: the push is a first push
    ref = f"{registry.address}/{repo}:{tag}"
    docker.tag(image, ref)
    seconds = docker.push(ref)
    return seconds, registry.compressed_bytes(repo, tag)


def push_and_pull(
    image: str,
    *,
    app: str,
    variant: str,
    registry,
    cold_engine,
    profiles: Mapping[str, float | None] | None = None,
    repetitions: int = 1,
    warmup: int = 0,
    executor: Executor | Docker | None = None,
    throttle_factory: Callable[..., Throttle] = Throttle,
) -> list[Sample]:
    """Samples: push/push_seconds per repetition, image/compressed_bytes once,
    pull/pull_seconds per profile and repetition (and pull/pull_wire_seconds, the span
    bytes flowed through a throttle), pull/pull_model_seconds per bandwidth profile.
    Warmup repetitions come first and are flagged; the profiles' order rotates between
    repetitions. `registry` is a started LocalRegistry, `cold_engine` a started ColdEngine."""
    docker = as_docker(executor)
    profiles = dict(BANDWIDTHS if profiles is None else profiles)
    if repetitions < 1:
        raise UserError(f"repetitions must be at least 1, got {repetitions}")
    for name, bw in profiles.items():
        if bw is not None and not bw > 0:
            raise UserError(f"pull profile {name!r} has bandwidth {bw!r}: use a positive bits/s, or None for loopback")

    repo = repository(app, variant)
    own_tags = _repo_tags(docker, image)
    samples: list[Sample] = []
    made: list[str] = []
    reg_host, reg_port = registry.address.rsplit(":", 1)
    throttles: dict[str, Throttle] = {}
    try:
        for name, bw in profiles.items():
            if bw is not None:
                throttles[name] = throttle_factory((reg_host, int(reg_port)), bw).start()
        reps = [(w, True) for w in range(warmup)] + [(r, False) for r in range(repetitions)]
        for k, (rep, warm) in enumerate(reps):
            tag = f"{'w' if warm else 'r'}{rep}"
            ref = f"{registry.address}/{repo}:{tag}"
            made.append(ref)
            seconds, size = push_once(docker, image, registry, repo, tag)
            got = [Sample(app, variant, "push", "push_seconds", seconds, "s", repetition=rep)]
            got += _compressed(samples, app, variant, image, size)
            got += _pulls(cold_engine, registry, throttles, profiles, repo, tag, rep, rotated(list(profiles), k),
                          app=app, variant=variant, size=size)
            samples += [replace(x, warmup=True) if warm and x.scenario != "image" else x for x in got]
        cold_engine.wipe()
    finally:
        for t in throttles.values():
            t.close()
        untag(docker, image, made, own_tags)
    return samples


def _compressed(samples: list[Sample], app: str, variant: str, image: str, size: int) -> list[Sample]:
    """compressed_bytes once per image; a later push that moved another size is logged."""
    before = [x.value for x in samples if x.metric == "compressed_bytes"]
    if not before:
        return [Sample(app, variant, "image", "compressed_bytes", size, "B")]
    if size != before[0]:
        log.warning("%s: compressed size changed between pushes (%d then %d B)", image, before[0], size)
    return []


def _pulls(cold_engine, registry, throttles: dict, profiles: Mapping[str, float | None], repo: str, tag: str,
           rep: int, names: list[str], *, app: str, variant: str, size: int) -> list[Sample]:
    """One cold pull per profile, in the given order, each into a wiped engine."""
    out = []
    for name in names:
        bw = profiles[name]
        throttle = throttles.get(name)
        pull_ref = f"{throttle.address if throttle else registry.address}/{repo}:{tag}"
        cold_engine.wipe()
        if throttle:
            throttle.reset_stats()
        seconds = cold_engine.pull(pull_ref)
        if not cold_engine.has_image(pull_ref):
            raise UserError(f"the cold engine reported pulling {pull_ref} but does not have it; see its dockerd.log")
        out.append(Sample(app, variant, "pull", "pull_seconds", seconds, "s", repetition=rep, profile=name))
        if throttle and throttle.stats.wire_seconds is not None:
            out.append(Sample(app, variant, "pull", "pull_wire_seconds", throttle.stats.wire_seconds, "s",
                              repetition=rep, profile=name))
        if bw is not None and rep == 0:
            out.append(Sample(app, variant, "pull", "pull_model_seconds", size * 8 / bw, "s", repetition=rep, profile=name))
    return out


def untag(docker: Docker, image: str, refs: list[str], own_tags: list[str]) -> None:
    """Remove the registry tags we added. Removing the last tag of an image deletes the
    image, so when the image had no tag of its own the last one is left in place."""
    keep_last = not [t for t in own_tags if t not in refs]
    for i, ref in enumerate(refs):
        if keep_last and i == len(refs) - 1:
            log.warning("%s has no tag of its own; leaving %s so the image is not deleted", image, ref)
            break
        docker.rmi(ref)
