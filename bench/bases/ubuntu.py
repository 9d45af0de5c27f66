"""Ubuntu stand-ins: bootstrapped from the Ubuntu archive like the Debian ones, then minimized.

A root recipe with `archive = "ubuntu"` is built by standins.build_standin as every Debian
root is (mmdebstrap --variant=minbase -> one `docker import` layer); this module supplies
what differs:

- the archive: the BENCH_UBUNTU_MIRROR setting (default: the public Ubuntu archive, plain
  HTTP), with the -updates and -security pockets of the same mirror;
- its signing keys: Debian ships Ubuntu's archive keyring as the `ubuntu-keyring` package;
  `apt-get download` + `dpkg-deb -x` of it, once, into bench's cache;
- the official image's minimization (Canonical builds ubuntu-base with livecd-rootfs, the
  "minimized" project): the dpkg excludes file (EXCLUDES), the `unminimize` package, no apt
  lists, and the `ubuntu` user (uid 1000) the image has carried since 23.04.

Sources used (not guessed):
- the excludes file's rules: a copy of /etc/dpkg/dpkg.cfg.d/excludes as the official image
  ships it, quoted in go-hass-agent's Dockerfile ("Drop all man pages ... Debian changelogs
  for native & non-native packages") and, in its older form, in a blog post that cats it
  from an ubuntu container; the rules are those, the comments here are bench's own;
- `unminimize` as a package shipping /usr/bin/unminimize from 23.10 on (before: a script
  livecd-rootfs wrote to /usr/local/sbin): documentation.ubuntu.com, public-cloud,
  "Ubuntu base and minimal images".

Not reproduced: livecd-rootfs's own package seed (here: minbase, i.e. Essential + Priority
required, plus apt and `unminimize`), its exact /etc/apt/sources.list.d/ubuntu.sources (the
security pocket comes from the same mirror, not the security host), the pre-23.10
/usr/local/sbin/unminimize script (its text is not reachable here, so older releases have
none), the debconf/dpkg logs and timestamps of a livecd-rootfs build, and the apt.conf.d
docker-* files: the Debian stand-ins' set (standins.APT_CONF) is used, unverified for Ubuntu.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.bases.host import Mirror
from bench.engine.executor import DockerError, Executor
from bench.errors import UserError

MIRROR_SETTING = "BENCH_UBUNTU_MIRROR"
DEFAULT_MIRROR = "http://archive.ubuntu.com/ubuntu"
KEYRING_PACKAGE = "ubuntu-keyring"  # Debian's package of Ubuntu's archive keys
KEYRING = "usr/share/keyrings/ubuntu-archive-keyring.gpg"

# Releases a tag may name (number or codename). Releases before 22.04 are left out: the
# merged-/usr hook bench bootstraps with would make them unlike their official image.
RELEASES = {"22.04": "jammy", "24.04": "noble", "25.04": "plucky", "25.10": "questing"}
CODENAMES = {v: k for k, v in RELEASES.items()}

# The rules of the official image's /etc/dpkg/dpkg.cfg.d/excludes (see the module docstring).
EXCLUDES = """\
# bench stand-in: the path exclusions of the official (minimized) Ubuntu image.
# `unminimize` removes this file and reinstalls what it excluded.
path-exclude=/usr/share/man/*
path-exclude=/usr/share/locale/*/LC_MESSAGES/*.mo
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-include=/usr/share/doc/*/changelog.*
"""

# mmdebstrap unpacks the Essential packages before dpkg reads the excludes: what they put
# under the excluded paths is removed here, as the rules would have left it out.
CLEANUP = """\
find /usr/share/man -mindepth 1 -delete 2>/dev/null || true
find /usr/share/locale -path '*/LC_MESSAGES/*.mo' -delete 2>/dev/null || true
find /usr/share/doc -mindepth 1 ! -type d ! -name copyright ! -name 'changelog.*' -delete
find /usr/share/doc -mindepth 1 -depth -type d -empty -delete
"""


def mirror_setting() -> str:
    """The Ubuntu archive stand-ins are bootstrapped from (part of their cache key)."""
    return (os.environ.get(MIRROR_SETTING) or DEFAULT_MIRROR).rstrip("/")


def release_of(suite: str) -> str | None:
    """noble -> 24.04; None for a suite bench does not know."""
    return CODENAMES.get(suite)


def _at_least(suite: str, version: str) -> bool:
    release = release_of(suite)
    return release is not None and tuple(map(int, release.split("."))) >= tuple(map(int, version.split(".")))


def extra_packages(suite: str) -> tuple[str, ...]:
    """What the official image has beyond mmdebstrap's minbase: apt (Priority important in
    Ubuntu's archive, so mmdebstrap's minbase leaves it out where debootstrap's, which
    Canonical builds with, adds it) and the unminimize package (23.10 on)."""
    return ("apt",) + (("unminimize",) if _at_least(suite, "23.10") else ())


def sources(uri: str, suite: str) -> str:
    """The image's apt sources, deb822 like the official image's ubuntu.sources."""
    return (f"Types: deb\nURIs: {uri}/\nSuites: {suite} {suite}-updates {suite}-backports\n"
            "Components: main restricted universe multiverse\n"
            "Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg\n\n"
            f"Types: deb\nURIs: {uri}/\nSuites: {suite}-security\n"
            "Components: main restricted universe multiverse\n"
            "Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg\n")


def customize_lines(suite: str, uri: str) -> list[str]:
    """Shell lines run in the finished root: the minimization, the sources, the `ubuntu` user."""
    lines = [CLEANUP.rstrip(),
             "mkdir -p /etc/apt/sources.list.d",
             f"cat > /etc/apt/sources.list.d/ubuntu.sources <<'EOF'\n{sources(uri, suite)}EOF",
             "echo '# Ubuntu sources have moved to /etc/apt/sources.list.d/ubuntu.sources' > /etc/apt/sources.list"]
    if _at_least(suite, "23.04"):
        lines.append("useradd --uid 1000 --user-group --create-home --shell /bin/bash ubuntu")
    return lines


def fingerprint(suite: str) -> dict:
    """What of this module shapes a stand-in of `suite`: part of its cache key."""
    uri = mirror_setting()
    return {"mirror": uri, "packages": list(extra_packages(suite)), "excludes": EXCLUDES,
            "customize": customize_lines(suite, uri)}


def keyring(executor: Executor, cache: Path) -> Path:
    """Ubuntu's archive keyring, from Debian's ubuntu-keyring package, unpacked once into `cache`."""
    root = cache / KEYRING_PACKAGE
    path = root / KEYRING
    if path.is_file():
        return path
    root.mkdir(parents=True, exist_ok=True)
    try:
        executor.run(["apt-get", "download", KEYRING_PACKAGE], cwd=str(root), timeout=300)
        deb = next(iter(sorted(root.glob(f"{KEYRING_PACKAGE}_*.deb"))), None)
        if deb is None:
            raise UserError(f"`apt-get download {KEYRING_PACKAGE}` left no .deb in {root}; rerun")
        executor.run(["dpkg-deb", "-x", str(deb), str(root)], timeout=300)
    except DockerError as e:
        raise UserError(f"`apt-get download {KEYRING_PACKAGE}` failed ({str(e)[-160:]}): Ubuntu's archive keys come "
                        "from that Debian package; fix the machine's apt sources, then rerun") from e
    if not path.is_file():
        raise UserError(f"{KEYRING_PACKAGE} holds no {KEYRING}; install it with apt-get and rerun")
    return path


def archive(executor: Executor, cache: Path) -> Mirror:
    """The Ubuntu archive as a Mirror mmdebstrap can use: the setting's URI and the keyring."""
    uri = mirror_setting()
    return Mirror(uri=uri, security_uri=uri, keyring=str(keyring(executor, cache)))
