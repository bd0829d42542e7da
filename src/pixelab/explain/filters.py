"""First-layer kernels, and how many of them are oriented edge/line detectors.

Hubel and Wiesel found cells in the visual cortex that fire for edges of one orientation; a
trained CNN's first layer grows similar detectors. This measures it: each kernel is fitted with
the best of a bank of oriented Gabor filters (sine and cosine gratings under a Gaussian, every
15 degrees), and the share of kernels the fit explains well is compared with the same share for
the untrained initialisation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pixelab._core.errors import PixelabError

#: A kernel counts as oriented when the best Gabor filter explains this share of its variance.
ORIENTED_R2 = 0.8
#: Orientations of the bank, in degrees (0 = a vertical edge: brightness changes along x).
ANGLES = tuple(range(0, 180, 15))


def first_layer_kernels(model: Any) -> np.ndarray:
    """The weights (out, in, k, k) of the first convolution in the model's forward order."""
    from torch import nn

    for layer in model.feature_layers().values():
        for module in layer.modules():
            if isinstance(module, nn.Conv2d):
                return module.weight.detach().float().cpu().numpy()
    raise PixelabError(
        f"{model.model_name or 'this model'} has no convolution layer, so no kernels to show",
        hint="its first layer is dense: train a CNN (small_cnn, lenet, resnet) to see kernels",
    )


def gabor_bank(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Zero-mean, unit-norm oriented Gabor filters (n, size, size) and their angles in degrees.

    Two wavelengths (the kernel side and 1.5x it) and two phases (an edge and a line) per angle.
    """
    r = (size - 1) / 2
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    sigma = max(size / 2, 1.0)
    filters, angles = [], []
    for angle in ANGLES:
        t = np.deg2rad(angle)
        xr = x * np.cos(t) + y * np.sin(t)
        envelope = np.exp(-(x**2 + y**2) / (2 * sigma**2))
        for wavelength in (size, 1.5 * size):
            for phase in (0.0, np.pi / 2):
                g = envelope * np.cos(2 * np.pi * xr / wavelength + phase)
                g = g - g.mean()
                norm = np.linalg.norm(g)
                if norm > 1e-6:
                    filters.append(g / norm)
                    angles.append(angle)
    return np.asarray(filters, np.float32), np.asarray(angles, np.float32)


def orientedness(kernels: np.ndarray) -> dict[str, Any]:
    """For kernels (out, in, k, k): how well the best oriented Gabor filter fits each one.

    Each kernel is taken at its strongest input channel and its mean is removed (brightness is
    not structure); ``r2`` is the share of what remains that the best filter explains, and
    ``angle`` that filter's orientation. ``oriented_share`` counts kernels with r2 >= 0.8.
    """
    w = np.asarray(kernels, np.float32)
    if w.ndim != 4 or w.shape[2] != w.shape[3]:
        raise PixelabError(f"kernels must be shaped (out, in, k, k), got {w.shape}")
    strongest = np.linalg.norm(w.reshape(*w.shape[:2], -1), axis=2).argmax(1)
    k2d = w[np.arange(len(w)), strongest]  # (out, k, k)
    k2d = k2d - k2d.mean(axis=(1, 2), keepdims=True)
    flat = k2d.reshape(len(k2d), -1)
    norms = np.linalg.norm(flat, axis=1)
    bank, angles = gabor_bank(w.shape[2])
    fit = (flat @ bank.reshape(len(bank), -1).T) ** 2  # (out, n_filters): explained energy
    best = fit.argmax(1)
    r2 = np.where(norms > 1e-8, fit.max(1) / np.maximum(norms**2, 1e-12), 0.0)
    return {
        "r2": np.round(r2, 4),
        "angle": angles[best],
        "oriented": r2 >= ORIENTED_R2,
        "oriented_share": float((r2 >= ORIENTED_R2).mean()),
        "threshold": ORIENTED_R2,
    }
