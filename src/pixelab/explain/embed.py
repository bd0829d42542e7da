"""The manifold hypothesis, measured: the same images in pixel space, HOG space and the CNN's
feature space, how well neighbours share a class in each, and 2-D maps of each space.

A good representation puts images of one class close together: k-NN accuracy (the label of the
nearest training images) and the silhouette score (how much closer an image is to its own class
than to the next one, from -1 to 1) say how far each space has untangled the classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pixelab._core.checks import check_images
from pixelab._core.errors import PixelabError

#: The spaces compared, in the lecture's order.
SPACES = ("pixels", "HOG", "CNN features")


def cnn_features(model: Any, images: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
    """The vector the model's classifier sees (``forward_head(..., pre_logits=True)``), (N, D)."""
    import torch

    x_all = check_images(images)
    dev = next(model.parameters()).device
    out = []
    with torch.no_grad():
        model.eval()
        for i in range(0, len(x_all), batch_size):
            x = torch.from_numpy(x_all[i : i + batch_size].transpose(0, 3, 1, 2).copy())
            x = x.float().div(255).to(dev)
            out.append(model.forward_head(model.forward_features(x), pre_logits=True).cpu())
    return torch.cat(out).flatten(1).numpy()


def spaces(model: Any, images: np.ndarray) -> dict[str, np.ndarray]:
    """The images as vectors in each space of SPACES."""
    from pixelab.features import hog_batch

    x = check_images(images)
    cell = max(4, x.shape[1] // 7)
    return {
        "pixels": x.reshape(len(x), -1).astype(np.float32) / 255,
        "HOG": hog_batch(x, cell=cell),
        "CNN features": cnn_features(model, x),
    }


def neighbourhood_scores(
    vectors: np.ndarray, labels: np.ndarray, *, k: int = 5, seed: int = 0
) -> dict[str, float]:
    """k-NN accuracy (half the images as neighbours, the other half as queries, stratified) and
    the silhouette score of the classes, on standardised vectors."""
    from sklearn.metrics import silhouette_score
    from sklearn.model_selection import train_test_split
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(labels)
    if len(np.unique(y)) < 2:
        raise PixelabError("the images hold a single class; neighbours need two or more")
    counts = np.bincount(y)
    if counts[counts > 0].min() < 2:
        raise PixelabError("every class needs at least two images to compare neighbours")
    v = StandardScaler().fit_transform(vectors)
    a, b, ya, yb = train_test_split(v, y, test_size=0.5, stratify=y, random_state=seed)
    knn = KNeighborsClassifier(n_neighbors=min(k, len(a))).fit(a, ya)
    return {
        "knn_accuracy": round(float(knn.score(b, yb)), 4),
        "silhouette": round(float(silhouette_score(v, y, random_state=seed)), 4),
        "dimensions": int(vectors.shape[1]),
    }


def project(vectors: np.ndarray, *, method: str = "pca", seed: int = 0) -> np.ndarray:
    """2-D coordinates of standardised vectors by PCA, t-SNE or UMAP (when installed)."""
    from sklearn.preprocessing import StandardScaler

    v = StandardScaler().fit_transform(vectors)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(v)
    if method == "tsne":
        from sklearn.decomposition import PCA
        from sklearn.manifold import TSNE

        v = PCA(n_components=min(50, v.shape[1], len(v)), random_state=seed).fit_transform(v)
        perplexity = min(30.0, (len(v) - 1) / 3)
        return TSNE(
            n_components=2, perplexity=perplexity, init="pca", random_state=seed
        ).fit_transform(v)
    if method == "umap":
        from pixelab._core.optional import require

        umap = require("umap", package="umap-learn")
        return umap.UMAP(n_components=2, random_state=seed).fit_transform(v)
    raise PixelabError(f"unknown projection {method!r}", hint="use pca, tsne or umap")
