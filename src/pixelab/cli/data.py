"""``pixelab data``: list built-in datasets, describe one, check a folder of images."""

from __future__ import annotations

from typing import Any

import typer

from pixelab.cli._ui import out_console, print_json, progress_bar, table

app = typer.Typer(help="Datasets: list, describe and check them.", no_args_is_help=True)

DATA_HELP = (
    "A built-in name (digits, fashion-mnist, shapes, photos) or a folder of class subfolders."
)


@app.command("list")
def list_cmd(
    json: bool = typer.Option(False, "--json", help="Print JSON on stdout."),
) -> None:
    """List the built-in datasets."""
    from pixelab.data import list_datasets

    sets = list_datasets()
    if json:
        print_json(sets)
        return
    table("built-in datasets", ["name", "what it holds"], [[k, v] for k, v in sets.items()])
    out_console.print(
        "Or pass a folder of class subfolders: my_photos/cat/*.jpg, my_photos/dog/*.jpg"
    )


@app.command("info")
def info_cmd(
    data: str = typer.Argument(..., help=DATA_HELP),
    size: int = typer.Option(None, "--size", help="Resize images to SIZE x SIZE first."),
    gray: bool = typer.Option(None, "--gray/--color", help="Force grey or colour."),
    width: int = typer.Option(
        1024, "--width", help="Width k of the dense layer in the cost table."
    ),
    out: str = typer.Option(None, "--out", help="Also write metrics.json and figures here."),
    seed: int = typer.Option(0, "--seed", help="Random seed (for generated data)."),
    json: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout."),
) -> None:
    """Describe a dataset: images per class, sizes, and d after each preprocessing step."""
    from pixelab._core.checks import check_positive_int
    from pixelab.data import dimensionality, load

    if size is not None:
        check_positive_int(size, name="--size")
    check_positive_int(width, name="--width")
    with progress_bar(quiet=json) as progress:
        ds = load(data, size=size, gray=gray, seed=seed, progress=progress)
    info: dict[str, Any] = {**ds.summary(), "notes": ds.notes}
    info["dimensionality"] = dimensionality(ds, dense_width=width)
    info["skipped"] = [{"path": p, "reason": r} for p, r in ds.skipped]
    if out:
        info["figures"] = _info_figures(ds, info, out)
    if json:
        print_json(info)
        return
    h, w, c = ds.shape
    out_console.print(
        f"[bold]{ds.name}[/]: {len(ds):,} images of {w}x{h}x{c}, {len(ds.classes)} classes"
    )
    for note in ds.notes:
        out_console.print(f"note: {note}")
    table("images per class", ["class", "images"], [[k, v] for k, v in ds.class_counts().items()])
    dim = info["dimensionality"]
    table(
        "the curse of dimensionality: numbers per image and what a model pays for them",
        ["step", "d", f"linear model ({dim['n_classes']} classes)", f"dense layer of {width}"],
        [
            [s["step"], f"{s['d']:,}", f"{s['linear_params']:,}", f"{s['dense_params']:,}"]
            for s in [*dim["steps"], dim["reference"]]
        ],
    )
    if out:
        out_console.print(f"wrote {out}/metrics.json and {out}/figures/")


def _info_figures(ds: Any, info: dict[str, Any], out: str) -> list[str]:
    import numpy as np

    from pixelab.report import RunDir
    from pixelab.report import figures as F

    idx = np.concatenate([np.flatnonzero(ds.labels == c)[:6] for c in range(len(ds.classes))])
    fig = F.image_grid(
        ds.images[idx[:60]], titles=[ds.classes[ds.labels[i]] for i in idx[:60]], ncols=10
    )
    with RunDir.create(out, kind="info", replace_same_kind=True) as run:
        run.write_config({"data": info["name"]}, kind="info")
        paths = [run.save_figure(fig, "samples")]
        paths.append(
            run.save_figure(F.plot_dimensionality(info["dimensionality"]).figure, "dimensionality")
        )
        files = [str(p.relative_to(run.path)) for p in paths]
        run.write_metrics({**info, "figures": files})
    return files


@app.command("check")
def check_cmd(
    path: str = typer.Argument(..., help="A folder of class subfolders."),
    json: bool = typer.Option(False, "--json", help="Print the findings as JSON on stdout."),
) -> None:
    """Open every image in a folder and list each file that cannot be used, and why.

    Exits with code 1 when problems were found.
    """
    from pixelab.data import check_folder

    with progress_bar(quiet=json) as progress:
        result = check_folder(path, progress=progress)
    if json:
        print_json(result.to_dict())
    else:
        table(
            f"{result.root}: classes",
            ["class", "readable images"],
            [[k, v] for k, v in result.class_files.items()],
        )
        if result.sizes:
            sizes = ", ".join(f"{k} ({v})" for k, v in sorted(result.sizes.items()))
            out_console.print(f"sizes: {sizes}")
            out_console.print(
                "modes: " + ", ".join(f"{k} ({v})" for k, v in sorted(result.modes.items()))
            )
        if len(result.sizes) > 1:
            out_console.print(
                "note: sizes differ; loading crops and resizes them to one size (--size N)"
            )
        if len([n for n in result.class_files.values() if n]) < 2:
            out_console.print("[red]problem:[/] fewer than two classes have readable images")
        for p in result.problems:
            out_console.print(f"[red]problem:[/] {p.path}: {p.reason}", highlight=False)
        for f in result.other_files:
            out_console.print(f"ignored (not an image ending): {f}", highlight=False)
        verdict = "[green]ok[/]" if result.ok else f"[red]{len(result.problems)} problem(s)[/]"
        out_console.print(f"{sum(result.class_files.values())} readable images; {verdict}")
    if not result.ok:
        raise typer.Exit(1)
