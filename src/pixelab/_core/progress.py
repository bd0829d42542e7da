"""The progress protocol: compute code reports, the CLI draws the bar."""

from __future__ import annotations

from collections.abc import Callable

#: ``progress(task, done, total)`` -- called by long loops; ``total`` may be 0 when unknown.
ProgressFn = Callable[[str, int, int], None]


def no_progress(task: str, done: int, total: int) -> None:
    """A progress callback that does nothing (the default everywhere)."""


def report(progress: ProgressFn | None, task: str, done: int, total: int) -> None:
    """Call ``progress`` if one was given."""
    if progress is not None:
        progress(task, done, total)
