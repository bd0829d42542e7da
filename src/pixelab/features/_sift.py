"""SIFT keypoints and descriptors (OpenCV): detected, on a dense grid, and matched.

Keypoints come back as float32 ``(K, 4)`` rows ``[x, y, size, angle]`` (x = column, y = row,
in pixels; angle in degrees) and descriptors as float32 ``(K, 128)``; ``K`` may be 0.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from pixelab._core.checks import check_image, check_positive_int
from pixelab._core.errors import PixelabError
from pixelab._core.progress import ProgressFn, report

__all__ = ["dense_sift", "match_sift", "sift"]

_BATCH = 256  # images per parallel task


def _gray(image: np.ndarray) -> np.ndarray:
    """(H, W, C) uint8 -> contiguous (H, W) uint8 (RGB through OpenCV's luma weights)."""
    if image.shape[2] == 1:
        return np.ascontiguousarray(image[:, :, 0])
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)


def _as_arrays(keypoints: Any, descriptors: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    kp = np.array(
        [(k.pt[0], k.pt[1], k.size, k.angle) for k in keypoints], dtype=np.float32
    ).reshape(-1, 4)
    if descriptors is None or len(kp) == 0:
        return kp[:0], np.zeros((0, 128), np.float32)
    return kp, descriptors.astype(np.float32, copy=False)


def _grid(height: int, width: int, step: int, size: int) -> list[tuple[float, float]]:
    """Centres (x, y) of a grid of patches of side ``size`` fully inside the image if possible."""

    def axis(n: int) -> np.ndarray:
        if n < size:
            return np.array([n / 2])
        return np.arange(size / 2, n - size / 2 + 1e-9, step)

    return [(float(x), float(y)) for y in axis(height) for x in axis(width)]


def _sift_gray(
    gray: np.ndarray, n_features: int, detector: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    detector = detector or cv2.SIFT_create(nfeatures=n_features)
    return _as_arrays(*detector.detectAndCompute(gray, None))


def _dense_gray(
    gray: np.ndarray, step: int, size: int, detector: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    detector = detector or cv2.SIFT_create()
    grid = [cv2.KeyPoint(x, y, float(size), 0.0) for x, y in _grid(*gray.shape, step, size)]
    return _as_arrays(*detector.compute(gray, grid))


def sift(image: np.ndarray, *, n_features: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Detect SIFT keypoints and describe them -> (keypoints (K, 4), descriptors (K, 128)).

    ``n_features`` keeps the strongest ones (0 = all). Keypoint rows are ``[x, y, size, angle]``.

    >>> kp, desc = sift(np.zeros((32, 32), np.uint8))  # nothing to find in a flat image
    >>> kp.shape, desc.shape
    ((0, 4), (0, 128))
    """
    image = check_image(image)
    check_positive_int(n_features, name="n_features", minimum=0)
    return _sift_gray(_gray(image), n_features)


def dense_sift(image: np.ndarray, *, step: int = 4, size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """SIFT descriptors on a regular grid -> (keypoints (K, 4), descriptors (K, 128)).

    Patches of side ``size`` are centred every ``step`` pixels (upright, angle 0), starting
    ``size / 2`` from the border; an image narrower than ``size`` gets one centre on that axis.
    Use this on small images (28x28), where the detector finds few keypoints.

    >>> kp, desc = dense_sift(np.zeros((28, 28), np.uint8), step=4, size=8)
    >>> kp.shape, desc.shape  # 6 x 6 centres at 4, 8, ..., 24
    ((36, 4), (36, 128))
    """
    image = check_image(image)
    check_positive_int(step, name="step")
    check_positive_int(size, name="size")
    return _dense_gray(_gray(image), step, size)


def match_sift(
    img_a: np.ndarray, img_b: np.ndarray, *, ratio: float = 0.75
) -> tuple[np.ndarray, np.ndarray]:
    """Match SIFT keypoints of two images with Lowe's ratio test -> (pts_a (M, 2), pts_b (M, 2)).

    A keypoint of ``img_a`` is matched to its nearest descriptor in ``img_b`` when that one is
    closer than ``ratio`` times the second nearest. Points are float32 ``[x, y]``.
    """
    import cv2

    if not 0 < ratio <= 1:
        raise PixelabError(f"ratio must lie in (0, 1], got {ratio!r}", hint="Lowe used 0.75-0.8")
    kp_a, desc_a = sift(img_a)
    kp_b, desc_b = sift(img_b)
    empty = np.zeros((0, 2), np.float32)
    if len(desc_a) == 0 or len(desc_b) < 2:
        return empty, empty.copy()
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(desc_a, desc_b, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < ratio * p[1].distance]
    if not good:
        return empty, empty.copy()
    ia = np.array([m.queryIdx for m in good])
    ib = np.array([m.trainIdx for m in good])
    return kp_a[ia, :2].copy(), kp_b[ib, :2].copy()


def describe_batch(
    images: np.ndarray, start: int, stop: int, *, dense: bool, step: int, size: int
) -> list[np.ndarray]:
    """Descriptor arrays (K_i, 128) of ``images[start:stop]`` (checked (N, H, W, C) uint8)."""
    import cv2

    detector = cv2.SIFT_create()
    if dense:
        return [_dense_gray(_gray(img), step, size, detector)[1] for img in images[start:stop]]
    return [_sift_gray(_gray(img), 0, detector)[1] for img in images[start:stop]]


def n_threads(n_jobs: int | None) -> int:
    """Threads to use for ``n_jobs`` (None or negative = all cores; never more than the cores)."""
    cpus = os.cpu_count() or 1
    if n_jobs is None or n_jobs < 0:
        return cpus
    return max(1, min(int(n_jobs), cpus))


def batches(n: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of consecutive batches covering ``range(n)``."""
    for start in range(0, n, _BATCH):
        yield start, min(start + _BATCH, n)


def parallel(
    fn: Callable[[int, int], Any],
    n: int,
    n_jobs: int | None,
    progress: ProgressFn | None,
    task: str,
) -> list[Any]:
    """``[fn(start, stop) for each batch]`` on threads (OpenCV releases the GIL), in order."""
    results: list[Any] = []
    report(progress, task, 0, n)
    spans = list(batches(n))
    with ThreadPoolExecutor(max_workers=n_threads(n_jobs)) as pool:
        for (_, stop), res in zip(spans, pool.map(lambda b: fn(*b), spans), strict=True):
            results.append(res)
            report(progress, task, stop, n)
    return results
