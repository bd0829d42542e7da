"""Image to image: super-resolution, then neural style transfer.

Super-resolution: pixelab's shipped networks (ESPCN, an SRResNet-style one and its SRGAN-style
sharpening) against bicubic on photos none of them saw, with crops and the numbers (PSNR up,
and what the adversarial version trades). Style transfer: a photo repainted in a painting's style by
optimising the picture itself against VGG16's view of both, at two style weights, with what
each costs in seconds and how far the result moves from the photo; then the same style from a
network pixelab trained once and ships, in one pass of milliseconds."""

from __future__ import annotations

from typing import Any

from pixelab.apps.tour._context import TourContext


def chapter(ctx: TourContext) -> dict[str, Any]:
    """Super-resolution with the shipped networks against bicubic, then a style transfer of
    a bundled photo (starry_night when OpenCV's samples are here, else a texture photo) at
    two style weights and the shipped fast style network, with their numbers."""
    import shutil

    from pixelab.apps.style import style_transfer
    from pixelab.data import photo_names
    from pixelab.generate.style import StyleConfig

    ch = ctx.report.chapter("Image to image: super-resolution and style transfer")
    sr = _superres(ctx, ch)
    painting = "starry_night" if "starry_night" in photo_names() else "gravel"
    # the quick tour repaints one small picture; the full one compares two style weights
    size, steps, weights = (112, 40, [10.0]) if ctx.quick else (256, 150, [3.0, 30.0])
    cfg = StyleConfig(size=size, steps=steps, seed=ctx.seed)
    m = style_transfer("chelsea", painting, ctx.run.path / "style", config=cfg,
                       style_weights=weights, device="cpu", overwrite=True,
                       progress=ctx.progress)  # fmt: skip
    ctx.run.figures.mkdir(parents=True, exist_ok=True)
    for name in ("style", "losses"):
        shutil.copyfile(ctx.run.path / "style" / "figures" / f"{name}.png",
                        ctx.run.figures / f"style_{name}.png")  # fmt: skip
    low, high = m["runs"][0], m["runs"][-1]
    ch.text(
        "Style transfer (Gatys, Ecker and Bethge, 2016) changes no network at all: it changes "
        "the picture. A fixed network, VGG16, looks at three images. Deep in the network, its "
        "feature maps say what is where: that is the photo's content. In every block, the "
        "Gram matrix of the feature maps says which features occur together, wherever they "
        "are: brush strokes, colours and textures, with the layout thrown away. That is the "
        "painting's style. Starting from the photo, an optimiser (L-BFGS, which uses the "
        "last steps' gradients to guess the curvature) moves its pixels so that its features "
        "stay close to the photo's while its Gram matrices come close to the painting's."
    )
    shown = ",".join(f"{w:g}" for w in weights)
    ch.figure(ctx.run.figures / "style_style.png",
              f"chelsea in the style of {painting} "
              f"(`pixelab style chelsea --style {painting} --style-weight {shown}`).")  # fmt: skip
    compare = (
        f"; at {high['style_weight']:g} the style came to {high['final']['style']:.3f} and the "
        f"content moved to {high['final']['content']:.2f}: more painting, less photo"
        if high is not low else " (the full tour compares two weights)"
    )  # fmt: skip
    key = f"{low['style_weight']:g}"
    start = f" from {m['history'][key][0]['style']:.2f}"
    ch.text(
        "Both losses are relative errors, so the style weight says how much more the style "
        f"counts than the content. At weight {low['style_weight']:g} the style's error fell"
        f"{start} to {low['final']['style']:.3f} while the content's rose from 0 to "
        f"{low['final']['content']:.2f}{compare}. Each took about {low['seconds']:.0f} s at "
        f"{m['size'][1]}x{m['size'][0]} pixels on this CPU. The "
        "network's weights here are VGG16's convolutions as the HED edge detector fine-tuned "
        "them (no plain ImageNet VGG16 can be had offline), which still see strokes and "
        "textures well."
    )
    ch.figure(ctx.run.figures / "style_losses.png",
              "Style and content losses at every evaluation of the loss.")  # fmt: skip
    fast = _fast_network(ctx, ch, m)
    return {"superres": sr, "painting": painting, "size": m["size"], "runs": m["runs"],
            "fast": fast}  # fmt: skip


def _superres(ctx: TourContext, ch: Any) -> dict[str, Any]:
    """The shipped x2 networks and bicubic on held-out photos: the table and the crops."""
    import shutil

    from pixelab.apps.superres import SHIPPED_SR, SHIPPED_SR_COMMANDS, superres_eval

    runs = list(SHIPPED_SR)  # shipped (ESPCN), shipped-srresnet, shipped-srgan
    m = superres_eval(runs, ctx.run.path / "superres", limit=2 if ctx.quick else None,
                      device="cpu", overwrite=True)  # fmt: skip
    ctx.run.figures.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ctx.run.path / "superres" / "figures" / "crops.png",
                    ctx.run.figures / "superres_crops.png")  # fmt: skip
    bic, espcn, res, gan = m["table"]  # bicubic, then the runs in order
    ch.text(
        "Super-resolution makes a small image larger and tries to put back the detail that "
        "was lost. Interpolation (bicubic) can only spread the pixels it has, so edges come "
        "out soft. A network trained on pairs of photos and their shrunk copies learns what "
        "detail usually goes with what it sees. pixelab's two networks start from the bicubic "
        "enlargement and learn only what to add: ESPCN works at the small size and shuffles "
        "its channels into a larger picture (fast); the SRResNet-style one is deeper. Each "
        "was trained on random patches of the sample photos for minutes on 2 cores "
        f"(`{SHIPPED_SR_COMMANDS['shipped']}`, and `--model srresnet`) and is measured here "
        f"on {len(m['images'])} photo(s) none of them saw ({', '.join(m['images'])}), shrunk "
        "to half size and enlarged back, as papers do: PSNR on the brightness channel, "
        "higher is closer to the original."
    )
    ch.table(["method", "PSNR-Y (dB)", "vs bicubic", "SSIM-Y", "VGG distance", "ms per MP"],
             [[r["method"], f"{r['psnr_y']:.2f}", f"{r['gain_db']:+.2f}", f"{r['ssim_y']:.4f}",
               f"{r['vgg_distance']:.3f}",
               "-" if r["ms_per_megapixel"] is None else f"{r['ms_per_megapixel']:,.0f}"]
              for r in m["table"]])  # fmt: skip
    ch.figure(ctx.run.figures / "superres_crops.png",
              "The most detailed part of each photo: the small input, bicubic, the three "
              "networks and the original (`pixelab superres eval shipped shipped-srresnet "
              "shipped-srgan`).")  # fmt: skip
    ch.text(
        "A network trained to minimise the pixel error hedges its bets: where several sharp "
        "pictures are plausible it draws their average, which is blurred. SRGAN (Ledig et al. "
        "2017) changes the goal: look like the original to VGG16 (compare features, not "
        "pixels) and fool a discriminator trained to tell real photos from enlargements. "
        f"Here the sharpened network (`shipped-srgan`) scores {gan['psnr_y']:.2f} dB against "
        f"{res['psnr_y']:.2f} dB for the network it started from ({gan['psnr_y'] - res['psnr_y']:+.2f} "
        f"dB), while its VGG distance, a measure of how different the pictures look to a "
        f"network, is {gan['vgg_distance']:.3f} against {res['vgg_distance']:.3f}. ESPCN "
        f"gains {espcn['gain_db']:+.2f} dB over bicubic, the SRResNet-style network "
        f"{res['gain_db']:+.2f} dB (bicubic: {bic['psnr_y']:.2f} dB)."
    )
    return {"table": m["table"], "images": m["images"]}


#: Photos the shipped style network repaints in the tour (chelsea first: the one optimised).
FAST_PHOTOS = ("chelsea", "astronaut", "coffee")


def _fast_network(ctx: TourContext, ch: Any, gatys: dict[str, Any]) -> dict[str, Any]:
    """The shipped fast style network (Johnson et al.) on a few photos, timed, beside what
    the optimisation took for one."""
    import shutil

    from pixelab._core.io import read_json
    from pixelab.apps.style import SHIPPED_STYLE_COMMAND, load_style_net, style_apply

    _, rec = load_style_net("shipped")
    made = read_json(rec["path"] / "metrics.json")
    side = 256 if ctx.quick else 512  # the scale it was trained at: smaller loses the photo
    m = style_apply("shipped", list(FAST_PHOTOS), ctx.run.path / "style-fast", size=side,
                    device="cpu", overwrite=True)  # fmt: skip
    shutil.copyfile(ctx.run.path / "style-fast" / "figures" / "styled.png",
                    ctx.run.figures / "style_fast.png")  # fmt: skip
    optimised = gatys["runs"][0]["seconds"]
    ms = m["median_ms"]
    ch.text(
        "Optimising the picture starts again for every photo. Johnson, Alahi and Fei-Fei "
        "(2016) trained a network instead: it takes a photo and returns the painting in one "
        "pass. It is trained once per painting, with the same two losses, on random crops of "
        "many photos; instance normalisation (each image's contrast normalised away) lets it "
        "work on photos it never saw. The network shown here "
        f"({made['parameters']:,} weights, in the package) was trained by pixelab on the "
        f"sample photos for {made['steps']:,} steps, {made['train_seconds'] / 60:.0f} minutes "
        f"on 2 cores (`make style-weights`: `{SHIPPED_STYLE_COMMAND}`). Here it repainted "
        f"each photo at {side} pixels in a median of {ms:.0f} ms, where the optimisation "
        f"above took {optimised:.0f} s for one: {1000 * optimised / max(ms, 1e-3):,.0f} times "
        "longer. The price: one network per painting, and a result a little less faithful "
        "than an optimisation run to the end."
    )
    ch.figure(ctx.run.figures / "style_fast.png",
              "Photos repainted by the shipped network in one pass each (`pixelab style apply "
              "shipped chelsea astronaut coffee`).")  # fmt: skip
    return {"median_ms": ms, "side": side, "images": [r["image"] for r in m["images"]],
            "train_steps": made["steps"], "ms_per_256px_image_when_made":
            made["ms_per_256px_image"]}  # fmt: skip
