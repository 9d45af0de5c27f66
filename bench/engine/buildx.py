"""`docker buildx build` argv and what its --progress=rawjson stream says.

rawjson is a stream of pretty-printed SolveStatus objects: `vertexes` (one per build step,
re-sent as it starts, completes or is found cached) and `statuses` (progress of transfers,
such as the build context). We keep the last word on each vertex.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable, Sequence

from bench import LABEL

_STEP = re.compile(r"^\[(?:(?P<stage>[^\]]+?) )?(?P<n>\d+)/(?P<of>\d+)\] (?P<instr>.*)$", re.S)


def build_argv(
    *,
    context: Path,
    dockerfile: Path,
    tag: str,
    metadata_file: Path,
    build_contexts: Sequence[str] = (),
    no_cache: bool = False,
    target: str | None = None,
    labels: dict[str, str] | None = None,
    load: bool = True,
) -> list[str]:
    argv = [
        "docker", "buildx", "build",
        "--progress=rawjson",
        "--metadata-file", str(metadata_file),
        "-f", str(dockerfile),
        "-t", tag,
        "--label", f"{LABEL}=true",
    ]
    for k, v in sorted((labels or {}).items()):
        argv += ["--label", f"{k}={v}"]
    if no_cache:
        argv.append("--no-cache")
    if target:
        argv += ["--target", target]
    argv += list(build_contexts)
    if load:
        argv.append("--load")
    argv.append(str(context))
    return argv


def iter_objects(text: str) -> Iterable[dict]:
    """Decode a stream of concatenated JSON objects; skip non-JSON lines (warnings)."""
    dec = json.JSONDecoder()
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        if text[i] != "{":
            nl = text.find("\n", i)
            i = n if nl < 0 else nl + 1
            continue
        try:
            obj, i = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            nl = text.find("\n", i)
            i = n if nl < 0 else nl + 1
            continue
        if isinstance(obj, dict):
            yield obj


def _ts(s: str | None) -> datetime | None:
    if not s:
        return None
    # Go timestamps carry nanoseconds; Python takes microseconds.
    m = re.match(r"(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", s)
    if not m:
        return None
    frac = (m.group(2) or ".0")[:7]
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    return datetime.fromisoformat(m.group(1) + frac + tz)


@dataclass(frozen=True)
class Step:
    name: str
    stage: str | None
    index: int | None  # n of "[n/of]" for Dockerfile steps, None for internal vertices
    seconds: float
    cached: bool
    error: str = ""

    @property
    def is_dockerfile_step(self) -> bool:
        return self.index is not None


@dataclass(frozen=True)
class BuildProgress:
    steps: tuple[Step, ...]
    context_transferred_bytes: int
    errors: tuple[str, ...] = field(default=())
    logs_tail: str = ""

    @property
    def dockerfile_steps(self) -> list[Step]:
        return [s for s in self.steps if s.is_dockerfile_step]

    @property
    def steps_total(self) -> int:
        return len(self.dockerfile_steps)

    @property
    def steps_cached(self) -> int:
        return sum(1 for s in self.dockerfile_steps if s.cached)


def parse_rawjson(text: str) -> BuildProgress:
    vertices: dict[str, dict] = {}
    order: list[str] = []
    context_vertices: set[str] = set()
    transferred: dict[str, int] = {}
    logs: list[str] = []
    for obj in iter_objects(text):
        for v in obj.get("vertexes") or []:
            d = v.get("digest")
            if not d:
                continue
            if d not in vertices:
                vertices[d] = {}
                order.append(d)
            vertices[d].update({k: val for k, val in v.items() if val is not None})
            if "load build context" in (v.get("name") or ""):
                context_vertices.add(d)
        for st in obj.get("statuses") or []:
            if (st.get("id") or "").startswith("transferring context"):
                key = f'{st.get("vertex")}|{st.get("id")}'
                transferred[key] = max(transferred.get(key, 0), int(st.get("current") or 0))
        for lg in obj.get("logs") or []:
            data = lg.get("data")
            if data:
                import base64

                try:
                    logs.append(base64.b64decode(data).decode("utf-8", "replace"))
                except Exception:
                    pass
    steps, errors = [], []
    for d in order:
        v = vertices[d]
        name = v.get("name", "")
        t0, t1 = _ts(v.get("started")), _ts(v.get("completed"))
        secs = (t1 - t0).total_seconds() if t0 and t1 else 0.0
        m = _STEP.match(name)
        err = v.get("error", "")
        if err:
            errors.append(f"{name}: {err}")
        steps.append(
            Step(
                name=name,
                stage=m.group("stage") if m else None,
                index=int(m.group("n")) if m else None,
                seconds=max(secs, 0.0),
                cached=bool(v.get("cached")),
                error=err,
            )
        )
    ctx = sum(b for k, b in transferred.items() if k.split("|")[0] in context_vertices) if context_vertices else sum(transferred.values())
    return BuildProgress(tuple(steps), ctx, tuple(errors), "".join(logs)[-4000:])


# --- .dockerignore ------------------------------------------------------------------------
def _pattern_regex(pat: str) -> re.Pattern:
    """moby/patternmatcher semantics, close enough for measuring: ** spans directories."""
    out, i = "", 0
    while i < len(pat):
        c = pat[i]
        if c == "*":
            if pat[i : i + 2] == "**":
                i += 2
                if pat[i : i + 1] == "/":
                    i += 1
                    out += "(?:.*/)?"
                else:
                    out += ".*"
                continue
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            j = pat.find("]", i)
            if j < 0:
                out += re.escape(c)
            else:
                out += pat[i : j + 1]
                i = j
        else:
            out += re.escape(c)
        i += 1
    return re.compile(f"^{out}(?:/.*)?$")


def read_dockerignore(path: Path | None) -> list[tuple[bool, re.Pattern]]:
    rules: list[tuple[bool, re.Pattern]] = []
    if not path or not Path(path).is_file():
        return rules
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if negate:
            line = line[1:].strip()
        import posixpath

        line = posixpath.normpath(line).lstrip("/")
        if line in ("", "."):
            continue
        rules.append((negate, _pattern_regex(line)))
    return rules


def ignored(rel: str, rules: list[tuple[bool, re.Pattern]]) -> bool:
    verdict = False
    for negate, rx in rules:
        if rx.match(rel):
            verdict = not negate
    return verdict


def context_bytes(context: Path, dockerignore: Path | None = None) -> tuple[int, int]:
    """(bytes, files) a `COPY . .` would see: the context less what .dockerignore drops.

    BuildKit only transfers what COPY asks for, and only what changed since the last
    build, so its own transfer count is not the size of the context; this is.
    """
    context = Path(context)
    if dockerignore is None and (context / ".dockerignore").is_file():
        dockerignore = context / ".dockerignore"
    rules = read_dockerignore(dockerignore)
    total = files = 0
    import os

    for root, dirs, names in os.walk(context):
        rel_root = os.path.relpath(root, context)
        rel_root = "" if rel_root == "." else rel_root + "/"
        # A directory is only skipped when no exception could re-include something in it.
        has_exceptions = any(neg for neg, _ in rules)
        if not has_exceptions:
            dirs[:] = [d for d in dirs if not ignored(rel_root + d, rules)]
        for n in names:
            rel = rel_root + n
            if ignored(rel, rules):
                continue
            try:
                st = os.lstat(os.path.join(root, n))
            except OSError:
                continue
            total += st.st_size
            files += 1
    return total, files
