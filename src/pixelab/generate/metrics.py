"""Numbers for generated images, shared by every generative model (GANs, VAEs, diffusion).

All of them work on *features* of images from a judge network: a classifier trained on the
real data (:mod:`pixelab.generate.judge`). The Fréchet distance between the Gaussians fitted to
real and generated features is what FID computes with Inception features; with our own judge
it is named "FID (<judge> features)" and never plain FID, because the numbers are on another
scale. KID is the unbiased squared MMD with a cubic polynomial kernel (no Gaussian assumed).
Diversity, class coverage and the distance to the nearest training image (a memorisation check)
need nothing but arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pixelab._core.checks import check_positive_int
from pixelab._core.errors import PixelabError


def _features(x: Any, name: str, *, min_rows: int = 2) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or len(a) < min_rows or not np.isfinite(a).all():
        raise PixelabError(
            f"{name} must be a finite (N, D) array of at least {min_rows} feature vectors, "
            f"got shape {a.shape}"
        )
    return a


def frechet_distance(real: Any, fake: Any) -> float:
    """||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)) of two (N, D) feature sets.

    The trace of the matrix square root is the sum of the square roots of the eigenvalues of
    S_r S_f (real and >= 0 for two covariance matrices), which avoids ``sqrtm``'s complex parts.
    """
    a, b = _features(real, "real features"), _features(fake, "generated features")
    if a.shape[1] != b.shape[1]:
        raise PixelabError(f"feature sizes differ: {a.shape[1]} against {b.shape[1]}")
    mu = a.mean(0) - b.mean(0)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eig = np.linalg.eigvals(sa @ sb)
    root = np.sqrt(np.clip(eig.real, 0, None)).sum()
    return float(mu @ mu + np.trace(sa) + np.trace(sb) - 2 * root)


def kernel_distance(
    real: Any,
    fake: Any,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """KID: mean and standard deviation over ``subsets`` random subsets of the unbiased MMD^2
    with the kernel k(x, y) = (x.y / D + 1)^3 (as in Binkowski et al. 2018 and torchmetrics)."""
    a, b = _features(real, "real features"), _features(fake, "generated features")
    if a.shape[1] != b.shape[1]:
        raise PixelabError(f"feature sizes differ: {a.shape[1]} against {b.shape[1]}")
    check_positive_int(subsets, name="subsets")
    check_positive_int(subset_size, name="subset_size", minimum=2)
    m = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)] if m < len(a) else a
        y = b[rng.choice(len(b), m, replace=False)] if m < len(b) else b
        scores.append(_mmd2(x, y))
    return float(np.mean(scores)), float(np.std(scores))


def _mmd2(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kxx, kyy, kxy = ((x @ x.T) / d + 1) ** 3, ((y @ y.T) / d + 1) ** 3, ((x @ y.T) / d + 1) ** 3
    m = len(x)
    off = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(off - 2 * kxy.mean())


def diversity(features: Any, *, max_pairs: int = 200_000, seed: int = 0) -> float:
    """Mean distance between two different samples' features: it falls towards 0 as a
    generator collapses onto a few outputs (pairs are subsampled above ``max_pairs``)."""
    a = _features(features, "features")
    n = len(a)
    if n * (n - 1) // 2 <= max_pairs:
        i, j = np.triu_indices(n, 1)
    else:
        rng = np.random.default_rng(seed)
        i, j = rng.integers(0, n, max_pairs), rng.integers(0, n, max_pairs)
        keep = i != j
        i, j = i[keep], j[keep]
    return float(np.linalg.norm(a[i] - a[j], axis=1).mean())


def class_diversity(features: Any, classes: Any) -> float:
    """Mean :func:`diversity` within each class (classes with two samples or more): a
    conditional generator that ignores its noise makes one image per class, which the
    diversity over all classes together hides."""
    a = _features(features, "features")
    c = np.asarray(classes).ravel()
    if len(c) != len(a):
        raise PixelabError(f"{len(c)} classes for {len(a)} feature vectors")
    groups = [a[c == k] for k in np.unique(c)]
    values = [diversity(g) for g in groups if len(g) >= 2]
    if not values:
        raise PixelabError("no class has two samples: diversity within classes is undefined")
    return float(np.mean(values))


def class_coverage(predicted: Any, n_classes: int) -> dict[str, Any]:
    """How the judged classes of generated samples spread: the share of each class, the
    normalised entropy of those shares (1: every class alike, 0: one class only), and the
    classes that got less than a fifth of a fair share (the ones a collapsing GAN drops)."""
    p = np.asarray(predicted).astype(int).ravel()
    if n_classes < 1 or len(p) == 0 or p.min() < 0 or p.max() >= n_classes:
        raise PixelabError(f"predicted classes must lie in 0..{n_classes - 1}, got {len(p)} values")
    share = np.bincount(p, minlength=n_classes) / len(p)
    nz = share[share > 0]
    entropy = float(-(nz * np.log(nz)).sum() / np.log(n_classes)) if n_classes > 1 else 1.0
    return {
        "shares": [round(float(s), 4) for s in share],
        "entropy": round(entropy, 4),
        "missing": [int(k) for k in np.flatnonzero(share < 0.2 / n_classes)],
    }


def nearest_training(samples: np.ndarray, train: np.ndarray, *, batch: int = 256) -> dict:
    """For each generated image, the closest training image in pixels (root mean square
    difference per pixel, 0-255 scale): small values mean it copied a training image."""
    s = np.asarray(samples, np.float32).reshape(len(samples), -1)
    t = np.asarray(train, np.float32).reshape(len(train), -1)
    if s.shape[1] != t.shape[1]:
        raise PixelabError(f"image sizes differ: {samples.shape[1:]} against {train.shape[1:]}")
    tt = (t * t).sum(1)
    index = np.empty(len(s), np.int64)
    dist = np.empty(len(s), np.float64)
    for start in range(0, len(s), batch):
        x = s[start : start + batch]
        d2 = (x * x).sum(1)[:, None] + tt[None, :] - 2 * x @ t.T
        k = d2.argmin(1)
        index[start : start + batch] = k
        dist[start : start + batch] = np.sqrt(
            np.clip(d2[np.arange(len(x)), k], 0, None) / s.shape[1]
        )
    return {"index": index, "rms": dist}
