"""Feature extractors by name: ``make_features("hog", cell=4)`` -> a fresh transformer."""

from __future__ import annotations

from typing import Any

from pixelab._core.errors import PixelabError

#: The registered feature names, in teaching order.
FEATURES = ("pixels", "hog", "hog+pixels", "sift", "color")

_CLASSES = {
    "pixels": "PixelFeatures",
    "hog": "HOGFeatures",
    "hog+pixels": "HOGPixelFeatures",
    "sift": "SiftBoVW",
    "color": "ColorHistogramFeatures",
}

__all__ = ["FEATURES", "make_features"]


def make_features(name: str, **kwargs: Any) -> Any:
    """A new, unfitted scikit-learn transformer for the feature ``name`` (one of FEATURES).

    >>> make_features("hog", cell=8)
    HOGFeatures(cell=8)
    """
    import inspect

    from pixelab.features import _transformers

    if name not in _CLASSES:
        raise PixelabError(
            f"unknown feature {name!r}", hint=f"choose one of: {', '.join(FEATURES)}"
        )
    cls = getattr(_transformers, _CLASSES[name])
    valid = [p for p in inspect.signature(cls).parameters if p != "self"]
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        raise PixelabError(
            f"unknown option(s) for feature {name!r}: {', '.join(unknown)}",
            hint=f"valid options: {', '.join(valid) or 'none'}",
        )
    return cls(**kwargs)
