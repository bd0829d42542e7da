"""Hand-made features: HOG, SIFT (+ bag of visual words), colour histograms, edges, corners.

Functions take one uint8 image (H, W[, C]) and return NumPy arrays; the scikit-learn
transformers take batches (N, H, W[, C]). Names load on first use, so importing this package
is cheap (OpenCV, scikit-image and scikit-learn are imported only when needed)::

    from pixelab import features
    vec = features.hog(image, cell=4)
    pipe = make_pipeline(features.make_features("hog"), LogisticRegression())
"""

from __future__ import annotations

import importlib
from typing import Any

from pixelab.features._registry import FEATURES, make_features

_LAZY = {
    "hog": "_hog",
    "hog_batch": "_hog",
    "hog_image": "_hog",
    "BLOCK_NORMS": "_hog",
    "sift": "_sift",
    "dense_sift": "_sift",
    "match_sift": "_sift",
    "color_histogram": "_basic",
    "edges": "_basic",
    "corners": "_basic",
    "PixelFeatures": "_transformers",
    "HOGFeatures": "_transformers",
    "HOGPixelFeatures": "_transformers",
    "ColorHistogramFeatures": "_transformers",
    "SiftBoVW": "_transformers",
}

__all__ = ["FEATURES", "make_features", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"pixelab.features.{_LAZY[name]}"), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'pixelab.features' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
