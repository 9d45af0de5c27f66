"""Measure the selected cells of a run, one by one, saving after every cell.

The runner owns the loop and its guarantees: one process measures a run at a time (a
lock), each invocation is a segment of the run with its own provenance, every finished
cell is saved before the next starts (hyperfine's rule: a later cell may fail), and Ctrl-C
or SIGTERM leave everything measured so far in place for `--resume`. What a cell is
measured with is handed in (`open_steps`), and which cells to measure is decided before
(`bench.plan.to_measure`).
"""

from __future__ import annotations

import shutil
import signal
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bench.errors import UserError
from bench.measure.builds import run_key
from bench.measure.cell import CellOutcome, Steps, measure_cell
from bench.measure.context import WORK_DIR
from bench.plan import Cell, Selection
from bench.settings import Settings
from bench.store import Cell as StoredCell
from bench.store import Run


@dataclass
class Reporter:
    """What the runner tells the person watching; the CLI plugs rich in here."""

    cell_started: Callable[[str, int, int], None] = lambda key, i, n: None
    step: Callable[[str], None] = lambda text: None
    cell_done: Callable[[StoredCell], None] = lambda cell: None
    # On --resume: how many planned cells are already done (the bar starts there, and the ETA
    # counts only the cells measured now).
    already_done: Callable[[int], None] = lambda n: None


@contextmanager
def _sigterm_as_interrupt():
    """SIGTERM ends a run like Ctrl-C does, so every context manager cleans up. SIGINT is
    Ctrl-C's even when bench was started with it ignored (a shell's background job)."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    old_term = signal.signal(signal.SIGTERM, handler)
    old_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)


REDO_NOTE = "measured again with --redo; the earlier attempt's rows are in superseded.csv"


@dataclass
class Runner:
    run: Run
    selection: Selection
    settings: Settings
    open_steps: Callable[[ExitStack, bool], Steps]  # (stack, needs_registry) -> the steps of a cell
    provenance: object  # bench.metadata.Provenance of this invocation
    argv: tuple[str, ...] = ()
    allow_mixed: bool = False
    reporter: Reporter = field(default_factory=Reporter)
    redo_because: str = "asked for with --redo"
    measure: Callable[[Cell, Steps, Settings], CellOutcome] = measure_cell
    work_dir: Path = WORK_DIR  # the lock and the app copies of this run live below it

    def execute(self) -> Run:
        from bench.engine.workdirs import hold, sweep

        sweep(self.work_dir)  # app copies, registries and cold engines of bench processes killed outright
        mine = self.work_dir / run_key(self.run.run_id, self.run.folder)
        try:
            held = hold(mine)
        except BlockingIOError:
            raise UserError(f"run {self.run.run_id} is being measured by another bench process right now: "
                            "let it finish (or stop it), then resume") from None
        try:
            self.run.begin_segment(self.provenance, self.argv, allow_mixed=self.allow_mixed)
            for key in self.selection.redo:  # only now that this process owns the run
                n = self.run.supersede(key, self.redo_because)
                self.reporter.step(f"{key}: its {n} earlier rows set aside in superseded.csv")
            self._measure_all()
            self.run.conclude()
            return self.run
        finally:
            shutil.rmtree(mine, ignore_errors=True)  # every app copy of this run lives below it
            held.release()

    def _measure_all(self) -> None:
        cells, bases = self.selection.cells, self.selection.bases
        total = self.selection.already_done + len(cells)
        with _sigterm_as_interrupt(), ExitStack() as stack:
            try:
                steps = self.open_steps(stack, bool(cells) or bool(bases))
                if self.selection.already_done:
                    self.reporter.already_done(self.selection.already_done)
                for i, cell in enumerate(cells, self.selection.already_done + 1):
                    self.reporter.cell_started(cell.key, i, total)
                    outcome = self.measure(cell, steps, self.settings)
                    record = outcome.cell
                    if cell.key in self.selection.redo:
                        record.reason = f"{record.reason}; {REDO_NOTE}" if record.reason else REDO_NOTE
                    self.run.record(record, outcome.samples)
                    self.reporter.cell_done(record)
                self._measure_bases(steps, bases)
            finally:
                self.run.end_segment()

    def _measure_bases(self, steps: Steps, bases: tuple[str, ...]) -> None:
        """The plan's reference bases no cell used, after the cells (so building them times
        nothing): resolving one records it with its sizes, or with why it is unavailable."""
        for ref in bases:
            self.reporter.step(f"reference base {ref}")
            try:
                steps.bases([ref])
            except UserError as e:  # a stand-in that cannot be built here: said, and the run goes on
                self.run.note(f"reference base {ref} was not measured: {e}")
            self.run.save()
