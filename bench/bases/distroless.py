"""Distroless stand-ins: only the kept Debian packages' files, in upstream's layers.

GoogleContainerTools/distroless builds each image with rules_oci's `oci_image(tars=[...])`:
one layer per Debian package (base-files, netbase, tzdata, media-types for static; libc6,
libssl3, ... on top for base/cc/...), then one per file set distroless writes itself
(rootfs, passwd, home, group, tmp, nsswitch, os_release, cacerts). Here the packages come
from an mmdebstrap root filesystem, and each becomes one tar: `FROM scratch` + one
`ADD <tar> /` per layer (recipe `distroless.layered`), or one tar for `docker import`.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Callable

from bench.bases.catalogue import Recipe
from bench.bases.standins import (
    CA_BUNDLE_IN_IMAGE, DISTROLESS_FORBIDDEN, DISTROLESS_GROUP, DISTROLESS_NEVER, DISTROLESS_NSSWITCH,
    DISTROLESS_PASSWD, DISTROLESS_SKIP_PREFIXES, _dpkg_status, _package_files, _TreeWriter, package_closure,
)
from bench.errors import UserError

Step = Callable[[_TreeWriter], None]
MERGED_USR_LINKS = ("bin", "sbin", "lib", "lib64", "libx32", "lib32")


def packages(recipe: Recipe, rootfs: Path) -> list[str]:
    """The installed packages whose files the image keeps, in install order of the recipe."""
    status = _dpkg_status(rootfs)
    missing = [p for p in recipe.distroless_keep if p not in status]
    if missing:
        raise UserError(f"distroless stand-in: packages {', '.join(missing)} were not installed; "
                        "add them to the recipe's packages in bench/bases/catalogue.toml")
    if recipe.distroless_closure:
        return package_closure(status, recipe.distroless_keep, DISTROLESS_NEVER | frozenset(recipe.distroless_exclude))
    return list(recipe.distroless_keep)


def _package_step(rootfs: Path, pkg: str) -> Step:
    def add(w: _TreeWriter) -> None:
        for path in _package_files(rootfs, pkg):
            arc = w.canonical(path)
            if arc is None or (arc.startswith(DISTROLESS_SKIP_PREFIXES) and not arc.endswith("/copyright")):
                continue
            full = rootfs / arc
            if full.is_dir() and not full.is_symlink():
                continue  # directories come with the files inside them
            w.add(path)
    return add


def _rootfs(w: _TreeWriter) -> None:
    # merged-/usr top-level links first, so that /lib64/ld-linux-x86-64.so.2 resolves
    for top in MERGED_USR_LINKS:
        if (w.rootfs / top).is_symlink():
            w._add_raw(top)
    w.add_dir("root", 0o700)
    w.add_dir("var", 0o755)


def _home(w: _TreeWriter) -> None:
    w.add_dir("home", 0o755)
    w.add_dir("home/nonroot", 0o700, uid=65532)


def _os_release(w: _TreeWriter) -> None:
    src = w.rootfs / "usr/lib/os-release"
    if src.is_file():
        w.add_bytes("etc/os-release", src.read_bytes())


def steps(recipe: Recipe, rootfs: Path, pkgs: list[str]) -> list[tuple[str, Step]]:
    """(layer name, what it adds), in upstream's order: packages, extras, then distroless's own files."""
    out: list[tuple[str, Step]] = [("rootfs", _rootfs)]
    out += [(pkg, _package_step(rootfs, pkg)) for pkg in pkgs]
    if recipe.distroless_extra_paths:
        out.append(("extras", lambda w: [w.add(p, recursive=True) for p in recipe.distroless_extra_paths]))
    out += [
        ("passwd", lambda w: w.add_bytes("etc/passwd", DISTROLESS_PASSWD.encode())),
        ("home", _home),
        ("group", lambda w: w.add_bytes("etc/group", DISTROLESS_GROUP.encode())),
        ("tmp", lambda w: w.add_dir("tmp", 0o1777)),
        ("nsswitch", lambda w: w.add_bytes("etc/nsswitch.conf", DISTROLESS_NSSWITCH.encode())),
        ("os_release", _os_release),
        ("cacerts", lambda w: w.add(CA_BUNDLE_IN_IMAGE)),
    ]
    return out


def _check(added: set[str]) -> None:
    bad = [p for p in DISTROLESS_FORBIDDEN if p in added]
    if bad:
        raise UserError(f"distroless stand-in would contain {', '.join(bad)}: add the owning package to "
                        "distroless.exclude in bench/bases/catalogue.toml")


def write_single(recipe: Recipe, rootfs: Path, out: Path) -> list[str]:
    """Every step into one tar (for `docker import`). Returns the packages kept."""
    pkgs = packages(recipe, rootfs)
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
        w = _TreeWriter(rootfs, tf)
        for _, add in steps(recipe, rootfs, pkgs):
            add(w)
    _check(w.added)
    return pkgs


def write_layers(recipe: Recipe, rootfs: Path, outdir: Path) -> list[Path]:
    """One tar per step in `outdir`, in layer order."""
    pkgs = packages(recipe, rootfs)
    outdir.mkdir(parents=True, exist_ok=True)
    tars, added = [], set()
    for i, (name, add) in enumerate(steps(recipe, rootfs, pkgs)):
        tar = outdir / f"{i:02d}-{name.replace(':', '_')}.tar"
        with tarfile.open(tar, "w", format=tarfile.PAX_FORMAT) as tf:
            w = _TreeWriter(rootfs, tf)
            add(w)
        added |= w.added
        tars.append(tar)
    _check(added)
    return tars


def dockerfile(tars: list[Path], changes: list[str]) -> str:
    """FROM scratch, one ADD per layer tar (ADD unpacks a local tar), then the image config."""
    lines = ["# bench distroless stand-in: one layer per Debian package and per distroless file set", "FROM scratch"]
    lines += [f"ADD {t.name} /" for t in tars]
    return "\n".join(lines + list(changes)) + "\n"
