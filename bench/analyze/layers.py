"""Per-layer changes and dive's image figures, read from the layer tarballs of an image.

The image comes from `docker save` (docker-py's streamed `get_image`, or a saved archive on
disk). The outer archive and every layer inside it are read front to back as streams (a small
tar reader below; tarfile's stream mode is quadratic in small files): file contents are
skipped, never held in memory; only one small record per tar entry is kept (path, type,
size), which is what every figure below needs.

Both layouts Engine 26 writes are read: the OCI layout (`index.json` + `blobs/sha256/...`,
layers have no `.tar` suffix and arrive before the manifests that order them) and the
docker-archive `manifest.json` (older engines: `<id>/layer.tar`). Blobs are recognised by
their content, not their names: JSON documents are kept, tar streams (plain or gzip) are
scanned.

Figures, mirroring dive 0.13 (wagoodman/dive `dive/filetree/efficiency.go`,
`dive/image/image.go`, `runtime/ci/rule.go`), checked byte for byte against the real binary
in tests/test_analyze_dive.py:

* Each layer becomes a tree. Only its leaves are visited (a directory with children in that
  layer is not; an empty directory is, with size 0). Each visit adds one "copy" of the path.
* A copy's size is the tar header size: 0 for directories, symlinks and hard links (the
  first name of a hard-linked file carries the bytes). A whiteout `.wh.<name>` is a copy of
  `<name>` sized 0, unless `<name>` was a directory in the layers below: then its size is
  the sum of every entry under it there. Opaque whiteouts (`.wh..wh..opq`) are ignored by
  dive, so they are here too (the per-layer "deleted" figure below does honour them).
* efficiency = sum over paths of the smallest copy / sum over paths of all copies (1.0 when
  the image has no bytes).
* wasted_bytes = sum of all copies of every path seen in two or more layers (dive counts the
  copy that is kept as well: dive issue #684).
* reclaimable_bytes = the same paths, all copies minus the smallest one: what could be
  saved by keeping one copy (dive PRs #685/#696; consistent with the efficiency score).
* user_wasted_percent = wasted_bytes / the bytes of every layer after the first, where a
  layer's bytes are the sum of its tar header sizes (dive's `tree.FileSize`). It is NaN
  (0/0) or inf when those layers hold no bytes, as in dive; such values are not stored.
* A whiteout whose target does not exist below stops dive's walk of that layer (the visitor
  returns an error), after dive has recorded the path with a smallest copy of -1 bytes: both
  quirks are mirrored so the figures stay identical (BuildKit never writes such layers).

Per layer, with OCI whiteout semantics (opaque directories included): bytes added (paths new
to the image), modified (paths that existed below and are written again, e.g. a chmod copies
the whole file up), deleted (bytes below that the layer's whiteouts hide, minus paths the
layer writes again), and the count of non-directory entries.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import math
import posixpath
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from bench.engine.docker import Docker
from bench.errors import UserError
from bench.measure.image import short_instruction  # noqa: F401 - the one history-line cleaner; used below and by commands.analyze

log = logging.getLogger("bench.analyze")

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
DOUBLE_WHITEOUT = ".wh..wh.."  # dive drops every name with this prefix
_JSON_LIMIT = 64 << 20  # JSON documents in an image archive are small; anything bigger is data
_READ_CHUNK = 1 << 20


# --------------------------------------------------------------------------------------------
# What is kept of each tar entry
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Entry:
    path: str  # cleaned, relative, no leading slash: "usr/bin/env"
    size: int  # tar header size (0 for directories, links)
    is_dir: bool
    type: bytes  # tar typeflag


@dataclass
class LayerScan:
    """Everything read from one layer tarball."""

    entries: list[Entry]
    tar_bytes: int  # size of the (uncompressed) tar blob as stored in the archive


def clean_path(name: str) -> str:
    """Go's path.Clean as dive applies it, without the leading slash; "" for the root."""
    p = posixpath.normpath("/" + name)
    return p.lstrip("/")


# --------------------------------------------------------------------------------------------
# A tar reader for streams
# --------------------------------------------------------------------------------------------
# tarfile's stream mode copies what is left of its read buffer on every header it reads,
# which makes an image with many small files slow; this reader keeps one buffered stream and
# skips contents with readinto into one scratch buffer. It reads what Go's archive/tar (and
# so dive) reads: ustar/GNU/PAX names and sizes, base-256 sizes, GNU long names.
_HEADER_ONLY = frozenset(b"123456")  # link, symlink, char, block, dir, fifo: no data follows
_SCRATCH = bytearray(_READ_CHUNK)


@dataclass(frozen=True, slots=True)
class TarHeader:
    name: str
    size: int
    type: bytes
    linkname: str


def _num(field: bytes) -> int:
    if field[:1] and field[0] & 0x80:  # base-256 (GNU), for sizes from 8 GiB
        v = int.from_bytes(field, "big") & ~(0x80 << (8 * (len(field) - 1)))
        return v
    field = field.split(b"\0", 1)[0].strip()
    return int(field, 8) if field else 0


def _str(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _read_exact(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise EOFError(f"tar stream ended {n - len(data)} bytes early")
    return data


def _skip(f: BinaryIO, n: int) -> None:
    view = memoryview(_SCRATCH)
    while n > 0:
        got = f.readinto(view[: min(n, len(_SCRATCH))])
        if not got:
            raise EOFError(f"tar stream ended {n} bytes early")
        n -= got


def _pax(data: bytes) -> dict[str, str]:
    out = {}
    pos = 0
    while pos < len(data):
        sp = data.index(b" ", pos)
        length = int(data[pos:sp])
        key, _, value = data[sp + 1: pos + length - 1].partition(b"=")
        out[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return out


def iter_tar(f: BinaryIO) -> Iterator[tuple[TarHeader, int]]:
    """(header, reader of its data) for each entry. The caller may read the data before
    asking for the next entry; whatever it leaves is skipped."""
    pax: dict[str, str] = {}
    long_name = long_link = None
    pending = 0  # data + padding of the previous entry not yet consumed
    consumed = [0]
    while True:
        if pending:
            _skip(f, pending - consumed[0])
            pending = 0
        block = f.read(512)
        if not block:
            return
        if len(block) < 512:
            raise EOFError("tar stream ended inside a header")
        if block == bytes(512):
            return
        typ = block[156:157]
        size = _num(block[124:136])
        padded = (size + 511) & ~511
        if typ in (b"x", b"g", b"L", b"K"):
            data = _read_exact(f, padded)[:size]
            if typ == b"x":
                pax = _pax(data)
            elif typ == b"L":
                long_name = _str(data)
            elif typ == b"K":
                long_link = _str(data)
            continue  # global headers ("g") change nothing dive looks at
        name = _str(block[0:100])
        if block[257:263] == b"ustar\0" and block[345:346] != b"\0":  # POSIX prefix (not GNU)
            prefix = _str(block[345:500])
            if prefix:
                name = f"{prefix}/{name}"
        link = _str(block[157:257])
        if long_name is not None:
            name = long_name
        if long_link is not None:
            link = long_link
        if "path" in pax:
            name = pax["path"]
        if "linkpath" in pax:
            link = pax["linkpath"]
        if "size" in pax:
            size = int(pax["size"])
            padded = (size + 511) & ~511
        if typ == b"\0":  # old-style regular file; a trailing slash made it a directory
            typ = b"5" if name.endswith("/") else b"0"
        pax, long_name, long_link = {}, None, None
        data_size = 0 if typ[0:1] and typ[0] in _HEADER_ONLY else size
        pending = (data_size + 511) & ~511
        consumed[0] = 0
        reader = _Limited(f, data_size, consumed)
        yield TarHeader(name, size, typ, link), reader


class _Limited(io.RawIOBase):
    """At most `n` bytes of the underlying stream; counts what was read."""

    def __init__(self, f: BinaryIO, n: int, counter: list[int]):
        self._f = f
        self._left = n
        self._counter = counter

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self._left <= 0:
            return 0
        view = memoryview(b)[: min(len(b), self._left)]
        got = self._f.readinto(view)
        if not got:
            raise EOFError(f"tar stream ended {self._left} bytes early")
        self._left -= got
        self._counter[0] += got
        return got


def scan_layer(fileobj: BinaryIO) -> list[Entry]:
    """Entries of one uncompressed layer tar, read front to back, contents skipped."""
    entries: list[Entry] = []
    for h, _ in iter_tar(fileobj):
        path = clean_path(h.name)
        if not path:
            continue
        entries.append(Entry(path, h.size, h.type == b"5", h.type))
    return entries


# --------------------------------------------------------------------------------------------
# Reading a `docker save` stream
# --------------------------------------------------------------------------------------------
class ChunkReader(io.RawIOBase):
    """A file object over an iterator of byte chunks (docker-py's streamed `get_image`)."""

    def __init__(self, chunks: Iterable[bytes]):
        self._it: Iterator[bytes] = iter(chunks)
        self._buf = memoryview(b"")
        self._done = False
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def _next(self) -> bool:
        try:
            self._buf = memoryview(next(self._it))
        except StopIteration:
            self._done = True
        except OSError:
            raise
        except Exception as e:  # urllib3's read timeouts and protocol errors are not OSErrors
            raise OSError(f"the engine's stream broke off: {e}") from e
        return not self._done

    def readinto(self, b) -> int:
        """Fill `b` from as many chunks as it takes (fewer bytes only at the end), so that
        a peek at a 512-byte header never comes back short at a chunk boundary."""
        view, n = memoryview(b).cast("B"), 0
        while n < len(view):
            if not self._buf and (self._done or not self._next()):
                break
            k = min(len(view) - n, len(self._buf))
            view[n:n + k] = self._buf[:k]
            self._buf = self._buf[k:]
            n += k
        self.bytes_read += n
        return n


def _is_tar_header(block: bytes) -> bool:
    if len(block) < 512:
        return False
    if block[257:262] == b"ustar":
        return True
    if block[:512] == bytes(512):  # an empty layer: end-of-archive blocks only
        return True
    try:  # v7 tar: no magic, but a valid checksum
        chk = int(block[148:156].split(b"\0", 1)[0].strip() or b"-1", 8)
    except ValueError:
        return False
    return chk == sum(block[:148]) + 256 + sum(block[156:512])


@dataclass
class ImageArchive:
    """A saved image: its config and its layers in order (the same blob may repeat)."""

    config: dict
    layer_names: list[str]
    scans: dict[str, LayerScan]
    repo_tags: list[str] = field(default_factory=list)

    def layers(self) -> list[tuple[str, LayerScan]]:
        return [(n, self.scans[n]) for n in self.layer_names]


def read_archive(stream: BinaryIO) -> ImageArchive:
    """Read a `docker save` tar stream (optionally gzip-compressed) once, front to back."""
    docs: dict[str, bytes] = {}
    scans: dict[str, LayerScan] = {}
    links: dict[str, str] = {}
    f = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream, _READ_CHUNK)
    try:
        if f.peek(2)[:2] == b"\x1f\x8b":  # `docker save | gzip`
            f = io.BufferedReader(gzip.GzipFile(fileobj=f), _READ_CHUNK)
        head = f.peek(512)[:512]
        if head and not _is_tar_header(head):
            raise UserError("not a `docker save` archive; save the image with `docker save IMAGE -o FILE`")
        _read_members(f, docs, scans, links)
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError, ValueError) as e:
        raise UserError(f"the image archive ended early or is damaged ({e}); save the image again") from e
    return _assemble(docs, scans, links)


def _read_members(f: BinaryIO, docs: dict, scans: dict, links: dict) -> None:
    """Sort each member of the saved image: JSON documents are kept, layers are scanned."""
    for h, data in iter_tar(f):
        name = clean_path(h.name)
        if h.type in (b"1", b"2"):
            # old layouts link a repeated layer.tar to its first copy
            target = h.linkname if h.type == b"1" else posixpath.join(posixpath.dirname(name), h.linkname)
            links[name] = clean_path(target)
            continue
        if h.type not in (b"0", b"7"):
            continue
        body = io.BufferedReader(data, _READ_CHUNK)
        head = body.peek(512)[:512]
        if head[:2] == b"\x1f\x8b":
            scans[name] = LayerScan(scan_layer(io.BufferedReader(gzip.GzipFile(fileobj=body), _READ_CHUNK)), h.size)
        elif head[:4] == b"\x28\xb5\x2f\xfd":
            raise UserError(
                f"layer {name} is zstd-compressed, which bench cannot read; "
                "save the image from an engine that stores uncompressed layers"
            )
        elif head[257:262] == b"ustar" or head == bytes(512):
            scans[name] = LayerScan(scan_layer(body), h.size)
        elif head.lstrip()[:1] in (b"{", b"[") and h.size <= _JSON_LIMIT:
            docs[name] = body.read()
        elif _is_tar_header(head):  # v7 tar, no magic
            scans[name] = LayerScan(scan_layer(body), h.size)
        elif h.size == 0:
            docs[name] = b""


def _json(docs: dict[str, bytes], name: str) -> dict | list:
    try:
        return json.loads(docs[name])
    except KeyError:
        raise UserError(f"the image archive has no {name}; it is damaged or not from `docker save`") from None
    except ValueError as e:
        raise UserError(f"{name} in the image archive is not JSON ({e}); save the image again") from e


def _blob(digest: str) -> str:
    algo, _, hexd = digest.partition(":")
    return f"blobs/{algo}/{hexd}"


def _assemble(docs: dict[str, bytes], scans: dict[str, LayerScan], links: dict[str, str]) -> ImageArchive:
    def resolve(name: str) -> str:
        name = clean_path(name)
        seen = set()
        while name in links and name not in seen:
            seen.add(name)
            name = links[name]
        return name

    if "manifest.json" in docs:
        manifest = _json(docs, "manifest.json")
        if not manifest:
            raise UserError("the image archive's manifest.json lists no image; save the image again")
        entry = manifest[0]
        config = _json(docs, clean_path(entry["Config"]))
        layer_names = [resolve(p) for p in entry.get("Layers") or []]
        tags = list(entry.get("RepoTags") or [])
    elif "index.json" in docs:
        index = _json(docs, "index.json")
        desc = (index.get("manifests") or [None])[0]
        if desc is None:
            raise UserError("the image archive's index.json lists no image; save the image again")
        doc = _json(docs, _blob(desc["digest"]))
        while "manifests" in doc:  # a nested index (multi-platform): take the first manifest
            doc = _json(docs, _blob(doc["manifests"][0]["digest"]))
        config = _json(docs, _blob(doc["config"]["digest"]))
        layer_names = [_blob(d["digest"]) for d in doc.get("layers") or []]
        tags = [((desc.get("annotations") or {}).get("io.containerd.image.name") or "")]
    else:
        raise UserError("the image archive has neither manifest.json nor index.json; save it with `docker save`")
    missing = [n for n in layer_names if n not in scans]
    if missing:
        raise UserError(f"the image archive lacks layer {missing[0]}; save the image again")
    return ImageArchive(config=config, layer_names=layer_names, scans=scans, repo_tags=[t for t in tags if t])


def save_stream(image_ref: str, client=None) -> ChunkReader:
    """`docker save IMAGE` as a stream (no temp file, bounded memory), through the seam."""
    return ChunkReader(Docker().save_stream(image_ref, client=client))


def open_archive(image_ref: str | None = None, *, archive: str | Path | None = None, client=None) -> ImageArchive:
    """Read an image from the engine (by ref) or from a `docker save` file."""
    if archive is not None:
        path = Path(archive)
        if not path.is_file():
            raise UserError(f"no image archive at {path}; create it with `docker save IMAGE -o {path}`")
        with path.open("rb") as f:
            return read_archive(f)
    if not image_ref:
        raise UserError("name an image (or an archive) to analyse")
    stream = save_stream(image_ref, client)
    try:
        return read_archive(stream)
    finally:
        stream.close()


# --------------------------------------------------------------------------------------------
# Trees
# --------------------------------------------------------------------------------------------
class Node:
    __slots__ = ("children", "size", "is_dir")

    def __init__(self, size: int = 0, is_dir: bool = False):
        self.children: dict[str, Node] | None = None
        self.size = size
        self.is_dir = is_dir

    def child(self, name: str) -> "Node | None":
        return self.children.get(name) if self.children else None

    def copy(self) -> "Node":
        n = Node(self.size, self.is_dir)
        if self.children:
            n.children = {k: v.copy() for k, v in self.children.items()}
        return n

    def subtree_size(self) -> int:
        total = self.size
        stack = list(self.children.values()) if self.children else []
        while stack:
            n = stack.pop()
            total += n.size
            if n.children:
                stack.extend(n.children.values())
        return total


def _add_path(root: Node, path: str, size: int, is_dir: bool) -> None:
    """dive's FileTree.AddPath: intermediate nodes get an empty payload (not a directory).
    (Called for every entry of every layer, up to three times: dict lookups inlined.)"""
    node = root
    for name in path.split("/"):
        children = node.children
        nxt = children.get(name) if children else None
        if nxt is None:
            if name.startswith(DOUBLE_WHITEOUT):
                return
            nxt = Node()
            if children is None:
                children = node.children = {}
            children[name] = nxt
        node = nxt
    node.size = size
    node.is_dir = is_dir


def _get(root: Node, path: str) -> Node | None:
    node = root
    for name in path.split("/"):
        if not name:
            continue
        children = node.children
        node = children.get(name) if children else None
        if node is None:
            return None
    return node


def _remove(root: Node, path: str) -> Node | None:
    parent_path, _, name = path.rpartition("/")
    parent = _get(root, parent_path)
    if parent is None or not parent.children or name not in parent.children:
        return None
    return parent.children.pop(name)


def layer_tree(entries: list[Entry]) -> Node:
    root = Node(is_dir=True)
    for e in entries:
        _add_path(root, e.path, e.size, e.is_dir)
    return root


def _walk_child_first(node: Node, prefix: str) -> Iterator[tuple[str, str, Node]]:
    """(parent path, name, node) for every node below `node`, children before parents,
    names in sorted order: dive's VisitDepthChildFirst."""
    if not node.children:
        return
    for name in sorted(node.children):
        child = node.children[name]
        yield from _walk_child_first(child, f"{prefix}/{name}")
        yield prefix, name, child


def _stack(lower: Node, upper: Node) -> None:
    """dive's FileTree.Stack: graft every node of `upper` onto `lower`; whiteouts remove."""
    for parent, name, node in _walk_child_first(upper, ""):
        if name.startswith(WHITEOUT):
            _remove(lower, f"{parent}/{name[len(WHITEOUT):]}".lstrip("/"))
        else:
            _add_path(lower, f"{parent}/{name}".lstrip("/"), node.size, node.is_dir)


# --------------------------------------------------------------------------------------------
# dive's figures
# --------------------------------------------------------------------------------------------
@dataclass
class PathCopies:
    path: str
    copies: int = 0
    cumulative: int = 0
    smallest: int = -1


@dataclass
class Figures:
    efficiency: float
    wasted_bytes: int  # dive's wastedBytes: every copy of a path seen in 2+ layers
    reclaimable_bytes: int  # the same, minus one (the smallest) copy per path
    user_wasted_percent: float  # wasted / bytes of layers after the first (NaN/inf possible)
    size_bytes: int  # sum of every layer's tar header sizes
    user_size_bytes: int
    inefficiencies: list[PathCopies]  # paths with 2+ copies, largest cumulative first


def dive_figures(layer_entries: list[list[Entry]]) -> Figures:
    trees = [layer_tree(es) for es in layer_entries]
    sizes = [sum(e.size for e in es) for es in layer_entries]
    paths: dict[str, PathCopies] = {}
    has_whiteout = any(e.path.rpartition("/")[2].startswith(WHITEOUT) for es in layer_entries for e in es)
    stacked = trees[0].copy() if (trees and has_whiteout) else None

    for idx, tree in enumerate(trees):
        try:
            for parent, name, node in _walk_child_first(tree, ""):
                if node.children:  # dive visits leaves only
                    continue
                is_wh = name.startswith(WHITEOUT)
                path = f"{parent}/{name[len(WHITEOUT):] if is_wh else name}".replace("//", "/")
                if is_wh:
                    below = _get(stacked, path)
                    if below is None:
                        raise LookupError(path)
                    size = below.subtree_size() if below.is_dir else 0
                else:
                    size = node.size
                pc = paths.get(path)
                if pc is None:
                    pc = paths[path] = PathCopies(path)
                pc.copies += 1
                pc.cumulative += size
                if pc.smallest < 0 or size < pc.smallest:
                    pc.smallest = size
        except LookupError as e:
            # dive has already made the path's record (smallest -1, no copies) when the lookup
            # fails; the error then stops its walk of this layer. Both quirks change the score.
            path = e.args[0]
            paths.setdefault(path, PathCopies(path))
            log.debug("layer %d: whiteout of %s has nothing below it; dive stops this layer here", idx, path)
        if stacked is not None:
            _stack(stacked, tree)

    smallest = sum(p.smallest for p in paths.values())
    total = sum(p.cumulative for p in paths.values())
    efficiency = 1.0 if total == 0 else smallest / total
    multi = [p for p in paths.values() if p.copies >= 2]
    wasted = sum(p.cumulative for p in multi)
    reclaimable = sum(p.cumulative - p.smallest for p in multi)
    user = sum(sizes[1:])
    if user:
        uwp = wasted / user
    else:
        uwp = math.nan if wasted == 0 else math.inf
    multi.sort(key=lambda p: p.cumulative, reverse=True)
    return Figures(efficiency, wasted, reclaimable, uwp, sum(sizes), user, multi)


# --------------------------------------------------------------------------------------------
# Per-layer changes
# --------------------------------------------------------------------------------------------
@dataclass
class LayerInfo:
    index: int
    name: str  # blob path in the archive
    digest: str  # diff id ("sha256:...") when the archive names it so, else ""
    instruction: str  # history created_by, as dive shows it
    size_bytes: int  # dive's layer size: sum of tar header sizes
    tar_bytes: int
    files: int  # non-directory, non-whiteout entries
    added_bytes: int
    modified_bytes: int
    deleted_bytes: int
    comment: str = ""  # history comment: says where a layer with no instruction came from

    @property
    def label(self) -> str:
        what = short_instruction(self.instruction) or (f"({self.comment})" if self.comment else "")
        return f"{self.index}: {what}"


def instructions(config: dict, n_layers: int, *, comments: bool = False) -> list[str]:
    """The history entry that made each layer, skipping empty_layer entries (as dive does):
    its created_by, or with comments=True its comment (e.g. "Imported from -")."""
    hist = [h for h in (config.get("history") or []) if not h.get("empty_layer")]
    key = "comment" if comments else "created_by"
    out = []
    for i in range(n_layers):
        out.append((hist[i].get(key) or "") if i < len(hist) else ("" if comments else "(missing)"))
    return out


def _file_sizes(node: Node) -> int:
    """Bytes of the non-directory entries under (and at) a node of the visible tree."""
    total = 0 if node.is_dir else node.size
    stack = list(node.children.values()) if node.children else []
    while stack:
        n = stack.pop()
        if not n.is_dir:
            total += n.size
        if n.children:
            stack.extend(n.children.values())
    return total


def _files_under(node: Node, prefix: str) -> Iterator[tuple[str, int]]:
    stack = [(prefix, node)]
    while stack:
        p, n = stack.pop()
        if not n.is_dir and p != prefix:
            yield p, n.size
        if n.children:
            stack.extend((f"{p}/{k}", c) for k, c in n.children.items())


def layer_changes(layer_entries: list[list[Entry]]) -> list[tuple[int, int, int, int]]:
    """(files, added, modified, deleted) bytes per layer, with OCI whiteout semantics."""
    visible = Node(is_dir=True)
    out = []
    for entries in layer_entries:
        written = {e.path for e in entries if not e.is_dir and not e.path.rpartition("/")[2].startswith(WHITEOUT)}
        hidden: dict[str, int] = {}  # path -> bytes hidden by this layer's whiteouts
        for e in entries:
            parent, _, name = e.path.rpartition("/")
            if name == OPAQUE:
                d = _get(visible, parent)
                if d is not None and d.children:
                    for p, s in _files_under(d, parent):
                        hidden[p.lstrip("/")] = s
                    d.children = None
            elif name.startswith(WHITEOUT):
                target = f"{parent}/{name[len(WHITEOUT):]}".lstrip("/")
                gone = _remove(visible, target)
                if gone is not None:
                    if not gone.is_dir:
                        hidden[target] = gone.size
                    for p, s in _files_under(gone, target):
                        hidden[p] = s
        added = modified = files = 0
        for e in entries:
            name = e.path.rpartition("/")[2]
            if name.startswith(WHITEOUT):
                continue
            if not e.is_dir:
                files += 1
                below = _get(visible, e.path)
                if (below is not None and not below.is_dir) or e.path in hidden:
                    modified += e.size
                else:
                    added += e.size
            _add_path(visible, e.path, e.size, e.is_dir)
        deleted = sum(s for p, s in hidden.items() if p not in written)
        out.append((files, added, modified, deleted))
    return out


@dataclass
class LayerReport:
    layers: list[LayerInfo]
    figures: Figures
    config: dict
    repo_tags: list[str]


def analyze_archive(arch: ImageArchive) -> LayerReport:
    pairs = arch.layers()
    entries = [scan.entries for _, scan in pairs]
    figures = dive_figures(entries)
    changes = layer_changes(entries)
    instr = instructions(arch.config, len(pairs))
    notes = instructions(arch.config, len(pairs), comments=True)
    diff_ids = (arch.config.get("rootfs") or {}).get("diff_ids") or []
    layers = []
    for i, ((name, scan), (files, added, modified, deleted)) in enumerate(zip(pairs, changes)):
        layers.append(
            LayerInfo(
                index=i,
                name=name,
                digest=diff_ids[i] if i < len(diff_ids) else "",
                instruction=instr[i],
                size_bytes=sum(e.size for e in scan.entries),
                tar_bytes=scan.tar_bytes,
                files=files,
                added_bytes=added,
                modified_bytes=modified,
                deleted_bytes=deleted,
                comment=notes[i],
            )
        )
    return LayerReport(layers, figures, arch.config, arch.repo_tags)
