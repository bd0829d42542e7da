"""``pixelab features``: see what a hand-made feature sees in one image."""

from __future__ import annotations

from typing import Any

import typer

from pixelab.cli._options import JsonFlag
from pixelab.cli._ui import out_console, print_json

app = typer.Typer(help="Hand-made features: HOG, SIFT, edges, corners.", no_args_is_help=True)

KINDS = ("hog", "sift", "edges", "corners")


def load_image_arg(image: str) -> Any:
    """An image file path, or the name of a built-in sample photo (e.g. chelsea)."""
    from pathlib import Path

    from pixelab._core.errors import PixelabError
    from pixelab.data import photo, photo_names, read_image

    if Path(image).is_file():
        return read_image(image)
    if Path(image).is_dir():
        raise PixelabError(
            f"{image} is a folder; give one image file or a sample photo name",
            hint=f"the sample photos are: {', '.join(photo_names())}",
        )
    if image in photo_names():
        return photo(image)
    raise PixelabError(
        f"{image}: no such file or sample photo",
        hint=f"give an image path or one of: {', '.join(photo_names())}",
    )


@app.command("show")
def show_cmd(
    kind: str = typer.Argument(..., help="hog, sift, edges or corners."),
    image: str = typer.Argument(..., help="An image file, or a sample photo name (e.g. chelsea)."),
    out: str = typer.Option("runs/features", "--out", help="Folder for the figure and metrics."),
    max_side: int = typer.Option(
        512,
        "--max-side",
        help="Shrink larger images to this side first (HOG cells stay visible).",
    ),
    cell: int = typer.Option(8, "--cell", help="HOG cell size in pixels."),
    seed: int = typer.Option(0, "--seed", help="Random seed (these features are deterministic)."),
    json: JsonFlag = False,
) -> None:
    """Draw what a feature extractor sees in IMAGE; writes OUT/figures/KIND.png and metrics.json."""
    from pixelab._core.checks import check_choice
    from pixelab.apps.features import show_feature

    check_choice(kind, KINDS, name="feature")
    img = load_image_arg(image)
    metrics = show_feature(kind, img, out, max_side=max_side, cell=cell)
    if json:
        print_json(metrics)
        return
    details = ", ".join(f"{k} {v}" for k, v in metrics.items() if k not in ("figures", "feature"))
    out_console.print(f"{kind}: {details}")
    out_console.print(f"figure: {out}/{metrics['figures'][0]}")
