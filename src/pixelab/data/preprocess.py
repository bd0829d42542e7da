"""Preprocessing from the lecture: grey, smaller, flat, and floats -- each a named step.

:class:`ImagePreprocess` is the one way an image becomes a model's input: training, ``predict``,
``evaluate`` and export all use it, and ``model.json`` records it.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

from pixelab._core.checks import check_choice, check_image, check_images, check_positive_int
from pixelab._core.errors import PixelabError

RESIZE_METHODS = ("area", "bilinear", "bicubic", "nearest")


def to_gray(images: np.ndarray) -> np.ndarray:
    """Convert uint8 RGB images (..., H, W, 3) to grey (..., H, W, 1) with ITU-R 601 weights.

    Grey input is returned unchanged.

    >>> to_gray(np.full((1, 2, 2, 3), 200, np.uint8))[0, 0, 0, 0]
    np.uint8(200)
    """
    x = check_images(images) if images.ndim == 4 else check_image(images)
    if x.shape[-1] == 1:
        return x
    # Pillow's fixed-point form of the same weights, to the bit: a file read as grey and an
    # array turned grey here give the model the same pixels
    v = x.astype(np.uint32)
    grey = (v[..., 0] * 19595 + v[..., 1] * 38470 + v[..., 2] * 7471 + 0x8000) >> 16
    return grey.astype(np.uint8)[..., None]


def to_rgb(images: np.ndarray) -> np.ndarray:
    """Repeat a grey channel three times; RGB input is returned unchanged."""
    x = check_images(images) if images.ndim == 4 else check_image(images)
    return x if x.shape[-1] == 3 else np.repeat(x, 3, axis=-1)


def resize(images: np.ndarray, size: int | tuple[int, int], *, method: str = "area") -> np.ndarray:
    """Resize uint8 images (N, H, W, C) to ``size`` (side, or (H, W)) with OpenCV.

    ``method="area"`` averages pixels when shrinking (the right choice for downsampling);
    bilinear, bicubic and nearest are there to compare. Shrinking with "bicubic" uses Pillow's
    filter, which widens with the scale (antialiased), as ImageNet models were evaluated with.

    >>> resize(np.zeros((2, 28, 28, 1), np.uint8), 7).shape
    (2, 7, 7, 1)
    """
    import cv2

    x = check_images(images)
    check_choice(method, RESIZE_METHODS, name="resize method")
    h, w = (size, size) if isinstance(size, (int, np.integer)) else size
    check_positive_int(int(h), name="size")
    check_positive_int(int(w), name="size")
    if (h, w) == x.shape[1:3]:
        return x
    flag = {
        "area": cv2.INTER_AREA,
        "bilinear": cv2.INTER_LINEAR,
        "bicubic": cv2.INTER_CUBIC,
        "nearest": cv2.INTER_NEAREST,
    }[method]
    if method == "area" and (h > x.shape[1] or w > x.shape[2]):
        flag = cv2.INTER_LINEAR  # area is only meaningful for shrinking
    out = np.empty((len(x), h, w, x.shape[3]), dtype=np.uint8)
    if method == "bicubic" and h <= x.shape[1] and w <= x.shape[2] and x.shape[3] in (1, 3):
        from PIL import Image

        for i, img in enumerate(x):
            pil = Image.fromarray(img[..., 0] if x.shape[3] == 1 else img)
            out[i] = np.asarray(pil.resize((int(w), int(h)), Image.BICUBIC)).reshape(out.shape[1:])
        return out
    for i, img in enumerate(x):
        r = cv2.resize(img, (int(w), int(h)), interpolation=flag)
        out[i] = r.reshape(h, w, x.shape[3])
    return out


def flatten(images: np.ndarray) -> np.ndarray:
    """Flatten images (N, H, W, C) row by row into vectors (N, H*W*C); spatial layout is lost.

    >>> flatten(np.zeros((3, 4, 4, 1), np.uint8)).shape
    (3, 16)
    """
    x = check_images(images)
    return x.reshape(len(x), -1)


def to_float01(images: np.ndarray) -> np.ndarray:
    """Map uint8 [0, 255] to float32 [0, 1] (the only uint8 -> float conversion we use)."""
    if images.dtype != np.uint8:
        raise PixelabError(f"expected uint8 images, got {images.dtype}")
    return images.astype(np.float32) / np.float32(255)


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Map floats in [0, 1] to uint8 [0, 255]; values outside [0, 1] are an error, not clipped."""
    x = np.asarray(images)
    if x.dtype == np.uint8:
        return x
    if not np.issubdtype(x.dtype, np.floating):
        raise PixelabError(f"expected float images in [0, 1], got dtype {x.dtype}")
    lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
    if np.isnan(x).any() or lo < -1e-6 or hi > 1 + 1e-6:
        raise PixelabError(
            f"float images must lie in [0, 1], got range [{lo:.3g}, {hi:.3g}]",
            hint="divide by 255 if they are 0-255 values, or clip them first",
        )
    return np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)


def square_resize(
    image: np.ndarray, size: int, *, fraction: float = 1.0, method: str = "area"
) -> np.ndarray:
    """Centre-crop one image (H, W, C) to a square (``fraction`` of its short side), then resize
    it to size x size (area filter when shrinking, unless ``method`` says otherwise).

    ``fraction=0.875`` with ``method="bicubic"`` is the usual ImageNet evaluation crop (resize
    the short side to 256, keep the centre 224).

    >>> square_resize(np.zeros((30, 40, 1), np.uint8), 10).shape
    (10, 10, 1)
    """
    h, w = image.shape[:2]
    side = max(1, round(min(h, w) * fraction))
    top, left = (h - side) // 2, (w - side) // 2
    return resize(image[top : top + side, left : left + side][None], size, method=method)[0]


@dataclasses.dataclass(frozen=True)
class ImagePreprocess:
    """How any image becomes what a model was trained on: grey or RGB, centre square, resized.

    Recorded in ``model.json`` (``to_dict``) so that ``predict`` and ``evaluate`` feed a model
    exactly the pixels training did.

    >>> pre = ImagePreprocess(size=8, channels=1)
    >>> pre.apply(np.zeros((30, 40, 3), np.uint8)).shape
    (8, 8, 1)
    """

    size: int
    channels: int
    crop: str = "centre-square"
    resize: str = "area"
    #: The share of the short side the centre square keeps (ImageNet models: 0.875).
    crop_fraction: float = 1.0

    def __post_init__(self) -> None:
        check_positive_int(self.size, name="preprocess size")
        if self.channels not in (1, 3):
            raise PixelabError(f"preprocess channels must be 1 or 3, got {self.channels!r}")
        fraction = self.crop_fraction
        if (
            self.crop != "centre-square"
            or self.resize not in RESIZE_METHODS
            or isinstance(fraction, bool)
            or not isinstance(fraction, (int, float))
            or not 0 < fraction <= 1
        ):
            raise PixelabError(
                f"unknown preprocessing (crop {self.crop!r}, resize {self.resize!r}, "
                f"crop_fraction {fraction!r})",
                hint="the model was saved by a newer pixelab: upgrade it",
            )

    @property
    def mode(self) -> str:
        """The Pillow mode files are read in: "L" for grey, "RGB" for colour."""
        return "L" if self.channels == 1 else "RGB"

    def to_dict(self) -> dict[str, Any]:
        """The JSON record of ``model.json``'s "preprocess" entry."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> ImagePreprocess:
        """Read a "preprocess" record back; a damaged one is a clear error."""
        if not isinstance(record, dict) or not {"size", "channels"} <= set(record):
            raise PixelabError(f"the preprocessing record {record!r} needs size and channels")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in record.items() if k in known})

    def apply(self, image: np.ndarray) -> np.ndarray:
        """One uint8 image (H, W) or (H, W, C) of any size -> uint8 (size, size, channels)."""
        x = check_image(image)
        x = to_gray(x) if self.channels == 1 else to_rgb(x)
        if x.shape[:2] == (self.size, self.size) and self.crop_fraction == 1:
            return x
        return square_resize(x, self.size, fraction=self.crop_fraction, method=self.resize)

    def read(self, path: str | os.PathLike[str]) -> np.ndarray:
        """Read an image file the way training read its files, then :meth:`apply`."""
        from pixelab.data.folder import read_image

        return self.apply(read_image(path, mode=self.mode))
