"""The tour: the lecture's story as one self-contained HTML report, computed on real data.

Each chapter is a function ``(ctx) -> metrics`` that adds text, figures and tables to the
report; later capabilities append their chapters to ``CHAPTERS``.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from pixelab._core.errors import PixelabError
from pixelab._core.progress import ProgressFn, report
from pixelab.report import Chapter, HtmlReport, RunDir
from pixelab.report import figures as F


@dataclasses.dataclass
class TourContext:
    """What every chapter gets: the report, the run folder, the size of the tour and a seed."""

    report: HtmlReport
    run: RunDir
    quick: bool
    seed: int
    progress: ProgressFn | None
    cache: dict[str, Any] = dataclasses.field(default_factory=dict)

    def figure(self, chapter: Chapter, fig: Any, name: str, caption: str) -> None:
        """Save ``fig`` under figures/ and embed it in ``chapter``."""
        chapter.figure(self.run.save_figure(fig, name), caption)

    def fashion(self) -> tuple[Any, Any]:
        """Fashion-MNIST (train, test), sliced in the quick tour; loaded once."""
        if "fashion" not in self.cache:
            from pixelab.data import load_train_test

            limit = 2000 if self.quick else None
            self.cache["fashion"] = load_train_test("fashion-mnist", limit=limit, seed=self.seed)
        return self.cache["fashion"]


# ---------------------------------------------------------------- 1. why vision is hard
def chapter_challenges(ctx: TourContext) -> dict[str, Any]:
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


# ---------------------------------------------------------------- 2. pixels as features
def chapter_pixels(ctx: TourContext) -> dict[str, Any]:
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


# ---------------------------------------------------------------- 3. similarity and manifolds
def chapter_similarity(ctx: TourContext) -> dict[str, Any]:
    """Nearest neighbours in pixel space vs HOG space, the shift problem, and PCA."""
    from sklearn.decomposition import PCA
    from sklearn.neighbors import NearestNeighbors

    from pixelab.features import hog_batch

    ch = ctx.report.chapter("Similarity in pixel space and the manifold hypothesis")
    ch.text(
        "If images are points, similar images should be close points. The figure shows, for "
        "a few test images (left column), the training images closest in raw-pixel distance, "
        "then closest in HOG-feature distance. A wrong class among the neighbours is marked."
    )
    train, test = ctx.fashion()
    n_ref = min(len(train), 10000)
    ref = train.subset(np.arange(n_ref))
    rng = np.random.default_rng(ctx.seed)
    queries = rng.choice(len(test), size=5, replace=False)
    px_ref = ref.images.reshape(n_ref, -1).astype(np.float32)
    px_q = test.images[queries].reshape(len(queries), -1).astype(np.float32)
    hog_ref = hog_batch(ref.images)
    hog_q = hog_batch(test.images[queries])
    k = 6
    tiles: list[np.ndarray] = []
    titles: list[str] = []
    agreement = {}
    for space, (r, q) in {"pixels": (px_ref, px_q), "HOG": (hog_ref, hog_q)}.items():
        nn = NearestNeighbors(n_neighbors=k).fit(r)
        _, idx = nn.kneighbors(q)
        for qi, row in zip(queries, idx, strict=True):
            tiles.append(test.images[qi])
            titles.append(f"query ({space})")
            for j in row:
                tiles.append(ref.images[j])
                same = ref.labels[j] == test.labels[qi]
                titles.append("" if same else f"✗ {ref.classes[ref.labels[j]]}")
        # 1-NN label agreement on a larger sample: how often is the nearest image the same class?
        sample = rng.choice(len(test), size=min(500, len(test)), replace=False)
        qs = (
            test.images[sample].reshape(len(sample), -1).astype(np.float32)
            if space == "pixels"
            else hog_batch(test.images[sample])
        )
        _, nearest = nn.kneighbors(qs, n_neighbors=1)
        agreement[space] = round(
            float((ref.labels[nearest[:, 0]] == test.labels[sample]).mean()), 3
        )
    fig = F.image_grid(tiles, titles=titles, ncols=k + 1, cell=1.1)
    ctx.figure(
        ch, fig, "neighbours", "Rows 1-5: nearest neighbours by pixels. Rows 6-10: by HOG features."
    )
    ch.table(
        ["space", "nearest training image has the same class"],
        [[s, a] for s, a in agreement.items()],
    )

    img = test.images[queries[0]].astype(np.float32)
    shifted = np.roll(img, 3, axis=1)
    same_class = ref.labels == test.labels[queries[0]]
    d_shift = float(np.linalg.norm(img - shifted))
    d_other = np.linalg.norm(px_ref[~same_class] - img.reshape(1, -1), axis=1)
    closest_other = int(np.flatnonzero(~same_class)[d_other.argmin()])
    fig = F.image_grid(
        [test.images[queries[0]], shifted.astype(np.uint8), ref.images[closest_other]],
        titles=[
            "an image",
            f"shifted 3 px\ndistance {d_shift:,.0f}",
            f"closest other class\ndistance {d_other.min():,.0f}",
        ],
        ncols=3,
        cell=2.0,
    )
    ctx.figure(
        ch,
        fig,
        "shift",
        "Moving an image by three pixels can change its pixel numbers more than swapping it "
        "for a different kind of object.",
    )
    pca = PCA(random_state=ctx.seed).fit(px_ref / 255)
    cum = np.cumsum(pca.explained_variance_ratio_)
    n90 = int(np.searchsorted(cum, 0.9) + 1)
    n_show = min(2000, n_ref)
    emb = pca.transform(px_ref[:n_show] / 255)[:, :2]
    fig = F.new_figure(11, 4.2)
    ax1, ax2 = fig.subplots(1, 2)
    F.plot_embedding(
        emb,
        ref.labels[:n_show],
        ref.classes,
        title="pixels projected on 2 principal directions",
        ax=ax1,
    )
    ax2.plot(np.arange(1, len(cum) + 1), cum)
    ax2.axhline(0.9, color="grey", ls=":")
    ax2.axvline(n90, color="grey", ls=":")
    ax2.set_xscale("log")
    ax2.set_xlabel("number of principal components")
    ax2.set_ylabel("share of pixel variance kept")
    ax2.set_title(f"{n90} of {px_ref.shape[1]} directions keep 90%", fontsize=10)
    ctx.figure(
        ch,
        fig,
        "manifold",
        "Left: a 2-D view of the pixel space. Right: how few directions carry most of the variation.",
    )
    ch.text(
        f"The manifold hypothesis says real images fill only a thin, curved part of their "
        f"huge space. Here {n90} directions out of {px_ref.shape[1]} already keep 90% of the "
        f"variation in Fashion-MNIST pixels; the rest is mostly redundant. Classes overlap in "
        f"a straight projection: the useful structure is curved, which is what better features "
        f"and, later, neural networks learn to unfold."
    )
    return {
        "nn_same_class": agreement,
        "pca_components_for_90pct": n90,
        "shift_distance": round(d_shift, 1),
        "closest_other_class_distance": round(float(d_other.min()), 1),
    }


# ---------------------------------------------------------------- 4. hand-made features
def chapter_features(ctx: TourContext) -> dict[str, Any]:
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


# ---------------------------------------------------------------- 5. classic classifiers
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


def chapter_classic(ctx: TourContext) -> dict[str, Any]:
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


# ---------------------------------------------------------------- 6. CNNs
def _convolve_demo(ctx: TourContext, ch: Chapter) -> None:
    """Hand-set kernels slid over a photo: each feature map lights up where its pattern is."""
    import torch
    import torch.nn.functional as tF

    from pixelab.apps.features import shrink
    from pixelab.data import photo, to_float01, to_gray

    img = to_float01(to_gray(shrink(photo("camera"), 192)))[..., 0]
    kernels = {
        "vertical edges": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
        "horizontal edges": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
        "blur": [[1 / 9] * 3] * 3,
        "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    }
    w = torch.tensor(list(kernels.values()), dtype=torch.float32)[:, None]
    maps = tF.conv2d(torch.from_numpy(img)[None, None], w, padding=1)[0].numpy()
    fig = F.new_figure(12, 3.2)
    axes = fig.subplots(1, 5)
    F.plot_image((img * 255).astype(np.uint8), title="input", ax=axes[0])
    for ax, (name, k), m in zip(axes[1:], kernels.items(), maps, strict=True):
        F.plot_image(
            m,
            title=f"{name}\n{np.array(k).round(2).tolist()}",
            ax=ax,
            cmap="RdBu_r" if "edges" in name else "gray",
        )
        ax.title.set_fontsize(7)
    ctx.figure(
        ch,
        fig,
        "convolution",
        "A 3 x 3 kernel slid over the image gives one feature map per kernel.",
    )


def chapter_cnn(ctx: TourContext) -> dict[str, Any]:
    """Convolution, the architecture, training curves, learned filters and the comparison."""
    import torch

    from pixelab.apps.cnn import plot_curves
    from pixelab.models import create_model
    from pixelab.train import TrainConfig, fit, predict_logits

    ch = ctx.report.chapter("Convolutional neural networks")
    ch.text(
        "A convolution slides a small grid of weights (a kernel) over the image and, at every "
        "position, multiplies and adds: the result, a feature map, is bright wherever the "
        "image locally looks like the kernel. The kernels below were set by hand; a "
        "convolutional network (CNN) learns its kernels from the training images instead, "
        "and stacks layers of them, so later layers find patterns made of earlier patterns."
    )
    _convolve_demo(ctx, ch)
    train, test = ctx.fashion()
    torch.manual_seed(ctx.seed)
    model = create_model("small_cnn", num_classes=len(train.classes), in_channels=1, image_size=28)
    shapes = []
    hooks = [
        layer.register_forward_hook(
            lambda m, i, o, name=name: shapes.append((name, tuple(o.shape[1:])))
        )
        for name, layer in model.feature_layers().items()
    ]
    with torch.inference_mode():
        model.eval()(torch.zeros(1, 1, 28, 28))
    for h in hooks:
        h.remove()
    layers = model.feature_layers()
    ch.text(
        "The network used here, layer by layer (channels x height x width of what each layer passes on):"
    )
    ch.table(
        ["layer", "output shape", "parameters"],
        [
            [n, " x ".join(map(str, s)), sum(p.numel() for p in layers[n].parameters())]
            for n, s in shapes
        ]
        + [
            [
                "head (linear)",
                str(len(train.classes)),
                sum(p.numel() for p in model.get_classifier().parameters()),
            ]
        ],
    )
    cfg = TrainConfig(seed=ctx.seed)  # the full tour trains with the defaults of `cnn train`
    if ctx.quick:
        cfg = cfg.replace(epochs=2)
    epochs = cfg.epochs

    def progress(task: str, done: int, total: int) -> None:
        report(ctx.progress, f"training small_cnn: {task}", done, total)

    result = fit(model, train, config=cfg, progress=progress)
    t0 = time.perf_counter()
    cnn_acc = float((predict_logits(model, test.images).argmax(1) == test.labels).mean())
    cnn_pred_s = time.perf_counter() - t0
    ctx.figure(ch, plot_curves(result.history).figure, "cnn_curves", "Training curves of the CNN.")
    torch.manual_seed(ctx.seed)
    mlp = create_model("mlp", num_classes=len(train.classes), in_channels=1, image_size=28)
    mlp_result = fit(mlp, train, config=cfg.replace(augment="none"))
    t0 = time.perf_counter()
    mlp_acc = float((predict_logits(mlp, test.images).argmax(1) == test.labels).mean())
    mlp_pred_s = time.perf_counter() - t0
    w = next(iter(layers.values()))
    conv = next(m for m in w.modules() if isinstance(m, torch.nn.Conv2d))
    filters = conv.weight.detach()[:, 0].cpu().numpy()
    lim = np.abs(filters).max()
    fig = F.image_grid(list(filters[:32]), ncols=16, cell=0.7, cmap="RdBu_r", vmin=-lim, vmax=lim,
                       suptitle="first-layer kernels learned from Fashion-MNIST (red +, blue -)")  # fmt: skip
    ctx.figure(
        ch,
        fig,
        "cnn_filters",
        "Learned 3 x 3 kernels of the first layer: many are small edge and blob detectors.",
    )
    x = torch.from_numpy(test.images[:1].transpose(0, 3, 1, 2).copy()).float() / 255  # writable
    x = x.to(next(model.parameters()).device)  # where training left the model (a GPU, maybe)
    with torch.inference_mode():
        fmap = next(iter(layers.values()))(model.normalize(x))[0].cpu().numpy()
    fig = F.image_grid([test.images[0], *list(fmap[:15])], ncols=16, cell=0.75,
                       titles=["input"] + [f"map {i}" for i in range(15)])  # fmt: skip
    ctx.figure(
        ch,
        fig,
        "cnn_feature_maps",
        "What the first layer passes on for one test image: one map per learned kernel.",
    )
    rows = [[r[0], r[1], r[2], r[3]] for r in ctx.cache.get("classic_rows", [])]
    rows += [
        [
            "MLP (flatten + dense layers)",
            len(train),
            round(mlp_acc, 4),
            round(mlp_result.train_seconds, 1),
        ],
        ["small CNN", len(train), round(cnn_acc, 4), round(result.train_seconds, 1)],
    ]
    ch.table(["model", "training images", "test accuracy", "training seconds"], rows)
    ch.text(
        f"On the same {len(train):,} training images, the small CNN reaches {cnn_acc:.1%} test "
        f"accuracy after {epochs} passes over the data, against {mlp_acc:.1%} for a "
        "fully-connected network that sees the image as one flat list of pixels. "
        + (
            "The convolutional layers keep the 2-D layout and reuse the same small kernels "
            "everywhere, so a pattern is recognised wherever it appears, with far fewer weights "
            "per layer."
            if cnn_acc > mlp_acc
            else "With this little training the CNN has not caught up yet: its kernels start "
            "from random numbers and need more passes over more images than a plain dense "
            "network before their advantage shows (run the full tour, or `pixelab cnn train`)."
        ),
        *filter(None, [_versus_classic(ctx, cnn_acc)]),  # only when the classic chapter ran
        "Try it on your own images: `pixelab cnn train --data my_photos/ --size 64`.",
    )
    return {
        "cnn_accuracy": round(cnn_acc, 4),
        "cnn_train_seconds": round(result.train_seconds, 1),
        "cnn_predict_seconds": round(cnn_pred_s, 2),
        "mlp_accuracy": round(mlp_acc, 4),
        "mlp_train_seconds": round(mlp_result.train_seconds, 1),
        "mlp_predict_seconds": round(mlp_pred_s, 2),
        "num_parameters": model.num_parameters(),
        "epochs": epochs,
    }


def _versus_classic(ctx: TourContext, cnn_acc: float) -> str:
    """One sentence comparing the CNN with the best classic pipeline of the tour, if it ran."""
    rows = ctx.cache.get("classic_rows", [])
    if not rows:
        return ""
    name, _, acc, _ = max(rows, key=lambda r: r[2])[:4]
    if cnn_acc > acc:
        return (
            f"It also beats the best hand-made-feature pipeline above ({name}, {acc:.1%}), "
            "without anyone designing its features."
        )
    return (
        f"The best hand-made-feature pipeline above ({name}) still leads with {acc:.1%}: this short "
        "training run has not caught up with carefully designed features yet."
    )


#: The chapters, in lecture order: (key, function). Later issues append to this list.
CHAPTERS: list[tuple[str, Callable[[TourContext], dict[str, Any]]]] = [
    ("challenges", chapter_challenges),
    ("pixels", chapter_pixels),
    ("similarity", chapter_similarity),
    ("features", chapter_features),
    ("classic", chapter_classic),
    ("cnn", chapter_cnn),
]


def run_tour(
    out: str | os.PathLike[str],
    *,
    quick: bool = False,
    seed: int = 0,
    chapters: list[str] | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Compute every chapter and write ``out/report.html``, ``metrics.json`` and figures.

    The report is rewritten after each chapter, so an interrupted tour keeps what it finished.
    """
    selected = [(k, f) for k, f in CHAPTERS if chapters is None or k in chapters]
    if not selected:
        raise PixelabError(
            f"no tour chapter is called {', '.join(chapters or [])}",
            hint=f"chapters: {', '.join(k for k, _ in CHAPTERS)}",
        )
    with RunDir.create(out, kind="tour", replace_same_kind=True) as run:
        run.write_config(
            {"quick": quick, "seed": seed, "chapters": [k for k, _ in selected]}, kind="tour"
        )
        run.keep_on_error = True  # an interrupted tour keeps the chapters it finished
        return _run_chapters(run, selected, quick, seed, progress)


def _run_chapters(
    run: RunDir, selected: list[Any], quick: bool, seed: int, progress: ProgressFn | None
) -> dict[str, Any]:
    rep = HtmlReport(
        "pixelab tour: machine learning for images",
        lede=("Quick tour (" if quick else "Full tour (")
        + "every number and picture below was computed on this machine just now).",
    )
    ctx = TourContext(rep, run, quick, seed, progress)
    metrics: dict[str, Any] = {"quick": quick, "chapters": {}, "seconds": {}}
    t_start = time.perf_counter()
    for i, (key, fn) in enumerate(selected):
        report(progress, "tour chapters", i, len(selected))
        t0 = time.perf_counter()
        metrics["chapters"][key] = fn(ctx)
        metrics["seconds"][key] = round(time.perf_counter() - t0, 2)
        metrics["total_seconds"] = round(time.perf_counter() - t_start, 2)
        rep.write(run.path / "report.html")
        run.write_metrics(metrics)
    report(progress, "tour chapters", len(selected), len(selected))
    accs = [metrics["chapters"].get("classic", {}).get("best", {}).get("accuracy"),
            metrics["chapters"].get("cnn", {}).get("cnn_accuracy")]  # fmt: skip
    if any(a is not None for a in accs):
        metrics["accuracy"] = max(a for a in accs if a is not None)  # the tour's best model
    metrics["total_seconds"] = round(time.perf_counter() - t_start, 2)
    run.write_metrics(metrics)
    return metrics
