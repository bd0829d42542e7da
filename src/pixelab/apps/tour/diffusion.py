"""Generative models, second half (its first part): diffusion's forward process, an image
buried in noise step by step, and how fast each noise schedule buries it."""

from __future__ import annotations

from typing import Any

from pixelab.apps.tour._context import TourContext


def chapter(ctx: TourContext) -> dict[str, Any]:
    """The forward process on a photo and on a Fashion-MNIST image, with its numbers."""
    import shutil

    from pixelab.apps.diffusion import diffusion_forward

    ch = ctx.report.chapter("Generative models: diffusion")
    ch.text(
        "A diffusion model learns to undo noise. Its training data are made by a process that "
        "needs no learning at all, the forward process: take an image and, over T steps, mix "
        "in a little more random noise at each step until nothing of the image is left. At "
        "step t the image keeps a share abar_t of its power and the noise has the rest. A "
        "network is then taught to guess the noise in an image at any step; to make a new "
        "image, one starts from pure noise and removes the guessed noise step by step."
    )
    m = diffusion_forward("chelsea", ctx.run.path / "diffusion-forward", show=8, seed=ctx.seed,
                          overwrite=True)  # fmt: skip
    run = ctx.run.path / "diffusion-forward"
    ctx.run.figures.mkdir(parents=True, exist_ok=True)
    for name in ("forward", "schedules"):
        shutil.copyfile(run / "figures" / f"{name}.png", ctx.run.figures / f"diffusion_{name}.png")
    ch.figure(ctx.run.figures / "diffusion_forward.png",
              "One photo and one noise image, mixed at rising steps t under the cosine "
              "schedule (top) and the linear one (bottom) "
              "(`pixelab diffusion forward chelsea`).")  # fmt: skip
    half = m["half_signal_step"]
    mid = m["shown"][len(m["shown"]) // 2]
    ch.text(
        f"The linear schedule of the first diffusion papers leaves less than half of the image "
        f"after {half['linear']} of 1,000 steps; the cosine schedule only after "
        f"{half['cosine']}. For small images this matters: under the linear schedule the last "
        "few hundred steps are all noise, and a network learns little from them. At "
        f"t = {mid['t']} (cosine) {mid['signal_share']:.0%} of the image's power is left and "
        f"its pixels still correlate {mid['correlation']:.2f} with the photo; at t = T - 1 the "
        f"correlation is {m['shown'][-1]['correlation']:.2f} and the pixels have mean "
        f"{m['x_T']['mean']:.2f} and spread {m['x_T']['std']:.2f}: pure standard noise, "
        "where sampling starts."
    )
    ch.figure(ctx.run.figures / "diffusion_schedules.png",
              "The share of the image left at each step, and the signal-to-noise ratio, for "
              "both schedules.")  # fmt: skip
    return {"half_signal_step": half, "x_T": m["x_T"], "run": str(run)}
