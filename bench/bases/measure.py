"""A run's bases: resolved once per run, measured once per run, recorded with the run.

`RunBases(cell)` answers, for one cell, what its FROM lines resolved to and the
`--build-context` arguments that make BuildKit use them. The first time a ref is seen it
is resolved (pulled, or its stand-in built) and measured: its size on disk, and, when a
registry runs, its compressed size by pushing it once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from bench.store import BASES_APP, Run, Sample
from bench.store import Cell as StoredCell

log = logging.getLogger("bench.bases")


@dataclass(frozen=True)
class CellBases:
    """What one cell's FROM lines resolved to."""

    resolved: tuple[str, ...]  # image id, digest or stand-in tag per ref ("unavailable" when none)
    standin: bool
    build_contexts: tuple[str, ...]
    unavailable: str = ""  # why the cell cannot be built here ("" when it can)


@dataclass
class RunBases:
    run: Run
    mode: str
    executor: object
    resolve: Callable = None  # bench.bases.resolve unless a test says otherwise
    compressed: Callable[[str, str], list[Sample]] | None = None  # (ref, image) -> compressed_bytes sample
    disk_bytes: Callable[[str], int | None] | None = None  # image -> size on disk
    step: Callable[[str], None] = lambda text: None
    catalogue: object = None  # bench's catalogue plus the apps' own bases.toml (None: bench's alone)
    _resolved: dict = field(default_factory=dict)

    def __call__(self, bases: list[str]) -> CellBases:
        if not bases:
            return CellBases((), False, ())
        from bench.bases import build_context_args

        missing = [r for r in bases if r not in self._resolved]
        if missing:
            self.step(f"resolving bases {', '.join(missing)}")
            if self.resolve is not None:
                self._resolved.update(self.resolve(missing, self.mode, executor=self.executor))
            else:
                from bench.bases import resolve

                self._resolved.update(resolve(missing, self.mode, executor=self.executor, catalogue=self.catalogue))
            for ref in missing:
                self._record(ref)
        res = [self._resolved[r] for r in bases]
        unavailable = "; ".join(f"{r.ref}: {r.reason}" for r in res if not r.available)
        return CellBases(resolved=tuple(r.image_id or r.image or "unavailable" for r in res),
                         standin=any(r.standin for r in res),
                         build_contexts=() if unavailable else tuple(build_context_args(res)),
                         unavailable=unavailable)

    def _record(self, ref: str) -> None:
        r = self._resolved[ref]
        before = self.run.bases.get(ref)
        if before and before.get("image_id") == r.image_id and self.run.has_base_rows(ref):
            return  # a resumed run: this base was measured already, and it is the same image
        if before and before.get("image_id") != r.image_id:
            # The base changed between invocations (a stand-in rebuilt, a new upstream digest):
            # cells measured on either side of the change were built on different bases.
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            self.run.note(f"{ref} resolved to {before.get('image_id')} before and to {r.image_id} from "
                          f"{now}: cells measured on either side used different bases")
        info = {"mode": r.mode, "image": r.image, "standin": r.standin, "available": r.available,
                "reason": r.reason, "runtime_version": r.runtime_version,
                "recipe_hash": r.recipe_hash, "image_id": r.image_id}
        cell = StoredCell(app=BASES_APP, variant=ref, techniques=["base"], parent=None, summary="base image",
                          bases=[ref], bases_resolved=[r.image or ""], standin=r.standin, status="ok")
        self.run.record_base(ref, info, self._measure(ref, r) if r.available else [], cell)

    def _measure(self, ref: str, r) -> list[Sample]:
        samples = []
        size = self.disk_bytes(r.image) if self.disk_bytes and r.image else None
        if size is not None:
            samples.append(Sample(app=BASES_APP, variant=ref, scenario="base", metric="disk_bytes",
                                  value=size, unit="B"))
        if self.compressed and r.image:
            samples += self.compressed(ref, r.image)
        return samples


def compressed_by_push(registry, docker) -> Callable[[str, str], list[Sample]]:
    """A base's compressed size, by pushing it once to the run's registry (what a pull of
    it moves: bench.bases.sizes.compressed_bytes is the one definition)."""
    from bench.bases.sizes import compressed_bytes

    def compressed(ref: str, image: str) -> list[Sample]:
        try:
            size = compressed_bytes(image, docker=docker, registry=registry)
        except Exception as e:  # noqa: BLE001 - a base size is a nicety, never worth a run
            log.warning("compressed size of %s: %s", ref, e)
            return []
        return [Sample(app=BASES_APP, variant=ref, scenario="base", metric="compressed_bytes", value=size, unit="B")]

    return compressed
