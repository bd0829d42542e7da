"""Built-in data that installs with the dependencies: digits and real sample photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pixelab._core.errors import PixelabError
from pixelab.data.imageset import ImageSet

OPENCV_SAMPLES = Path("/usr/share/doc/opencv-doc/examples/data")


def load_digits() -> ImageSet:
    """scikit-learn's 1,797 handwritten digits, 8x8 grey, values scaled from 0-16 to 0-255."""
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    images = np.rint(d.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    return ImageSet(images, d.target, [str(i) for i in range(10)], name="digits")


def load_faces() -> ImageSet:
    """scikit-image's LFW subset: 100 faces and 100 other patches of photos, 25x25 grey."""
    from skimage.data import lfw_subset

    images = np.rint(lfw_subset() * 255).astype(np.uint8)[..., None]
    labels = np.repeat([0, 1], 100)  # the first 100 are faces
    return ImageSet(images, labels, ["face", "not face"], name="faces")


# name -> loader returning uint8 RGB or grey; scikit-image and scikit-learn ship these offline
_SKIMAGE_PHOTOS = (
    "astronaut",
    "camera",
    "chelsea",
    "coffee",
    "rocket",
    "horse",
    "coins",
    "brick",
    "grass",
    "gravel",
    "clock",
    "text",
    "moon",
    "page",
    "immunohistochemistry",
    "hubble_deep_field",
    "motorcycle",
)
_OPENCV_PHOTOS = (
    "squirrel_cls.jpg",
    "baboon.jpg",
    "fruits.jpg",
    "apple.jpg",
    "orange.jpg",
    "messi5.jpg",
    "starry_night.jpg",
    "box.png",
    "box_in_scene.png",
    "graf1.png",
    "graf3.png",
    "lena.jpg",
    "butterfly.jpg",
)


def photo_names() -> list[str]:
    """Names of the sample photos available on this machine."""
    names = [*list(_SKIMAGE_PHOTOS), "china", "flower"]
    names += [Path(f).stem for f in _OPENCV_PHOTOS if (OPENCV_SAMPLES / f).is_file()]
    return names


def photo(name: str) -> np.ndarray:
    """One sample photo at full size as uint8 (H, W, C).

    >>> photo("chelsea").shape
    (300, 451, 3)
    """
    if name in _SKIMAGE_PHOTOS:
        import skimage.data

        img = (
            skimage.data.stereo_motorcycle()[0]
            if name == "motorcycle"
            else getattr(skimage.data, name)()
        )
    elif name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        img = load_sample_image(f"{name}.jpg")
    else:
        files = [f for f in _OPENCV_PHOTOS if Path(f).stem == name]
        if not files or not (OPENCV_SAMPLES / files[0]).is_file():
            raise PixelabError(
                f"unknown photo {name!r}",
                hint=f"available: {', '.join(photo_names())}"
                + ("" if OPENCV_SAMPLES.is_dir() else "; 'apt-get install opencv-doc' adds more"),
            )
        from pixelab.data.folder import read_image

        return read_image(OPENCV_SAMPLES / files[0], mode="RGB")
    img = np.asarray(img)
    if img.dtype != np.uint8:
        img = np.clip(np.rint(img * 255 if img.max() <= 1 else img), 0, 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    return img[:, :, None] if img.ndim == 2 else img


def load_photos(*, size: int = 128) -> ImageSet:
    """All sample photos, centre-cropped and resized to ``size``; each photo is its own class.

    This is a demonstration set (features, similarity, challenges), not for training.
    """
    from pixelab.data.preprocess import square_resize, to_rgb

    names = photo_names()
    images = np.stack([square_resize(to_rgb(photo(n)[None])[0], size) for n in names])
    return ImageSet(
        images,
        np.arange(len(names)),
        names,
        name="photos",
        paths=[f"photos:{n}" for n in names],
        notes=["one image per class: a demonstration set, not a training set"],
    )
