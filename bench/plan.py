"""apps x variants under one Settings -> the ordered cells to measure.

The plan says what a run covers; `to_measure` says which of its cells this invocation
measures (all of them for a new run; on --resume the unfinished ones, failed ones with
--retry-failed, and finished ones named with --redo). The runner only ever sees the
cells it is to measure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.apps import App, Variant
from bench.settings import Settings


@dataclass(frozen=True)
class Cell:
    app: App
    variant: Variant

    @property
    def key(self) -> str:
        return f"{self.app.name}/{self.variant.name}"


@dataclass(frozen=True)
class Plan:
    settings: Settings
    cells: tuple[Cell, ...] = field(default=())

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.cells]

    def describe(self) -> str:
        s = self.settings
        builds = len(self.cells) * (s.repeat * len(s.scenarios) + s.warmup)
        return f"{len(self.cells)} cells, {builds} builds, profile {s.profile}"


def make_plan(pairs: list[tuple[App, Variant]], settings: Settings) -> Plan:
    return Plan(settings=settings, cells=tuple(Cell(a, v) for a, v in pairs))


@dataclass(frozen=True)
class Selection:
    """The cells one invocation measures, and the finished ones it sets aside first."""

    cells: tuple[Cell, ...]
    already_done: int  # planned cells not measured now because they are finished
    redo: tuple[str, ...] = ()


def to_measure(plan: Plan, statuses: dict[str, str], *, retry_failed: bool = False,
               redo: frozenset[str] = frozenset()) -> Selection:
    """`statuses`: the stored status of each cell of the run (empty for a new run)."""
    finished = ("ok", "skipped") if retry_failed else ("ok", "failed", "skipped")
    todo, done = [], 0
    for c in plan.cells:
        if statuses.get(c.key) in finished and c.key not in redo:
            done += 1
        else:
            todo.append(c)
    redo_now = tuple(k for k in sorted(redo) if statuses.get(k, "pending") != "pending")
    return Selection(cells=tuple(todo), already_done=done, redo=redo_now)
