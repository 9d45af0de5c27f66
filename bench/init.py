"""`bench init DIR`: an existing checkout with a Dockerfile -> an app folder bench can run.

Layout written (the `--apps` layout of sample_apps/README.md, one app per folder):

    DIR/bench-app/<name>/app.toml                     port, health path, context, edit target
    DIR/bench-app/<name>/variants/original/Dockerfile a COPY of the checkout's Dockerfile
    DIR/bench-app/<name>/variants/original/variant.toml

so `bench run --apps DIR/bench-app` measures it. The context is the checkout itself
(`context = "../.."`, relative, so the checkout can move); the Dockerfile is copied, not
referenced, because a variant is a folder holding its Dockerfile: edit the copy to try a
technique, or add variants/<name>/ beside it. The checkout's .dockerignore still applies
(BuildKit reads it from the context root when no Dockerfile.dockerignore sits beside the
Dockerfile). app.toml gets no [[smoke]] requests: the default contract (a 2xx on the health
path) applies.

Guesses, each printed with where to change it:
  port         the first EXPOSE of the final stage (else of any stage); 8080 when none
  health_path  the path of the URL in a HEALTHCHECK; "/" when none
  edit target  the most recently modified source file the Dockerfile COPYs or ADDs (to the
               second; among equals code before markup, then the shallowest path), else the
               first source file of the checkout by extension; the `edit` scenario appends
               a comment line to it
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.errors import UserError

OUT_DIR = "bench-app"
VARIANT = "original"
DEFAULT_PORT = 8080
# Comment syntax per source extension, in order of preference for the fallback guess.
COMMENTS = {
    ".py": "# edited by bench", ".go": "// edited by bench", ".js": "// edited by bench",
    ".ts": "// edited by bench", ".java": "// edited by bench", ".rb": "# edited by bench",
    ".php": "// edited by bench", ".rs": "// edited by bench", ".kt": "// edited by bench",
    ".cs": "// edited by bench", ".c": "// edited by bench", ".cpp": "// edited by bench",
    ".mjs": "// edited by bench", ".jsx": "// edited by bench", ".tsx": "// edited by bench",
    ".html": "<!-- edited by bench -->", ".css": "/* edited by bench */",
}
SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv", OUT_DIR, "dist", "build", "target",
             "vendor", ".tox", ".mypy_cache", ".pytest_cache"}
LANGUAGES = (("python", "python"), ("node", "node"), ("golang", "go"), ("temurin", "java"),
             ("openjdk", "java"), ("maven", "java"), ("gradle", "java"), ("ruby", "ruby"), ("php", "php"),
             ("rust", "rust"))


@dataclass(frozen=True)
class Guess:
    """One guessed setting: its value, why, and where to change it."""

    key: str
    value: object
    why: str


@dataclass(frozen=True)
class InitPlan:
    checkout: Path
    dockerfile: Path
    name: str
    app_dir: Path
    port: Guess
    health: Guess
    edit: Guess  # value: (file relative to the checkout, line) or None
    language: str


# --------------------------------------------------------------------------------------------
# Reading the Dockerfile
# --------------------------------------------------------------------------------------------
def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per logical line: continuations joined, comments dropped."""
    out, buf = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        word, _, rest = buf.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    if buf.strip():
        word, _, rest = buf.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def _final_stage(ins: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (w, _) in enumerate(ins) if w == "FROM"]
    return ins[starts[-1]:] if starts else ins


def guess_port(ins: list[tuple[str, str]]) -> Guess:
    for scope, where in ((_final_stage(ins), "the final stage"), (ins, "an earlier stage")):
        for word, args in scope:
            if word != "EXPOSE":
                continue
            for tok in args.split():
                m = re.fullmatch(r"(\d+)(?:/(?:tcp|udp))?", tok)
                if m:
                    return Guess("port", int(m[1]), f"from EXPOSE {args} in {where}")
            return Guess("port", DEFAULT_PORT, f"EXPOSE {args} names no fixed port; {DEFAULT_PORT} assumed")
    return Guess("port", DEFAULT_PORT, f"no EXPOSE in the Dockerfile; {DEFAULT_PORT} assumed")


def guess_health(ins: list[tuple[str, str]]) -> Guess:
    for word, args in _final_stage(ins):
        if word == "HEALTHCHECK" and args.upper() != "NONE":
            m = re.search(r"https?://[^/\s'\"]+(/[^\s'\"|;&)]*)?", args)
            if m:
                return Guess("health_path", m[1] or "/", "from the URL in HEALTHCHECK")
            return Guess("health_path", "/", "the HEALTHCHECK has no URL; / assumed")
    return Guess("health_path", "/", "no HEALTHCHECK; / assumed")


def copy_sources(ins: list[tuple[str, str]]) -> list[str]:
    """What COPY and ADD take from the build context (not from stages or URLs)."""
    out = []
    for word, args in ins:
        if word not in ("COPY", "ADD"):
            continue
        if args.startswith("["):
            try:
                toks = [str(t) for t in json.loads(args)]
            except ValueError:
                continue
        else:
            toks = args.split()
        if any(t.startswith("--from") for t in toks):
            continue
        toks = [t for t in toks if not t.startswith("--")]
        out += [t for t in toks[:-1] if "://" not in t and not t.startswith("$")]
    return out


# --------------------------------------------------------------------------------------------
# The edit target
# --------------------------------------------------------------------------------------------
def _source_files(root: Path, base: Path):
    if base.is_file():
        if base.suffix in COMMENTS:
            yield base
        return
    for p in sorted(base.rglob("*")):
        rel = p.relative_to(root).parts
        if any(part in SKIP_DIRS for part in rel[:-1]):
            continue
        if p.is_file() and not p.is_symlink() and p.suffix in COMMENTS:
            yield p


def guess_edit(root: Path, sources: list[str]) -> Guess:
    copied: set[Path] = set()
    for src in sources:
        src = src.lstrip("/")
        matches = [root / src] if not any(c in src for c in "*?[") else [
            p for p in root.glob(src) if fnmatch.fnmatch(p.relative_to(root).as_posix(), src)]
        for m in matches:
            if m.exists():
                copied.update(_source_files(root, m))
    order = list(COMMENTS)
    if copied:
        # Newest to the second (a fresh clone writes every file within one); among equals,
        # code before markup, then the shallowest path: app.py before templates/index.html.
        best = min(copied, key=lambda p: (-int(p.stat().st_mtime), order.index(p.suffix), len(p.parts), p.as_posix()))
        why = "the most recently modified source file the Dockerfile copies"
    else:
        found = sorted(_source_files(root, root), key=lambda p: (order.index(p.suffix), len(p.parts), p.as_posix()))
        if not found:
            return Guess("edit", None, "no source file found; the edit scenario is skipped")
        best, why = found[0], "the first source file of the checkout by extension (the Dockerfile copies none)"
    rel = best.relative_to(root).as_posix()
    return Guess("edit", (rel, COMMENTS[best.suffix]), why)


def _language(ins: list[tuple[str, str]]) -> str:
    bases = " ".join(args.lower() for word, args in ins if word == "FROM")
    return next((lang for needle, lang in LANGUAGES if needle in bases), "other")


# --------------------------------------------------------------------------------------------
# Planning and writing
# --------------------------------------------------------------------------------------------
def app_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-.")
    if not name:
        raise UserError(f"cannot make an app name of {text!r}; pass --name NAME (letters, digits, - or _)")
    return name


def plan_init(checkout: Path, dockerfile: Path | None = None, name: str | None = None, *,
              force: bool = False) -> InitPlan:
    checkout = Path(checkout).expanduser().resolve()
    if not checkout.is_dir():
        raise UserError(f"{checkout}: no such folder; pass the checkout that holds the Dockerfile")
    df = Path(dockerfile).expanduser() if dockerfile else checkout / "Dockerfile"
    if not df.is_absolute():
        df = checkout / df
    if not df.is_file():
        raise UserError(f"{df} does not exist; pass --dockerfile PATH naming the checkout's Dockerfile")
    name = app_name(name or checkout.name)
    app_dir = checkout / OUT_DIR / name
    if app_dir.exists() and not force:
        raise UserError(f"{app_dir} already exists; edit it, or pass --force to write it again")
    ins = instructions(df.read_text(errors="replace"))
    if not any(w == "FROM" for w, _ in ins):
        raise UserError(f"{df} has no FROM line; is it a Dockerfile?")
    return InitPlan(checkout=checkout, dockerfile=df.resolve(), name=name, app_dir=app_dir, port=guess_port(ins),
                    health=guess_health(ins), edit=guess_edit(checkout, copy_sources(ins)), language=_language(ins))


def _toml_str(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid TOML basic string


def app_toml(p: InitPlan) -> str:
    lines = [
        "# Written by `bench init`; every value is a guess you may change.",
        f"name = {_toml_str(p.name)}",
        f"language = {_toml_str(p.language)}",
        f"description = {_toml_str(f'{p.checkout.name}, measured as found (bench init)')}",
        f"port = {p.port.value}  # {p.port.why}",
        f"health_path = {_toml_str(p.health.value)}  # {p.health.why}; smoke expects a 2xx here",
        '# The build context: the checkout itself, relative to this folder.',
        f"context = {_toml_str('../..')}",
        "prepare = []",
    ]
    if p.edit.value:
        file, line = p.edit.value
        lines += ["", f"# The `edit` build scenario appends this line to the file, then reverts it ({p.edit.why}).",
                  "[edit]", f"file = {_toml_str(file)}", f"append = {_toml_str(line)}"]
    else:
        lines += ["", f"# No [edit]: {p.edit.why}. Add one to time a rebuild after a source change:",
                  '# [edit]', '# file = "path/in/the/checkout"', '# append = "# edited by bench"']
    return "\n".join(lines) + "\n"


def variant_toml(p: InitPlan) -> str:
    rel = p.dockerfile.relative_to(p.checkout) if p.dockerfile.is_relative_to(p.checkout) else p.dockerfile
    return ("# Written by `bench init`.\n"
            "techniques = []\n"
            f"summary = {_toml_str(f'the checkout Dockerfile as found ({rel}), copied by bench init')}\n")


def write_app(p: InitPlan) -> Path:
    if p.app_dir.exists():  # only reached with --force: the folder bench init wrote before
        shutil.rmtree(p.app_dir)
    vdir = p.app_dir / "variants" / VARIANT
    vdir.mkdir(parents=True)
    shutil.copyfile(p.dockerfile, vdir / "Dockerfile")
    (vdir / "variant.toml").write_text(variant_toml(p))
    (p.app_dir / "app.toml").write_text(app_toml(p))
    return p.app_dir


def report_lines(p: InitPlan) -> list[str]:
    """What was guessed and where to change it, one line each."""
    toml = p.app_dir / "app.toml"
    edit = (f"edit target: {p.edit.value[0]} ({p.edit.why}); change [edit] in {toml}" if p.edit.value
            else f"edit target: none ({p.edit.why}); add [edit] to {toml}")
    return [
        f"wrote {p.app_dir}",
        f"port: {p.port.value} ({p.port.why}); change `port` in {toml}",
        f"health path: {p.health.value} ({p.health.why}; smoke expects a 2xx); change `health_path` in {toml}",
        f"variant {VARIANT}: a copy of {p.dockerfile}; edit {p.app_dir / 'variants' / VARIANT / 'Dockerfile'} "
        "or add variants/<name>/ beside it",
        f"context: {p.checkout} (context = \"../..\"); change `context` in {toml}",
        edit,
        f"next: bench list --apps {p.app_dir.parent}   then   bench run --apps {p.app_dir.parent} --results DIR",
    ]
