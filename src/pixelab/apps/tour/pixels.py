"""Chapter 2, pixels as features: grey, smaller, flat, what each step does to d, and how much
a classifier still sees (the curse of dimensionality)."""

from __future__ import annotations

import time
from typing import Any

from pixelab.apps.tour._context import TourContext
from pixelab.report import figures as F


def chapter(ctx: TourContext) -> dict[str, Any]:
    """Grey, smaller, flat: what each step does to d, and how much a classifier still sees."""
    from pixelab.data import dimensionality, limit_per_class, load_digits, photo, resize, to_gray
    from pixelab.train import classic_pipeline

    ch = ctx.report.chapter("Pixels as features and the curse of dimensionality")
    ch.text(
        "The most direct way to feed an image to a model is to use every pixel value as one "
        "input number (a feature). A 1024 x 768 colour photo is then a point with "
        "d = 2,359,296 coordinates, and even a tiny 28 x 28 grey image has d = 784. A linear "
        "model needs one weight per input per class; a first fully-connected layer of 1,024 "
        "units needs d x 1,024 weights. Turning colour into grey divides d by three, and "
        "downsampling divides it by the square of the factor, at the price of detail."
    )
    cat = to_gray(photo("chelsea"))
    h, w = cat.shape[:2]
    side = min(h, w)
    square = cat[(h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side]
    sides = (256, 64, 32, 16, 8)
    shots = [resize(square[None], s)[0] for s in sides]
    fig = F.image_grid(shots, titles=[f"{s}x{s}: d = {s * s:,}" for s in sides], ncols=5, cell=2.0)
    ctx.figure(ch, fig, "downsampling", "Downsampling one photo: fewer numbers, less detail.")

    digit = load_digits().images[0]
    fig = F.new_figure(9, 2.4)
    ax_img, ax_vec = fig.subplots(1, 2, width_ratios=[1, 6])
    F.plot_image(digit, title="8 x 8 image", ax=ax_img)
    F.plot_image(digit.reshape(1, -1), title="the same 64 numbers, flattened row by row", ax=ax_vec)
    ax_vec.set_aspect("auto")
    ctx.figure(
        ch,
        fig,
        "flattening",
        "Flattening puts the rows one after the other: pixels that were neighbours vertically "
        "end up 8 positions apart, so the layout of the image is lost.",
    )

    train, test = ctx.fashion()
    info = dimensionality(train)
    ctx.figure(
        ch,
        F.plot_dimensionality(info).figure,
        "dimensionality",
        "Numbers per image and the weights they cost (log scale).",
    )
    ch.table(
        ["representation", "d", "linear model weights", "dense layer (1,024 units) weights"],
        [
            [s["step"], s["d"], s["linear_params"], s["dense_params"]]
            for s in [*info["steps"], info["reference"]]
        ],
    )
    rows = []
    train = limit_per_class(train, 20000, seed=ctx.seed)  # enough to show the trend
    for s in (28, 14, 7, 4):
        tr = resize(train.images, s)
        te = resize(test.images, s)
        t0 = time.perf_counter()
        clf = classic_pipeline("pixels", "logreg", pca=None, seed=ctx.seed).fit(tr, train.labels)
        acc = float((clf.predict(te) == test.labels).mean())
        rows.append([f"{s}x{s}", s * s, round(acc, 3), round(time.perf_counter() - t0, 2)])
    ch.text(
        f"How much does a simple classifier lose when the images shrink? Logistic regression "
        f"on raw pixels of {len(train):,} Fashion-MNIST training images, tested on "
        f"{len(test):,} others:"
    )
    ch.table(["resolution", "d", "test accuracy", "seconds"], rows)
    ch.text(
        "Accuracy holds up surprisingly well until the images become too coarse: many of the "
        "784 numbers are redundant. That redundancy is the subject of the next chapter."
    )
    return {"dimensionality": info, "accuracy_by_resolution": {r[0]: r[2] for r in rows}}
