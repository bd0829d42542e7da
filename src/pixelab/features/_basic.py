"""Small classic features: colour histograms, Canny edges, Harris corners."""

from __future__ import annotations

import numpy as np

from pixelab._core.checks import check_image, check_images, check_positive_int
from pixelab._core.errors import PixelabError

__all__ = ["color_histogram", "corners", "edges"]


def _check_bins(bins: int) -> int:
    check_positive_int(bins, name="bins")
    if bins > 256:
        raise PixelabError(f"bins must be at most 256 for uint8 images, got {bins}")
    return int(bins)


def color_histograms(images: np.ndarray, *, bins: int = 8) -> np.ndarray:
    """Colour histograms of a batch (N, H, W[, C]) -> float32 (N, bins**C), rows sum to 1.

    Each channel is cut into ``bins`` equal ranges of 0..255; RGB images get the joint
    (R, G, B) histogram with index ``(r * bins + g) * bins + b``.
    """
    images = check_images(images)
    bins = _check_bins(bins)
    n_img, height, width, channels = images.shape
    q = (images.astype(np.int64) * bins) >> 8  # 0 .. bins-1
    code = q[..., 0]
    for ch in range(1, channels):
        code = code * bins + q[..., ch]
    size = bins**channels
    code = code.reshape(n_img, -1) + (np.arange(n_img) * size)[:, None]
    hist = np.bincount(code.ravel(), minlength=n_img * size).reshape(n_img, size)
    return (hist / (height * width)).astype(np.float32)


def color_histogram(image: np.ndarray, *, bins: int = 8) -> np.ndarray:
    """Colour histogram of one image -> float32 summing to 1.

    RGB gives the joint histogram of ``bins**3`` colour boxes, grey a ``bins`` grey histogram.

    >>> img = np.zeros((4, 4, 3), np.uint8)
    >>> img[:2] = (255, 0, 0)  # top half red, bottom half black
    >>> h = color_histogram(img, bins=2)
    >>> h.shape, h[0], h[4]  # (r, g, b) box (0, 0, 0) and (1, 0, 0)
    ((8,), np.float32(0.5), np.float32(0.5))
    """
    return color_histograms(check_image(image)[None], bins=bins)[0]


def _gray_float(image: np.ndarray) -> np.ndarray:
    """(H, W, C) uint8 -> float64 (H, W) in [0, 1] (RGB through the luma weights)."""
    if image.shape[2] == 1:
        return image[:, :, 0].astype(np.float64) / 255
    from skimage.color import rgb2gray

    return rgb2gray(image)


def edges(image: np.ndarray, *, sigma: float = 1.0) -> np.ndarray:
    """Canny edges -> bool (H, W); ``sigma`` is the Gaussian smoothing before the gradient.

    >>> img = np.zeros((16, 16), np.uint8)
    >>> img[:, 8:] = 255
    >>> e = edges(img)  # edge pixels only along the step between columns 7 and 8
    >>> e.dtype, bool(e[:, 7:9].any()), bool(e[:, :6].any() or e[:, 11:].any())
    (dtype('bool'), True, False)
    """
    from skimage.feature import canny

    image = check_image(image)
    if not sigma >= 0:
        raise PixelabError(f"sigma must be >= 0, got {sigma!r}")
    return canny(_gray_float(image), sigma=float(sigma))


def corners(
    image: np.ndarray, *, k: float = 0.05, min_distance: int = 3, threshold: float = 0.01
) -> tuple[np.ndarray, np.ndarray]:
    """Harris corners -> (coords int64 (K, 2) as [row, col], response float64 (H, W)).

    Peaks of the Harris response at least ``min_distance`` apart and above ``threshold`` times
    the strongest response.

    >>> img = np.zeros((40, 40), np.uint8)
    >>> img[10:30, 10:30] = 255
    >>> coords, response = corners(img)
    >>> len(coords), response.shape
    (4, (40, 40))
    """
    from skimage.feature import corner_harris, corner_peaks

    image = check_image(image)
    check_positive_int(min_distance, name="min_distance")
    if not 0 <= threshold <= 1:
        raise PixelabError(f"threshold must lie in [0, 1], got {threshold!r}")
    response = corner_harris(_gray_float(image), k=float(k))
    coords = corner_peaks(response, min_distance=min_distance, threshold_rel=threshold)
    return np.asarray(coords, dtype=np.int64).reshape(-1, 2), response
