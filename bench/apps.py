"""Read sample apps and their variants from disk into frozen values.

Layout (any directory laid out like sample_apps/ works with `--apps DIR`):

    <apps>/<app>/app.toml                 name, port, health path, context, edit recipe,
                                          smoke contract ([[smoke]]), practical/ceiling marks
    <apps>/<app>/src/                     the build context: the app as a developer has it
    <apps>/<app>/variants/<v>/Dockerfile  one hand-written Dockerfile per technique
    <apps>/<app>/variants/<v>/variant.toml  technique tags, parent, summary
    <apps>/<app>/variants/<v>/Dockerfile.dockerignore  (optional) BuildKit's
                                          Dockerfile-specific ignore file

Base images are read from the Dockerfile's FROM lines, never declared twice.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import UserError

DEFAULT_APPS_DIR = Path(__file__).resolve().parent.parent / "sample_apps"


@dataclass(frozen=True)
class Edit:
    """The scripted one-line source change of the `edit` build scenario."""

    file: str  # relative to the context
    append: str  # a line that changes the file but not the behaviour (e.g. a comment)


@dataclass(frozen=True)
class SmokeRequest:
    """One request of an app's smoke contract and what its answer must be."""

    path: str
    status: int = 200
    method: str = "GET"
    content_type: str | None = None  # the answer's media type starts with this (parameters ignored)
    body_contains: str | None = None
    json_keys: tuple[str, ...] = ()  # the body is a JSON object holding at least these keys

    def describe(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Variant:
    app: str
    name: str
    dockerfile: Path
    techniques: tuple[str, ...]
    parent: str | None
    summary: str
    bases: tuple[str, ...]  # upstream refs as written in FROM lines, in order, no stages
    runtime_base: str = ""  # what the built stage starts from (dockerfile_runtime_base)
    target: str | None = None
    user: str | None = None  # the user the variant declares; smoke checks run as it
    # The article's "after" for this app is taken from the best variant that serves.
    dockerignore: Path | None = None

    @property
    def key(self) -> str:
        return f"{self.app}/{self.name}"


@dataclass(frozen=True)
class App:
    name: str
    root: Path
    context: Path
    port: int
    health_path: str
    language: str
    description: str
    edit: Edit | None
    variants: tuple[Variant, ...] = field(default=())
    # Shell commands run in a copy of the context before building, to recreate the
    # gitignored clutter a developer's working copy has (node_modules, .venv, build output).
    prepare: tuple[str, ...] = field(default=())
    # Requests an image must answer after its health path gave a 2xx. Empty: the default
    # contract, a 2xx on the health path and nothing more.
    smoke: tuple[SmokeRequest, ...] = field(default=())
    # The variant a team would routinely ship with this stack, and the one its authors
    # built as the most aggressive; the report still takes the measured ceiling as the
    # smallest variant that passes smoke.
    practical: str | None = None
    ceiling: str | None = None
    # The report's "before": this variant when app.toml names one, else `bloated`, else the
    # app's first variant (a user's app rarely has a bloated one).
    baseline: str | None = None

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise UserError(
            f"app {self.name!r} has no variant {name!r}; variants: "
            + ", ".join(v.name for v in self.variants)
        )


_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", re.I | re.M)


def dockerfile_bases(text: str) -> tuple[str, ...]:
    """Upstream image refs a Dockerfile names in FROM, skipping stage names and scratch."""
    stages: set[str] = set()
    refs: list[str] = []
    for m in _FROM.finditer(text):
        ref, alias = m.group(1), m.group(2)
        if ref.lower() not in stages and ref != "scratch" and ref not in refs:
            refs.append(ref)
        if alias:
            stages.add(alias.lower())
    return tuple(refs)


def dockerfile_runtime_base(text: str, target: str | None = None) -> str:
    """The image the built stage starts from, followed through stage names: the final stage
    (or `target`) of `FROM golang:1.22 AS build` / `FROM build AS test` / `FROM test` is
    golang:1.22. "scratch" for an empty base; "" when the Dockerfile has no FROM."""
    stages: dict[str, str] = {}
    last = ""
    for m in _FROM.finditer(text):
        ref, alias = m.group(1), m.group(2)
        base = stages.get(ref.lower(), ref)
        if alias:
            stages[alias.lower()] = base
        last = base
        if target and alias and alias.lower() == target.lower():
            return base
    return last


def dockerfile_user(text: str) -> str | None:
    """The USER of the final stage, if the Dockerfile sets one."""
    final = re.split(r"^\s*FROM\s", text, flags=re.I | re.M)[-1]
    users = re.findall(r"^\s*USER\s+(\S+)", final, flags=re.I | re.M)
    return users[-1] if users else None


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path} is missing: every app and variant needs one (see sample_apps/README.md)")
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path} is not valid TOML: {e}")


def _typed(path: Path, meta: dict, key: str, kind: type, default, what: str):
    """meta[key] when it has the right type (default when absent); else one line saying so."""
    value = meta.get(key, default)
    if value is not default and (not isinstance(value, kind) or isinstance(value, bool) and kind is int):
        raise UserError(f"{path}: `{key}` must be {what}, not {value!r}: fix it (see sample_apps/README.md)")
    return value


def load_variant(app: str, vdir: Path) -> Variant:
    meta = _read_toml(vdir / "variant.toml")
    dockerfile = vdir / "Dockerfile"
    if not dockerfile.is_file():
        raise UserError(f"{vdir} has no Dockerfile: add one, or remove the folder")
    text = dockerfile.read_text()
    ignore = vdir / "Dockerfile.dockerignore"
    techniques = meta.get("techniques", [])
    if isinstance(techniques, str):
        techniques = [techniques]
    if not isinstance(techniques, list) or not all(isinstance(t, str) for t in techniques):
        raise UserError(f"{vdir / 'variant.toml'}: `techniques` must be a list of names, not {techniques!r}")
    return Variant(
        app=app,
        name=vdir.name,
        dockerfile=dockerfile,
        techniques=tuple(techniques),
        parent=meta.get("parent"),
        summary=meta.get("summary", ""),
        bases=dockerfile_bases(text),
        runtime_base=dockerfile_runtime_base(text, meta.get("target")),
        target=meta.get("target"),
        user=dockerfile_user(text),
        dockerignore=ignore if ignore.is_file() else None,
    )


_SMOKE_KEYS = {"path": str, "status": int, "method": str, "content_type": str,
               "body_contains": str, "json_keys": list}


def _smoke_request(manifest: Path, i: int, entry: object) -> SmokeRequest:
    where = f"{manifest}: [[smoke]] #{i + 1}"
    if not isinstance(entry, dict):
        raise UserError(f"{where} must be a table with at least `path` (see sample_apps/README.md)")
    unknown = sorted(set(entry) - set(_SMOKE_KEYS))
    if unknown:
        raise UserError(f"{where}: unknown key {unknown[0]!r}; keys: {', '.join(_SMOKE_KEYS)}")
    if "path" not in entry:
        raise UserError(f"{where} has no `path`: add e.g. path = \"/healthz\"")
    for key, typ in _SMOKE_KEYS.items():
        value = entry.get(key)
        if value is not None and (not isinstance(value, typ) or isinstance(value, bool)):
            raise UserError(f"{where}: `{key}` must be {'an integer' if typ is int else 'a ' + typ.__name__}, "
                            f"not {value!r}")
    if not entry["path"].startswith("/"):
        raise UserError(f"{where}: `path` must start with /, not {entry['path']!r}")
    keys = entry.get("json_keys", [])
    if not all(isinstance(k, str) for k in keys):
        raise UserError(f"{where}: `json_keys` must be a list of strings, not {keys!r}")
    return SmokeRequest(path=entry["path"], status=entry.get("status", 200), method=entry.get("method", "GET").upper(),
                        content_type=entry.get("content_type"), body_contains=entry.get("body_contains"),
                        json_keys=tuple(keys))


def smoke_contract(manifest: Path, meta: dict) -> tuple[SmokeRequest, ...]:
    """The app.toml's [[smoke]] tables as values; a bad entry is a one-line UserError."""
    entries = meta.get("smoke", [])
    if not isinstance(entries, list):
        raise UserError(f"{manifest}: `smoke` must be an array of tables, written [[smoke]]")
    return tuple(_smoke_request(manifest, i, e) for i, e in enumerate(entries))


def _mark(manifest: Path, meta: dict, key: str, variants: tuple[Variant, ...]) -> str | None:
    """`practical` / `ceiling`: optional, and when given it names one of the app's variants."""
    value = meta.get(key)
    if value is None:
        return None
    names = [v.name for v in variants]
    if not isinstance(value, str) or value not in names:
        raise UserError(f"{manifest}: `{key}` must name one of its variants ({', '.join(names)}), not {value!r}")
    return value


def load_app(root: Path) -> App:
    manifest = root / "app.toml"
    meta = _read_toml(manifest)
    vroot = root / "variants"
    if not vroot.is_dir():
        raise UserError(f"{root} has no variants/ folder")
    name = meta.get("name", root.name)
    variants = tuple(  # a folder with a variant.toml is a variant: its missing Dockerfile is said
        load_variant(name, d) for d in sorted(vroot.iterdir())
        if (d / "Dockerfile").is_file() or (d / "variant.toml").is_file()
    )
    toml = root / "app.toml"
    edit = _typed(toml, meta, "edit", dict, None, "a table with `file` and `append`")
    if edit is not None and not all(isinstance(edit.get(k), str) for k in ("file", "append")):
        raise UserError(f"{toml}: [edit] needs `file` and `append` (text): fix it (see sample_apps/README.md)")
    return App(
        name=name,
        root=root,
        context=(root / meta.get("context", "src")).resolve(),
        port=_typed(toml, meta, "port", int, 8080, "a port number"),
        health_path=_typed(toml, meta, "health_path", str, "/healthz", "a path such as /healthz"),
        language=meta.get("language", name),
        description=meta.get("description", ""),
        edit=Edit(edit["file"], edit["append"]) if edit else None,
        variants=_ordered(variants),
        prepare=tuple(meta.get("prepare", ())),
        smoke=smoke_contract(manifest, meta),
        practical=_mark(manifest, meta, "practical", variants),
        ceiling=_mark(manifest, meta, "ceiling", variants),
        baseline=_mark(manifest, meta, "baseline", variants),
    )


def _ordered(variants: tuple[Variant, ...]) -> tuple[Variant, ...]:
    """Parents before children, bloated first; otherwise alphabetical."""
    by_name = {v.name: v for v in variants}

    def depth(v: Variant) -> int:
        d, seen = 0, set()
        while v.parent and v.parent in by_name and v.name not in seen:
            seen.add(v.name)
            v = by_name[v.parent]
            d += 1
        return d

    return tuple(sorted(variants, key=lambda v: (depth(v), v.name != "bloated", v.name)))


def load_apps(apps_dir: Path | None = None) -> tuple[App, ...]:
    apps_dir = Path(apps_dir or DEFAULT_APPS_DIR)
    if not apps_dir.is_dir():
        raise UserError(f"--apps {apps_dir}: no such directory")
    apps = tuple(load_app(d) for d in sorted(apps_dir.iterdir()) if (d / "app.toml").is_file())
    if not apps:
        raise UserError(f"--apps {apps_dir}: no <app>/app.toml found (see sample_apps/README.md)")
    return apps


def select(apps: tuple[App, ...], only: list[str] | None) -> list[tuple[App, Variant]]:
    """Filter by `--only APP[/VARIANT]` (repeatable, comma-separated)."""
    pairs = [(a, v) for a in apps for v in a.variants]
    if not only:
        return pairs
    wanted = [s.strip() for item in only for s in item.split(",") if s.strip()]
    names = {a.name for a in apps}
    out = []
    for w in wanted:
        app, _, var = w.partition("/")
        if app not in names:
            raise UserError(f"--only {w}: no app {app!r}; apps: {', '.join(sorted(names))}")
        for a, v in pairs:
            if a.name == app and (not var or v.name == var) and (a, v) not in out:
                out.append((a, v))
        if var and not any(a.name == app and v.name == var for a, v in pairs):
            a = next(a for a in apps if a.name == app)
            a.variant(var)  # raises a UserError listing the variants
    return out
