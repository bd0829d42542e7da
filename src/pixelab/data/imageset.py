"""ImageSet: a batch of uint8 images with labels, class names and where they came from."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import numpy as np

from pixelab._core.checks import check_images
from pixelab._core.errors import PixelabError


@dataclasses.dataclass
class ImageSet:
    """Images ``uint8 (N, H, W, C)``, integer ``labels (N,)`` and the ``classes`` they index.

    ``paths`` names each image's file (or ``"name:index"`` for built-ins); ``masks``
    (optional, bool ``(N, H, W)``) marks the object's pixels where ground truth exists;
    ``attributes`` (optional) holds more labels per image than the class, each an index into
    its list in ``attribute_values`` (e.g. "colour": ["red", ...]); ``skipped``
    lists ``(path, reason)`` for files that could not be used; ``notes`` holds
    plain-language remarks made while loading (e.g. "resized 12 images to 64x64").

    >>> ds = ImageSet(np.zeros((2, 8, 8, 1), np.uint8), np.array([0, 1]), ["a", "b"])
    >>> ds.shape, ds.channels, len(ds)
    ((8, 8, 1), 1, 2)
    """

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    paths: list[str] = dataclasses.field(default_factory=list)
    name: str = ""
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    masks: np.ndarray | None = None
    attributes: dict[str, np.ndarray] | None = None
    attribute_values: dict[str, list[str]] | None = None

    def __post_init__(self) -> None:
        self.images = check_images(self.images)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if self.labels.shape != (len(self.images),):
            raise PixelabError(
                f"labels must have shape ({len(self.images)},), got {self.labels.shape}"
            )
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= len(self.classes)):
            raise PixelabError(
                f"labels must lie in [0, {len(self.classes) - 1}] for {len(self.classes)} classes"
            )
        if self.masks is not None:
            self.masks = np.asarray(self.masks, dtype=bool)
            if self.masks.shape != self.images.shape[:3]:
                raise PixelabError(
                    f"masks must be shaped {self.images.shape[:3]}, got {self.masks.shape}"
                )
        if (self.attributes is None) != (self.attribute_values is None):
            raise PixelabError("attributes and attribute_values come together")
        if self.attributes is not None:
            self.attributes = {k: np.asarray(v, np.int64) for k, v in self.attributes.items()}
            for k, v in self.attributes.items():
                n_values = len(self.attribute_values.get(k, ()))
                if v.shape != (len(self.images),) or (
                    len(v) and not 0 <= v.min() <= v.max() < n_values
                ):
                    raise PixelabError(
                        f"attribute {k!r} needs one index in [0, {n_values}) per image"
                    )
        if not self.paths:
            self.paths = [f"{self.name or 'images'}:{i}" for i in range(len(self.images))]
        elif len(self.paths) != len(self.images):
            raise PixelabError("paths must have one entry per image")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(H, W, C) of every image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    @property
    def channels(self) -> int:
        """1 for grey images, 3 for RGB."""
        return int(self.images.shape[3])

    def class_counts(self) -> dict[str, int]:
        """Number of images per class name, in class order."""
        counts = Counter(self.labels.tolist())
        return {c: int(counts.get(i, 0)) for i, c in enumerate(self.classes)}

    def subset(self, index: Any) -> ImageSet:
        """Return the images selected by ``index`` (indices or a boolean mask)."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return ImageSet(
            images=self.images[index],
            labels=self.labels[index],
            classes=list(self.classes),
            paths=[self.paths[i] for i in index.tolist()],
            name=self.name,
            skipped=list(self.skipped),
            notes=list(self.notes),
            masks=None if self.masks is None else self.masks[index],
            attributes=None
            if self.attributes is None
            else {k: v[index] for k, v in self.attributes.items()},
            attribute_values=self.attribute_values,
        )

    def with_images(self, images: np.ndarray) -> ImageSet:
        """Return a copy holding transformed ``images`` (same labels and paths)."""
        return dataclasses.replace(self, images=images, notes=list(self.notes))

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description: name, count, shape, classes and per-class counts."""
        return {
            "name": self.name,
            "n_images": len(self),
            "image_shape": list(self.shape),
            "n_classes": len(self.classes),
            "class_counts": self.class_counts(),
            "skipped_files": len(self.skipped),
            **({"attributes": {k: len(v) for k, v in self.attribute_values.items()}}
               if self.attribute_values else {}),
        }  # fmt: skip
