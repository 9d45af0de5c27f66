"""The table `bench run` prints at the end: medians per variant."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bench.stats import summarize


def _mb(b):
    return f"{b / 1e6:,.1f} MB" if b == b else ""


def _median(df, **where):
    sel = df
    for k, v in where.items():
        sel = sel[sel[k] == v]
    return summarize(sel["value"]).median if len(sel) else float("nan")


def print_summary(run) -> None:
    df = run.frame()
    t = Table(title=f"run {run.run_id} (medians)")
    for col in ("app", "variant", "status", "on disk", "compressed", "layers", "cold s", "warm s", "edit s",
                "pull s", "smoke", "bases"):
        t.add_column(col, justify="right" if col not in ("app", "variant", "status", "bases", "smoke") else "left")
    for cell in run.cells.values():
        if cell.app == "_bases":
            continue
        d = df[(df.app == cell.app) & (df.variant == cell.variant)]
        f = lambda **w: _median(d, **w)  # noqa: E731
        pull = f(metric="pull_seconds", profile="loopback")
        smoke = "" if cell.smoke_ok is None else ("ok" if cell.smoke_ok else "FAIL")
        bases = ", ".join(cell.bases) or "scratch"
        if cell.standin:
            bases += " (stand-in)"
        t.add_row(cell.app, cell.variant, cell.status, _mb(f(metric="disk_bytes")), _mb(f(metric="compressed_bytes")),
                  _fmt(f(metric="layers"), "{:.0f}"), _fmt(f(scenario="cold", metric="build_wall_seconds")),
                  _fmt(f(scenario="warm", metric="build_wall_seconds")), _fmt(f(scenario="edit", metric="build_wall_seconds")),
                  _fmt(pull), smoke, bases)
    Console().print(t)
    for cell in run.cells.values():
        if cell.status in ("failed", "skipped") and cell.app != "_bases":
            Console().print(f"{cell.status}: {cell.key}: {escape(cell.reason)}")  # reasons hold [[alias]]
    Console().print(closing_lines(run), highlight=False)


def closing_lines(run) -> str:
    """How long it took, and what to do next."""
    from bench.report.fmt import duration
    from bench.report.load import wall_time

    lines = []
    run_ref = run.run_id + _results_flag(run)
    w = wall_time(run.metadata)
    if w:
        lines.append(f"wall time: {duration(w[0])}" + (f" over {w[1]} invocations" if w[1] > 1 else ""))
    missing = run.metadata.get("missing_cells") or []
    if missing:
        lines.append(f"incomplete: {len(missing)} cells not measured; continue with "
                     f"`python -m bench run --resume {run_ref}`")
    if run.metadata.get("no_cell_measured"):
        lines.append("no cell was measured: every cell failed or was skipped (the reasons are above); fix them, "
                     f"then `python -m bench run --resume {run_ref} --retry-failed`")
    else:
        lines.append(f"report: `python -m bench report {run_ref}`")
    return "\n".join(lines)


def _results_flag(run) -> str:
    """` --results DIR` when the run is not under the project's results/, where report looks by default."""
    from bench.store import RESULTS_DIR

    folder = getattr(run, "folder", None)
    if folder is None or Path(folder).resolve().parents[1] == RESULTS_DIR:
        return ""
    return f" --results {Path(folder).resolve().parents[1]}"


def _fmt(x, f="{:.1f}"):
    return f.format(x) if x == x else ""
