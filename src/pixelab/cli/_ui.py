"""Terminal helpers for the CLI: rich progress bars, tables, JSON output, run-folder names."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import time
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

err_console = Console(stderr=True)
out_console = Console()


@contextlib.contextmanager
def progress_bar(*, quiet: bool = False) -> Iterator[Any]:
    """Yield a ``progress(task, done, total)`` callback that drives rich bars on stderr."""
    if quiet:
        yield None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(task: str, done: int, total: int) -> None:
            if task not in tasks:
                tasks[task] = bar.add_task(task, total=total or None)
            bar.update(tasks[task], completed=done, total=total or None)

        yield progress


def print_json(obj: Any) -> None:
    """Print ``obj`` as one JSON object on stdout."""
    from pixelab._core.io import to_jsonable

    sys.stdout.write(json.dumps(to_jsonable(obj)) + "\n")


def default_of(
    config: type, name: str, *, none: str = "none", true: str = "on", false: str = "off"
) -> str:
    """``[default: X]`` for an option's help: a config field's default, escaped for rich markup.

    ``none``, ``true`` and ``false`` say what None, True and False mean for this option.

    >>> print(default_of(dataclasses.make_dataclass("C", [("epochs", int, 10)]), "epochs"))
    \\[default: 10]
    """
    from rich.markup import escape

    field = next(f for f in dataclasses.fields(config) if f.name == name)
    value = field.default
    if value is dataclasses.MISSING:
        value = field.default_factory()  # type: ignore[misc]
    if value is None:
        shown = none
    elif isinstance(value, bool):
        shown = true if value else false
    else:
        shown = str(value)
    return escape(f"[default: {shown}]")


def default_out(kind: str) -> str:
    """``runs/<kind>-<YYYYmmdd-HHMMSS>``: a fresh run folder name."""
    return f"runs/{kind}-{time.strftime('%Y%m%d-%H%M%S')}"


def table(title: str, headers: list[str], rows: list[list[Any]]) -> None:
    """Print a simple rich table on stdout."""
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for h in headers:
        t.add_column(h, min_width=len(h), overflow="fold")  # a header is never cut short
    for r in rows:
        t.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in r])
    out_console.print(t)


def print_skipped(skipped: list[dict[str, Any]], *, label: str = "skipped") -> None:
    """One yellow line on stderr per file or folder a command left out, with the reason."""
    for s in skipped:
        err_console.print(
            f"[yellow]{label}:[/] {s['path']}: {s['reason']}", highlight=False, soft_wrap=True
        )


def print_predictions(result: dict[str, Any], *, title: str, json: bool) -> None:
    """Skipped files as yellow lines on stderr, then the top classes per image (table or JSON)."""
    print_skipped(result["skipped"])
    if json:
        print_json(result)
        return
    preds = result["predictions"]
    rows = [[r["path"], *[f"{t['class']} {t['probability']:.1%}" for t in r["top"]]] for r in preds]
    table(title, ["image", *[f"#{i + 1}" for i in range(len(preds[0]["top"]))]], rows)


def floats(text: str, option: str) -> list[float]:
    """Numbers separated by commas ("0.3,0.6") from an option, or one clear error naming it."""
    from pixelab._core.errors import PixelabError

    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise PixelabError(f"{option} must be numbers separated by commas, got {text!r}") from None
