"""Family rules: any tag of a catalogued image family resolves to its nearest recipe.

    family_entry(catalogue, "python:3.11-slim") -> Entry | None

A ref the catalogue does not list (python:3.11-slim, node:18, golang:1.23-alpine,
debian:12-slim, eclipse-temurin:21-jre, gcr.io/distroless/base, ...) is mapped by its
family's rule to the catalogued recipe it is nearest to:

- the same image under another spelling (node:20-bookworm, debian:12-slim, a `:latest` or
  `:nonroot` distroless tag) is that entry's stand-in relabelled (`same_as`: no new layer);
- a language line another payload can carry (node:N, golang:X.Y) is the catalogued recipe
  with the payload of the asked line, falling back to the catalogued line when the payload
  source lacks it (the label then says so);
- python:X.Y takes this machine's pyenv CPython X.Y (bench/bases/pyenv.py), falling back to
  the recipe with Debian's CPython 3.11 where there is none;
- where no source of the asked version is reachable (OpenJDK other than 17, CPython without
  a pyenv build), the nearest recipe relabelled, its mismatch said in `runtime_mismatch`.

The stand-in is labelled with the asked ref and the version really inside. A ref no family
covers gets None: the caller says to declare it in a bases file (bench/bases/userfile.py).
"""

from __future__ import annotations

import re
from dataclasses import replace

from bench.bases import pyenv
from bench.bases.catalogue import Catalogue, Entry

# The catalogued recipe each family's variants start from.
NODE = {"": "node:20", "slim": "node:20-slim", "alpine": "node:20-alpine"}
PYTHON = {"": "python:3.12", "slim": "python:3.12-slim", "alpine": "python:3.12-alpine"}
GOLANG = {"": "golang:1.22", "alpine": "golang:1.22-alpine"}
TEMURIN = {"jdk": "eclipse-temurin:17-jdk", "jre": "eclipse-temurin:17-jre"}
DEBIAN_SUITES = {"bookworm": "12", "trixie": "13"}  # suites the host's mirror serves
CATALOGUED = {"node": "20", "python": "3.12", "golang": "1.22", "temurin": "17"}
PYTHON_INSIDE = "3.11"  # Debian bookworm's CPython, what the python fallback recipes run
JAVA_INSIDE = "17"  # Ubuntu jammy's OpenJDK (the eclipse-temurin stand-ins)


def _split(ref: str) -> tuple[str, str]:
    name, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
    return name, tag


def _variant(rest: str) -> str | None:
    """-slim, -bookworm, -slim-bookworm, -alpine3.20 ... -> "", "slim" or "alpine"; None if unknown."""
    words = [w for w in rest.split("-") if w]
    kinds = {"slim" if w == "slim" else "alpine" if w.startswith("alpine") else "" if w in DEBIAN_SUITES
             else None for w in words}
    if None in kinds:
        return None
    return "alpine" if "alpine" in kinds else "slim" if "slim" in kinds else ""


def _alias(base: Entry, ref: str, mismatch: str | None) -> Entry:
    """`ref` as the stand-in of `base` relabelled: same layers, this ref in the labels."""
    return replace(base, ref=ref, same_as=base.ref, runtime_mismatch=mismatch)


def _with_line(base: Entry, ref: str, payload: str, line: str) -> Entry:
    """`base`'s recipe with its runtime payload at `line` (the catalogued line as a fallback)."""
    payloads = dict(base.recipe.payloads)
    kind, _, catalogued = payloads[payload].partition(":")
    if line == catalogued:
        return _alias(base, ref, base.runtime_mismatch)
    payloads[payload] = f"{kind}:{line}" if kind.startswith("cpython") else f"{kind}:{line}|{catalogued}"
    recipe = replace(base.recipe, payloads=tuple(sorted(payloads.items())))
    return replace(base, ref=ref, recipe=recipe, runtime_mismatch=None,
                   upstream_runtime=base.upstream_runtime.replace(catalogued, line, 1),
                   upstream_recipe=base.upstream_recipe.replace(f" {catalogued}/", f" {line}/", 1))


def _node(cat: Catalogue, ref: str, tag: str) -> Entry | None:
    m = re.fullmatch(r"(\d+)(?:\.\d+){0,2}((?:-[a-z0-9.]+)*)", tag)
    variant = _variant(m.group(2)) if m else None
    if variant is None:
        return None
    line = tag.split("-", 1)[0]
    return _with_line(cat.get(NODE[variant]), ref, "node", line)


def _golang(cat: Catalogue, ref: str, tag: str) -> Entry | None:
    m = re.fullmatch(r"(\d+\.\d+)(?:\.\d+)?((?:-[a-z0-9.]+)*)", tag)
    variant = _variant(m.group(2)) if m else None
    if variant not in GOLANG:
        return None
    return _with_line(cat.get(GOLANG[variant]), ref, "go", m.group(1))


def _python(cat: Catalogue, ref: str, tag: str) -> Entry | None:
    """python:3.12-slim, 3.13, 3-slim-bookworm, and the versionless slim, latest, bookworm:
    the catalogued python recipe with the asked line's pyenv CPython (Catalogue.get pins it,
    bench/bases/pyenv.py); where none fits, its fallback, Debian bookworm's CPython 3.11."""
    versionless = "" if tag == "latest" else f"-{tag}"
    m = (re.fullmatch(r"(3(?:\.\d+)?)(?:\.\d+)?((?:-[a-z0-9.]+)*)", tag)
         or re.fullmatch(r"()((?:-[a-z][a-z0-9.]*)*)", versionless))
    variant = _variant(m.group(2)) if m else None
    if variant is None:
        return None
    base = cat.entries[PYTHON[variant]]  # unpinned: the caller pins the result
    if base.unavailable:
        return replace(base, ref=ref)
    asked, newest = m.group(1), None
    if "." not in asked:  # python:slim, python:3: whatever CPython is newest upstream
        newest = pyenv.newest_line(suite=base.recipe.suite)
        if newest is None and base.fallback is not None:
            return _alias(base.fallback, ref, f"CPython {PYTHON_INSIDE} (Debian bookworm) instead of the newest "
                          "CPython 3 that a versionless tag names: no pyenv CPython build on this machine")
        asked = newest
    if asked == CATALOGUED["python"] and newest is None:
        return _alias(base, ref, base.runtime_mismatch)
    mismatch = None if asked == PYTHON_INSIDE else (
        f"CPython {PYTHON_INSIDE} (Debian bookworm) instead of {asked}: no pyenv CPython {asked} build "
        "(for glibc 2.36) on this machine")
    entry = _with_line(base, ref, "cpython", asked)
    if newest is not None:  # a versionless tag: the newest build here, which may trail upstream's newest
        entry = replace(entry, runtime_mismatch=f"CPython {newest}, the newest build on this machine; "
                        f"{ref} names the newest CPython release, which may be newer")
    fallback = replace(base.fallback, ref=ref, runtime_mismatch=mismatch,
                       upstream_runtime=entry.upstream_runtime, upstream_recipe=entry.upstream_recipe)
    return replace(entry, fallback=fallback)


def _temurin(cat: Catalogue, ref: str, tag: str) -> Entry | None:
    m = re.fullmatch(r"(\d+)[.\d_+u]*(?:-(jdk|jre))?(?:-[a-z0-9.]+)*", tag)
    if not m:
        return None
    base = cat.get(TEMURIN[m.group(2) or "jdk"])
    asked = m.group(1)
    mismatch = None if asked == JAVA_INSIDE else (
        f"Ubuntu 22.04's OpenJDK {JAVA_INSIDE} instead of Temurin {asked}: no JDK {asked} is reachable")
    return _alias(base, ref, mismatch or base.runtime_mismatch)


def _debian(cat: Catalogue, ref: str, tag: str) -> Entry | None:
    """debian:12, bookworm-slim, bookworm-20240101, latest: bookworm; trixie/13: a trixie root."""
    m = re.fullmatch(r"(bookworm|trixie|12|13|latest|stable)(?:\.\d+)?(-slim)?(?:-\d{8})?", tag)
    if not m:
        return None
    base = cat.get("debian:bookworm" + (m.group(2) or ""))
    if m.group(1) not in ("trixie", "13"):
        return _alias(base, ref, None)
    return replace(base, ref=ref, recipe=replace(base.recipe, suite="trixie"), upstream_runtime="Debian 13 (trixie)",
                   upstream_recipe=base.upstream_recipe.replace("bookworm", "trixie"),
                   upstream_structure=tuple(s.replace("bookworm", "trixie") for s in base.upstream_structure))


def _distroless(cat: Catalogue, ref: str, name: str, tag: str) -> Entry | None:
    """gcr.io/distroless/base, .../cc-debian11:latest, .../java17:debug-nonroot, ..."""
    flavour = re.sub(r"-debian1[12]$", "", name.removeprefix("gcr.io/distroless/"))
    words = set(tag.split("-"))
    if not words <= {"latest", "nonroot", "debug", "amd64"}:
        return None
    base = cat.entries.get(f"gcr.io/distroless/{flavour}-debian12" + (":nonroot" if "nonroot" in words else ""))
    if base is None:
        return None
    mismatch = None
    if name.endswith("-debian11"):
        mismatch = "Debian 12 packages instead of Debian 11: the stand-in follows the -debian12 recipe"
    if "debug" in words:
        mismatch = "no busybox shell: the :debug tag is stood in by the image without it"
    return _alias(base, ref, mismatch)


def _maven(cat: Catalogue, ref: str, tag: str) -> Entry | None:
    if not re.fullmatch(r"3(?:\.\d+){0,2}-eclipse-temurin-\d+", tag):
        return None
    base = cat.get("maven:3.9-eclipse-temurin-17")
    return _alias(base, ref, base.runtime_mismatch)


def _ubuntu(cat: Catalogue, ref: str, tag: str) -> Entry | None:
    """noble, 24.04, noble-20240423, latest: the 24.04 stand-in; another release bench knows
    (jammy/22.04, ...) the same recipe on that suite; any other tag: unavailable, saying so."""
    from bench.bases.ubuntu import CODENAMES, RELEASES

    base = cat.get("ubuntu:24.04")
    if base is None:
        return None
    m = re.fullmatch(r"([a-z]+|\d+\.\d+)(?:\.\d+)?(?:-\d{8}(?:\.\d+)?)?", tag)
    asked = m.group(1) if m else tag
    suite = "noble" if asked == "latest" else RELEASES.get(asked, asked if asked in CODENAMES else None)
    if suite == base.recipe.suite:
        return _alias(base, ref, None)
    if suite is None:
        return replace(base, ref=ref, unavailable=f"bench knows no Ubuntu release {tag!r}; use one of "
                       + ", ".join(f"ubuntu:{v}" for v in RELEASES))
    version = CODENAMES[suite]
    return replace(base, ref=ref, recipe=replace(base.recipe, suite=suite),
                   upstream_runtime=f"Ubuntu {version} ({suite})",
                   upstream_recipe=base.upstream_recipe.replace("noble", suite),
                   upstream_structure=tuple(s.replace("noble", suite) for s in base.upstream_structure),
                   release=base.release.replace("24.04", version))


RULES = {"node": _node, "golang": _golang, "python": _python, "eclipse-temurin": _temurin,
         "debian": _debian, "maven": _maven, "ubuntu": _ubuntu}


def family_entry(cat: Catalogue, ref: str) -> Entry | None:
    """The entry for `ref` made by its family's rule, None when no family covers it."""
    name, tag = _split(ref)
    name = name.removeprefix("docker.io/").removeprefix("library/")
    if name.startswith("gcr.io/distroless/"):
        return _distroless(cat, ref, name, tag)
    rule = RULES.get(name)
    return rule(cat, ref, tag) if rule else None
