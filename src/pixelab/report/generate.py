"""Figures for generative models: sample mosaics and their GIF over training, loss and monitor
curves, nearest training images."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pixelab._core.io import atomic_write
from pixelab.report.figures import _ax, _show, new_figure


def mosaic(images: np.ndarray, *, ncols: int = 8, pad: int = 2, scale: int = 1) -> np.ndarray:
    """uint8 images (N, H, W, C) tiled into one uint8 image (rows of ``ncols``, grey gaps),
    each pixel repeated ``scale`` times: a sample grid as a plain picture."""
    n, h, w, c = images.shape
    ncols = max(1, min(ncols, n))
    rows = (n + ncols - 1) // ncols
    out = np.full((rows * (h + pad) + pad, ncols * (w + pad) + pad, c), 96, np.uint8)
    for i, im in enumerate(images):
        r, q = divmod(i, ncols)
        out[
            pad + r * (h + pad) : pad + r * (h + pad) + h,
            pad + q * (w + pad) : pad + q * (w + pad) + w,
        ] = im
    if scale > 1:
        out = out.repeat(scale, 0).repeat(scale, 1)
    return out[:, :, 0] if c == 1 else out


def save_png(image: np.ndarray, path: str | os.PathLike[str]) -> Path:
    """Write a uint8 image as PNG atomically."""
    from PIL import Image

    atomic_write(Path(path), lambda p: Image.fromarray(image).save(p, format="PNG"))
    return Path(path)


def save_gif(frames: Sequence[np.ndarray], path: str | os.PathLike[str], *, ms: int = 400) -> Path:
    """Frames (uint8 images of one size) as a looping GIF, the last frame held longer."""
    from PIL import Image

    pics = [Image.fromarray(f) for f in frames]
    durations = [ms] * (len(pics) - 1) + [ms * 4]
    atomic_write(Path(path), lambda p: pics[0].save(p, format="GIF", save_all=True,
                                                    append_images=pics[1:], duration=durations,
                                                    loop=0))  # fmt: skip
    return Path(path)


def plot_gan_curves(history: list[dict[str, Any]]):
    """Left: both players' losses per epoch. Right: the discriminator's mean score for real and
    for generated images (the gap it keeps is how well it tells them apart)."""
    fig = new_figure(9, 3.4)
    a, b = fig.subplots(1, 2)
    ep = [r["epoch"] for r in history]
    a.plot(ep, [r["d_loss"] for r in history], "o-", label="discriminator")
    a.plot(ep, [r["g_loss"] for r in history], "s-", label="generator")
    a.set_xlabel("epoch")
    a.set_ylabel("loss")
    a.legend(fontsize=8)
    a.set_title("the two players' losses", fontsize=10)
    b.plot(ep, [r["real_score"] for r in history], "o-", label="real images")
    b.plot(ep, [r["fake_score"] for r in history], "s-", label="generated images")
    b.axhline(0, color="0.6", lw=0.8)
    b.set_xlabel("epoch")
    b.set_ylabel("discriminator score")
    b.legend(fontsize=8)
    b.set_title("how real the discriminator finds each", fontsize=10)
    return fig


def plot_monitor(history: list[dict[str, Any]], *, real_diversity: float, judge: str):
    """The mode-collapse monitor per epoch: sample diversity against the real images', class
    coverage (1: every class alike), and the Fréchet distance in the judge's features."""
    fig = new_figure(11, 3.2)
    axes = fig.subplots(1, 3)
    ep = [r["epoch"] for r in history]
    axes[0].plot(ep, [r["diversity"] for r in history], "o-", label="generated")
    axes[0].axhline(real_diversity, color="k", ls="--", lw=1, label="real images")
    axes[0].set_title("diversity within a class", fontsize=10)
    axes[0].legend(fontsize=8)
    axes[1].plot(ep, [r["coverage"] for r in history], "o-")
    axes[1].set_ylim(0, 1.05)
    axes[1].set_title("class coverage (1 = all classes alike)", fontsize=10)
    axes[2].plot(ep, [r["fid"] for r in history], "o-")
    axes[2].set_title(f"Fréchet distance ({judge} features)", fontsize=10)
    for ax in axes:
        ax.set_xlabel("epoch")
    return fig


def plot_nearest(samples: np.ndarray, neighbours: np.ndarray, rms: np.ndarray, *, real_rms: float):
    """Generated images (top) over their nearest training images (bottom), with the distance:
    a generator that memorised its data shows twins here."""
    n = len(samples)
    fig = new_figure(1.2 * n, 3.0)
    axes = fig.subplots(2, n, squeeze=False)
    for i in range(n):
        _show(axes[0, i], samples[i])
        axes[0, i].set_title(f"{rms[i]:.0f}", fontsize=8)
        _show(axes[1, i], neighbours[i])
    axes[0, 0].set_ylabel("generated", fontsize=8)
    axes[1, 0].set_ylabel("nearest\ntraining", fontsize=8)
    fig.suptitle(f"distance to the nearest training image (RMS, 0-255); real test images: "
                 f"{real_rms:.0f}", fontsize=9)  # fmt: skip
    return fig


def plot_strip(images: np.ndarray, *, title: str = "", ax: Any = None):
    """One row of images (an interpolation) as a single picture."""
    ax = _ax(ax, 1.1 * len(images), 1.6)
    _show(ax, mosaic(images, ncols=len(images)))
    if title:
        ax.set_title(title, fontsize=9)
    return ax
