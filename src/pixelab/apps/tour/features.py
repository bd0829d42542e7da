"""Chapter 4, the "old days" of hand-made features: HOG, SIFT keypoints and matching, edges
and corners, on real photos."""

from __future__ import annotations

from typing import Any

import numpy as np

from pixelab.apps.tour._context import TourContext
from pixelab.report import figures as F


def chapter(ctx: TourContext) -> dict[str, Any]:
    """HOG, SIFT keypoints and matching, edges and corners, on real photos."""
    from pixelab import features as feats
    from pixelab.apps.features import shrink
    from pixelab.data import photo, photo_names

    ch = ctx.report.chapter('The "old days": hand-made features')
    ch.text(
        "Before deep learning, people designed features by hand: numbers meant to be the same "
        "for the same object and different for different objects. A histogram of oriented "
        "gradients (HOG) cuts the image into small cells and records, in each, how strongly "
        "the brightness changes in each direction: it describes shape and ignores colour and "
        "much of the lighting."
    )
    astro = shrink(photo("astronaut"), 256)
    fig = F.new_figure(9, 4.5)
    a1, a2 = fig.subplots(1, 2)
    F.plot_image(astro, title="photo", ax=a1)
    F.plot_image(
        feats.hog_image(astro, cell=8),
        title="HOG: dominant directions per 8 px cell",
        ax=a2,
        cmap="magma",
    )
    ctx.figure(
        ch,
        fig,
        "hog_photo",
        "HOG of a photo: each cell is drawn as a star of its gradient directions.",
    )
    train, _ = ctx.fashion()
    picks = [int(np.flatnonzero(train.labels == c)[0]) for c in range(0, len(train.classes), 2)]
    tiles: list[np.ndarray] = []
    titles: list[str] = []
    for i in picks:
        tiles += [train.images[i], feats.hog_image(train.images[i], cell=4)]
        titles += [train.classes[train.labels[i]], "HOG"]
    fig = F.image_grid(tiles, ncols=len(tiles), cell=1.3, titles=titles)
    ctx.figure(ch, fig, "hog_fashion", "Fashion-MNIST items and their HOG pictures (4 px cells).")
    d_hog = int(feats.hog(train.images[0], cell=4).size)
    ch.text(
        f"On a 28 x 28 item, HOG with 4 x 4-pixel cells gives d = {d_hog:,} numbers, organised "
        "by place and direction rather than by single pixels.",
        "SIFT (the scale-invariant feature transform) finds distinctive points at several "
        "scales, gives each an orientation, and describes the patch around it with 128 numbers. "
        "Because the description is measured relative to the point's own scale and orientation, "
        "the same point can be found again after the object moves, turns or changes size.",
    )
    squirrel = shrink(photo("squirrel_cls" if "squirrel_cls" in photo_names() else "chelsea"), 400)
    kp, _ = feats.sift(squirrel)
    fig = F.new_figure(6, 4.5)
    F.plot_keypoints(squirrel, kp, ax=fig.add_subplot())
    ctx.figure(
        ch, fig, "sift_keypoints", "SIFT keypoints: circle size = scale, tick = orientation."
    )
    if {"box", "box_in_scene"} <= set(photo_names()):
        a, b = photo("box"), photo("box_in_scene")
        where = "an object and a cluttered scene that contains it"
    else:
        import cv2

        a = shrink(photo("chelsea"), 300)
        m = cv2.getRotationMatrix2D((a.shape[1] / 2, a.shape[0] / 2), 30, 0.7)
        b = cv2.warpAffine(a, m, (a.shape[1], a.shape[0]), borderValue=(255, 255, 255))
        where = "a photo and a turned, shrunk copy"
    pa, pb = feats.match_sift(a, b)
    fig = F.new_figure(10, 4.5)
    F.plot_matches(a, b, pa, pb, ax=fig.add_subplot())
    ctx.figure(ch, fig, "sift_matches", f"SIFT matches between {where}.")
    coins = shrink(photo("coins"), 300)
    building = shrink(
        photo("checkerboard") if "checkerboard" in photo_names() else photo("camera"), 300
    )
    coords, _ = feats.corners(building)
    fig = F.new_figure(10, 3.6)
    b1, b2, b3 = fig.subplots(1, 3)
    F.plot_image(coins, title="photo", ax=b1)
    F.plot_image(feats.edges(coins).astype(np.uint8) * 255, title="Canny edges", ax=b2)
    F.plot_image(building, ax=b3)
    b3.scatter(coords[:, 1], coords[:, 0], s=12, c="#ff3d00", marker="+")
    b3.set_title(f"{len(coords)} Harris corners", fontsize=9)
    ctx.figure(
        ch, fig, "edges_corners", "Edges (where brightness jumps) and corners (where edges meet)."
    )
    return {"hog_d_28px": d_hog, "sift_keypoints": len(kp), "sift_matches": len(pa)}
