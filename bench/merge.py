"""Shards -> one run: the cells of several `bench run --shard I/N` runs, with their provenance.

A merge refuses what would make one run of unlike parts: shards of different plans or
settings, or measured by different bench commits, engine versions or kinds of machine
(the hostname may differ: that is the point of sharding). `allow_mixed` accepts the
difference and the merged run says it is mixed. Two shards never measure the same cell.
Merging is idempotent: the same shards merged into the same run again change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.errors import UserError
from bench.metadata import differences
from bench.store import BASES_APP, Run, Segment


@dataclass(frozen=True)
class Merged:
    run: Run
    already: bool  # the merge existed already, unchanged


def _shard_info(run: Run) -> dict:
    info = run.metadata.get("shard")
    if not info:
        raise UserError(f"run {run.run_id} is not a shard (it was not measured with --shard I/N): merge only shards")
    if not run.complete:
        raise UserError(f"shard {run.run_id} ({info['index']}/{info['of']}) is not complete: "
                        f"finish it with `bench run --resume {run.run_id}`, then merge")
    return info


def check(shards: list[Run], *, allow_mixed: bool) -> list[str]:
    """Why these shards cannot be one run (UserError), or the differences allowed as mixed."""
    if len(shards) < 2:
        raise UserError("bench merge needs at least two shard runs")
    first, info0 = shards[0], _shard_info(shards[0])
    seen: dict[str, str] = {}
    mixed: list[str] = []
    for run in shards:
        info = _shard_info(run)
        if info["plan"] != info0["plan"] or info["of"] != info0["of"]:
            raise UserError(f"shards {first.run_id} and {run.run_id} come from different plans; "
                            "merge shards of one `bench run --shard I/N` matrix")
        if run.settings != first.settings:
            raise UserError(f"shards {first.run_id} and {run.run_id} were measured with different settings; "
                            "merge shards run with the same profile and flags")
        for key in run.cells:
            if key in seen:
                raise UserError(f"cell {key} is in both {seen[key]} and {run.run_id}: merge each cell once")
            seen[key] = run.run_id
        if run is not first:
            diff = differences(first.segments[0], run.segments[0], ignore=("hostname_hash",))
            if diff and not allow_mixed:
                raise UserError(f"shards {first.run_id} and {run.run_id} differ in {diff[0]}: merge shards "
                                "measured alike, or pass --allow-mixed (the report will say the run is mixed)")
            mixed += [f"shard {run.run_id}: {d}" for d in diff]
    return mixed


def merge(shards: list[Run], results_dir: Path, *, into: str | None = None, allow_mixed: bool = False) -> Merged:
    shards = sorted(shards, key=lambda r: r.metadata["shard"]["index"] if r.metadata.get("shard") else 0)
    mixed = check(shards, allow_mixed=allow_mixed)
    sources = [r.run_id for r in shards]
    if into and (Path(results_dir) / "runs" / into / "metadata.json").is_file():
        existing = Run.open(Path(results_dir) / "runs" / into)
        if existing.metadata.get("merged_from") != sources:
            raise UserError(f"run {into} exists and is not a merge of {', '.join(sources)}: choose another --into")
        return Merged(existing, already=True)
    first = shards[0]
    meta = {k: first.metadata[k] for k in ("argv", "apps_dir") if k in first.metadata}
    meta.update(run_id=into or f"{first.run_id}-merged", merged_from=sources)
    out = Run.create(results_dir, meta, settings=first.settings, planned=first.metadata["shard"]["plan"])
    for run in shards:
        _take(out, run)
    if mixed:
        out.metadata["mixed"] = mixed
    out.metadata["started_utc"] = min(r.metadata.get("started_utc", "") for r in shards)
    out.conclude(results_dir)
    return Merged(out, already=False)


def _take(out: Run, shard: Run) -> None:
    """One shard's segments, cells and rows into the merged run."""
    offset = len(out.segments)
    segs = out.metadata.setdefault("segments", [])
    for s in shard.segments:
        segs.append({**Segment(**{**s.__dict__, "index": offset + s.index}).to_json(),
                     "shard": shard.metadata["shard"]["index"], "shard_run_id": shard.run_id})
    if offset == 0:
        out.metadata.update(bench=segs[0]["bench"], engine=segs[0]["engine"], machine=segs[0]["machine"])
    for ref, info in shard.bases.items():
        have = out.bases.get(ref)
        if have is None:
            out.metadata.setdefault("bases", {})[ref] = info
        elif have.get("image_id") != info.get("image_id"):
            out.note(f"{ref} resolved to {have.get('image_id')} in one shard and to {info.get('image_id')} in "
                     f"shard {shard.run_id}: the base rows are the first shard's")
    for ref in shard.bases:
        if not out.has_base_rows(ref):
            out.rows += [{**r, "run_id": out.run_id} for r in shard.rows
                         if r["app"] == BASES_APP and r["variant"] == ref]
    for cell in shard.cells.values():
        cell.segment = None if cell.segment is None else offset + cell.segment
        out.set_cell(cell)
        out.rows += [{**r, "run_id": out.run_id} for r in shard.rows
                     if (r["app"], r["variant"]) == (cell.app, cell.variant)]
    out.save()
