"""Generalisation: data augmentation, the answer to a network that only knows what it saw.

This first part of the chapter shows the augmentations themselves; the measured invariance
curves and the ablation come with ``pixelab robust``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pixelab.apps.tour._context import TourContext

#: The ops drawn on a Fashion-MNIST image, one or two per family of the lecture.
OPS = ("flip", "translate", "rotate", "scale", "elastic", "noise", "brightness", "erase", "mixup")


def chapter(ctx: TourContext) -> dict[str, Any]:
    """Each augmentation family at rising strengths, and what a training batch sees."""
    from pixelab.apps.augment import op_strengths, policy_draws
    from pixelab.augment import parse_policy
    from pixelab.report import figures as F

    ch = ctx.report.chapter("Generalisation: data augmentation")
    ch.text(
        "A convolution finds a pattern wherever it is, but a network is not automatically "
        "unmoved by turns, zooms or a change of light: it knows the images it was trained on. "
        "Data augmentation shows it more of the world: every training image is changed at "
        "random each time it is seen (moved, turned, zoomed, mirrored, bent, made noisier, "
        "darker or brighter, partly covered, or blended with another image), so the network "
        "learns that those changes do not change the class."
    )
    train, _ = ctx.fashion()
    order = np.argsort(train.labels, kind="stable")
    pair = train.images[[order[0], order[len(order) // 2]]]  # two classes: mixup blends them
    rows = op_strengths(pair, list(OPS), steps=4, seed=ctx.seed)["rows"]
    cells = [im for row in rows for im in row["images"]]
    titles = [f"{v:g}" for row in rows for v in row["values"]]
    fig = F.image_grid(cells, titles=titles, ncols=4, cell=1.1, row_labels=[r["op"] for r in rows])
    ctx.figure(ch, fig, "generalisation_ops",
               "One Fashion-MNIST image through each augmentation, from 0 (unchanged) to strong "
               "(`pixelab augment show fashion-mnist`; `pixelab augment list` explains each "
               "strength).")  # fmt: skip
    policy = parse_policy("strong")
    draws = policy_draws(pair[:1], policy.spec, n=16, seed=ctx.seed)
    fig = F.image_grid(list(draws), ncols=8, cell=1.0)
    ctx.figure(ch, fig, "generalisation_policy",
               f"The same image as 16 training steps would see it under the 'strong' policy "
               f"({policy.spec}).")  # fmt: skip
    ch.text(
        "Every change is drawn once and can be replayed exactly, so the same corruptions can "
        "be shown to several models and compared; mixing images (mixup, cutmix) also mixes "
        "their labels, e.g. 70 % coat and 30 % shoe."
    )
    return {"ops": {r["op"]: r["values"] for r in rows}, "policy": policy.spec}
