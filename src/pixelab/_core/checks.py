"""Input checks that read like specifications and fail with a clear PixelabError."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

from pixelab._core.errors import PixelabError

if TYPE_CHECKING:
    import numpy as np
# numpy is imported inside the array checks only: the config checks below serve the command
# line's start-up, which reads option defaults and must not wait for numpy.


def check_image(image: Any, *, name: str = "image") -> np.ndarray:
    """Check that ``image`` is a uint8 array shaped (H, W) or (H, W, C) with C in {1, 3}.

    A 2-D array is returned as (H, W, 1); nothing is rescaled silently.

    >>> import numpy as np
    >>> check_image(np.zeros((4, 5), np.uint8)).shape
    (4, 5, 1)
    """
    import numpy as np

    if not isinstance(image, np.ndarray):
        raise PixelabError(
            f"{name} must be a NumPy array, got {type(image).__name__}",
            hint="load images with pixelab.data.read_image or pass np.asarray(img)",
        )
    if image.dtype != np.uint8:
        raise PixelabError(
            f"{name} must have dtype uint8, got {image.dtype}",
            hint="convert explicitly, e.g. pixelab.data.to_uint8(x) for floats in [0, 1]",
        )
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        raise PixelabError(
            f"{name} must be shaped (H, W) or (H, W, C) with C = 1 or 3, got {image.shape}",
        )
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise PixelabError(f"{name} is empty: shape {image.shape}")
    return image


def check_images(images: Any, *, name: str = "images") -> np.ndarray:
    """Check that ``images`` is a uint8 batch shaped (N, H, W, C) with C in {1, 3}.

    A 3-D array (N, H, W) is returned as (N, H, W, 1).
    """
    import numpy as np

    if not isinstance(images, np.ndarray):
        raise PixelabError(f"{name} must be a NumPy array, got {type(images).__name__}")
    if images.dtype != np.uint8:
        raise PixelabError(
            f"{name} must have dtype uint8, got {images.dtype}",
            hint="convert explicitly, e.g. pixelab.data.to_uint8(x) for floats in [0, 1]",
        )
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[3] not in (1, 3):
        raise PixelabError(
            f"{name} must be shaped (N, H, W, C) with C = 1 or 3, got {images.shape}",
        )
    if images.shape[0] == 0:
        raise PixelabError(f"{name} is empty: no images")
    return images


def check_choice(value: str, choices: tuple[str, ...] | list[str], *, name: str) -> str:
    """Check that ``value`` is one of ``choices``; the error lists them."""
    if value not in choices:
        raise PixelabError(f"unknown {name} {value!r}", hint=f"choose one of: {', '.join(choices)}")
    return value


def check_positive_int(value: int, *, name: str, minimum: int = 1) -> int:
    """Check that ``value`` is an int of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise PixelabError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_positive_number(value: float | None, *, name: str, optional: bool = True) -> float | None:
    """Check that ``value`` is a finite number above 0 (``None`` passes when ``optional``)."""
    import math

    if value is None and optional:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not (value > 0 and math.isfinite(value))
    ):
        raise PixelabError(f"{name} must be a positive number, got {value!r}")
    return float(value)
