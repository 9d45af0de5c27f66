"""apps x variants under one Settings -> the ordered cells to measure.

The plan says what a run covers; `to_measure` says which of its cells this invocation
measures (all of them for a new run; on --resume the unfinished ones, failed ones with
--retry-failed, and finished ones named with --redo). The runner only ever sees the
cells it is to measure.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from bench.apps import App, Variant
from bench.errors import UserError
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
    # Bases measured whether or not a cell builds on them: the article's base-image table,
    # for a run of the whole bundled matrix (see `reference_bases`).
    bases: tuple[str, ...] = field(default=())

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.cells]

    def describe(self) -> str:
        s = self.settings
        builds = len(self.cells) * (s.repeat * len(s.scenarios) + s.warmup)
        bases = f", {len(self.bases)} reference bases" if self.bases else ""
        return f"{len(self.cells)} cells, {builds} builds{bases}, profile {s.profile}"


def make_plan(pairs: list[tuple[App, Variant]], settings: Settings, bases: tuple[str, ...] = ()) -> Plan:
    return Plan(settings=settings, cells=tuple(Cell(a, v) for a, v in pairs), bases=tuple(dict.fromkeys(bases)))


def reference_bases() -> tuple[str, ...]:
    """The refs of the article's base-image table (its `base_size` claims), in its order:
    a run of the whole bundled matrix measures each of them, used by a cell or not, so
    every row of that table is measured (a stand-in, labelled, where no registry answers)."""
    from bench.report.claims_data import load_claims_file

    return tuple(dict.fromkeys(c["ref"] for c in load_claims_file()["claims"] if c.get("kind") == "base_size"))


def rotated(items: list, k: int) -> list:
    """`items` rotated left by k: repetition k of a scenario or pull-profile sequence, so
    that none always runs first (a first build or pull warms caches for what follows)."""
    k = k % len(items) if items else 0
    return list(items[k:]) + list(items[:k])


@dataclass(frozen=True)
class Selection:
    """The cells one invocation measures, and the finished ones it sets aside first."""

    cells: tuple[Cell, ...]
    already_done: int  # planned cells not measured now because they are finished
    redo: tuple[str, ...] = ()
    bases: tuple[str, ...] = ()  # reference bases of the plan the run has not recorded yet


def to_measure(plan: Plan, statuses: dict[str, str], *, retry_failed: bool = False,
               redo: frozenset[str] = frozenset(), recorded_bases=frozenset()) -> Selection:
    """`statuses`: the stored status of each cell of the run (empty for a new run);
    `recorded_bases`: the bases the run has recorded already."""
    finished = ("ok", "skipped") if retry_failed else ("ok", "failed", "skipped")
    todo, done = [], 0
    for c in plan.cells:
        if statuses.get(c.key) in finished and c.key not in redo:
            done += 1
        else:
            todo.append(c)
    redo_now = tuple(k for k in sorted(redo) if statuses.get(k, "pending") != "pending")
    bases = tuple(b for b in plan.bases if b not in recorded_bases)
    return Selection(cells=tuple(todo), already_done=done, redo=redo_now, bases=bases)


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as `--shard I/N` writes it
    of: int

    @classmethod
    def parse(cls, text: str) -> "Shard":
        i, sep, n = text.partition("/")
        if not (sep and i.isdigit() and n.isdigit() and 1 <= int(i) <= int(n)):
            raise UserError(f"--shard {text}: write I/N with 1 <= I <= N, e.g. --shard 2/4")
        return cls(int(i), int(n))

    def __str__(self) -> str:
        return f"{self.index}/{self.of}"


def shard_of(plan: Plan, shard: Shard, cost: dict[str, float] | None = None) -> Plan:
    """The cells of one shard. Deterministic: the same plan, shard and costs give the same
    cells on every machine. With `cost` (seconds per cell key, from an earlier run), cells
    go, longest first, to the shard with the least cost so far (LPT scheduling); cells the
    earlier run did not measure cost the median of those it did. Without, round-robin over
    the plan's order, which balances the count."""
    keys = plan.keys
    if not cost:
        mine = {k for j, k in enumerate(keys) if j % shard.of == shard.index - 1}
    else:
        known = sorted(v for v in cost.values() if v and v > 0) or [1.0]
        typical = known[len(known) // 2]
        load = [0.0] * shard.of
        owner: dict[str, int] = {}
        for k in sorted(keys, key=lambda k: (-(cost.get(k) or typical), keys.index(k))):
            j = min(range(shard.of), key=lambda s: (load[s], s))
            owner[k] = j
            load[j] += cost.get(k) or typical
        mine = {k for k, j in owner.items() if j == shard.index - 1}
    return replace(plan, cells=tuple(c for c in plan.cells if c.key in mine))
