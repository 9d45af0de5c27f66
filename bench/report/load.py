"""A stored run -> DataFrames. The report reads results only; it never asks the engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from bench.errors import UserError
from bench.store import COLUMNS, RESULTS_DIR, Run, find_run

BASES_APP = "_bases"  # scenario "base" rows carry this app name (docs/CONTRACTS.md)
STR_COLUMNS = ["run_id", "app", "variant", "scenario", "metric", "unit", "profile", "detail",
               "techniques", "bases", "bases_resolved"]


def _truthy(v) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in {"true", "1", "yes"}
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return False
    return bool(v)


@dataclass(frozen=True)
class Provenance:
    """Where a number comes from; printed under every chart and at the top of every report."""

    run_id: str
    date: str
    engine: str
    buildkit: str
    buildx: str
    machine: str
    bases_mode: str
    standin: bool
    bench: str
    synthetic: bool = False
    complete: bool = True

    def line(self) -> str:
        parts = [
            f"run {self.run_id} ({self.date})",
            f"Docker Engine {self.engine}, BuildKit {self.buildkit}, buildx {self.buildx}",
            self.machine,
            f"bases: {self.bases_mode}" + (", stand-in bases" if self.standin else ""),
            self.bench,
        ]
        if not self.complete:
            parts.insert(0, "INCOMPLETE RUN")
        if self.synthetic:
            parts.insert(0, "SYNTHETIC FIXTURE, NOT MEASURED")
        return " · ".join(parts)

    def __str__(self) -> str:
        return self.line()


def provenance_of(metadata: dict, samples: pd.DataFrame | None = None,
                  cells: pd.DataFrame | None = None) -> Provenance:
    eng = metadata.get("engine") or {}
    mach = metadata.get("machine") or {}
    b = metadata.get("bench") or {}
    started = str(metadata.get("started_utc") or "")
    try:
        date = datetime.fromisoformat(started).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        date = started or "date unknown"
    mem = mach.get("memory_bytes")
    mem_s = f", {float(mem) / 2**30:.0f} GiB" if isinstance(mem, (int, float)) else ""
    machine = f"{mach.get('cpus', '?')} CPU {mach.get('cpu_model', 'unknown CPU')}{mem_s}"
    commit = str(b.get("git_commit") or "")[:7]
    bench = f"bench {b.get('version', '?')}"
    if commit:
        bench += f" ({commit}{', dirty' if _truthy(b.get('git_dirty')) else ''})"
    standin = any(_truthy(v.get("standin")) for v in (metadata.get("bases") or {}).values()
                  if isinstance(v, dict))
    if samples is not None and "standin" in samples and len(samples):
        standin = standin or bool(samples["standin"].map(_truthy).any())
    if cells is not None and "standin" in cells and len(cells):
        standin = standin or bool(cells["standin"].map(_truthy).any())
    return Provenance(
        run_id=str(metadata.get("run_id", "?")),
        date=date,
        engine=str(eng.get("server", "?")),
        buildkit=str(eng.get("buildkit", "?")),
        buildx=str(eng.get("buildx", "?")),
        machine=machine,
        bases_mode=str(metadata.get("bases_mode", "?")),
        standin=standin,
        bench=bench,
        synthetic=_truthy(metadata.get("synthetic")),
        complete=_truthy(metadata.get("complete")),
    )


@dataclass
class RunData:
    """One run as DataFrames: `samples` (tidy rows), `cells` (one per app/variant)."""

    folder: Path
    metadata: dict
    samples: pd.DataFrame
    cells: pd.DataFrame
    provenance: Provenance

    @property
    def run_id(self) -> str:
        return self.provenance.run_id

    @property
    def superseded(self) -> dict | None:
        """{"by": run id, "why": text} when the results folder's superseded.toml lists this run."""
        return superseded_runs(Path(self.folder).parent.parent).get(Path(self.folder).name)

    @property
    def apps(self) -> list[str]:
        return list(dict.fromkeys(self.cells["app"])) if len(self.cells) else sorted(
            set(self.samples["app"]) - {BASES_APP})


def tidy(df: pd.DataFrame) -> pd.DataFrame:
    """Column types the report relies on, whatever file the rows came from."""
    df = df.copy()
    for c in COLUMNS:
        if c not in df:
            df[c] = "" if c in STR_COLUMNS else 0
    for c in STR_COLUMNS:
        df[c] = df[c].astype(object).where(df[c].notna(), "").astype(str)
    df["value"] = pd.to_numeric(df["value"], errors="coerce").astype(float)
    df["repetition"] = pd.to_numeric(df["repetition"], errors="coerce").fillna(0).astype(int)
    for c in ("standin", "warmup"):
        df[c] = df[c].map(_truthy).astype(bool)
    return df[COLUMNS + [c for c in df.columns if c not in COLUMNS]]


CELL_COLUMNS = ["app", "variant", "status", "reason", "techniques", "parent", "summary", "bases",
                "runtime_base", "bases_resolved", "standin", "smoke_ok", "started_utc", "seconds", "phase_seconds", "segment"]


def cells_frame(run: Run) -> pd.DataFrame:
    rows = []
    for c in run.cells.values():
        if c.app == BASES_APP:  # base images are rows of scenario "base", not cells of an app
            continue
        rows.append({
            "app": c.app, "variant": c.variant, "status": c.status, "reason": c.reason or "",
            "techniques": "+".join(c.techniques or []), "parent": c.parent or "",
            "summary": c.summary or "", "bases": ";".join(b or "" for b in c.bases or []),
            "runtime_base": c.runtime_base or "",
            # an unavailable base (Alpine offline) resolved to nothing
            "bases_resolved": ";".join(b or "unavailable" for b in c.bases_resolved or []), "standin": bool(c.standin),
            "smoke_ok": c.smoke_ok, "started_utc": c.started_utc or "",
            "seconds": c.seconds if c.seconds is not None else float("nan"),
            "phase_seconds": dict(c.phase_seconds or {}),
            "segment": c.segment,
        })
    return pd.DataFrame(rows, columns=CELL_COLUMNS)


def wall_time(metadata: dict) -> tuple[float, int] | None:
    """Seconds the run spent measuring, summed over its segments (the first invocation and
    each --resume), and how many segments; None when the run did not record them."""
    from datetime import datetime

    segs = [dict(s) for s in metadata.get("segments") or [] if s.get("started_utc")]
    # The last invocation may still be running, or have been killed outright: count it up to
    # the run's last save.
    if segs and not segs[-1].get("ended_utc") and metadata.get("updated_utc"):
        segs[-1]["ended_utc"] = metadata["updated_utc"]
    segs = [s for s in segs if s.get("ended_utc")]
    if not segs:
        return None
    total = sum((datetime.fromisoformat(s["ended_utc"]) - datetime.fromisoformat(s["started_utc"])).total_seconds()
                for s in segs)
    return total, len(segs)


def load_run(which: str | Path | None = None, results_dir: str | Path | None = None) -> RunData:
    """A run by folder path or id (default: the newest complete run under results_dir).

    Raises UserError (one line, says what to do) when there is no such run.
    """
    results_dir = Path(results_dir) if results_dir else RESULTS_DIR
    folder = find_run(results_dir, str(which) if which else None)
    run = Run.open(folder)
    samples = tidy(run.frame())
    cells = cells_frame(run)
    prov = provenance_of(run.metadata, samples, cells)
    samples.attrs["provenance"] = prov.line()
    if run.settings is not None:  # the bandwidths this run's pulls were throttled to
        samples.attrs["bandwidths"] = run.settings.bandwidths
    return RunData(folder=Path(folder), metadata=run.metadata, samples=samples, cells=cells,
                   provenance=prov)


SUPERSEDED_FILE = "superseded.toml"


def superseded_runs(results_dir: Path) -> dict[str, dict]:
    """The runs a results folder marks as superseded (results/superseded.toml), by run id:
    [[run]] entries with `id`, `by` (the run that replaces it) and `why`."""
    import tomllib

    path = Path(results_dir) / SUPERSEDED_FILE
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path} is not valid TOML ({e}); fix the line it names")
    out = {}
    for r in data.get("run", []):
        if not {"id", "by", "why"} <= set(r):
            raise UserError(f"{path}: each [[run]] needs id, by and why (got {sorted(r)})")
        out[str(r["id"])] = {"by": str(r["by"]), "why": str(r["why"])}
    return out
