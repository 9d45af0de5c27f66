"""Genuine Ubuntu 24.04 userland without an Ubuntu mirror: cut from a real Ubuntu VM disk.

The same way as alpine.py: a real VM disk (qcow2, ext4) made into a tree by
alpine.disk_tree (qemu-img + debugfs rdump, no mount), then dpkg's own database
(var/lib/dpkg/status, info/PKG.list, info/PKG.md5sums, Conffiles) says which files belong
to which package, so the package set of the official ubuntu:24.04 image is cut out exactly:

- files of the official packages only (their .list files), with the official image's
  minimization applied (its /etc/dpkg/dpkg.cfg.d/excludes rules: no man pages, docs
  except copyright, info, lintian, translations);
- var/lib/dpkg/status and info/ cut to the same packages, so `dpkg -l` lists just them;
- conffiles the VM edited put back to the packaged version where one is known, each
  checked against the md5 dpkg recorded; the rest are reported (`not_restored`);
- /etc/passwd and /etc/group put back to base-passwd's master copies, shadow/gshadow cut
  to the accounts left.

Not reproduced: the official image's byte layout (Canonical's build runs debootstrap and
then its own minimize script; here the files are the VM's, so package *versions* are the
VM's, maybe newer than the official image of a given date), and files no package owns
that the official build writes (only the excludes file, the unminimize marker and the
passwd/group files are written here).

Where the disk comes from: PyPI's `quicksand-ubuntu` is a stub (3.7 kB, no disk: the fat
wheel exceeds PyPI's size cap and is served by quicksand's own package index, which this
machine cannot reach). A fat wheel fetched elsewhere is named with the BENCH_UBUNTU_WHEEL
setting; without it the ubuntu:24.04 stand-in stays unavailable, saying so.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

from bench.bases.alpine import _add, _candidates, disk_tree
from bench.bases.standins import _write
from bench.engine.executor import Executor
from bench.errors import UserError

# The exact version: it is the recipe's `ubuntu` field, so it is part of the cache key.
VM_PACKAGE = "quicksand-ubuntu==0.10.1"
WHEEL_SETTING = "BENCH_UBUNTU_WHEEL"
STATUS = "var/lib/dpkg/status"
INFO = "var/lib/dpkg/info"
# The packages of Canonical's ubuntu-base rootfs for noble (the official image's one layer):
# its manifest, i.e. debootstrap's minbase set for noble plus `unminimize`. Written down from
# that manifest's package names; the launchpad build repository itself is not reachable here,
# so check it against `dpkg -l` of a real ubuntu:24.04 before trusting it byte for byte.
OFFICIAL = (
    "apt", "base-files", "base-passwd", "bash", "bsdutils", "coreutils", "dash", "debconf", "debianutils",
    "diffutils", "dpkg", "e2fsprogs", "findutils", "gcc-14-base", "gpgv", "grep", "gzip", "hostname",
    "init-system-helpers", "libacl1", "libapt-pkg6.0t64", "libattr1", "libaudit-common", "libaudit1",
    "libblkid1", "libbz2-1.0", "libc-bin", "libc6", "libcap-ng0", "libcap2", "libcom-err2", "libcrypt1",
    "libdb5.3t64", "libdebconfclient0", "libext2fs2t64", "libffi8", "libgcc-s1", "libgcrypt20", "libgmp10",
    "libgnutls30t64", "libgpg-error0", "libhogweed6t64", "libidn2-0", "liblz4-1", "liblzma5", "libmd0",
    "libmount1", "libncursesw6", "libnettle8t64", "libp11-kit0", "libpam-modules", "libpam-modules-bin",
    "libpam-runtime", "libpam0g", "libpcre2-8-0", "libproc2-0", "libseccomp2", "libselinux1",
    "libsemanage-common", "libsemanage2", "libsepol2", "libsmartcols1", "libss2", "libssl3t64", "libstdc++6",
    "libsystemd0", "libtasn1-6", "libtinfo6", "libudev1", "libunistring5", "libuuid1", "libxxhash0",
    "libzstd1", "login", "logsave", "mawk", "mount", "ncurses-base", "ncurses-bin", "passwd", "perl-base",
    "procps", "sed", "sensible-utils", "sysvinit-utils", "tar", "ubuntu-keyring", "unminimize", "util-linux",
    "zlib1g")
# The minimization of the official image, as dpkg path rules (dpkg.cfg(5) path-exclude /
# path-include; `*` matches across `/` as in dpkg). Written into the image too, so later
# `apt-get install`s are minimized the same way; `unminimize` looks for this file. The rules
# are the ones the official excludes file applies; its comments are not byte-identical.
EXCLUDES = """\
# The image is minimized: this drops what packages install under these paths.
# Restore it with `unminimize`.
path-exclude=/usr/share/man/*
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/groff/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/lintian/*
path-exclude=/usr/share/linda/*
path-exclude=/usr/share/locale/*/LC_MESSAGES/*.mo
"""
EXCLUDES_PATH = "etc/dpkg/dpkg.cfg.d/excludes"
ACCOUNTS = {"etc/passwd": "usr/share/base-passwd/passwd.master", "etc/group": "usr/share/base-passwd/group.master"}
SKELETON = ("tmp", "root", "var/tmp", "proc", "sys", "dev", "run", "home", "mnt", "media", "opt", "srv",
            "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "var/lib/apt/lists/partial", "var/cache/apt/archives/partial")


@dataclass(frozen=True)
class DebPackage:
    name: str
    version: str
    paragraph: str
    conffiles: tuple[tuple[str, str], ...]  # (path without leading /, md5 dpkg recorded)


def parse_status(text: str) -> dict[str, DebPackage]:
    """var/lib/dpkg/status -> installed packages by name (`Package:`; arch qualifiers dropped)."""
    pkgs: dict[str, DebPackage] = {}
    for para in text.split("\n\n"):
        lines = para.strip("\n").splitlines()
        fields = {ln.split(":", 1)[0]: ln.split(":", 1)[1].strip() for ln in lines if ln and not ln[0].isspace()}
        name = fields.get("Package")
        if not name or not fields.get("Status", "").endswith(" installed"):
            continue
        conf, inside = [], False
        for ln in lines:
            if ln.startswith("Conffiles:"):
                inside = True
            elif inside and ln.startswith(" "):
                path, md5 = (ln.split() + ["", ""])[:2]
                conf.append((path.lstrip("/"), md5))
            else:
                inside = False
        pkgs[name] = DebPackage(name, fields.get("Version", "?"), para.strip("\n") + "\n", tuple(conf))
    return pkgs


def _info(tree: Path, name: str, suffix: str) -> Path | None:
    """info/NAME.suffix, or info/NAME:ARCH.suffix for Multi-Arch: same packages."""
    info = tree / INFO
    plain = info / f"{name}.{suffix}"
    if plain.is_file():
        return plain
    return next(iter(sorted(info.glob(f"{name}:*.{suffix}"))), None)


def package_files(tree: Path, name: str) -> list[str]:
    """Everything dpkg lists for `name` (folders too), relative, in dpkg's order."""
    lst = _info(tree, name, "list")
    if lst is None:
        return []
    return [ln.strip().lstrip("/") for ln in lst.read_text().splitlines() if ln.strip().strip("/.")]


def excluded(rel: str, rules: str = EXCLUDES) -> bool:
    """dpkg's path-exclude/path-include: the last rule that matches decides."""
    path, out = "/" + rel.lstrip("/"), False
    for ln in rules.splitlines():
        kind, _, pattern = ln.partition("=")
        if kind in ("path-exclude", "path-include") and fnmatch.fnmatchcase(path, pattern):
            out = kind == "path-exclude"
    return out


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def restore_conffiles(tree: Path, pkgs: dict[str, DebPackage], names) -> list[str]:
    """Put conffiles the VM edited back to the packaged version; returns those that could not be.

    Candidates: dpkg's/ucf's own copies of the packaged version beside the file
    (.dpkg-dist, .ucf-dist, .dpkg-old), then the file minus lines appended (alpine._candidates).
    """
    left: list[str] = []
    for name in names:
        for rel, md5 in pkgs[name].conffiles:
            p = tree / rel
            if md5 in ("", "newconffile", "obsolete") or not p.is_file() or p.is_symlink() or _md5(p) == md5:
                continue
            sides = [tree / f"{rel}{s}" for s in (".dpkg-dist", ".ucf-dist", ".dpkg-old")]
            options = [s.read_bytes() for s in sides if s.is_file()] + list(_candidates(tree, rel, {}))
            good = next((d for d in options if hashlib.md5(d).hexdigest() == md5), None)
            if good is None:
                left.append(rel)
            else:
                p.write_bytes(good)
    return left


def _accounts(tree: Path, staged: Path) -> None:
    """passwd/group as base-passwd ships them; shadow/gshadow cut to the accounts left."""
    for rel, master in ACCOUNTS.items():
        src = tree / master if (tree / master).is_file() else tree / rel
        _write(staged / rel, src.read_bytes())
    for rel, names_from in (("etc/shadow", "etc/passwd"), ("etc/gshadow", "etc/group")):
        if not (tree / rel).is_file():
            continue
        keep = {ln.split(":", 1)[0] for ln in (staged / names_from).read_text().splitlines()}
        lines = (tree / rel).read_text().splitlines(keepends=True)
        _write(staged / rel, "".join(ln for ln in lines if ln.split(":", 1)[0] in keep), 0o640)


def _staged(tree: Path, staged: Path, pkgs: dict[str, DebPackage], names: list[str],
            ca_pems: list[tuple[str, bytes]]) -> None:
    """The files written rather than taken: dpkg's database cut down, accounts, CAs, minimization."""
    _write(staged / STATUS, "\n".join(pkgs[n].paragraph for n in names))
    for name in names:
        for p in sorted((tree / INFO).glob(f"{name}.*")) + sorted((tree / INFO).glob(f"{name}:*.*")):
            _write(staged / INFO / p.name, p.read_bytes(), p.stat().st_mode & 0o777)
    for rel in ("var/lib/dpkg/diversions", "var/lib/dpkg/statoverride"):
        _write(staged / rel, (tree / rel).read_bytes() if (tree / rel).is_file() else b"")
    _accounts(tree, staged)
    _write(staged / EXCLUDES_PATH, EXCLUDES)
    for name, pem in ca_pems:
        _write(staged / "usr/local/share/ca-certificates" / f"bench-{name}.crt", pem)


def _alternatives(tree: Path, taken: set[str]) -> list[str]:
    """etc/alternatives links (and dpkg's records of them) whose target the cut keeps."""
    out = []
    alt = tree / "etc/alternatives"
    for p in sorted(alt.iterdir()) if alt.is_dir() else ():
        target = os.readlink(p) if p.is_symlink() else ""
        if target.lstrip("/") in taken:
            out += [f"etc/alternatives/{p.name}", f"var/lib/dpkg/alternatives/{p.name}"]
    return out


def write_rootfs(tree: Path, out: Path, ca_pems: list[tuple[str, bytes]], names=OFFICIAL) -> dict[str, str]:
    """Tar the official package set of `tree`, minimized, plus the host's CAs. Returns facts."""
    pkgs = parse_status((tree / STATUS).read_text())
    missing = [n for n in names if n not in pkgs]
    present = [n for n in names if n in pkgs]
    left = restore_conffiles(tree, pkgs, present)
    staged = out.parent / "ubuntu-extra"
    shutil.rmtree(staged, ignore_errors=True)
    _staged(tree, staged, pkgs, present, ca_pems)
    written = {str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file()}
    taken: set[str] = set()
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
        added = set(written)  # so the tree's versions are not taken; written from `staged` below
        for name in present:
            for rel in package_files(tree, name):
                if not excluded(rel):
                    taken.add(rel)
                    _add(tf, tree, rel, added)
        for rel in _alternatives(tree, taken) + list(SKELETON):
            _add(tf, tree, rel, added)
        for rel in sorted(written):
            added.discard(rel)
            _add(tf, staged, rel, added)
    shutil.rmtree(staged, ignore_errors=True)
    release = (tree / "usr/lib/os-release").read_text() if (tree / "usr/lib/os-release").is_file() else ""
    version = next((ln.split("=", 1)[1].strip('"') for ln in release.splitlines() if ln.startswith("VERSION=")), "?")
    return {"ubuntu_release": version, "packages": str(len(present)), "missing": ",".join(missing),
            "not_restored": ",".join(left)}


def wheel_configured() -> Path | None:
    """The fat quicksand-ubuntu wheel the BENCH_UBUNTU_WHEEL setting names, if it exists."""
    value = os.environ.get(WHEEL_SETTING)
    return Path(value) if value and Path(value).is_file() else None


def vm_tree(executor: Executor, requirement: str = VM_PACKAGE) -> Path:
    """The Ubuntu VM disk's whole tree, unpacked once into bench's cache."""
    from bench.bases.payloads import pip_download

    wheel = wheel_configured() or pip_download(executor, requirement)
    version = requirement.split("==")[-1]
    if not wheel.name.startswith(f"quicksand_ubuntu-{version}-"):
        raise UserError(f"{wheel.name} is not {requirement}, the version the catalogue pins: "
                        f"point {WHEEL_SETTING} at that version's wheel")
    fix = (f"PyPI's {requirement} is a stub without the disk: fetch the fat wheel from quicksand's own "
           f"package index and set {WHEEL_SETTING} to its path")
    return disk_tree(executor, wheel, "ubuntu", STATUS, fix, "a Debian-family system")

