"""Image to image: neural style transfer. A photo repainted in a painting's style by
optimising the picture itself against VGG16's view of both, at two style weights, with what
each costs in seconds and how far the result moves from the photo."""

from __future__ import annotations

from typing import Any

from pixelab.apps.tour._context import TourContext


def chapter(ctx: TourContext) -> dict[str, Any]:
    """A style transfer of a bundled photo (starry_night when OpenCV's samples are here,
    else a texture photo) at two style weights, with its numbers."""
    import shutil

    from pixelab.apps.style import style_transfer
    from pixelab.data import photo_names
    from pixelab.generate.style import StyleConfig

    ch = ctx.report.chapter("Image to image: style transfer")
    painting = "starry_night" if "starry_night" in photo_names() else "gravel"
    # the quick tour repaints one small picture; the full one compares two style weights
    size, steps, weights = (112, 40, [10.0]) if ctx.quick else (256, 200, [3.0, 30.0])
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
        "painting's style. Starting from the photo, gradient descent moves its pixels so that "
        "its features stay close to the photo's while its Gram matrices come close to the "
        "painting's. To save time on a CPU it works at half size first, then refines at full "
        "size."
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
              "Style and content losses at every step; where a curve jumps, the full size "
              "starts.")  # fmt: skip
    return {"painting": painting, "size": m["size"], "runs": m["runs"]}
