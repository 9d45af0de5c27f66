"""Helpers of the fault suite (tests/test_faults.py): a private engine, a tiny app, and the
four assertions every fault ends with.

- `said_one_line(p, ...)`: a non-zero exit, no traceback, one `bench: ...` line saying
  what happened and what to do;
- `finished_cells(results)` before and `cells_kept(before, results)` after: every cell
  finished before the fault is still stored, byte for byte;
- `UserThings`: an unlabelled image, container, volume and build cache entry of "the
  user's", made before the fault and checked after it (and after `bench clean`);
- `nothing_left(...)`: no container, network, registry, second engine, work folder, mount
  or temp folder of bench's.

Everything runs on a private dockerd (bench's own ColdEngine, under a work root of its
own), so `bench clean` and a killed engine touch nobody else's images.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUSYBOX = next((p for p in (shutil.which("busybox"), "/bin/busybox", "/usr/bin/busybox") if p and os.path.exists(p)),
               None)

# A tiny app FROM scratch: busybox httpd serves /healthz and a JSON object on /.
SERVES = """FROM scratch
COPY busybox /bin/busybox
COPY www /www
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
"""
VARIANTS = {
    "ok1": SERVES,
    "ok2": SERVES.replace("COPY www /www", "COPY www /www\nCOPY www /www2"),
    "badsyntax": "FROM scratch\nCOPPY busybox /bin/busybox\n",
    "failrun": 'FROM scratch\nCOPY busybox /bin/busybox\nRUN --network=none ["/bin/busybox", "false"]\n',
    # builds, but exits at once instead of serving
    "noserve": 'FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT ["/bin/busybox", "true"]\n',
    # a build long enough to be interrupted in the middle
    "slow": SERVES.replace("COPY www /www", 'COPY www /www\nRUN --network=none ["/bin/busybox", "sleep", "40"]'),
    # a 64 MB layer, so a push takes long enough to be cut
    "big": SERVES.replace("COPY www /www", "COPY www /www\nRUN --network=none "
                          '["/bin/busybox", "sh", "-c", "/bin/busybox head -c 64000000 /dev/urandom > /big"]'),
}


def make_apps(parent: Path, variants=("ok1", "ok2")) -> Path:
    """An apps folder holding app `tiny` with the named variants of VARIANTS."""
    app = parent / "apps" / "tiny"
    www = app / "src" / "www"
    www.mkdir(parents=True)
    shutil.copy2(BUSYBOX, app / "src" / "busybox")
    (www / "healthz").write_text("ok\n")
    (www / "index.html").write_text('{"app": "tiny"}\n')
    (app / "app.toml").write_text('name = "tiny"\nport = 8080\nhealth_path = "/healthz"\ncontext = "src"\n')
    for name in variants:
        d = app / "variants" / name
        d.mkdir(parents=True)
        (d / "Dockerfile").write_text(VARIANTS[name])
        (d / "variant.toml").write_text(f'techniques = ["scratch"]\nsummary = "{name}"\n')
    return parent / "apps"


def short_dir(prefix: str = "bf-") -> Path:
    """A short folder in /tmp (a dockerd's sockets below it must fit in 108 bytes)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


class Sandbox:
    """What one bench invocation sees: a private engine, its own work root and temp dir."""

    def __init__(self, host: str, base: Path):
        self.host = host
        self.work = base / "work"
        self.tmp = base / "tmp"
        self.work.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    @property
    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BENCH_", "DOCKER_"))}
        return {**env, "DOCKER_HOST": self.host, "BENCH_WORK_DIR": str(self.work), "TMPDIR": str(self.tmp),
                "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}

    def docker(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run(["docker", *args], capture_output=True, text=True, env=self.env, timeout=120)
        if check and p.returncode:
            raise AssertionError(f"docker {' '.join(args)}: {p.stderr.strip()}")
        return p

    def bench(self, *args: str, timeout: float = 180, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True,
                              env=env or self.env, timeout=timeout)

    def bench_bg(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "bench", *args], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env)


QUICK = ("--profile", "quick", "--scenarios", "cold", "--no-push", "--no-analyze", "--bases", "local")


def run_args(apps: Path, results: Path, *extra: str) -> list[str]:
    return ["run", "--apps", str(apps), "--results", str(results), *QUICK, *extra]


# -- 1. what the user sees ---------------------------------------------------------------------
def said_one_line(p, *words: str) -> str:
    """A non-zero exit, no traceback, and exactly one `bench: ` line, the last one, holding
    `words` (what happened, and what to do). Returns that line."""
    out = (p.stdout or "") + (p.stderr or "")
    assert p.returncode != 0, f"exit 0:\n{out}"
    assert "Traceback" not in out, out
    lines = [line for line in (p.stderr or "").splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^bench( [a-z]+)?: ", line)]
    assert len(errors) == 1 and lines and lines[-1] == errors[0], out
    for w in words:
        assert w.lower() in errors[0].lower(), (w, errors[0])
    return errors[0]


# -- 2. cells finished before the fault --------------------------------------------------------
def finished_cells(results: Path) -> dict[str, str]:
    """run/app/variant -> checksum of the stored cell and its rows, for every finished cell."""
    out = {}
    for folder in sorted((Path(results) / "runs").glob("*")):
        try:
            cells = json.loads((folder / "cells.json").read_text())
            rows = list(csv.DictReader(io.StringIO((folder / "samples.csv").read_text())))
        except (OSError, ValueError):
            continue
        for c in cells:
            if c.get("status") in ("ok", "failed", "skipped"):
                mine = sorted(json.dumps(r, sort_keys=True) for r in rows
                              if r.get("app") == c["app"] and r.get("variant") == c["variant"])
                blob = json.dumps([c, mine], sort_keys=True).encode()
                out[f"{folder.name}/{c['app']}/{c['variant']}"] = hashlib.sha256(blob).hexdigest()
    return out


def cells_kept(before: dict[str, str], results: Path) -> int:
    after = finished_cells(results)
    lost = {k for k in before if after.get(k) != before[k]}
    assert not lost, f"cells changed or lost: {sorted(lost)}"
    return len(before)


# -- 3. nothing of the user's is touched ----------------------------------------------------------
class UserThings:
    """An unlabelled image (with its build cache entry), container and volume of the user's."""

    def __init__(self, box: Sandbox, base: Path):
        self.box = box
        self.token = secrets.token_hex(4)
        self.image = f"faultkit-user/img:{self.token}"
        self.name = f"faultkit-user-{self.token}"
        ctx = base / f"user-{self.token}"
        ctx.mkdir(parents=True)
        shutil.copy2(BUSYBOX, ctx / "busybox")
        (ctx / "Dockerfile").write_text(
            f'FROM scratch\nCOPY busybox /bin/busybox\nRUN --network=none ["/bin/busybox", "echo", "{self.token}"]\n')
        box.docker("buildx", "build", "-q", "-t", self.image, str(ctx))
        box.docker("create", "--name", self.name, self.image, "/bin/busybox", "true")
        box.docker("volume", "create", self.name)

    def intact(self) -> None:
        b = self.box
        assert b.docker("image", "inspect", self.image, check=False).returncode == 0, "the user's image is gone"
        assert b.docker("container", "inspect", self.name, check=False).returncode == 0, "the user's container is gone"
        assert b.docker("volume", "inspect", self.name, check=False).returncode == 0, "the user's volume is gone"
        du = b.docker("buildx", "du", "--verbose").stdout
        assert f"echo {self.token}" in du, "the user's build cache entry is gone"

    def after_clean(self) -> None:
        """Still there after the fault, and after `bench clean`."""
        self.intact()
        p = self.box.bench("clean")
        assert p.returncode == 0, p.stderr
        self.intact()


# -- 4. nothing of bench's is left ---------------------------------------------------------------
def _processes_naming(needle: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in text and "pytest" not in text:
            found.append(f"{cmdline.parent.name}: {text[:120]}")
    return found


def nothing_left(box: Sandbox, *, engine_alive: bool = True) -> list[str]:
    """Everything of bench's still around after a fault; the test asserts it is empty."""
    left = []
    if engine_alive:
        left += [f"container {c}" for c in box.docker("ps", "-aq", "--filter", "label=org.bench.managed=true").stdout.split()]
        left += [f"container {c}" for c in box.docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
                 if c.startswith("bench-smoke-")]
        left += [f"network {n}" for n in box.docker("network", "ls", "-q", "--filter", "label=org.bench.managed=true").stdout.split()]
    deadline = time.monotonic() + 15  # daemons bench stops may take a moment to exit
    while True:
        procs = _processes_naming(str(box.work))
        if not procs or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    left += [f"process {p}" for p in procs]
    left += [f"work folder {p.name}" for p in box.work.iterdir() if p.is_dir()]
    left += [f"temp folder {p.name}" for p in box.tmp.glob("bench-*")]
    left += [f"mount {line.split()[1]}" for line in Path("/proc/mounts").read_text().splitlines()
             if str(box.work) in line.split()[1]]
    return left
