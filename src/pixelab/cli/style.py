"""``pixelab style``: repaint a photo in the style of a painting (neural style transfer)."""

from __future__ import annotations

import typer

from pixelab.cli._ui import default_out, floats, out_console, print_json, progress_bar, table


def style(
    image: str = typer.Argument(..., help="The photo: an image file or a sample photo (chelsea)."),
    style_image: str = typer.Option(
        ..., "--style", help="The painting: an image file or a sample photo (starry_night)."
    ),
    size: int = typer.Option(256, "--size", help="Longer side of the result in pixels."),
    steps: int = typer.Option(200, "--steps", help="Adam steps per size."),
    scales: int = typer.Option(
        2, "--scales", help="1: full size only; 2: half size first, then full size."
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
    lr: float = typer.Option(0.05, "--lr", help="Adam's step on the image."),
    init: str = typer.Option("content", "--init", help="Start from the content or from noise."),
    seed: int = typer.Option(0, "--seed", help="Seed of the noise start."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    out: str = typer.Option(None, "--out", help="Run folder (default runs/style-<time>)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a run in --out."),
    json: bool = typer.Option(False, "--json", help="Print metrics as JSON on stdout."),
) -> None:
    """Repaint a photo in a painting's style (Gatys et al.): the picture itself is optimised
    so that VGG16 sees the photo's layout and the painting's textures."""
    from pixelab.apps.style import style_transfer
    from pixelab.generate.style import StyleConfig

    def layers(text: str) -> tuple[str, ...]:
        return tuple(v.strip() for v in text.split(",") if v.strip())

    weights = floats(style_weight, "--style-weight")
    cfg = StyleConfig(size=size, steps=steps, scales=scales, style_weight=weights[0] if weights else 10.0,
                      content_weight=content_weight, tv_weight=tv_weight,
                      content_layers=layers(content_layers), style_layers=layers(style_layers),
                      lr=lr, init=init, seed=seed)  # fmt: skip
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
