"""``pixelab superres``: train a network that enlarges images, apply it to any image tile by
tile, and measure it against bicubic on photos it never saw."""

from __future__ import annotations

import typer

from pixelab.cli._options import DeviceOption, JsonFlag, OverwriteFlag, ResumeFlag
from pixelab.cli._ui import default_out, out_console, print_json, progress_bar, table

app = typer.Typer(
    no_args_is_help=True,
    help="Super-resolution: enlarge images with more detail than bicubic interpolation.",
)


@app.command("train")
def train(
    data: str = typer.Option(
        "photos", "--data", help="Pictures to learn from: photos (the samples) or a folder."
    ),
    scale: int = typer.Option(2, "--scale", help="Enlargement: 2, 3 or 4."),
    model: str = typer.Option(
        "espcn", "--model", help="espcn (fast, at low resolution) or srresnet (deeper)."
    ),
    steps: int = typer.Option(2000, "--steps", help="Training steps."),
    budget_min: float = typer.Option(
        None, "--budget-min", help="Stop after this many minutes of training."
    ),
    batch_size: int = typer.Option(16, "--batch-size", help="Patches per step."),
    patch: int = typer.Option(32, "--patch", help="Side of the low-resolution patches."),
    width: int = typer.Option(0, "--width", help="Channels (0: the model's default)."),
    blocks: int = typer.Option(6, "--blocks", help="srresnet's residual blocks."),
    lr: float = typer.Option(1e-3, "--lr", help="Learning rate (Adam, cosine to a tenth)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the weights and the patches."),
    device: DeviceOption = "auto",
    out: str = typer.Option(None, "--out", help="Run folder (default runs/superres-<time>)."),
    resume: ResumeFlag = False,
    overwrite: OverwriteFlag = False,
    json: JsonFlag = False,
) -> None:
    """Train a super-resolution network on random patches of photos, shrunk and enlarged
    back; measured against bicubic on photos it never saw."""
    from pixelab._core.errors import PixelabError
    from pixelab.apps.superres import superres_train
    from pixelab.generate.superres import SRConfig

    if resume and out is None:
        raise PixelabError("--resume needs --out: the run folder to continue")
    cfg = SRConfig(model=model, scale=scale, width=width, blocks=blocks, steps=steps,
                   batch=batch_size, patch=patch, lr=lr, seed=seed)  # fmt: skip
    out = out or default_out("superres")
    with progress_bar(quiet=json) as progress:
        m = superres_train(out, data=data, config=cfg, budget_min=budget_min, device=device,
                           resume=resume, overwrite=overwrite, progress=progress)  # fmt: skip
    if json:
        print_json(m)
        return
    if m.get("interrupted"):
        out_console.print(f"interrupted after {m['steps_done']} steps; go on with: {m['resume']}")
        return
    for line in m["notes"]:
        out_console.print(f"note: {line}", highlight=False)
    s = m["held_out_scores"]
    rows = [] if s is None else [
        ["bicubic", f"{s['bicubic']['psnr_y']:.2f}", f"{s['bicubic']['ssim_y']:.4f}"],
        [m["model"], f"{s['model']['psnr_y']:.2f}", f"{s['model']['ssim_y']:.4f}"],
    ]  # fmt: skip
    table(f"x{m['scale']} {m['model']}: {m['steps']} steps in {m['train_seconds']:.0f} s; "
          f"{len(m['held_out'])} held-out pictures", ["method", "PSNR-Y dB", "SSIM-Y"], rows)  # fmt: skip
    if s is not None:
        out_console.print(f"gain over bicubic: {s['gain_db']:+.2f} dB")
    out_console.print(f"use it: pixelab superres apply {out} IMAGE")


@app.command("gan")
def gan(
    run: str = typer.Argument(..., help="A finished run of pixelab superres train to sharpen."),
    steps: int = typer.Option(500, "--steps", help="Fine-tuning steps."),
    budget_min: float = typer.Option(
        None, "--budget-min", help="Stop after this many minutes of training."
    ),
    batch_size: int = typer.Option(16, "--batch-size", help="Patches per step."),
    patch: int = typer.Option(32, "--patch", help="Side of the low-resolution patches."),
    vgg_layer: str = typer.Option(
        "conv4_3", "--vgg-layer", help="VGG16 layer whose features are compared."
    ),
    adversarial_weight: float = typer.Option(
        1e-3, "--adversarial-weight", help="Weight of fooling the discriminator."
    ),
    pixel_weight: float = typer.Option(
        1e-2, "--pixel-weight", help="Weight of the pixel error (keeps colours in place)."
    ),
    lr: float = typer.Option(1e-4, "--lr", help="Learning rate of both networks (Adam)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the discriminator and the patches."),
    device: DeviceOption = "auto",
    out: str = typer.Option(None, "--out", help="Run folder (default runs/superres-gan-<time>)."),
    resume: ResumeFlag = False,
    overwrite: OverwriteFlag = False,
    json: JsonFlag = False,
) -> None:
    """Sharpen a trained network the SRGAN way: VGG16 features instead of pixels, and a
    discriminator to fool. Closer to the eye (and to VGG16), lower in PSNR; both measured."""
    from pixelab._core.errors import PixelabError
    from pixelab.apps.superres import superres_gan
    from pixelab.generate.superres import SRGANConfig

    if resume and out is None:
        raise PixelabError("--resume needs --out: the run folder to continue")
    cfg = SRGANConfig(steps=steps, batch=batch_size, patch=patch, lr=lr, vgg_layer=vgg_layer,
                      adversarial_weight=adversarial_weight, pixel_weight=pixel_weight,
                      seed=seed)  # fmt: skip
    out = out or default_out("superres-gan")
    with progress_bar(quiet=json) as progress:
        m = superres_gan(run, out, config=cfg, budget_min=budget_min, device=device,
                         resume=resume, overwrite=overwrite, progress=progress)  # fmt: skip
    if json:
        print_json(m)
        return
    if m.get("interrupted"):
        out_console.print(f"interrupted after {m['steps_done']} steps; go on with: {m['resume']}")
        return
    s, b = m["held_out_scores"], m["source_scores"]
    rows = [] if s is None else [
        ["bicubic", f"{s['bicubic']['psnr_y']:.2f}", f"{s['bicubic']['vgg_distance']:.3f}"],
        ["before (pixel error)", f"{b['model']['psnr_y']:.2f}", f"{b['model']['vgg_distance']:.3f}"],
        ["after (SRGAN-style)", f"{s['model']['psnr_y']:.2f}", f"{s['model']['vgg_distance']:.3f}"],
    ]  # fmt: skip
    table(f"x{m['scale']} {m['model']} sharpened: {m['steps']} steps in {m['train_seconds']:.0f} s",
          ["method", "PSNR-Y dB", "VGG distance (lower: closer)"], rows)  # fmt: skip
    out_console.print(f"use it: pixelab superres apply {out} IMAGE")


@app.command("apply")
def apply(
    run: str = typer.Argument(
        ..., help="A run of pixelab superres train, or shipped (pixelab's own ESPCN x2)."
    ),
    image: str = typer.Argument(..., help="An image file or a sample photo (chelsea)."),
    tile: int = typer.Option(128, "--tile", help="Low-resolution pixels per tile (memory)."),
    device: DeviceOption = "auto",
    out: str = typer.Option(None, "--out", help="PNG file (default runs/superres-<time>.png)."),
    json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
) -> None:
    """Enlarge an image with a trained network, tile by tile (any size fits in memory);
    the bicubic enlargement is saved beside it."""
    from pixelab.apps.superres import superres_apply

    out = out or default_out("superres") + ".png"
    with progress_bar(quiet=json) as progress:
        m = superres_apply(run, image, out, tile=tile, device=device, progress=progress)
    if json:
        print_json(m)
        return
    if m["converted"]:
        out_console.print(f"note: {m['converted']}", highlight=False)
    out_console.print(f"{m['image']} {m['input'][0]}x{m['input'][1]} -> {m['output'][0]}x"
                      f"{m['output'][1]} by {m['model']} in {m['seconds']:.2f} s "
                      f"({m['tiles']} tiles, {m['ms_per_megapixel']:.0f} ms per megapixel)")  # fmt: skip
    out_console.print(f"saved: {m['path']} (bicubic: {m['bicubic']})")


@app.command("eval")
def evaluate(
    runs: list[str] = typer.Argument(
        ..., help="Runs of pixelab superres train (one scale), or shipped, shipped-srresnet."
    ),
    data: str = typer.Option(
        None, "--data", help="A folder of photos (default: the held-out sample photos)."
    ),
    esrgan_slim: str = typer.Option(
        None,
        "--esrgan-slim",
        help="The npm package @upscalerjs/esrgan-slim (its .tgz from 'npm pack', or unpacked): "
        "its pretrained RDN is measured too (default: $PIXELAB_ESRGAN_SLIM).",
    ),
    limit: int = typer.Option(None, "--limit", help="Measure only the first N pictures."),
    device: DeviceOption = "auto",
    out: str = typer.Option(None, "--out", help="Run folder (default runs/superres-eval-<time>)."),
    overwrite: OverwriteFlag = False,
    json: JsonFlag = False,
) -> None:
    """PSNR and SSIM (luma, border cropped), a VGG16 feature distance and speed of each run
    against bicubic, with crops side by side."""
    from pixelab.apps.superres import superres_eval

    out = out or default_out("superres-eval")
    with progress_bar(quiet=json) as progress:
        m = superres_eval(runs, out, data=data, esrgan_slim=esrgan_slim, limit=limit,
                          device=device, overwrite=overwrite, progress=progress)  # fmt: skip
    if json:
        print_json(m)
        return
    for line in m["notes"]:
        out_console.print(f"note: {line}", highlight=False)
    table(f"x{m['scale']} on {len(m['images'])} pictures",
          ["method", "PSNR-Y dB", "gain dB", "SSIM-Y", "VGG distance", "ms per MP"],
          [[r["method"], f"{r['psnr_y']:.2f}", f"{r['gain_db']:+.2f}", f"{r['ssim_y']:.4f}",
            f"{r['vgg_distance']:.3f}",
            "-" if r["ms_per_megapixel"] is None else f"{r['ms_per_megapixel']:.0f}"]
           for r in m["table"]])  # fmt: skip
    out_console.print("VGG distance: a perceptual measure (VGG16 features), lower is closer")
    for f in m["figures"]:
        out_console.print(f"figure: {out}/{f}")
