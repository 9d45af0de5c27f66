"""bench bases: list the base images sample Dockerfiles name, and prepare them.

    python -m bench bases [--build] [--only REF,...] [--bases auto|hub|local] [--rebuild]
                          [--compressed] [--json] [--faithfulness docs/faithfulness.md] [--prune]
                          [--apps DIR]

--only takes any tag of a catalogued family (python:3.11-slim, node:18, ...); --apps DIR
adds the bases and aliases of DIR/bases.toml (see docs/faithfulness.md).

Without --build nothing is built: a stand-in that does not exist yet is listed as such.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.bases import MODES, NOT_BUILT_REASON, Resolved, resolve
from bench.bases.catalogue import Entry, load_catalogue
from bench.engine.docker import Docker
from bench.engine.executor import default_executor
from bench.errors import UserError


def add_arguments(p) -> None:
    p.add_argument("--build", action="store_true",
                   help="build every missing stand-in (those the catalogue marks unavailable are listed with the reason)")
    p.add_argument("--only", metavar="REF,...", action="append",
                   help="only these refs (comma-separated; repeatable)")
    p.add_argument("--bases", choices=MODES, default="auto",
                   help="hub: pull real images; local: stand-ins; auto: hub when a registry answers")
    p.add_argument("--rebuild", action="store_true", help="build the selected stand-ins anew even if present")
    p.add_argument("--compressed", action="store_true",
                   help="also measure compressed size (what a push moves, through a throwaway local registry)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--faithfulness", type=Path, metavar="PATH",
                   help="write the stand-in vs upstream size table (markdown) to PATH")
    p.add_argument("--apps", type=Path, metavar="DIR",
                   help="also the bases and aliases declared in DIR/bases.toml (a directory laid out like sample_apps/)")
    p.add_argument("--prune", action="store_true",
                   help="remove stand-ins whose recipe or CA changed (older tags of bench-standin/*)")


def selected_refs(only: list[str] | None, catalogue) -> list[str]:
    if not only:
        return catalogue.refs()
    refs = [r.strip() for chunk in only for r in chunk.split(",") if r.strip()]
    return refs


def _fmt_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def describe(r: Resolved, entry: Entry | None, docker: Docker, *, compressed: bool) -> dict:
    from bench.bases.sizes import compressed_bytes, disk_bytes, layer_count

    row = {
        "ref": r.ref, "kind": entry.kind if entry else "unknown", "mode": r.mode, "image": r.image,
        "recipe_hash": r.recipe_hash, "image_id": r.image_id, "standin": r.standin,
        "available": r.available, "reason": r.reason, "runtime_version": r.runtime_version,
        "upstream_runtime": entry.upstream_runtime if entry else None,
        "disk_bytes": None, "compressed_bytes": None, "layers": None,
        "upstream_layers": entry.upstream_layers if entry else None,
        "runtime_mismatch": entry.runtime_mismatch if entry else None,
        "published_disk_bytes": entry.published_disk_bytes if entry else None,
        "published_source": entry.published_source if entry else None,
    }
    if r.available and r.image:
        row["disk_bytes"] = disk_bytes(docker, r.image)
        row["layers"] = layer_count(docker, r.image)
        if compressed:
            row["compressed_bytes"] = compressed_bytes(r.image, r.image_id, docker=docker)
    return row


class _RichProgress:
    """One bar over the refs being prepared, with the current step of the current ref."""

    def __init__(self, refs: list[str]):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("[bold]{task.fields[ref]}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[step]}"),
                                 console=Console(stderr=True))
        self.task = self.progress.add_task("bases", total=len(refs), ref="", step="")

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def __call__(self, ref: str, message: str) -> None:
        self.progress.update(self.task, ref=ref, step=message[-70:])

    def advance(self) -> None:
        self.progress.advance(self.task)


def prune_stale(docker: Docker, catalogue, keep_tags: set[str]) -> list[str]:
    """Remove bench-standin/* images that no current recipe names. Returns what was removed."""
    from bench import LABEL

    removed = []
    for tag in docker.images(label=f"{LABEL}=true", reference="bench-standin/*"):
        if tag not in keep_tags and not tag.endswith(":<none>"):
            if docker.rmi(tag):
                removed.append(tag)
    return removed


def run(args) -> int:
    docker = Docker(default_executor())
    catalogue = load_catalogue(extra=getattr(args, "apps", None))
    refs = selected_refs(args.only, catalogue)
    if "scratch" in refs:  # FROM scratch is no image at all: nothing to build, pull or measure
        print("scratch: the empty base (no image, no layers, 0 B): nothing to build or pull", file=sys.stderr)
        refs = [r for r in refs if r != "scratch"]
        if not refs:
            return 0
    unknown = [r for r in refs if r not in catalogue]
    if unknown and args.bases == "local":
        raise UserError(f"{', '.join(unknown)} in no base family bench knows: declare it in bases.toml beside "
                        "your apps (--apps DIR) or pick from `python -m bench bases`")
    resolved: dict[str, Resolved] = {}
    if args.build or args.rebuild:
        targets = [r for r in refs if not (catalogue.get(r) and catalogue.get(r).unavailable and args.bases != "hub")]
        with _RichProgress(targets) as bar:
            for ref in targets:
                resolved.update(resolve([ref], args.bases, build=True, executor=docker, progress=bar,
                                        rebuild=args.rebuild, catalogue=catalogue))
                bar.advance()
        rest = [r for r in refs if r not in resolved]
        resolved.update(resolve(rest, args.bases, build=False, executor=docker, catalogue=catalogue))
    else:
        resolved = resolve(refs, args.bases, build=False, executor=docker, catalogue=catalogue)
    rows = [describe(resolved[r], catalogue.get(r), docker, compressed=args.compressed) for r in refs]

    if args.prune:
        keep = {r.image for r in resolve(catalogue.refs(), "local", build=False, executor=docker,
                                         catalogue=catalogue).values() if r.image}
        for tag in prune_stale(docker, catalogue, keep):
            print(f"removed {tag}", file=sys.stderr)
    if args.faithfulness:
        from bench.bases.faithfulness import write_faithfulness

        write_faithfulness(args.faithfulness, rows, catalogue)
        print(f"wrote {args.faithfulness}", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    _print_table(rows, args.bases)
    return 0


def _print_table(rows: list[dict], mode: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=220)  # piped or logged: keep one ref per line
    t = Table(title=f"base images (--bases {mode})")
    for col in ("ref", "kind", "mode", "image (digest or stand-in tag = recipe hash)", "runtime inside",
                "on disk", "layers", "compressed", "stand-in", "status"):
        t.add_column(col, no_wrap=col.startswith(("ref", "image")))
    for r in rows:
        status = "ready" if r["available"] else f"[yellow]{r['reason']}[/]"
        if r["reason"] == NOT_BUILT_REASON:
            status = "[yellow]not built (--build)[/]"
        runtime = (r["runtime_version"] or "-") + (f" ({r['runtime_mismatch']})" if r["runtime_mismatch"] else "")
        t.add_row(r["ref"], r["kind"], r["mode"], r["image"] or "-", runtime,
                  _fmt_bytes(r["disk_bytes"]), f"{r['layers'] or '-'} (upstream {r['upstream_layers'] or '?'})", _fmt_bytes(r["compressed_bytes"]),
                  "yes" if r["standin"] else "no", status)
    console.print(t)
