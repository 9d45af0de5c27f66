"""Numbers for people: decimal units, as `docker images` and the article print them."""

from __future__ import annotations

import math

import pandas as pd


def missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def size(v, digits: int = 3) -> str:
    """1_240_000_000 -> '1.24 GB' (1 GB = 10^9 B, as docker prints sizes)."""
    if missing(v):
        return "–"
    v = float(v)
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(v) >= div:
            return f"{_sig(v / div, digits)} {unit}"
    return f"{v:.0f} B"


def _sig(x: float, digits: int) -> str:
    if x == 0:
        return "0"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(x)))))
    return f"{x:.{decimals}f}"


def seconds(v) -> str:
    if missing(v):
        return "–"
    v = float(v)
    if v >= 100:
        return f"{v:.0f} s"
    if v >= 10:
        return f"{v:.1f} s"
    return f"{v:.2f} s"


def duration(v) -> str:
    """A long span of seconds as people say it: 42 s, 7 min 5 s, 2 h 14 min."""
    if missing(v):
        return "–"
    v = int(round(float(v)))
    if v < 60:
        return f"{v} s"
    if v < 3600:
        return f"{v // 60} min {v % 60} s"
    return f"{v // 3600} h {v % 3600 // 60} min"


def count(v) -> str:
    return "–" if missing(v) else f"{float(v):.0f}"


def ratio(v) -> str:
    return "–" if missing(v) else f"{float(v):.1%}"


def percent(v, digits: int = 0) -> str:
    """0.853 -> '85%'."""
    return "–" if missing(v) else f"{float(v) * 100:.{digits}f}%"


def signed_percent(v, digits: int = 0) -> str:
    return "–" if missing(v) else f"{float(v) * 100:+.{digits}f}%"


def by_unit(v, unit: str) -> str:
    return {"B": size, "s": seconds, "count": count, "ratio": ratio,
            "bool": lambda x: "–" if missing(x) else ("yes" if float(x) >= 0.5 else "no")}.get(
        unit, lambda x: "–" if missing(x) else f"{x:g}")(v)


def markdown_table(df: pd.DataFrame, align: dict[str, str] | None = None) -> str:
    """A GitHub table from a frame of already formatted strings."""
    if df is None or df.empty:
        return "_(nothing measured)_\n"
    align = align or {}
    cols = [str(c) for c in df.columns]

    def cell(x) -> str:
        s = "" if missing(x) else str(x)
        return s.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cols) + " |",
             "|" + "|".join(("---:" if align.get(c) == "r" else "---") for c in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(x) for x in row) + " |")
    return "\n".join(lines) + "\n"
