"""``pixelab tour``: the lecture as one HTML report, computed on built-in data."""

from __future__ import annotations

import typer

from pixelab.cli._options import JsonFlag
from pixelab.cli._ui import out_console, print_json, progress_bar


def tour(
    quick: bool = typer.Option(
        False, "--quick", help="A smaller, faster tour (about 3 minutes on 2 cores)."
    ),
    out: str = typer.Option(
        "runs/tour", "--out", help="Folder for report.html, figures and metrics."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    json: JsonFlag = False,
) -> None:
    """Walk through the lecture on real data and write OUT/report.html (figures embedded)."""
    from pixelab.apps.tour import run_tour

    with progress_bar(quiet=json) as progress:
        metrics = run_tour(out, quick=quick, seed=seed, progress=progress)
    if json:
        print_json(metrics)
        return
    out_console.print(f"tour finished in {metrics['total_seconds']:.0f} s")
    out_console.print(f"open {out}/report.html")
