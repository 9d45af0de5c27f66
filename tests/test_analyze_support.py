"""Helpers for the analyze tests: synthetic layer tarballs and `docker save` archives, and
a runner for the real dive binary. (No tests here; the name keeps it in the analyze area.)"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "analyze"


# --------------------------------------------------------------------------------------------
# Synthetic layers: a layer is a list of entries
#   ("f", path, size)            regular file of `size` bytes
#   ("d", path)                  directory
#   ("l", path, target)          symlink
#   ("h", path, target)          hard link
#   ("w", path)                  whiteout of `path` (.wh.<name> in its parent)
#   ("o", dir)                   opaque whiteout of `dir`
# --------------------------------------------------------------------------------------------
def layer_tar(entries: list[tuple], *, fill: bytes = b"x", fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for e in entries:
            kind, path = e[0], e[1]
            if kind == "w":
                parent, _, name = path.rpartition("/")
                path = f"{parent}/.wh.{name}" if parent else f".wh.{name}"
                kind, e = "f", ("f", path, 0)
            elif kind == "o":
                path = f"{path}/.wh..wh..opq"
                kind, e = "f", ("f", path, 0)
            ti = tarfile.TarInfo(path)
            ti.mtime = 0
            if kind == "f":
                ti.size = e[2]
                tf.addfile(ti, io.BytesIO((fill * (e[2] // len(fill) + 1))[: e[2]]))
            elif kind == "d":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                tf.addfile(ti)
            elif kind == "l":
                ti.type = tarfile.SYMTYPE
                ti.linkname = e[2]
                tf.addfile(ti)
            elif kind == "h":
                ti.type = tarfile.LNKTYPE
                ti.linkname = e[2]
                tf.addfile(ti)
            else:
                raise ValueError(kind)
    return buf.getvalue()


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mtime = 0
    tf.addfile(ti, io.BytesIO(data))


def image_archive(
    layers: list[bytes],
    *,
    history: list[dict] | None = None,
    layout: str = "both",  # both | oci | manifest | legacy
    gzip_layers: bool = False,
    tag: str = "bench-test/synthetic:1",
) -> bytes:
    """A `docker save` archive of the given layer tarballs (Engine 26 layout by default)."""
    import gzip as _gzip

    diff_ids = [f"sha256:{_sha(b)}" for b in layers]
    blobs_layers = [_gzip.compress(b, mtime=0) if gzip_layers else b for b in layers]
    if history is None:
        history = [{"created_by": f"RUN step {i}"} for i in range(len(layers))]
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history,
    }).encode()
    media = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gzip_layers else "")
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": f"sha256:{_sha(config)}", "size": len(config)},
        "layers": [{"mediaType": media, "digest": f"sha256:{_sha(b)}", "size": len(b)} for b in blobs_layers],
    }).encode()
    index = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": f"sha256:{_sha(manifest)}",
                       "size": len(manifest), "annotations": {"io.containerd.image.name": tag}}],
    }).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tf:
        if layout == "legacy":
            names = []
            seen: dict[str, str] = {}
            for b in blobs_layers:
                d = _sha(b)
                name = f"{d}/layer.tar"
                if d in seen:  # a repeated layer: old engines wrote a symlink to the first copy
                    ti = tarfile.TarInfo(f"{d}x/layer.tar")
                    ti.type = tarfile.SYMTYPE
                    ti.linkname = f"../{d}/layer.tar"
                    tf.addfile(ti)
                    names.append(f"{d}x/layer.tar")
                    continue
                seen[d] = name
                _add(tf, name, b)
                names.append(name)
            _add(tf, f"{_sha(config)}.json", config)
            _add(tf, "manifest.json", json.dumps([{"Config": f"{_sha(config)}.json", "RepoTags": [tag], "Layers": names}]).encode())
            return out.getvalue()
        written = set()
        for b in [*blobs_layers, config, manifest]:
            d = _sha(b)
            if d not in written:
                _add(tf, f"blobs/sha256/{d}", b)
                written.add(d)
        if layout in ("both", "oci"):
            _add(tf, "index.json", index)
            _add(tf, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        if layout in ("both", "manifest"):
            _add(tf, "manifest.json", json.dumps([{
                "Config": f"blobs/sha256/{_sha(config)}", "RepoTags": [tag],
                "Layers": [f"blobs/sha256/{_sha(b)}" for b in blobs_layers],
            }]).encode())
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# The real dive
# --------------------------------------------------------------------------------------------
def dive_binary() -> str | None:
    from bench.analyze.tools import find_tool

    return find_tool("dive")


@dataclass
class DiveFigures:
    efficiency: float
    wasted_bytes: int
    user_wasted_percent: float | None  # None: dive passed the 0 threshold (value 0 or NaN)
    layer_sizes: list[int]
    inefficient: dict[str, tuple[int, int]]  # path -> (count, cumulative bytes)


_STRICT = "rules:\n  lowestEfficiency: 1\n  highestWastedBytes: 0\n  highestUserWastedPercent: 0\n"


def run_dive(target: str, workdir: Path, *, source: str = "docker") -> DiveFigures:
    """dive's exact figures: --json for bytes, --ci with thresholds that every imperfect
    image fails, so dive prints efficiency and the user-wasted ratio at full precision."""
    dive = dive_binary()
    assert dive, "dive binary not found"
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "strict.dive-ci"
    cfg.write_text(_STRICT)
    env = {**os.environ, "CI": "true", "NO_COLOR": "1"}
    out_json = workdir / "dive.json"
    p = subprocess.run([dive, "--source", source, target, "--json", str(out_json)], capture_output=True, text=True,
                       env=env, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    data = json.loads(out_json.read_text())
    p = subprocess.run([dive, "--source", source, target, "--ci-config", str(cfg)], capture_output=True, text=True,
                       env=env, timeout=600)
    text = re.sub(r"\x1b\[[0-9;]*m", "", p.stdout + p.stderr)
    m = re.search(r"\(efficiency=(\S+) < threshold=1\)", text)
    eff = float(m.group(1)) if m else 1.0
    m = re.search(r"%-user-wasted-bytes=(\S+) > threshold=0\)", text)
    uwp = float(m.group(1)) if m else None
    img = data["image"]
    return DiveFigures(
        efficiency=eff,
        wasted_bytes=int(img["inefficientBytes"]),
        user_wasted_percent=uwp,
        layer_sizes=[int(layer["sizeBytes"]) for layer in data["layer"]],
        inefficient={f["file"]: (int(f["count"]), int(f["sizeBytes"])) for f in img.get("fileReference") or []},
    )


def assert_same_as_dive(report, dive: DiveFigures) -> None:
    f = report.figures
    assert f.efficiency == dive.efficiency  # exact: same float division as Go
    assert f.wasted_bytes == dive.wasted_bytes
    if dive.user_wasted_percent is None:
        assert not f.user_wasted_percent > 0
    else:
        assert f.user_wasted_percent == dive.user_wasted_percent
    assert [layer.size_bytes for layer in report.layers] == dive.layer_sizes
    assert {p.path: (p.copies, p.cumulative) for p in f.inefficiencies} == dive.inefficient
    assert f.reclaimable_bytes == sum(p.cumulative - p.smallest for p in f.inefficiencies)
