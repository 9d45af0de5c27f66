"""What makes one image bigger than another (`bench diff`), on bench's own layer reader.

Two views:
  * files: each image's final filesystem (its layers stacked with OCI whiteout semantics,
    opaque directories included), then every path added, removed, grown or shrunk, with its
    bytes (tar header sizes: links and directories carry none);
  * layers: each image's layers side by side, with the instruction that made each one, its
    bytes, and whether the very same layer (diff id) is in the other image.

`top_changes(archive_a, archive_b, n)` gives the report the n biggest paths a step removed
and added (parent variant -> child variant).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import zip_longest

from bench.analyze.layers import OPAQUE, WHITEOUT, Entry, ImageArchive, instructions

ADDED, REMOVED, GROWN, SHRUNK = "added", "removed", "grown", "shrunk"


@dataclass(frozen=True)
class PathChange:
    path: str  # "/usr/lib/libfoo.so"
    kind: str  # added | removed | grown | shrunk
    bytes_a: int  # 0 when added
    bytes_b: int  # 0 when removed

    @property
    def delta(self) -> int:
        return self.bytes_b - self.bytes_a


@dataclass(frozen=True)
class LayerSide:
    index: int
    instruction: str
    size_bytes: int  # sum of the layer's tar header sizes
    digest: str  # diff id, "" when the config does not name it
    shared: bool  # the same diff id is a layer of the other image


@dataclass(frozen=True)
class ImageDiff:
    image_a: str
    image_b: str
    files_bytes_a: int  # bytes of the final filesystem
    files_bytes_b: int
    layers_a: list[LayerSide]
    layers_b: list[LayerSide]
    changes: list[PathChange] = field(default_factory=list)  # every changed path, biggest |delta| first

    @property
    def delta(self) -> int:
        return self.files_bytes_b - self.files_bytes_a

    def of_kind(self, kind: str) -> list[PathChange]:
        return [c for c in self.changes if c.kind == kind]

    def top(self, n: int) -> list[PathChange]:
        return self.changes[:n]


# --------------------------------------------------------------------------------------------
# The final filesystem of an image
# --------------------------------------------------------------------------------------------
# A directory is a dict (name -> node); a file, link or device is its size in bytes.
def _parent(root: dict, parts: list[str]) -> dict:
    node = root
    for name in parts:
        nxt = node.get(name)
        if not isinstance(nxt, dict):  # missing, or a file a directory now replaces
            nxt = node[name] = {}
        node = nxt
    return node


def _lookup(root: dict, parts: list[str]) -> dict | None:
    node = root
    for name in parts:
        node = node.get(name) if isinstance(node, dict) else None
        if node is None:
            return None
    return node if isinstance(node, dict) else None


def _apply_layer(root: dict, entries: list[Entry]) -> None:
    # Whiteouts hide what the layers below hold, so they apply before the layer's own entries.
    for e in entries:
        *dirs, name = e.path.split("/")
        if name == OPAQUE:
            d = _lookup(root, dirs)
            if d is not None:
                d.clear()
        elif name.startswith(WHITEOUT):
            d = _lookup(root, dirs)
            if d is not None:
                d.pop(name[len(WHITEOUT):], None)
    for e in entries:
        if not e.path:
            continue
        *dirs, name = e.path.split("/")
        if name.startswith(WHITEOUT):
            continue
        parent = _parent(root, dirs)
        if e.is_dir:
            if not isinstance(parent.get(name), dict):
                parent[name] = {}
        else:
            parent[name] = e.size


def final_files(arch: ImageArchive) -> dict[str, int]:
    """Every non-directory path of the image's final filesystem -> its bytes."""
    root: dict = {}
    for _, scan in arch.layers():
        _apply_layer(root, scan.entries)
    out: dict[str, int] = {}
    stack = [("", root)]
    while stack:
        prefix, node = stack.pop()
        for name, child in node.items():
            path = f"{prefix}/{name}"
            if isinstance(child, dict):
                stack.append((path, child))
            else:
                out[path] = child
    return out


# --------------------------------------------------------------------------------------------
# Diffs
# --------------------------------------------------------------------------------------------
def file_changes(files_a: dict[str, int], files_b: dict[str, int]) -> list[PathChange]:
    """Added, removed, grown and shrunk paths, biggest change in bytes first (then by path)."""
    out = [PathChange(p, REMOVED, s, 0) for p, s in files_a.items() if p not in files_b]
    out += [PathChange(p, ADDED, 0, s) for p, s in files_b.items() if p not in files_a]
    for p, s in files_b.items():
        old = files_a.get(p)
        if old is not None and old != s:
            out.append(PathChange(p, GROWN if s > old else SHRUNK, old, s))
    out.sort(key=lambda c: (-abs(c.delta), c.path))
    return out


def _layers(arch: ImageArchive, other_digests: set[str]) -> list[LayerSide]:
    pairs = arch.layers()
    instr = instructions(arch.config, len(pairs))
    notes = instructions(arch.config, len(pairs), comments=True)
    diff_ids = (arch.config.get("rootfs") or {}).get("diff_ids") or []
    out = []
    for i, (_, scan) in enumerate(pairs):
        digest = diff_ids[i] if i < len(diff_ids) else ""
        what = instr[i] if instr[i] and instr[i] != "(missing)" else (f"({notes[i]})" if notes[i] else instr[i])
        out.append(LayerSide(i, what, sum(e.size for e in scan.entries), digest,
                             bool(digest) and digest in other_digests))
    return out


def _digests(arch: ImageArchive) -> set[str]:
    return set((arch.config.get("rootfs") or {}).get("diff_ids") or [])


def diff_archives(arch_a: ImageArchive, arch_b: ImageArchive, image_a: str = "A", image_b: str = "B") -> ImageDiff:
    fa, fb = final_files(arch_a), final_files(arch_b)
    return ImageDiff(image_a=image_a, image_b=image_b, files_bytes_a=sum(fa.values()), files_bytes_b=sum(fb.values()),
                     layers_a=_layers(arch_a, _digests(arch_b)), layers_b=_layers(arch_b, _digests(arch_a)),
                     changes=file_changes(fa, fb))


def top_changes(archive_a: ImageArchive, archive_b: ImageArchive, n: int = 10) -> dict[str, list[PathChange]]:
    """For the report: the n biggest paths B removed and the n biggest it added (or grew)
    relative to A, e.g. A the parent variant and B the child."""
    changes = file_changes(final_files(archive_a), final_files(archive_b))
    return {"removed": [c for c in changes if c.delta < 0][:n], "added": [c for c in changes if c.delta > 0][:n]}


def layer_rows(d: ImageDiff) -> list[tuple[LayerSide | None, LayerSide | None]]:
    """The two images' layers side by side, by position."""
    return list(zip_longest(d.layers_a, d.layers_b))
