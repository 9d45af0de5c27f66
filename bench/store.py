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
  2  metadata carries `settings` (with the pull profiles' bandwidths) and typed `segments`
     (one per invocation, each with the commit, engine and machine that measured it); each
     cell names its segment. Schema 1 runs are read and upgraded in memory: their segments
     get the provenance they recorded (the run's own for the first, `resumed_with` after).
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

SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)
RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"

UNITS = {"s", "B", "count", "ratio", "bool"}
BASES_APP = "_bases"  # rows of scenario "base" carry this app name (docs/CONTRACTS.md)


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
    # A warmup repetition: kept, so nothing measured is thrown away, but never summarised
    # (the first cold build and the first start are the slowest: the machine's caches).
    warmup: bool = False

    def __post_init__(self):
        if self.unit not in UNITS:
            raise ValueError(f"unit {self.unit!r} is not one of {sorted(UNITS)}")
        if not isinstance(self.value, (int, float)) or isinstance(self.value, bool):
            raise ValueError(f"{self.metric}: value must be a number, got {self.value!r}")


SAMPLE_FIELDS = [f.name for f in fields(Sample)]
# Columns the store adds to every row from the cell it belongs to.
CELL_COLUMNS = ["run_id", "techniques", "bases", "bases_resolved", "standin"]
COLUMNS = ["run_id", *SAMPLE_FIELDS, "techniques", "bases", "bases_resolved", "standin"]
BOOL_COLUMNS = ["standin", "warmup"]


@dataclass
class Cell:
    """What the runner knows about one app/variant in a run."""

    app: str
    variant: str
    techniques: list[str]
    parent: str | None
    summary: str
    bases: list[str]  # as written in FROM
    # The image the built stage starts from ("scratch" included); "" in runs before it was kept.
    runtime_base: str = ""
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
    # Which segment (invocation) of the run measured it; None in runs before schema 2.
    segment: int | None = None

    @property
    def key(self) -> str:
        return f"{self.app}/{self.variant}"


class ResultsUnwritable(UserError):
    """The results folder refused a write (read-only, full, no permission)."""


def _atomic_write(path: Path, data: bytes) -> None:
    """Write a whole file or nothing: a reader never sees half of it, and a write that fails
    (a full disk) leaves the previous version in place."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise ResultsUnwritable(f"cannot write {path} ({e.strerror or e}): free space or fix permissions there, "
                                "or choose another folder with --results; everything saved before is intact") from None
    except BaseException:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True)
class Segment:
    """One invocation of `bench run` on a run (the first, and each --resume): when, and
    measured by what (bench commit, engine, machine)."""

    index: int
    started_utc: str
    ended_utc: str | None = None
    cells: int = 0
    argv: tuple[str, ...] = ()
    bench: dict = field(default_factory=dict)
    engine: dict = field(default_factory=dict)
    machine: dict = field(default_factory=dict)
    limits: dict = field(default_factory=dict)  # bench.limits.Limits, measured as the segment began

    def to_json(self) -> dict:
        d = {**asdict(self), "argv": list(self.argv)}
        if not d["limits"]:
            del d["limits"]  # segments that measured none are stored as before
        return d

    @classmethod
    def from_json(cls, d: dict, index: int) -> "Segment":
        return cls(index=int(d.get("index", index)), started_utc=d.get("started_utc", ""),
                   ended_utc=d.get("ended_utc"), cells=int(d.get("cells", 0)), argv=tuple(d.get("argv") or ()),
                   bench=dict(d.get("bench") or {}), engine=dict(d.get("engine") or {}),
                   machine=dict(d.get("machine") or {}), limits=dict(d.get("limits") or {}))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _upgrade_schema_1(metadata: dict) -> dict:
    """A schema-1 run in the schema-2 shape, in memory: settings from its plan, and each
    segment with the provenance the run recorded for it (nothing is invented: what was not
    recorded stays empty)."""
    from bench.settings import BANDWIDTHS, Settings, PullProfile

    m = dict(metadata)
    plan = m.get("plan") or {}
    if "settings" not in m and plan:
        m["settings"] = Settings(
            profile=m.get("profile", "?"), repeat=int(plan.get("repeat", 1) or 1), warmup=int(plan.get("warmup", 0)),
            scenarios=tuple(plan.get("scenarios", ())),
            pull_profiles=tuple(PullProfile(n, BANDWIDTHS.get(n)) for n in plan.get("pull_profiles", ())),
            analyze=bool(plan.get("analyze", True)), push_pull=bool(plan.get("push_pull", True)),
            bases_mode=m.get("bases_mode", "auto") if m.get("bases_mode") in ("auto", "hub", "local") else "auto",
        ).to_json()
    later = list(m.get("resumed_with") or [])
    segs = []
    for i, s in enumerate(m.get("segments") or []):
        s = dict(s)
        if i == 0:
            s.setdefault("bench", m.get("bench") or {})
            s.setdefault("engine", m.get("engine") or {})
            s.setdefault("machine", m.get("machine") or {})
            s.setdefault("argv", m.get("argv") or [])
        elif i - 1 < len(later):
            s.setdefault("bench", later[i - 1])
        segs.append(Segment.from_json(s, i).to_json())
    m["segments"] = segs
    m["schema"] = SCHEMA_VERSION
    m["read_from_schema"] = 1  # the report needs to know: schema-1 stand-ins were sized from the article
    return m


class Run:
    """A run folder: append samples per cell, rewrite files atomically each time.

    Only this class writes a run's metadata, through the methods below."""

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
    def create(cls, results_dir: Path, metadata: dict | None = None, *, settings=None,
               planned: Iterable[str] = ()) -> "Run":
        metadata = dict(metadata or {})
        run_id = metadata.get("run_id") or new_run_id()
        folder = Path(results_dir) / "runs" / run_id
        n = 1
        while folder.exists():  # runs never overwrite each other
            n += 1
            folder = Path(results_dir) / "runs" / f"{run_id}-{n}"
        metadata = {"started_utc": _now(), **metadata, "schema": SCHEMA_VERSION, "run_id": folder.name,
                    "complete": False, "segments": []}
        if settings is not None:
            metadata["settings"] = settings.to_json()
            # Kept beside the settings for readers of schema 1 (the report's provenance line).
            metadata["profile"], metadata["bases_mode"] = settings.profile, settings.bases_mode
        metadata["plan"] = {"cells": list(planned)}
        run = cls(folder, metadata, {}, [])
        run.save()
        return run

    @classmethod
    def open(cls, folder: Path) -> "Run":
        folder = Path(folder)
        meta_path = folder / "metadata.json"
        if not meta_path.is_file():
            raise UserError(f"{folder} is not a bench run (no metadata.json)")
        try:
            metadata = json.loads(meta_path.read_text())
            if not isinstance(metadata, dict):
                raise ValueError("not a JSON object")
        except ValueError as e:  # UnicodeDecodeError included
            raise UserError(f"{meta_path} is not valid JSON ({getattr(e, 'msg', None) or str(e)[:120]}): restore it from git or a backup, "
                            "or start a new run") from None
        schema = metadata.get("schema")
        if schema not in READABLE_SCHEMAS:
            raise UserError(
                f"{folder}: results schema {schema} is not one this bench reads ({', '.join(map(str, READABLE_SCHEMAS))}); "
                "re-run `python -m bench run` with this version of bench, or use the bench that wrote it"
            )
        if schema == 1:
            metadata = _upgrade_schema_1(metadata)
        cells = {}
        cells_path = folder / "cells.json"
        if cells_path.is_file():
            try:
                for c in json.loads(cells_path.read_text()):
                    cell = Cell(**c)
                    cells[cell.key] = cell
            except (ValueError, TypeError) as e:  # cut short, or not a list of cells
                raise UserError(f"{cells_path} cannot be read ({str(e).splitlines()[0][:120]}): restore it from "
                                "git or a backup, or start a new run") from None
        return cls(folder, metadata, cells, _read_csv(folder / "samples.csv"), _read_csv(folder / "superseded.csv"))

    # -- what the run is ----------------------------------------------------------------------
    @property
    def settings(self):
        from bench.settings import Settings

        d = self.metadata.get("settings")
        return Settings.from_json(d) if d else None

    @property
    def planned(self) -> list[str]:
        return list((self.metadata.get("plan") or {}).get("cells") or [])

    @property
    def segments(self) -> list[Segment]:
        return [Segment.from_json(s, i) for i, s in enumerate(self.metadata.get("segments") or [])]

    @property
    def complete(self) -> bool:
        return bool(self.metadata.get("complete"))

    def statuses(self) -> dict[str, str]:
        return {k: c.status for k, c in self.cells.items()}

    # -- invocations ------------------------------------------------------------------------------
    def extend_plan(self, keys: Iterable[str]) -> None:
        """A resumed run may be given more cells: the plan is the union, in order."""
        old = self.planned
        self.metadata.setdefault("plan", {})["cells"] = old + [k for k in keys if k not in old]

    def begin_segment(self, provenance, argv: Iterable[str] = (), *, allow_mixed: bool = False) -> Segment:
        """Start an invocation. A run is measured by one bench, engine and machine: a
        resume by another is refused with the difference named, unless allow_mixed."""
        from bench.metadata import differences

        first = self.segments[0] if self.segments else None
        if first is not None:
            diff = differences(first, provenance)
            if diff and not allow_mixed:
                raise UserError(f"run {self.run_id} was measured with {diff[0]}: resume it with that, "
                                "or pass --allow-mixed to measure the rest here (the report will say the run is mixed)")
            if diff:
                self.metadata.setdefault("mixed", []).extend(
                    f"segment {len(self.segments)}: {d}" for d in diff)
        seg = Segment(index=len(self.segments), started_utc=_now(), argv=tuple(argv), bench=dict(provenance.bench),
                      engine=dict(provenance.engine), machine=dict(provenance.machine),
                      limits=dict(getattr(provenance, "limits", None) or {}))
        self.metadata.setdefault("segments", []).append(seg.to_json())
        if first is None:  # the run's own provenance is its first segment's
            self.metadata.update(bench=seg.bench, engine=seg.engine, machine=seg.machine)
        self.save()
        return seg

    def _touch_segment(self, counted: int = 0) -> None:
        segs = self.metadata.get("segments") or []
        if segs:
            segs[-1]["ended_utc"] = _now()  # kept current: a run killed outright still has it
            segs[-1]["cells"] = int(segs[-1].get("cells", 0)) + counted

    def end_segment(self) -> None:
        self._touch_segment()
        self.save()

    def note(self, text: str) -> None:
        self.metadata.setdefault("notes", []).append(text)

    # -- cells -----------------------------------------------------------------------------------
    def record(self, cell: Cell, samples: Iterable[Sample]) -> None:
        """A measured cell, whole: its earlier rows (a half-measured attempt) are replaced,
        it is stamped with the current segment, and everything is saved at once."""
        segs = self.metadata.get("segments") or []
        cell.segment = len(segs) - 1 if segs else None
        self.drop_cell_rows(cell)
        self.set_cell(cell)
        self.add(cell, samples)
        self._touch_segment(1)
        self.save()

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
        when = _now()
        mine = [r for r in self.rows if (r["app"], r["variant"]) == (cell.app, cell.variant)]
        self.superseded += [{**r, "superseded_utc": when, "superseded_why": why,
                             "superseded_status": cell.status} for r in mine]
        self.drop_cell_rows(cell)
        cell.status, cell.reason = "pending", why
        self.note(f"{when}: {key} set aside to be measured again ({why}); its {len(mine)} earlier rows "
                  "are kept in superseded.csv")
        self.metadata["complete"] = False
        self.save()
        return len(mine)

    # -- bases ---------------------------------------------------------------------------------
    @property
    def bases(self) -> dict[str, dict]:
        return dict(self.metadata.get("bases") or {})

    def has_base_rows(self, ref: str) -> bool:
        return any(x["app"] == BASES_APP and x["variant"] == ref for x in self.rows)

    def record_base(self, ref: str, info: dict, samples: Iterable[Sample], cell: Cell) -> None:
        """What a base resolved to, and its measured rows (replacing any earlier ones)."""
        self.metadata.setdefault("bases", {})[ref] = dict(info)
        self.rows = [x for x in self.rows if not (x["app"] == BASES_APP and x["variant"] == ref)]
        samples = list(samples)
        if samples:
            self.add(cell, samples)

    # -- the end -----------------------------------------------------------------------------------
    def missing(self) -> list[str]:
        return [k for k in self.planned if self.cells.get(k) is None or self.cells[k].status == "pending"]

    def conclude(self, results_dir: Path | None = None) -> bool:
        """Complete when every planned cell is measured, failed or skipped, and at least one
        was measured: then it is the newest complete run. A run whose every cell failed or
        was skipped measured nothing: it is never complete and never `latest`."""
        missing = self.missing()
        if missing:
            self.metadata["missing_cells"] = missing
            self.save()
            return False
        self.metadata.pop("missing_cells", None)
        if self.planned and not any(c.status == "ok" for c in self.cells.values()):
            self.metadata["no_cell_measured"] = True
            self.save()
            return False
        self.metadata.pop("no_cell_measured", None)
        self.finish(results_dir)
        return True

    def save(self) -> None:
        self.metadata["updated_utc"] = _now()
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
        self.metadata["ended_utc"] = _now()
        self.save()
        results_dir = Path(results_dir) if results_dir else self.folder.parent.parent
        _atomic_write(results_dir / "latest", (self.folder.name + "\n").encode())

    def frame(self):
        import pandas as pd

        df = pd.DataFrame(self.rows, columns=COLUMNS)
        return df


def _read_csv(path: Path) -> list[dict]:
    if not (path.is_file() and path.stat().st_size):
        return []
    import pandas as pd

    if not path.read_bytes().endswith(b"\n"):  # every save ends it with one: a cut-short copy
        raise UserError(f"{path} is truncated (its last row is cut short): restore it from git or a backup; "
                        "the cells in cells.json say what it held")
    try:
        return pd.read_csv(path, keep_default_na=False).to_dict("records")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise UserError(f"{path} cannot be read ({str(e).splitlines()[0][:120]}): restore it from git or a "
                        "backup; the cells in cells.json say what it held") from None


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
