"""``pixelab explain``: what a CNN learned, one verb per view (conv, filters, maps, top, dream,
saliency, dissect, embed)."""

from __future__ import annotations

from typing import Any

import typer

from pixelab.cli._options import JsonFlag
from pixelab.cli._ui import default_out, out_console, print_json

app = typer.Typer(
    help="What CNNs learn: kernels, feature maps, favourite images, made-up images, saliency, "
    "dissection and embeddings, on any CNN run folder.",
    no_args_is_help=True,
)

RUN_HELP = "A CNN run folder (written by 'pixelab cnn train')."


def image_source(image: str) -> Any:
    """An image file path as given, or the pixels of a built-in sample photo (e.g. chelsea)."""
    from pathlib import Path

    from pixelab.cli.features import load_image_arg

    return image if Path(image).is_file() else load_image_arg(image)


def _done(metrics: dict[str, Any], out: str, json: bool, line: str) -> None:
    if json:
        print_json(metrics)
        return
    out_console.print(line)
    for f in metrics["figures"]:
        out_console.print(f"figure: {out}/{f}")


@app.command("conv")
def conv_cmd(
    image: str = typer.Argument(..., help="An image file, or a sample photo name (e.g. chelsea)."),
    kernel: str = typer.Option(
        "sobel-x",
        "--kernel",
        help="sobel-x, sobel-y, blur, sharpen, emboss, edge, or a matrix such as "
        "'[[0,1,0],[1,-4,1],[0,1,0]]' (square, odd size).",
    ),
    stride: int = typer.Option(1, "--stride", help="Step between kernel positions."),
    padding: int = typer.Option(
        None, "--padding", help="Zeros added around the image. \\[default: kernel side // 2]"
    ),
    max_side: int = typer.Option(256, "--max-side", help="Shrink larger images to this side."),
    out: str = typer.Option(None, "--out", help="Run folder (default runs/explain-conv-<time>)."),
    json: JsonFlag = False,
) -> None:
    """Slide a kernel over IMAGE: input, kernel and feature map, with the output-size formula."""
    from pixelab.apps.explain import explain_conv
    from pixelab.cli.features import load_image_arg

    out = out or default_out("explain-conv")
    m = explain_conv(load_image_arg(image), kernel, out, stride=stride, padding=padding,
                     max_side=max_side)  # fmt: skip
    _done(m, out, json, f"{m['kernel']} kernel: output size {m['formula']}")


@app.command("filters")
def filters_cmd(
    run: str = typer.Argument(..., help=RUN_HELP),
    out: str = typer.Option(
        None, "--out", help="Run folder (default runs/explain-filters-<time>)."
    ),
    json: JsonFlag = False,
) -> None:
    """First-layer kernels, and the share that are oriented edge detectors (vs untrained)."""
    from pixelab.apps.explain import explain_filters

    out = out or default_out("explain-filters")
    m = explain_filters(run, out)
    _done(m, out, json, f"{m['n_kernels']} kernels of {m['kernel_size']}x{m['kernel_size']}: "
          f"{m['oriented_share']:.0%} oriented edge/line detectors "
          f"({m['oriented_share_untrained']:.0%} before training)")  # fmt: skip


@app.command("maps")
def maps_cmd(
    run: str = typer.Argument(..., help=RUN_HELP),
    image: str = typer.Argument(..., help="An image file, or a sample photo name (e.g. chelsea)."),
    layers: list[str] = typer.Option(
        None,
        "--layers",
        help="Layer names (repeat the flag); an unknown one lists them all. "
        "\\[default: every layer]",
    ),
    per_layer: int = typer.Option(12, "--per-layer", help="Maps shown per layer."),
    out: str = typer.Option(None, "--out", help="Run folder (default runs/explain-maps-<time>)."),
    json: JsonFlag = False,
) -> None:
    """Feature maps layer by layer for IMAGE (prepared as the run's training images)."""
    from pixelab.apps.explain import explain_maps

    out = out or default_out("explain-maps")
    m = explain_maps(run, image_source(image), out, layers=layers or None, per_layer=per_layer)
    shapes = ", ".join(f"{k} {'x'.join(map(str, v['shape']))}" for k, v in m["layers"].items())
    _done(m, out, json, f"predicted {m['predicted']} ({m['probability']:.0%}); {shapes}")


@app.command("saliency")
def saliency_cmd(
    run: str = typer.Argument(..., help=RUN_HELP),
    images: list[str] = typer.Argument(None, help="Image files or sample photo names."),
    method: str = typer.Option(
        "gradcam", "--method", help="gradcam, occlusion, gradients or integrated-gradients."
    ),
    layer: str = typer.Option(
        None, "--layer", help="Grad-CAM's layer. \\[default: the last feature layer]"
    ),
    target: str = typer.Option(
        None, "--class", help="Explain this class. \\[default: the predicted one]"
    ),
    data: str = typer.Option(
        None, "--data", help="Also measure faithfulness (deletion curve) on this data."
    ),
    limit: int = typer.Option(30, "--limit", help="Images per class for the faithfulness measure."),
    out: str = typer.Option(
        None, "--out", help="Run folder (default runs/explain-saliency-<time>)."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed (random deletion, data slices)."),
    json: JsonFlag = False,
) -> None:
    """Which pixels a prediction rests on, overlaid on IMAGES; with --data, how faithful that is."""
    from pixelab.apps.explain import explain_saliency
    from pixelab.cli._ui import progress_bar

    out = out or default_out("explain-saliency")
    with progress_bar(quiet=json) as progress:
        m = explain_saliency(run, [image_source(i) for i in images or []], out, method=method,
                             layer=layer, target=target, data=data, limit=limit, seed=seed,
                             progress=progress)  # fmt: skip
    from pixelab.cli._ui import err_console

    for warning in m["warnings"]:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    lines = [f"{r['image']}: {r['predicted']} ({r['probability']:.0%})" for r in m["images"]]
    f = m.get("faithfulness")
    if f:
        lines.append(
            f"deletion curve on {f['n_images']} images of {f['data']}: area {f['area']['saliency']:.3f}"
            f" removing the most salient pixels first, {f['area']['random']:.3f} removing random ones"
            + (f"; {f['mask_share']:.0%} of the saliency lies on the object ({f['mask_area']:.0%} of the"
               " pixels)" if "mask_share" in f else "")
        )  # fmt: skip
    _done(m, out, json, "\n".join(lines))


@app.command("embed")
def embed_cmd(
    run: str = typer.Argument(..., help=RUN_HELP),
    data: str = typer.Option(..., "--data", help="Data with the run's classes."),
    limit: int = typer.Option(1000, "--limit", help="Images used (class-balanced)."),
    projection: list[str] = typer.Option(
        None, "--projection", help="pca, tsne or umap (repeat the flag). \\[default: pca, tsne]"
    ),
    out: str = typer.Option(None, "--out", help="Run folder (default runs/explain-embed-<time>)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (slices, projections)."),
    json: JsonFlag = False,
) -> None:
    """The same images in pixel, HOG and CNN space: k-NN accuracy, silhouette, 2-D maps."""
    from pixelab.apps.explain import explain_embed
    from pixelab.cli._ui import progress_bar

    out = out or default_out("explain-embed")
    with progress_bar(quiet=json) as progress:
        m = explain_embed(run, data, out, limit=limit, seed=seed, progress=progress,
                          projections=tuple(projection or ("pca", "tsne")))  # fmt: skip
    lines = [f"{name}: k-NN accuracy {s['knn_accuracy']:.3f}, silhouette {s['silhouette']:.3f} "
             f"({s['dimensions']:,} numbers)" for name, s in m["spaces"].items()]  # fmt: skip
    _done(m, out, json, "\n".join(lines))


def _units(text: str | None) -> list[int] | None:
    """'0,3,5' or '0-7' -> unit indices."""
    from pixelab._core.errors import PixelabError

    if not text:
        return None
    out: list[int] = []
    try:
        for part in text.split(","):
            lo, _, hi = part.strip().partition("-")
            out.extend(range(int(lo), int(hi) + 1) if hi else [int(lo)])
    except ValueError as err:
        raise PixelabError(f"--units {text!r} is not a list of unit numbers",
                           hint="write e.g. 0,3,5 or 0-7") from err  # fmt: skip
    return out


@app.command("top")
def top_cmd(
    run: str = typer.Argument(..., help=RUN_HELP),
    data: str = typer.Option(..., "--data", help="Images to search (with the run's classes)."),
    layer: str = typer.Option(None, "--layer", help="Layer name. \\[default: the last]"),
    units: str = typer.Option(None, "--units", help="Units, e.g. 0,3,5 or 0-7. \\[default: 0-7]"),
    top: int = typer.Option(9, "--top", help="Images shown per unit."),
    limit: int = typer.Option(2000, "--limit", help="Images searched (class-balanced)."),
    out: str = typer.Option(None, "--out", help="Run folder (default runs/explain-top-<time>)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (which images are searched)."),
    json: JsonFlag = False,
) -> None:
    """The images each unit likes most, cropped to what the unit can see (Zeiler & Fergus)."""
    from pixelab.apps.explain import explain_top
    from pixelab.cli._ui import progress_bar

    out = out or default_out("explain-top")
    with progress_bar(quiet=json) as progress:
        m = explain_top(run, data, out, layer=layer, units=_units(units), k=top, limit=limit,
                        seed=seed, progress=progress)  # fmt: skip
    lines = [f"unit {u['unit']}: " + ", ".join(f"{r['class']} {r['activation']:.2f}"
                                                for r in u["top"][:5]) for u in m["units"]]  # fmt: skip
    _done(m, out, json, f"layer {m['layer']}:\n" + "\n".join(lines))


@app.command("dream")
def dream_cmd(
    run: str = typer.Argument(..., help=RUN_HELP),
    objective: str = typer.Option(
        None,
        "--objective",
        help="channel:LAYER:UNIT, neuron:LAYER:UNIT or class:NAME, joined by "
        "+ and - with optional weights ('2*channel:block2:3 - class:Shirt').",
    ),
    layer: str = typer.Option(None, "--layer", help="Shorthand: a channel of this layer ..."),
    unit: int = typer.Option(None, "--unit", help="... this unit (with --layer)."),
    target: str = typer.Option(None, "--class", help="Shorthand: this class's score."),
    data: str = typer.Option(
        None, "--data", help="Real images to compare with. \\[default: the run's own data]"
    ),
    steps: int = typer.Option(256, "--steps", help="Gradient-ascent steps."),
    batch: int = typer.Option(4, "--batch", help="Images made at once (different starts)."),
    limit: int = typer.Option(2000, "--limit", help="Real images compared (class-balanced)."),
    out: str = typer.Option(None, "--out", help="Run folder (default runs/explain-dream-<time>)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (starts, transforms)."),
    json: JsonFlag = False,
) -> None:
    """Make up the image a unit or a class likes most (feature visualisation)."""
    from pixelab._core.errors import PixelabError
    from pixelab.apps.explain import explain_dream
    from pixelab.cli._ui import progress_bar

    given = [objective is not None, layer is not None or unit is not None, target is not None]
    if sum(given) != 1:
        raise PixelabError("give one of --objective, --layer with --unit, or --class")
    if given[1]:
        if layer is None or unit is None:
            raise PixelabError("--layer and --unit go together")
        objective = f"channel:{layer}:{unit}"
    elif given[2]:
        objective = f"class:{target}"
    out = out or default_out("explain-dream")
    with progress_bar(quiet=json) as progress:
        m = explain_dream(run, objective, out, data=data, steps=steps, batch=batch, limit=limit,
                          seed=seed, progress=progress)  # fmt: skip
    _done(m, out, json, f"{m['objective']}: made-up images reach {m['reached']:.2f}, the best of "
          f"{m['n_images']} real images {m['dataset_max']:.2f} ({m['ratio']}x)")  # fmt: skip


@app.command("dissect")
def dissect_cmd(
    run: str = typer.Argument(..., help="A CNN run trained with --data shapes."),
    data: str = typer.Option("shapes", "--data", help="Images with concept masks: shapes."),
    layers: list[str] = typer.Option(
        None, "--layers", help="Layer names (repeat the flag). \\[default: every layer]"
    ),
    per_class: int = typer.Option(100, "--images-per-class", help="Shapes drawn per class."),
    out: str = typer.Option(
        None, "--out", help="Run folder (default runs/explain-dissect-<time>)."
    ),
    seed: int = typer.Option(1, "--seed", help="Seed of the shapes drawn (other than training's)."),
    json: JsonFlag = False,
) -> None:
    """Network dissection: which units detect which shape, object part or background."""
    from pixelab.apps.explain import explain_dissect
    from pixelab.cli._ui import progress_bar

    out = out or default_out("explain-dissect")
    with progress_bar(quiet=json) as progress:
        m = explain_dissect(run, out, data=data, layers=layers or None, n_per_class=per_class,
                            seed=seed, progress=progress)  # fmt: skip
    lines = [f"{k}: {v['shape_detectors']} shape detectors of {v['units']} units "
             f"({v['shape_detectors_untrained']} untrained); best: "
             + ", ".join(f"{c} {v['best_iou'][c]:.2f}" for c in m["shapes"])
             for k, v in m["layers"].items()]  # fmt: skip
    _done(m, out, json, "\n".join(lines))
