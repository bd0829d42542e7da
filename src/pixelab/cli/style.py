"""``pixelab style``: repaint a photo in the style of a painting, by optimising the picture
(``style IMAGE --style PAINTING``, the default verb) or with a fast network trained once per
painting (``style train``, then ``style apply``)."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from pixelab.cli._options import DeviceOption, JsonFlag, OverwriteFlag, ResumeFlag
from pixelab.cli._ui import default_out, floats, out_console, print_json, progress_bar, table


class _TransferByDefault(TyperGroup):
    """``pixelab style IMAGE --style P`` runs ``style transfer``: a first word that is not a
    verb of the group is the image."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["transfer", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_TransferByDefault,
    no_args_is_help=True,
    help="Repaint photos in a painting's style: 'style IMAGE --style PAINTING' optimises one "
    "picture (about a minute); 'style train' teaches a network one painting, 'style apply' "
    "then repaints any photo in a fraction of a second.",
)


def _layers(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


@app.command("transfer")
def style(
    image: str = typer.Argument(..., help="The photo: an image file or a sample photo (chelsea)."),
    style_image: str = typer.Option(
        ..., "--style", help="The painting: an image file or a sample photo (starry_night)."
    ),
    size: int = typer.Option(256, "--size", help="Longer side of the result in pixels."),
    steps: int = typer.Option(
        150, "--steps", help="Per size: loss evaluations (L-BFGS) or steps (Adam)."
    ),
    scales: int = typer.Option(
        1, "--scales", help="1: full size only; 2: half size first, then full size."
    ),
    optimizer: str = typer.Option(
        "lbfgs", "--optimizer", help="lbfgs (on the pixels) or adam (on the image's logits)."
    ),
    style_weight: str = typer.Option(
        "10",
        "--style-weight",
        help="How much more the style counts than the content; several (1,10,100) give a sweep.",
    ),
    content_weight: float = typer.Option(1.0, "--content-weight", help="Weight of the content."),
    tv_weight: float = typer.Option(
        1.0, "--tv-weight", help="Weight of smoothness (total variation) against speckle."
    ),
    content_layers: str = typer.Option(
        "conv4_2", "--content-layers", help="VGG16 layers that hold the content."
    ),
    style_layers: str = typer.Option(
        "conv1_1,conv2_1,conv3_1,conv4_1,conv5_1",
        "--style-layers",
        help="VGG16 layers whose Gram matrices hold the style.",
    ),
    lr: float = typer.Option(0.05, "--lr", help="Adam's step (L-BFGS sets its own)."),
    init: str = typer.Option("content", "--init", help="Start from the content or from noise."),
    seed: int = typer.Option(0, "--seed", help="Seed of the noise start."),
    device: DeviceOption = "auto",
    out: str = typer.Option(None, "--out", help="Run folder (default runs/style-<time>)."),
    overwrite: OverwriteFlag = False,
    json: JsonFlag = False,
) -> None:
    """Repaint a photo in a painting's style (Gatys et al.): the picture itself is optimised
    so that VGG16 sees the photo's layout and the painting's textures."""
    from pixelab.apps.style import style_transfer
    from pixelab.generate.style import StyleConfig

    weights = floats(style_weight, "--style-weight")
    cfg = StyleConfig(size=size, steps=steps, scales=scales, style_weight=weights[0] if weights else 10.0,
                      content_weight=content_weight, tv_weight=tv_weight,
                      content_layers=_layers(content_layers), style_layers=_layers(style_layers),
                      optimizer=optimizer, lr=lr, init=init, seed=seed)  # fmt: skip
    out = out or default_out("style")
    with progress_bar(quiet=json) as progress:
        m = style_transfer(image, style_image, out, config=cfg, style_weights=weights,
                           device=device, overwrite=overwrite, progress=progress)  # fmt: skip
    if json:
        print_json(m)
        return
    for line in m["converted"]:
        out_console.print(f"note: {line}", highlight=False)
    table(f"{m['content']} in the style of {m['style']}, {m['size'][1]}x{m['size'][0]}",
          ["style weight", "seconds", "style loss", "content loss", "file"],
          [[f"{r['style_weight']:g}", f"{r['seconds']:.0f}", f"{r['final'].get('style', 0):.3g}",
            f"{r['final'].get('content', 0):.3g}", f"{out}/{r['file']}"] for r in m["runs"]])  # fmt: skip
    if m["interrupted"]:
        out_console.print("interrupted: the style weights finished so far are kept")
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")


@app.command("train")
def train(
    style_image: str = typer.Option(
        ..., "--style", help="The painting: an image file or a sample photo (starry_night)."
    ),
    data: str = typer.Option(
        "photos", "--data", help="Photos to learn from: photos (the samples) or a folder."
    ),
    steps: int = typer.Option(1500, "--steps", help="Training steps (each on --batch-size crops)."),
    budget_min: float = typer.Option(
        None, "--budget-min", help="Stop after this many minutes of training."
    ),
    batch_size: int = typer.Option(4, "--batch-size", help="Crops per step."),
    crop: int = typer.Option(128, "--crop", help="Side of the training crops in pixels."),
    style_size: int = typer.Option(
        256, "--style-size", help="Longer side the painting is measured at (its strokes' scale)."
    ),
    width: int = typer.Option(16, "--width", help="Channels of the network at full size."),
    blocks: int = typer.Option(5, "--blocks", help="Residual blocks in the middle."),
    style_weight: float = typer.Option(
        2.0, "--style-weight", help="How much more the style counts than the content."
    ),
    content_weight: float = typer.Option(1.0, "--content-weight", help="Weight of the content."),
    tv_weight: float = typer.Option(1.0, "--tv-weight", help="Weight of smoothness."),
    content_layers: str = typer.Option(
        "conv3_3", "--content-layers", help="VGG16 layers that hold the content."
    ),
    style_layers: str = typer.Option(
        "conv1_2,conv2_2,conv3_3,conv4_3",
        "--style-layers",
        help="VGG16 layers whose Gram matrices hold the style.",
    ),
    lr: float = typer.Option(1e-3, "--lr", help="Learning rate (Adam)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the weights and the crops."),
    device: DeviceOption = "auto",
    out: str = typer.Option(None, "--out", help="Run folder (default runs/style-net-<time>)."),
    resume: ResumeFlag = False,
    overwrite: OverwriteFlag = False,
    json: JsonFlag = False,
) -> None:
    """Train a fast style network (Johnson et al.) for one painting on random crops of photos;
    then 'pixelab style apply RUN IMAGE' repaints any photo in one pass."""
    from pixelab.apps.style import style_train
    from pixelab.generate.fast_style import FastStyleConfig

    if resume and out is None:
        from pixelab._core.errors import PixelabError

        raise PixelabError("--resume needs --out: the run folder to continue")
    cfg = FastStyleConfig(width=width, blocks=blocks, steps=steps, batch=batch_size, crop=crop,
                          style_size=style_size, lr=lr, style_weight=style_weight,
                          content_weight=content_weight, tv_weight=tv_weight,
                          content_layers=_layers(content_layers),
                          style_layers=_layers(style_layers), seed=seed)  # fmt: skip
    out = out or default_out("style-net")
    with progress_bar(quiet=json) as progress:
        m = style_train(style_image, out, data=data, config=cfg, budget_min=budget_min,
                        device=device, resume=resume, overwrite=overwrite, progress=progress)  # fmt: skip
    if json:
        print_json(m)
        return
    if m.get("interrupted"):
        out_console.print(f"interrupted after {m['steps_done']} steps; go on with: {m['resume']}")
        return
    table(f"a style network for {m['style']}: {m['steps']} steps on {m['n_pictures']} pictures "
          f"in {m['train_seconds']:.0f} s", ["style loss", "content loss", "ms per 256-px image"],
          [[f"{m['final'].get('style', 0):.3g}", f"{m['final'].get('content', 0):.3g}",
            f"{m['ms_per_256px_image']:.0f}"]])  # fmt: skip
    for line in m["notes"]:
        out_console.print(f"note: {line}", highlight=False)
    out_console.print(f"apply it: pixelab style apply {out} IMAGE")
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")


@app.command("apply")
def apply(
    run: str = typer.Argument(
        ..., help="A run folder of pixelab style train, or shipped (starry_night, pixelab's own)."
    ),
    images: list[str] = typer.Argument(
        ..., help="Image files, folders or sample photos (chelsea) to repaint."
    ),
    size: int = typer.Option(
        None, "--size", help="Longer side to paint at (default: the image's, at most 1024)."
    ),
    device: DeviceOption = "auto",
    out: str = typer.Option(None, "--out", help="Run folder (default runs/style-apply-<time>)."),
    overwrite: OverwriteFlag = False,
    json: JsonFlag = False,
) -> None:
    """Repaint photos with a trained style network, one forward pass each."""
    from pixelab.apps.style import style_apply

    out = out or default_out("style-apply")
    with progress_bar(quiet=json) as progress:
        m = style_apply(run, images, out, size=size, device=device, overwrite=overwrite,
                        progress=progress)  # fmt: skip
    if json:
        print_json(m)
        return
    for r in m["images"]:
        if r["converted"]:
            out_console.print(f"note: {r['converted']}", highlight=False)
    table(f"repainted in the style of {m['style']}", ["image", "size", "ms", "file"],
          [[r["image"], f"{r['size'][0]}x{r['size'][1]}", f"{r['ms']:.0f}", f"{out}/{r['file']}"]
           for r in m["images"]])  # fmt: skip
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")
