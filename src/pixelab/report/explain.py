"""Figures of what a CNN learned: a hand-set convolution, kernels, feature maps (draw only)."""

from __future__ import annotations

from typing import Any

import numpy as np

from pixelab.report.figures import _show, image_grid, new_figure


def _symmetric(a: np.ndarray, *, percentile: float = 100) -> dict[str, Any]:
    """Diverging colours centred on zero: red positive, blue negative (``percentile`` of |a| is
    the end of the scale, so a few strong pixels do not wash out the rest)."""
    lim = float(np.percentile(np.abs(a), percentile)) or float(np.abs(a).max()) or 1.0
    return {"cmap": "RdBu_r", "vmin": -lim, "vmax": lim}


def plot_conv(image: np.ndarray, result: dict[str, Any]):
    """Input, kernel (its numbers written in) and feature map side by side; returns the Figure."""
    fig = new_figure(11, 4)
    a_in, a_k, a_out = fig.subplots(1, 3, width_ratios=[1, 0.6, 1])
    _show(a_in, image)
    a_in.set_title(f"input {result['input_shape'][1]}x{result['input_shape'][0]}", fontsize=9)
    k = result["kernel"]
    scale = _symmetric(k)
    _show(a_k, k, **scale)
    if k.shape[0] <= 7:
        for (r, c), v in np.ndenumerate(k):
            strong = abs(v) > 0.6 * scale["vmax"]  # white on the dark cells
            a_k.text(c, r, f"{v:.2g}", ha="center", va="center", color="w" if strong else "k",
                     fontsize=9 if k.shape[0] <= 3 else 7)  # fmt: skip
    a_k.set_title(f"kernel: {result['kernel_name']} ({k.shape[0]}x{k.shape[1]})", fontsize=9)
    fmap = result["feature_map"]
    _show(a_out, fmap, **_symmetric(fmap, percentile=99.5))
    oh, ow = result["output_shape"]
    a_out.set_title(f"feature map {ow}x{oh} (red +, blue -)", fontsize=9)
    fig.suptitle(
        f"output size = (n + 2*padding - k) // stride + 1:  {result['formula']}", fontsize=10
    )
    return fig


def kernel_images(kernels: np.ndarray) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Kernels (out, in, k, k) as pictures: RGB (each scaled to [0, 1]) for colour input,
    one diverging colour scale for grey; returns (images, imshow options)."""
    w = np.asarray(kernels, np.float32)
    if w.shape[1] == 3:
        imgs = []
        for k in w.transpose(0, 2, 3, 1):
            lo, hi = float(k.min()), float(k.max())
            imgs.append((k - lo) / (hi - lo) if hi > lo else np.full_like(k, 0.5))
        return imgs, {}
    grey = w[:, 0] if w.shape[1] == 1 else w.mean(1)
    return list(grey), _symmetric(grey)


def plot_kernels(kernels: np.ndarray, r2: np.ndarray, angle: np.ndarray, *, title: str = ""):
    """First-layer kernels on a grid, each titled with its Gabor fit and orientation."""
    imgs, kw = kernel_images(kernels)
    titles = [f"{a:.0f}°, {v:.2f}" for a, v in zip(angle, r2, strict=True)]
    n = min(len(imgs), 64)
    return image_grid(
        imgs[:n], titles=titles[:n], ncols=min(16, n), cell=0.85, suptitle=title, **kw
    )


def plot_orientedness(trained: np.ndarray, untrained: np.ndarray, threshold: float, *, ax=None):
    """Histograms of the Gabor fit r2 of trained and untrained kernels, with the threshold."""
    ax = ax if ax is not None else new_figure(6, 3.4).add_subplot()
    bins = np.linspace(0, 1, 21)
    ax.hist(untrained, bins=bins, alpha=0.6, label="untrained (initial weights)", color="#9e9e9e")
    ax.hist(trained, bins=bins, alpha=0.7, label="trained", color="#e65100")
    ax.axvline(threshold, color="k", ls="--", lw=1)
    ax.text(threshold, ax.get_ylim()[1] * 0.95, " oriented ->", fontsize=8, va="top")
    ax.set_xlabel("share of a kernel explained by its best oriented edge/line filter (r2)")
    ax.set_ylabel("kernels")
    ax.legend(fontsize=8)
    return ax


def plot_feature_maps(image: np.ndarray, maps: dict[str, np.ndarray], *, per_layer: int = 12):
    """The input, then up to ``per_layer`` maps of each layer on its own row."""
    rows = len(maps)
    cols = per_layer + 1
    fig = new_figure(0.95 * cols + 1.2, 1.05 * rows + 0.4)
    axes = fig.subplots(rows, cols, squeeze=False)
    for r, (name, fmap) in enumerate(maps.items()):
        ax0 = axes[r, 0]
        if r == 0:
            _show(ax0, image)
            ax0.set_title("input", fontsize=8)
        else:
            ax0.axis("off")
        c, h, w = fmap.shape
        axes[r, 1].set_ylabel(
            f"{name}\n{c}x{h}x{w}", fontsize=8, rotation=0, ha="right", va="center"
        )
        for j in range(per_layer):
            ax = axes[r, j + 1]
            if j < c:
                _show(ax, fmap[j], cmap=FEATURE_CMAP)
            else:
                ax.axis("off")
    return fig


#: How saliency is laid over an image: the colour map and its opacity.
SALIENCY_CMAP, SALIENCY_ALPHA = "jet", 0.45
#: The colour map of feature maps.
FEATURE_CMAP = "magma"


def colour_map(values: np.ndarray, cmap: str, *, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """``values`` (H, W) as RGB floats (H, W, 3) in [0, 1] through the Matplotlib colour map
    ``cmap``, from ``lo`` to ``hi`` (pictures as arrays: the studio sends them as PNGs)."""
    from matplotlib import colormaps

    scaled = (np.asarray(values, np.float32) - lo) / ((hi - lo) or 1.0)
    return colormaps[cmap](np.clip(scaled, 0, 1))[..., :3].astype(np.float32)


def saliency_overlay(image: np.ndarray, saliency: np.ndarray) -> np.ndarray:
    """A uint8 image (H, W, C) with its saliency map (H, W; scaled by its maximum) laid over
    it, as uint8 RGB: what :func:`plot_saliency` draws."""
    m = np.asarray(saliency, np.float32)
    colours = colour_map(m, SALIENCY_CMAP, hi=float(m.max()) or 1.0)
    base = np.asarray(image, np.float32) / 255
    base = np.repeat(base, 3, axis=2) if base.shape[2] == 1 else base
    mixed = (1 - SALIENCY_ALPHA) * base + SALIENCY_ALPHA * colours
    return (mixed * 255).round().astype(np.uint8)


def feature_map_image(fmap: np.ndarray) -> np.ndarray:
    """One feature map (h, w) as uint8 RGB, from its lowest to its highest value."""
    m = np.asarray(fmap, np.float32)
    return (
        (colour_map(m, FEATURE_CMAP, lo=float(m.min()), hi=float(m.max())) * 255)
        .round()
        .astype(np.uint8)
    )


def plot_saliency(
    images: list[np.ndarray], maps: list[np.ndarray], titles: list[str], *, method: str = ""
):
    """Each image with its saliency map laid over it (bright: what the prediction rests on)."""
    n = len(images)
    cols = min(n, 6)
    rows = (n + cols - 1) // cols
    fig = new_figure(2.1 * cols, 2.3 * rows + 0.3)
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        _show(ax, saliency_overlay(images[i], maps[i]))
        ax.set_title(titles[i], fontsize=8)
    if method:
        fig.suptitle(f"saliency: {method}", fontsize=10)
    return fig


def plot_deletion(curve: dict[str, Any], *, method: str = "", ax: Any = None):
    """Accuracy as the most salient pixels are removed first, against random pixels."""
    ax = ax if ax is not None else new_figure(6, 3.6).add_subplot()
    f = [100 * v for v in curve["fractions"]]
    area = curve["area"]
    ax.plot(f, curve["accuracy"]["saliency"], marker="o", color="#e65100",
            label=f"most salient first ({method}), area {area['saliency']:.3f}")  # fmt: skip
    ax.plot(f, curve["accuracy"]["random"], marker="o", color="#757575",
            label=f"random pixels, area {area['random']:.3f}")  # fmt: skip
    ax.set_xlabel("% of pixels removed")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.set_title("deletion curve: a faithful map makes accuracy fall faster", fontsize=9)
    return ax


def plot_top_images(crops: list[list[np.ndarray]], units: list[int], values: list[list[float]]):
    """One row per unit: the image patches (receptive fields) that activate it most."""
    rows, cols = len(crops), max(len(r) for r in crops)
    fig = new_figure(0.95 * cols + 1.0, 1.05 * rows + 0.4)
    axes = fig.subplots(rows, cols, squeeze=False)
    for r, (patches, vals) in enumerate(zip(crops, values, strict=True)):
        for c in range(cols):
            ax = axes[r, c]
            if c < len(patches):
                _show(ax, patches[c])
                ax.set_title(f"{vals[c]:.2f}", fontsize=7)
            else:
                ax.axis("off")
        axes[r, 0].set_ylabel(f"unit {units[r]}", fontsize=8, rotation=0, ha="right", va="center")
    return fig


def plot_dream(dreams: np.ndarray, values: np.ndarray, real: np.ndarray, real_values: np.ndarray,
               history: list[dict[str, Any]], dataset_max: float, *, title: str = ""):  # fmt: skip
    """The made-up images beside the real ones the objective likes most, and the ascent."""
    n = len(dreams) + len(real)
    fig = new_figure(max(1.5 * n, 6) + 4, 2.6)
    grid = fig.add_gridspec(1, n + 3)
    for i, img in enumerate(dreams):
        ax = fig.add_subplot(grid[0, i])
        _show(ax, img)
        ax.set_title(f"made up\n{values[i]:.2f}", fontsize=8)
    for j, img in enumerate(real):
        ax = fig.add_subplot(grid[0, len(dreams) + j])
        _show(ax, img)
        ax.set_title(f"real #{j + 1}\n{real_values[j]:.2f}", fontsize=8)
    ax = fig.add_subplot(grid[0, n:])
    ax.plot([h["step"] for h in history], [h["objective"] for h in history], color="#e65100",
            label="made-up image (best of the batch)")  # fmt: skip
    ax.axhline(dataset_max, color="k", ls="--", lw=1, label="best real image")
    ax.set_xlabel("step")
    ax.set_ylabel("objective")
    ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
