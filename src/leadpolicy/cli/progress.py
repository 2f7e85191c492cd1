"""The progress bar of long commands, drawn by rich on a terminal's stderr (see `shared.progress_bar`, which
decides whether there is one)."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import time
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Column
from rich.text import Text


class CountColumn(ProgressColumn):
    """DONE/TOTAL UNIT, with thousands separators (TOTAL: ? until it is known)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        total = f"{int(task.total):,}" if task.total is not None else "?"
        return Text(f"{int(task.completed):,}/{total} {self.unit}", style="progress.download")


def rate_text(speed: float) -> str:
    """A speed as few characters as it reads: `98,765`, then `1.1M` from a million a second on (DuckDB scores
    a million rows a second, and `1,081,314 rows/s` left the file's name no room on an 80-column line)."""
    return f"{speed:,.0f}" if speed < 999_999.5 else f"{speed / 1_000_000:,.1f}M"


class RateColumn(ProgressColumn):
    """UNIT/s, as rich measures the task's speed."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{rate_text(speed)} {self.unit}/s" if speed is not None else f"- {self.unit}/s")


def _columns(unit: str) -> list[ProgressColumn]:
    """The bar's columns, on one line as wide as the terminal: the description takes what the others leave
    (cut short with an ellipsis), which never wrap; the bar itself is 20 wide."""
    fixed = [CountColumn(unit), RateColumn(unit), TextColumn("ETA"), TimeRemainingColumn()]
    for column in fixed:
        column._table_column = Column(no_wrap=True)
    return [TextColumn("{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
            BarColumn(bar_width=20, table_column=Column(no_wrap=True, width=20)), *fixed]


@contextlib.contextmanager
def terminal_progress(description: str, unit: str) -> Iterator[Callable[[int, int | None], None]]:
    """Yields update(done, total). With NO_COLOR (set and not empty, as https://no-color.org says) the line
    is redrawn after a carriage return only, with no ANSI escape: rich's live display moves and hides the
    cursor with escapes, so there rich only renders the line."""
    plain = bool(os.environ.get("NO_COLOR"))
    console = Console(file=io.StringIO(), width=shutil.get_terminal_size().columns - 1, no_color=True,
                      color_system=None) if plain else Console(stderr=True)
    progress = Progress(*_columns(unit), console=console, auto_refresh=not plain, redirect_stdout=False,
                        expand=True)
    task = progress.add_task(description, total=None)
    drawn = {"at": 0.0, "width": 0}

    def draw(final: bool = False) -> None:
        if not final and time.monotonic() - drawn["at"] < 0.1:
            return
        with console.capture() as captured:
            console.print(progress.make_tasks_table(progress.tasks))
        line = captured.get().rstrip("\n")
        sys.stderr.write("\r" + line.ljust(int(drawn["width"])) + ("\n" if final else ""))
        sys.stderr.flush()
        drawn.update(at=time.monotonic(), width=len(line))

    def update(done: int, total: int | None) -> None:
        progress.update(task, completed=done, total=total)
        if plain:
            draw()

    if not plain:
        progress.start()
    try:
        yield update
    finally:
        if plain:
            draw(final=True)
        else:
            progress.stop()
