"""A rich progress display: the cell, the step, and an ETA."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from bench.runner import Reporter


class RichReporter(Reporter):
    def __init__(self, total: int):
        console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]{task.fields[cell]}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
            TextColumn("{task.fields[step]}"), console=console, transient=False,
        )
        self.task = self.progress.add_task("run", total=total, cell="", step="")
        self.console = console

    def __enter__(self):
        self.progress.start()
        # While the bar is live, a log line written straight to stderr lands inside it:
        # route the root logger's records through the bar's console instead.
        root = logging.getLogger()
        self._handlers = root.handlers[:]
        handler = RichHandler(console=self.progress.console, show_time=False, show_path=False, markup=False)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        root.handlers = [handler]
        return self

    def __exit__(self, *exc):
        logging.getLogger().handlers = self._handlers
        self.progress.stop()

    def already_done(self, n):
        # One jump before any measured cell: rich leaves a task's first sample out of its speed.
        self.progress.update(self.task, completed=n)

    def cell_started(self, key, i, n):
        self.progress.update(self.task, cell=key, step="")

    def step(self, text):
        self.progress.update(self.task, step=text[-70:])

    def cell_done(self, cell):
        self.progress.advance(self.task)
        colour = {"ok": "green", "failed": "red", "skipped": "yellow"}.get(cell.status, "white")
        msg = f"[{colour}]{cell.status:7}[/] {cell.key}"
        if cell.reason:
            msg += f"  ({escape(cell.reason[:150])})"  # a reason is text: "[[alias]]" is no markup
        self.progress.console.print(msg)
