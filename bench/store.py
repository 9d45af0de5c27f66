"""Tidy results on disk: one folder per run, one row per measured sample.

    results/runs/<run_id>/metadata.json   schema version, machine/engine/bench metadata,
                                          bases mode and what each base resolved to
    results/runs/<run_id>/samples.csv     tidy long rows (also samples.parquet)
    results/runs/<run_id>/cells.json      one entry per app/variant: status, reason,
                                          techniques, parent, bases as written/resolved
    results/runs/<run_id>/superseded.csv  rows of cells measured again with --redo, with
                                          when and why (nothing measured is thrown away)
    results/latest                        text file naming the newest complete run

Everything is rewritten atomically (temp file + rename) after each cell, because a later
cell may fail and we would risk losing what was already measured (hyperfine's rule).

Schema history:
  1  first version.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from bench.errors import UserError

SCHEMA_VERSION = 1
RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"

UNITS = {"s", "B", "count", "ratio", "bool"}


@dataclass(frozen=True)
class Sample:
    """One measured value. Summaries are computed from these, never stored instead."""

    app: str
    variant: str
    scenario: str  # cold | warm | edit | image | push | pull | smoke | analyze | base
    metric: str  # e.g. build_wall_seconds, disk_bytes, compressed_bytes, pull_seconds
    value: float
    unit: str  # one of UNITS
    repetition: int = 0
    profile: str = ""  # bandwidth profile of a pull: loopback | 1gbit | 150mbit
    detail: str = ""  # layer "3: RUN npm ci", step name, package ecosystem, lint rule

    def __post_init__(self):
        if self.unit not in UNITS:
            raise ValueError(f"unit {self.unit!r} is not one of {sorted(UNITS)}")
        if not isinstance(self.value, (int, float)) or isinstance(self.value, bool):
            raise ValueError(f"{self.metric}: value must be a number, got {self.value!r}")


SAMPLE_FIELDS = [f.name for f in fields(Sample)]
# Columns the store adds to every row from the cell it belongs to.
CELL_COLUMNS = ["run_id", "techniques", "bases", "bases_resolved", "standin"]
COLUMNS = ["run_id", *SAMPLE_FIELDS, "techniques", "bases", "bases_resolved", "standin"]


@dataclass
class Cell:
    """What the runner knows about one app/variant in a run."""

    app: str
    variant: str
    techniques: list[str]
    parent: str | None
    summary: str
    bases: list[str]  # as written in FROM
    bases_resolved: list[str] = field(default_factory=list)  # image id/digest or stand-in tag
    standin: bool = False  # True when any base is a local stand-in
    status: str = "pending"  # pending | ok | failed | skipped
    reason: str = ""
    smoke_ok: bool | None = None
    # 1-minute load average when the cell started and ended: a busy machine explains noise.
    loadavg: list[float] = field(default_factory=list)
    # When the cell's measurement started (UTC) and how long it took, all steps included.
    started_utc: str = ""
    seconds: float | None = None
    # Where that time went: builds, image, smoke, push_pull, analysis (seconds each).
    phase_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.app}/{self.variant}"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ")


class Run:
    """A run folder: append samples per cell, rewrite files atomically each time."""

    def __init__(self, folder: Path, metadata: dict, cells: dict[str, Cell], rows: list[dict],
                 superseded: list[dict] | None = None):
        self.folder = folder
        self.metadata = metadata
        self.cells = cells
        self.rows = rows
        self.superseded = superseded or []

    @property
    def run_id(self) -> str:
        return self.metadata["run_id"]

    # -- creating and opening -------------------------------------------------------------
    @classmethod
    def create(cls, results_dir: Path, metadata: dict) -> "Run":
        run_id = metadata.get("run_id") or new_run_id()
        folder = Path(results_dir) / "runs" / run_id
        n = 1
        while folder.exists():  # runs never overwrite each other
            n += 1
            folder = Path(results_dir) / "runs" / f"{run_id}-{n}"
        metadata = {**metadata, "schema": SCHEMA_VERSION, "run_id": folder.name, "complete": False}
        run = cls(folder, metadata, {}, [])
        run.save()
        return run

    @classmethod
    def open(cls, folder: Path) -> "Run":
        folder = Path(folder)
        meta_path = folder / "metadata.json"
        if not meta_path.is_file():
            raise UserError(f"{folder} is not a bench run (no metadata.json)")
        metadata = json.loads(meta_path.read_text())
        schema = metadata.get("schema")
        if schema != SCHEMA_VERSION:
            raise UserError(
                f"{folder}: results schema {schema} is not {SCHEMA_VERSION}; "
                "re-run `python -m bench run` with this version of bench"
            )
        cells = {}
        cells_path = folder / "cells.json"
        if cells_path.is_file():
            for c in json.loads(cells_path.read_text()):
                cell = Cell(**c)
                cells[cell.key] = cell
        rows: list[dict] = []
        csv_path = folder / "samples.csv"
        if csv_path.is_file() and csv_path.stat().st_size:
            import pandas as pd

            df = pd.read_csv(csv_path, keep_default_na=False)
            rows = df.to_dict("records")
        superseded: list[dict] = []
        old_path = folder / "superseded.csv"
        if old_path.is_file() and old_path.stat().st_size:
            import pandas as pd

            superseded = pd.read_csv(old_path, keep_default_na=False).to_dict("records")
        return cls(folder, metadata, cells, rows, superseded)

    # -- writing ----------------------------------------------------------------------------
    def set_cell(self, cell: Cell) -> None:
        self.cells[cell.key] = cell

    def add(self, cell: Cell, samples: Iterable[Sample]) -> None:
        extra = {
            "run_id": self.run_id,
            "techniques": "+".join(cell.techniques),
            "bases": ";".join(cell.bases),
            "bases_resolved": ";".join(cell.bases_resolved),
            "standin": bool(cell.standin),
        }
        for s in samples:
            if (s.app, s.variant) != (cell.app, cell.variant):
                raise ValueError(f"sample for {s.app}/{s.variant} added to cell {cell.key}")
            self.rows.append({**extra, **asdict(s)})

    def drop_cell_rows(self, cell: Cell) -> None:
        self.rows = [r for r in self.rows if (r["app"], r["variant"]) != (cell.app, cell.variant)]

    def supersede(self, key: str, why: str) -> int:
        """Set a measured cell aside to be measured again: its rows move to superseded.csv
        (with when and why), the cell becomes pending. Returns how many rows moved."""
        cell = self.cells.get(key)
        if cell is None or cell.status == "pending":
            raise UserError(f"run {self.run_id} has no measured cell {key} to measure again")
        when = datetime.now(timezone.utc).isoformat(timespec="seconds")
        mine = [r for r in self.rows if (r["app"], r["variant"]) == (cell.app, cell.variant)]
        self.superseded += [{**r, "superseded_utc": when, "superseded_why": why,
                             "superseded_status": cell.status} for r in mine]
        self.drop_cell_rows(cell)
        cell.status, cell.reason = "pending", why
        self.metadata.setdefault("notes", []).append(
            f"{when}: {key} set aside to be measured again ({why}); its {len(mine)} earlier rows "
            "are kept in superseded.csv")
        self.metadata["complete"] = False
        self.save()
        return len(mine)

    def save(self) -> None:
        self.metadata["updated_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        _atomic_write(
            self.folder / "metadata.json",
            json.dumps(self.metadata, indent=2, sort_keys=True, default=str).encode(),
        )
        _atomic_write(
            self.folder / "cells.json",
            json.dumps([asdict(c) for c in self.cells.values()], indent=2).encode(),
        )
        df = self.frame()
        _atomic_write(self.folder / "samples.csv", df.to_csv(index=False).encode())
        if self.superseded:
            import pandas as pd

            _atomic_write(self.folder / "superseded.csv", pd.DataFrame(self.superseded).to_csv(index=False).encode())
        try:
            import io

            buf = io.BytesIO()
            df.to_parquet(buf, index=False)
            _atomic_write(self.folder / "samples.parquet", buf.getvalue())
        except ImportError:  # pyarrow missing: CSV is the source of truth anyway
            pass

    def finish(self, results_dir: Path | None = None) -> None:
        self.metadata["complete"] = True
        self.metadata["ended_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.save()
        results_dir = Path(results_dir) if results_dir else self.folder.parent.parent
        _atomic_write(results_dir / "latest", (self.folder.name + "\n").encode())

    def frame(self):
        import pandas as pd

        df = pd.DataFrame(self.rows, columns=COLUMNS)
        return df


def find_run(results_dir: Path, which: str | None = None, *, complete: bool = True) -> Path:
    """A run folder by id or path; by default the newest complete run."""
    results_dir = Path(results_dir)
    if which:
        p = Path(which)
        if p.is_dir() and (p / "metadata.json").is_file():
            return p
        p = results_dir / "runs" / which
        if (p / "metadata.json").is_file():
            return p
        raise UserError(f"no run {which!r} under {results_dir}/runs; `ls {results_dir}/runs` lists them")
    latest = results_dir / "latest"
    if complete and latest.is_file():
        p = results_dir / "runs" / latest.read_text().strip()
        if (p / "metadata.json").is_file():
            return p
    runs = sorted((results_dir / "runs").glob("*/metadata.json"), reverse=True)
    for m in runs:
        meta = json.loads(m.read_text())
        if meta.get("complete") or not complete:
            return m.parent
    raise UserError(f"no {'complete ' if complete else ''}run under {results_dir}/runs: run `python -m bench run` first")
