"""Stratified train/test splits and class-balanced subsets, deterministic by seed."""

from __future__ import annotations

import numpy as np

from pixelab._core.errors import PixelabError
from pixelab._core.seeding import rng_from
from pixelab.data.imageset import ImageSet


def _check_classes(ds: ImageSet, *, need: int, min_classes: int = 2) -> None:
    counts = ds.class_counts()
    present = [c for c, n in counts.items() if n > 0]
    if len(present) < min_classes:
        raise PixelabError(
            f"{ds.name or 'the data'} has {len(present)} class(es) with images; "
            "classification needs at least two",
            hint="add images of a second class",
        )
    small = [f"{c} ({n})" for c, n in counts.items() if 0 < n < need]
    if small:
        raise PixelabError(
            f"class(es) with too few images to split: {', '.join(small)}",
            hint=f"each class needs at least {need} images",
        )


def split(
    ds: ImageSet, *, test_size: float = 0.2, seed: int = 0, min_classes: int = 2
) -> tuple[ImageSet, ImageSet]:
    """Split ``ds`` into (train, test) keeping each class's share, deterministically.

    Every class gets at least one image on each side. ``min_classes`` 1 splits data of one
    class too (for jobs that need no classes).

    >>> from pixelab.data.builtins import load_digits
    >>> train, test = split(load_digits(), test_size=0.25, seed=0)
    >>> len(train), len(test)
    (1347, 450)
    """
    if not 0 < test_size < 1:
        raise PixelabError(f"test_size must lie strictly between 0 and 1, got {test_size}")
    _check_classes(ds, need=2, min_classes=min_classes)
    rng = rng_from(seed)
    train_idx: list[np.ndarray] = []
    test_idx: list[np.ndarray] = []
    for c in range(len(ds.classes)):
        idx = np.flatnonzero(ds.labels == c)
        if len(idx) == 0:
            continue
        idx = rng.permutation(idx)
        n_test = min(max(1, round(len(idx) * test_size)), len(idx) - 1)
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    return ds.subset(np.sort(np.concatenate(train_idx))), ds.subset(
        np.sort(np.concatenate(test_idx))
    )


def limit_per_class(ds: ImageSet, n: int, *, seed: int = 0) -> ImageSet:
    """Keep at most ``n`` images in total, the same share from every class (stratified).

    >>> from pixelab.data.builtins import load_digits
    >>> len(limit_per_class(load_digits(), 100))
    100
    """
    if n < 1:
        raise PixelabError(f"limit must be a positive number of images, got {n}")
    if n >= len(ds):
        return ds
    rng = rng_from(seed)
    order = rng.permutation(len(ds))
    # round-robin over classes in random order keeps the classes balanced
    by_class = [order[ds.labels[order] == c] for c in range(len(ds.classes))]
    picked: list[int] = []
    depth = 0
    while len(picked) < n:
        for idx in by_class:
            if depth < len(idx) and len(picked) < n:
                picked.append(int(idx[depth]))
        depth += 1
    return ds.subset(np.sort(np.asarray(picked)))
