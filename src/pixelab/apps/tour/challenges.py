"""Chapter 1, why vision is hard: the seven challenges on synthetic shapes, and what each
does to simple classifiers."""

from __future__ import annotations

from typing import Any

import numpy as np

from pixelab._core.progress import report
from pixelab.apps.tour._context import TourContext
from pixelab.report import figures as F


def chapter(ctx: TourContext) -> dict[str, Any]:
    """The seven challenges on synthetic shapes, and what each does to simple classifiers."""
    from pixelab.data.shapes import CHALLENGES, challenge_examples, make_shapes
    from pixelab.train import classic_pipeline

    ch = ctx.report.chapter("Why vision is hard")
    ch.text(
        "A camera does not see a star or a cat: it records a grid of numbers. The same object "
        "can give completely different numbers depending on how it is turned, bent, hidden, lit, "
        "how big it appears and what is behind it, while two different objects can give similar "
        "numbers. The figure shows one star under a growing dose of each of the seven classic "
        "challenges (left: none, right: strong), made with pixelab's synthetic `shapes` data, "
        "where we control every knob.",
    )
    severities = (0.0, 0.25, 0.5, 0.75, 1.0)
    rows = [
        challenge_examples(c, severities=severities, n=1, size=64, seed=ctx.seed)[:, 0]
        for c in CHALLENGES
    ]
    grid = np.concatenate(rows)
    fig = F.image_grid(
        grid,
        ncols=len(severities),
        row_labels=[c.replace("_", "-") for c in CHALLENGES],
        titles=[
            f"severity {s:g}" if i < len(severities) else ""
            for i, s in enumerate(severities * len(CHALLENGES))
        ],
        cell=1.2,
    )
    ctx.figure(
        ch, fig, "challenges", "One star, seven challenges, growing severity from left to right."
    )

    n_train = 60 if ctx.quick else 200
    n_test = 30 if ctx.quick else 80
    clean = dict.fromkeys(CHALLENGES, 0.0)
    train = make_shapes(n_per_class=n_train, size=32, seed=ctx.seed, **clean)
    models = {
        "pixels + logistic regression": classic_pipeline(
            "pixels", "logreg", pca=None, seed=ctx.seed
        ),
        "HOG + logistic regression": classic_pipeline("hog", "logreg", pca=None, seed=ctx.seed),
    }
    for m in models.values():
        m.fit(train.images, train.labels)
    levels = (0.0, 0.5, 1.0)
    results: dict[str, dict[str, list[float]]] = {name: {} for name in models}
    for ci, c in enumerate(CHALLENGES):
        for s in levels:
            test = make_shapes(
                n_per_class=n_test, size=32, seed=ctx.seed + 1000 + ci, **{**clean, c: s}
            )
            for name, m in models.items():
                acc = float((m.predict(test.images) == test.labels).mean())
                results[name].setdefault(c, []).append(round(acc, 3))
        report(ctx.progress, "challenge experiments", ci + 1, len(CHALLENGES))
    fig = F.new_figure(10, 3.6)
    axes = fig.subplots(1, len(models), sharey=True)
    for ax, (name, res) in zip(axes, results.items(), strict=True):
        for c, accs in res.items():
            ax.plot(levels, accs, marker="o", label=c.replace("_", "-"))
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("severity of one challenge at test time")
        ax.axhline(1 / len(train.classes), color="grey", ls=":", lw=1)
        ax.set_ylim(0, 1.02)
    axes[0].set_ylabel("test accuracy")
    axes[-1].legend(fontsize=7, loc="lower left")
    ctx.figure(
        ch,
        fig,
        "challenge_accuracy",
        f"Classifiers trained on {len(train)} clean shapes, tested on shapes with one challenge "
        "turned up. The dotted line is chance.",
    )
    ch.text(
        "Both classifiers learned from clean, centred shapes. Each line turns up a single "
        "challenge at test time. Accuracy falls for almost every challenge: what was learned "
        "about the numbers does not transfer when the numbers change, even though a person "
        "still sees the same shape. Hand-made HOG features resist some challenges (lighting) "
        "better than raw pixels, but not all. In real photos, all challenges come at once."
    )
    return {"accuracy_under_challenge": results, "n_train": len(train)}
