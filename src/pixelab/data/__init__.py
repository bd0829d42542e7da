"""Data: ImageSet, built-in datasets, folders of images, splits and preprocessing.

>>> import pixelab as px
>>> ds = px.data.load("digits")
>>> ds.shape, len(ds.classes)
((8, 8, 1), 10)
"""

from pixelab.data.builtins import load_digits, load_photos, photo, photo_names
from pixelab.data.folder import check_folder, load_folder, read_image
from pixelab.data.imageset import ImageSet
from pixelab.data.info import dimensionality
from pixelab.data.preprocess import (
    ImagePreprocess,
    flatten,
    resize,
    square_resize,
    to_float01,
    to_gray,
    to_rgb,
    to_uint8,
)
from pixelab.data.registry import list_datasets, load, load_train_test
from pixelab.data.shapes import CHALLENGES, ShapesConfig, challenge_examples, make_shapes
from pixelab.data.split import limit_per_class, split

__all__ = [
    "CHALLENGES",
    "ImagePreprocess",
    "ImageSet",
    "ShapesConfig",
    "challenge_examples",
    "check_folder",
    "dimensionality",
    "flatten",
    "limit_per_class",
    "list_datasets",
    "load",
    "load_digits",
    "load_folder",
    "load_photos",
    "load_train_test",
    "make_shapes",
    "photo",
    "photo_names",
    "read_image",
    "resize",
    "split",
    "square_resize",
    "to_float01",
    "to_gray",
    "to_rgb",
    "to_uint8",
]
