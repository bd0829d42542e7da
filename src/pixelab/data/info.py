"""The curse of dimensionality made concrete: d after each preprocessing step, and its cost."""

from __future__ import annotations

from typing import Any

from pixelab.data.imageset import ImageSet


def _row(step: str, shape: tuple[int, ...], n_classes: int, width: int) -> dict[str, Any]:
    d = 1
    for s in shape:
        d *= int(s)
    return {
        "step": step,
        "shape": list(shape),
        "d": d,
        # a linear classifier needs one weight per input per class, plus a bias per class
        "linear_params": d * n_classes + n_classes,
        # a first fully-connected layer of `width` units: d x width weights + width biases
        "dense_params": d * width + width,
    }


def dimensionality(
    ds: ImageSet, *, sizes: tuple[int, ...] = (32, 16, 8), dense_width: int = 1024
) -> dict[str, Any]:
    """How many numbers describe one image after each preprocessing step, and what they cost.

    Returns ``{"steps": [...], "n_images": N, "n_classes": K, "dense_width": k}``; each step
    has its ``shape``, ``d`` (the flattened length), ``linear_params`` (d*K + K) and
    ``dense_params`` (d*k + k).

    >>> from pixelab.data.builtins import load_digits
    >>> [s["d"] for s in dimensionality(load_digits(), sizes=(4,))["steps"]]
    [64, 64, 16]
    """
    h, w, c = ds.shape
    k = len(ds.classes)
    steps = [_row(f"original {w}x{h}x{c}", (h, w, c), k, dense_width)]
    steps.append(_row(f"grayscale {w}x{h}", (h, w), k, dense_width))
    for s in sizes:
        if s < min(h, w):
            steps.append(_row(f"downsample to {s}x{s} (grey)", (s, s), k, dense_width))
    return {
        "name": ds.name,
        "n_images": len(ds),
        "n_classes": k,
        "dense_width": dense_width,
        "steps": steps,
        "reference": _row("a 1024x768 RGB photo", (768, 1024, 3), k, dense_width),
    }
