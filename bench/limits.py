"""What this machine can do at most for the work a push and a cold pull consist of,
measured once at the start of a run (about 10-20 s) so the report can set each phase's
measured time beside its floor.

- gzip: the engine compresses every layer it pushes with Go's compress/gzip at the default
  level; Python's zlib at level 6 (the same deflate level) on a sample stands in for it.
- gunzip: a cold pull decompresses every layer, with `unpigz` when the engine finds it (see
  bench.engine.helpers), else Go's gzip; zlib is measured always, unpigz when present.
- disk write: a pull writes every uncompressed byte; measured as one sequential file with
  an fsync at the end, in the directory the cold-pull engine keeps its data root under.
- extraction: a pull unpacks every layer file by file (each with its own metadata), which
  a sequential write does not price; measured as GNU tar extracting the sample's files
  into that same directory (no fsync: dockerd does not sync each file either).

The sample is the first `sample_bytes` of a tar of /usr/lib (binaries, libraries, text:
what image layers hold). Rates are per byte of the stream's input: gzip per uncompressed
byte, gunzip per compressed byte, disk per written byte.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

SAMPLE_DIR = Path("/usr/lib")
SAMPLE_BYTES = 128 * 2**20
LEVEL = 6  # Go's compress/gzip DefaultCompression is deflate level 6
CHUNK = 2**20


@dataclass(frozen=True)
class Limits:
    sample: str  # what was compressed, in words
    sample_bytes: int  # uncompressed
    compressed_bytes: int
    gzip_bytes_per_s: float  # uncompressed bytes in per second (zlib level 6, one core)
    gunzip_bytes_per_s: float  # compressed bytes in per second (zlib, one core)
    unpigz_bytes_per_s: float | None  # compressed bytes in per second; None without unpigz
    unpigz: str  # the unpigz measured ("" when none)
    disk_write_bytes_per_s: float  # sequential write with fsync
    disk_dir: str  # where it was measured
    seconds: float  # what the probe itself took
    extract_bytes_per_s: float | None = None  # tar bytes unpacked per second (None: not measured)
    sample_files: int = 0  # regular files in the sample

    @property
    def unpack_bytes_per_s(self) -> float:
        """What writing a layer's files can reach at most: the slower of a sequential write
        and an extraction of many files (the latter when measured)."""
        return min(self.disk_write_bytes_per_s, self.extract_bytes_per_s or self.disk_write_bytes_per_s)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict | None) -> "Limits | None":
        """Limits as a run stored them; None when the run recorded none (runs before them)."""
        if not isinstance(d, dict) or "gzip_bytes_per_s" not in d:
            return None
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @property
    def decompress_bytes_per_s(self) -> float:
        """The faster decompressor measured (zlib, or unpigz when it was there): a floor's rate."""
        return max(self.gunzip_bytes_per_s, self.unpigz_bytes_per_s or 0.0)

    def lines(self) -> list[str]:
        mb = 1e6
        out = [f"gzip (zlib level {LEVEL}, one core): {self.gzip_bytes_per_s / mb:.0f} MB/s of input, "
               f"ratio {self.sample_bytes / max(self.compressed_bytes, 1):.2f}",
               f"gunzip (zlib): {self.gunzip_bytes_per_s / mb:.0f} MB/s of compressed input"]
        if self.unpigz_bytes_per_s:
            out.append(f"unpigz ({self.unpigz}): {self.unpigz_bytes_per_s / mb:.0f} MB/s of compressed input")
        out.append(f"disk write (fsync) in {self.disk_dir}: {self.disk_write_bytes_per_s / mb:.0f} MB/s")
        if self.extract_bytes_per_s:
            out.append(f"extraction (GNU tar, {self.sample_files} files): {self.extract_bytes_per_s / mb:.0f} MB/s")
        out.append(f"sample: {self.sample}; probe took {self.seconds:.1f} s")
        return out


def tar_sample(root: Path = SAMPLE_DIR, limit: int = SAMPLE_BYTES) -> bytes:
    """A whole tar (end blocks included, so it unpacks) of `root`'s regular files in walk
    order, stopped at the first file that takes it past `limit` bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for p in _files(root):
            try:
                tar.add(p, recursive=False)
            except OSError:
                continue
            if buf.tell() >= limit:
                break
    return buf.getvalue()


def _files(root: Path):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            p = os.path.join(dirpath, name)
            if not os.path.islink(p) and os.path.isfile(p):
                yield p


def _rate(nbytes: int, seconds: float) -> float:
    return nbytes / max(seconds, 1e-9)


def gzip_rate(data: bytes) -> tuple[bytes, float]:
    """(gzip stream of data, uncompressed bytes per second)."""
    t0 = time.perf_counter()
    c = zlib.compressobj(LEVEL, zlib.DEFLATED, 31)  # 31: gzip framing
    out = b"".join(c.compress(data[i:i + CHUNK]) for i in range(0, len(data), CHUNK)) + c.flush()
    return out, _rate(len(data), time.perf_counter() - t0)


def gunzip_rate(gz: bytes) -> float:
    t0 = time.perf_counter()
    d = zlib.decompressobj(31)
    for i in range(0, len(gz), CHUNK):
        d.decompress(gz[i:i + CHUNK])
    return _rate(len(gz), time.perf_counter() - t0)


def unpigz_rate(unpigz: str, gz_file: Path, size: int) -> float | None:
    """`unpigz -c < gz_file > /dev/null`, compressed bytes per second; None if it fails."""
    with open(gz_file, "rb") as src, open(os.devnull, "wb") as sink:
        t0 = time.perf_counter()
        p = subprocess.run([unpigz, "-c"], stdin=src, stdout=sink, stderr=subprocess.DEVNULL, timeout=120,
                           check=False)
        seconds = time.perf_counter() - t0
    return _rate(size, seconds) if p.returncode == 0 else None


def disk_write_rate(data: bytes, directory: Path) -> float:
    """Write `data` to a new file in `directory`, fsync it; bytes per second. The file is removed."""
    fd, name = tempfile.mkstemp(dir=directory, prefix=".bench-limits-")
    try:
        t0 = time.perf_counter()
        with os.fdopen(fd, "wb") as f:
            for i in range(0, len(data), CHUNK):
                f.write(data[i:i + CHUNK])
            f.flush()
            os.fsync(f.fileno())
        return _rate(len(data), time.perf_counter() - t0)
    finally:
        Path(name).unlink(missing_ok=True)


def extract_rate(data: bytes, directory: Path) -> float | None:
    """GNU tar extracting the tar stream `data` into a new directory under `directory`:
    bytes per second, or None without tar. The directory is removed."""
    import shutil

    if shutil.which("tar") is None:
        return None
    target = Path(tempfile.mkdtemp(dir=directory, prefix=".bench-limits-"))
    try:
        t0 = time.perf_counter()
        p = subprocess.run(["tar", "-x", "-f", "-", "-C", str(target)], input=data, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=300, check=False)
        seconds = time.perf_counter() - t0
        return _rate(len(data), seconds) if p.returncode == 0 else None
    finally:
        shutil.rmtree(target, ignore_errors=True)


def sample_files(data: bytes) -> int:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        return sum(1 for m in tar if m.isfile())


def measure(disk_dir: Path, *, unpigz: str | None = None, root: Path = SAMPLE_DIR,
            sample_bytes: int = SAMPLE_BYTES) -> Limits:
    """Measure the machine's gzip, gunzip (and unpigz) and disk write rates."""
    t0 = time.perf_counter()
    data = tar_sample(root, sample_bytes)
    gz, gzip_bps = gzip_rate(data)
    gunzip_bps = gunzip_rate(gz)
    disk_dir = Path(disk_dir)
    disk_dir.mkdir(parents=True, exist_ok=True)
    disk_bps = disk_write_rate(data, disk_dir)
    extract_bps = extract_rate(data, disk_dir)
    unpigz_bps = None
    if unpigz:
        fd, name = tempfile.mkstemp(dir=disk_dir, prefix=".bench-limits-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(gz)
            unpigz_bps = unpigz_rate(unpigz, Path(name), len(gz))
        finally:
            Path(name).unlink(missing_ok=True)
    return Limits(sample=f"tar of {root}, first {len(data) / 1e6:.0f} MB", sample_bytes=len(data),
                  compressed_bytes=len(gz), gzip_bytes_per_s=gzip_bps, gunzip_bytes_per_s=gunzip_bps,
                  unpigz_bytes_per_s=unpigz_bps, unpigz=unpigz or "", disk_write_bytes_per_s=disk_bps,
                  disk_dir=str(disk_dir), seconds=time.perf_counter() - t0, extract_bytes_per_s=extract_bps,
                  sample_files=sample_files(data))
