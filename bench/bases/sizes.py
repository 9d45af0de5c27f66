"""Sizes of base images: on disk (the engine's figure) and compressed (what a pull moves).

The compressed figure is measured, not estimated: the image is streamed out with
`docker save`, and every layer blob is gzip-compressed (level 6, what `docker push`
uses) with the output bytes counted. Results are cached per image id.
"""

from __future__ import annotations

import json
import tarfile
import tempfile
import zlib
from pathlib import Path

from bench.bases.standins import cache_dir
from bench.engine.executor import Executor

GZIP_LEVEL = 6
CHUNK = 1 << 20


def disk_bytes(executor: Executor, image: str) -> int | None:
    done = executor.run(["docker", "image", "inspect", "--format", "{{.Size}}", image], check=False, timeout=60)
    if done.returncode != 0:
        return None
    try:
        return int(done.stdout.strip())
    except ValueError:
        return None


def layer_count(executor: Executor, image: str) -> int | None:
    """Filesystem layers of an image (ENV/CMD/LABEL steps add none)."""
    done = executor.run(["docker", "image", "inspect", "--format", "{{len .RootFS.Layers}}", image],
                        check=False, timeout=60)
    try:
        return int(done.stdout.strip()) if done.returncode == 0 else None
    except ValueError:
        return None


def _gzip_size(fh) -> int:
    comp = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: gzip container
    n = 0
    while True:
        chunk = fh.read(CHUNK)
        if not chunk:
            break
        n += len(comp.compress(chunk))
    return n + len(comp.flush())


def layer_paths(tf: tarfile.TarFile) -> list[str]:
    """Layer blobs named by the saved image's manifest.json (legacy and OCI layouts alike)."""
    manifest = json.load(tf.extractfile("manifest.json"))
    return list(manifest[0]["Layers"])


def compressed_bytes_of_save(path: Path) -> int:
    with tarfile.open(path) as tf:
        total = 0
        for layer in layer_paths(tf):
            fh = tf.extractfile(layer)
            if fh is None:  # a symlinked duplicate layer
                continue
            total += _gzip_size(fh)
        return total


def compressed_bytes(image: str, image_id: str | None = None) -> int:
    """gzip size of the image's layers, as a registry would store them."""
    cache = cache_dir() / "compressed.json"
    known = json.loads(cache.read_text()) if cache.exists() else {}
    if image_id and image_id in known:
        return int(known[image_id])
    import docker

    client = docker.from_env(timeout=600)
    img = client.images.get(image)
    with tempfile.NamedTemporaryFile(dir=cache_dir(), suffix=".tar") as tmp:
        for chunk in img.save(named=False):
            tmp.write(chunk)
        tmp.flush()
        size = compressed_bytes_of_save(Path(tmp.name))
    known[img.id] = size
    cache.write_text(json.dumps(known, indent=1, sort_keys=True))
    return size
