"""What the command modules share on the console: the console itself, a progress bar, and opening the
engine or exiting with the reason it could not be opened.

Public so that every half of the ``cohortplan`` command (engine, broker, simulator) uses the same helpers
without importing another command module's private names.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from engine.bootstrap import DatabaseUnavailable, Engine, bootstrap
from engine.settings import EngineSettings

console = Console(soft_wrap=True)


def open_engine(database_url: str | None, **overrides) -> Engine:
    """The engine on this database (settings from the environment otherwise); exit code 2 if unreachable."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if database_url:
        values["database_url"] = database_url
    try:
        return bootstrap(EngineSettings(**values))
    except DatabaseUnavailable as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None


class Bar:
    """A rich progress bar that both counters (advance by n) and reporters (done, total) can drive."""

    def __init__(self, progress: Progress, task) -> None:
        self._progress, self._task = progress, task

    def __call__(self, n: int = 1, total: int | None = None) -> None:
        if total is None:
            self._progress.advance(self._task, n)
        else:
            self._progress.update(self._task, completed=n, total=total)


@contextmanager
def progress(description: str, total: int | None) -> Iterator[Bar]:
    """A progress bar on the console for the duration of the block."""
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=False) as bar:
        yield Bar(bar, bar.add_task(description, total=total))
