"""`bench diff IMAGE_A IMAGE_B`: what makes one image bigger than the other.

    bench diff myapp:before myapp:after              # layers side by side, top 20 paths
    bench diff myapp:before myapp:after --top 50 --format json
    bench diff before.tar after.tar                  # `docker save` files instead of the engine

An argument that names a file on disk is read as a `docker save` archive; anything else is a
local image, saved through the engine. Paths are compared in each image's final filesystem
(whiteouts applied): added, removed, grown, shrunk; bytes are tar header sizes.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path


def add_arguments(p) -> None:
    p.add_argument("image_a", metavar="IMAGE_A", help="a local image (name:tag or id) or a `docker save` file")
    p.add_argument("image_b", metavar="IMAGE_B", help="the image compared with it")
    p.add_argument("--top", type=int, default=20, metavar="N", help="how many changed paths to list (default 20)")
    p.add_argument("--format", choices=("text", "json"), default="text")


def _open(ref: str):
    from bench.analyze.layers import open_archive

    return open_archive(archive=ref) if Path(ref).is_file() else open_archive(ref)


def _bytes(n: int, signed: bool = False) -> str:
    return f"{n:+,} B" if signed else f"{n:,} B"


def _text(d, top: int) -> str:
    from bench.analyze.diff import ADDED, GROWN, REMOVED, SHRUNK, layer_rows
    from bench.analyze.layers import short_instruction

    pct = f" ({100 * d.delta / d.files_bytes_a:+.2f}%)" if d.files_bytes_a else ""
    lines = [f"A: {d.image_a}: {_bytes(d.files_bytes_a)} of files in {len(d.layers_a)} layers",
             f"B: {d.image_b}: {_bytes(d.files_bytes_b)} of files in {len(d.layers_b)} layers",
             f"B - A: {_bytes(d.delta, True)}{pct}", "", "Layers (= the same layer is in both images)"]
    for la, lb in layer_rows(d):
        cell = [f"{'=' if x.shared else ' '} {x.size_bytes:>15,} B  {short_instruction(x.instruction, 48) or '':<48}"
                if x else " " * 69 for x in (la, lb)]
        idx = (la or lb).index
        lines.append(f"{idx:>3}  {cell[0]} | {cell[1]}".rstrip())
    lines += ["", "Paths: " + ", ".join(f"{len(d.of_kind(k))} {k} ({_bytes(sum(c.delta for c in d.of_kind(k)), True)})"
                                        for k in (ADDED, REMOVED, GROWN, SHRUNK))]
    mark = {ADDED: "+", REMOVED: "-", GROWN: ">", SHRUNK: "<"}
    for c in d.top(top):
        was = f"  ({_bytes(c.bytes_a)} -> {_bytes(c.bytes_b)})" if c.kind in (GROWN, SHRUNK) else ""
        lines.append(f"  {mark[c.kind]} {_bytes(c.delta, True):>16}  {c.path}{was}")
    if len(d.changes) > top:
        lines.append(f"  ... {len(d.changes) - top} more changed paths (--top N lists more)")
    return "\n".join(lines)


def run(args) -> int:
    from bench.analyze.diff import diff_archives
    from bench.errors import UserError

    if args.top < 0:
        raise UserError("--top must be 0 or more")
    d = diff_archives(_open(args.image_a), _open(args.image_b), args.image_a, args.image_b)
    if args.format == "json":
        doc = {"image_a": d.image_a, "image_b": d.image_b, "files_bytes_a": d.files_bytes_a,
               "files_bytes_b": d.files_bytes_b, "delta": d.delta,
               "layers_a": [asdict(x) for x in d.layers_a], "layers_b": [asdict(x) for x in d.layers_b],
               "changed_paths": len(d.changes),
               "top": [{**asdict(c), "delta": c.delta} for c in d.top(args.top)]}
        print(json.dumps(doc, indent=2))
    else:
        print(_text(d, args.top))
    return 0
