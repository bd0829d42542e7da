"""Chapter 5, classic classifiers: the feature x classifier comparison on Fashion-MNIST, with
times and the best pipeline's confusion matrix."""

from __future__ import annotations

from typing import Any

from pixelab._core.progress import report
from pixelab.apps.tour._context import TourContext
from pixelab.report import figures as F

#: (features, classifier, PCA components or None, training-image cap in the full tour, cap in
#: the quick tour). The last row is pixelab's default pipeline (see BENCHMARKS.md).
COMPARISON = (
    ("pixels", "logreg", None, 20000, 2000),
    ("pixels", "rf", None, None, 2000),
    ("pixels", "knn", None, 20000, 2000),
    ("hog", "logreg", None, 20000, 2000),
    ("hog", "rf", None, 20000, 2000),
    ("sift", "linear_svm", None, 10000, 1000),
    ("hog+pixels", "svm", 96, None, 2000),
)


def _most_common_mistake(most_confused: dict[str, Any] | None) -> str:
    """The sentence on the best classic pipeline's most common mistake (None: it made none)."""
    if most_confused is None:
        return "It misclassified no test image."
    return (
        f"Its most common mistake is taking a {most_confused['true']} for a "
        f"{most_confused['predicted']}: classes that share a silhouette are hard for features "
        "that mostly describe outlines."
    )


def chapter(ctx: TourContext) -> dict[str, Any]:
    """The feature x classifier comparison on Fashion-MNIST, with times."""
    from pixelab.data import limit_per_class
    from pixelab.train import CLASSIFIERS, ClassicConfig, fit_classic

    ch = ctx.report.chapter("Classic classifiers on Fashion-MNIST")
    ch.text(
        "Fashion-MNIST has 70,000 grey 28 x 28 pictures of clothes in ten classes "
        "(60,000 to train, 10,000 to test). Each pipeline turns images into features, "
        "scales them, and trains a classic classifier: "
        + "; ".join(f"{k}: {v}" for k, v in CLASSIFIERS.items())
        + ". Accuracy is measured on test images the pipeline never saw. The last pipeline "
        "is pixelab's default: HOG at two cell sizes (on the image enlarged 2x) next to the raw "
        "pixels, reduced to 96 principal components, then an RBF support-vector machine."
    )
    train_all, test = ctx.fashion()
    rows = []
    best: dict[str, Any] = {}
    for i, (feat, clf, pca, cap_full, cap_quick) in enumerate(COMPARISON):
        cap = cap_quick if ctx.quick else cap_full
        train = train_all if cap is None else limit_per_class(train_all, cap, seed=ctx.seed)
        cfg = ClassicConfig(
            data="fashion-mnist", features=feat, classifier=clf, pca=pca, seed=ctx.seed
        )
        _, m, pred = fit_classic(cfg, train, test)
        name = f"{feat} + {clf}" + (f" (PCA {pca})" if pca else "")
        rows.append(
            [
                name,
                m["n_train"],
                m["accuracy"],
                m["train_seconds"],
                m["predict_seconds"],
            ]
        )
        if m["accuracy"] > best.get("accuracy", -1):
            best = {**m, "name": name, "pred": pred}
        report(ctx.progress, "classic classifiers", i + 1, len(COMPARISON))
    ctx.cache["classic_rows"] = rows
    ch.table(
        ["pipeline", "training images", "test accuracy", "fit seconds", "predict seconds"], rows
    )
    fig = F.new_figure(11, 0.45 * len(rows) + 1.5)
    a1, a2 = fig.subplots(1, 2, sharey=True)
    F.plot_bars([r[0] for r in rows], [r[2] for r in rows], xlabel="test accuracy", ax=a1)
    a1.set_xlim(0.5, 1)
    F.plot_bars(
        [r[0] for r in rows],
        [r[3] for r in rows],
        xlabel="fit seconds (log)",
        log=True,
        fmt="{:.1f}",
        ax=a2,
    )
    ctx.figure(ch, fig, "classic_comparison", "Accuracy and training time of each pipeline.")
    ax = F.plot_confusion(best["confusion"], test.classes)
    ax.set_title(f"{best['name']}: accuracy {best['accuracy']:.3f}", fontsize=10)
    ctx.figure(
        ch,
        ax.figure,
        "classic_confusion",
        "Where the best classic pipeline goes wrong (rows: true class).",
    )
    ch.text(
        f"The best pipeline here is {best['name']} with {best['accuracy']:.1%} test accuracy. "
        f"{_most_common_mistake(best['most_confused'])} Hand-made features help, but someone "
        "had to invent them; the next chapters let a network learn its own."
    )
    return {
        "comparison": [
            dict(
                zip(
                    ["pipeline", "n_train", "accuracy", "train_seconds", "predict_seconds"],
                    r,
                    strict=True,
                )
            )
            for r in rows
        ],
        "best": {
            k: v
            for k, v in best.items()
            if k in ("name", "accuracy", "train_seconds", "predict_seconds", "n_train", "n_test")
        },
    }
