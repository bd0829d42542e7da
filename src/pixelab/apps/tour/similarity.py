"""Chapter 3, similarity and manifolds: nearest neighbours in pixel vs HOG space, the shift
problem, and how few PCA directions carry the pixels' variation."""

from __future__ import annotations

from typing import Any

import numpy as np

from pixelab.apps.tour._context import TourContext
from pixelab.report import figures as F


def chapter(ctx: TourContext) -> dict[str, Any]:
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
