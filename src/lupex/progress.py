"""Progress bars (rich) for long steps, with a no-op variant for library and test use."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class Steps:
    """Factory of progress callbacks: ``with steps.task("horizons", total=360) as advance: advance(1)``."""

    def __init__(self, enabled: bool = True, console: Console | None = None):
        self.enabled = enabled
        self._progress = (
            Progress(
                TextColumn("[bold blue]{task.description:<28}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console or Console(stderr=True),
                transient=False,
            )
            if enabled
            else None
        )

    def __enter__(self) -> Steps:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    @contextlib.contextmanager
    def task(self, description: str, total: float) -> Iterator[Callable[[float], None]]:
        """A progress bar for one task of ``total`` units; yields ``advance(n=1)``, and fills the bar on exit."""
        if self._progress is None:
            yield lambda n=1: None
            return
        tid = self._progress.add_task(description, total=total)
        try:
            yield lambda n=1: self._progress.advance(tid, n)
        finally:
            self._progress.update(tid, completed=total)


NO_PROGRESS = Steps(enabled=False)
