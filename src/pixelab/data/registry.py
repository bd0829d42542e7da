"""Datasets by name or path: ``load("digits")``, ``load("fashion-mnist")``, ``load("my/photos")``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pixelab._core.errors import PixelabError
from pixelab._core.progress import ProgressFn
from pixelab.data.imageset import ImageSet

#: Built-in dataset names with a one-line description each.
DATASETS: dict[str, str] = {
    "digits": "1,797 handwritten digits, 8x8 grey, 10 classes (ships with scikit-learn)",
    "fashion-mnist": "70,000 clothing images, 28x28 grey, 10 classes (official 60k/10k split)",
    "shapes": "synthetic shapes with controllable viewpoint, scale, light, occlusion, clutter",
    "shapes-attributes": "6,000 coloured shapes, 32x32 RGB, labelled by shape, colour, size and "
    "position (for prompts like 'a small red star at the top left')",
    "photos": "about 30 real sample photos, one per class (for demos, not training)",
    "faces": "200 photo patches, 25x25 grey: 100 faces, 100 not (LFW, ships with scikit-image)",
}


def list_datasets() -> dict[str, str]:
    """Built-in dataset names and what they hold."""
    return dict(DATASETS)


def _is_path(data: str) -> bool:
    return data not in DATASETS and (os.sep in data or Path(data).exists() or data.startswith("."))


def _load_named(
    data: str, *, subset: str, seed: int, download: bool, progress: ProgressFn | None
) -> ImageSet:
    if data == "digits":
        from pixelab.data.builtins import load_digits

        return load_digits()
    if data == "fashion-mnist":
        from pixelab.data.fashion_mnist import load_fashion_mnist

        if subset == "all":
            import numpy as np

            tr = load_fashion_mnist("train", download=download)
            te = load_fashion_mnist("test", download=download)
            return ImageSet(
                np.concatenate([tr.images, te.images]),
                np.concatenate([tr.labels, te.labels]),
                tr.classes,
                paths=tr.paths + te.paths,
                name="fashion-mnist",
            )
        return load_fashion_mnist(subset, download=download)
    if data == "shapes":
        from pixelab.data.shapes import make_shapes

        return make_shapes(seed=seed, progress=progress)
    if data == "shapes-attributes":
        from pixelab.data.shapes import make_attribute_shapes

        return make_attribute_shapes(seed=seed, progress=progress)
    if data == "faces":
        from pixelab.data.builtins import load_faces

        return load_faces()
    if data == "photos":
        from pixelab.data.builtins import load_photos

        return load_photos()
    raise PixelabError(
        f"unknown dataset {data!r}",
        hint=f"use one of {', '.join(DATASETS)} or a path to a folder of class subfolders",
    )


def load(
    data: str | os.PathLike[str],
    *,
    size: int | None = None,
    gray: bool | None = None,
    subset: str = "all",
    seed: int = 0,
    download: bool = False,
    preprocess: Any = None,
    min_classes: int = 2,
    progress: ProgressFn | None = None,
) -> ImageSet:
    """Load a built-in dataset by name or a folder of class subfolders by path.

    ``size`` resizes every image to size x size, ``gray=True`` converts to one channel
    (``False`` to three). ``subset`` picks "train"/"test" where a dataset has an
    official split (Fashion-MNIST), "all" otherwise. ``preprocess`` (an
    :class:`~pixelab.data.preprocess.ImagePreprocess`, a run's record) replaces size and gray.

    >>> load("digits", size=16).shape
    (16, 16, 1)
    """
    from pixelab.data.preprocess import resize, to_gray, to_rgb

    if subset not in ("all", "train", "test"):
        raise PixelabError(f"unknown subset {subset!r}", hint="use 'all', 'train' or 'test'")
    name = os.fspath(data)
    if _is_path(name):
        from pixelab.data.folder import load_folder

        ds = load_folder(name, size=size, gray=gray, preprocess=preprocess,
                         min_classes=min_classes, progress=progress)  # fmt: skip
        if preprocess is not None:
            return ds
    else:
        ds = _load_named(name, subset=subset, seed=seed, download=download, progress=progress)
    if preprocess is not None:
        import numpy as np

        images = np.stack([preprocess.apply(image) for image in ds.images])
        whole = preprocess.crop_fraction == 1 and ds.images.shape[1] == ds.images.shape[2]
        masks = _resize_masks(ds.masks, preprocess.size) if ds.masks is not None and whole else None
        ds.masks = masks  # masks follow a plain resize; after a crop they are dropped
        return ds.with_images(images)
    images = ds.images
    if gray is True:
        images = to_gray(images)
    elif gray is False:
        images = to_rgb(images)
    if size is not None and images.shape[1:3] != (size, size):
        images = resize(images, size)
        ds.masks = None if ds.masks is None else _resize_masks(ds.masks, size)
    return ds if images is ds.images else ds.with_images(images)


def _resize_masks(masks, size: int):
    import numpy as np

    from pixelab.data.preprocess import resize

    return resize(masks.astype(np.uint8)[..., None] * 255, size, method="bilinear")[..., 0] > 127


def load_train_test(
    data: str | os.PathLike[str],
    *,
    size: int | None = None,
    gray: bool | None = None,
    test_size: float = 0.2,
    limit: int | None = None,
    seed: int = 0,
    download: bool = False,
    min_classes: int = 2,
    progress: ProgressFn | None = None,
) -> tuple[ImageSet, ImageSet]:
    """Load ``data`` as (train, test): the official split where one exists, else stratified.

    ``limit`` caps the training images (class-balanced) and the test images at
    ``max(limit // 4, 1 per class)`` -- a quick way to try things on a slice. ``min_classes``
    1 lets a folder of one class (or of loose images) through, for jobs that need no classes.
    """
    from pixelab.data.split import limit_per_class, split

    name = os.fspath(data)
    if name == "fashion-mnist":
        train = load(name, size=size, gray=gray, subset="train", download=download)
        test = load(name, size=size, gray=gray, subset="test", download=download)
    else:
        train, test = split(
            load(name, size=size, gray=gray, seed=seed, min_classes=min_classes, progress=progress),
            test_size=test_size,
            seed=seed,
            min_classes=min_classes,
        )
    if limit is not None:
        train = limit_per_class(train, limit, seed=seed)
        test = limit_per_class(test, max(limit // 4, len(test.classes)), seed=seed)
    return train, test
