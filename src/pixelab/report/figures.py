"""Figures: ``plot_*(..., ax=None)`` functions that only draw, and grid helpers.

Figures are made with ``matplotlib.figure.Figure`` (no pyplot state, no GUI backend),
so they are safe in scripts, tests and servers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def new_figure(width: float = 6.0, height: float = 4.0):
    """A fresh Matplotlib Figure (not registered with pyplot)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _ax(ax: Any, width: float = 6.0, height: float = 4.0):
    return new_figure(width, height).add_subplot() if ax is None else ax


def _show(ax: Any, image: np.ndarray, **kw: Any) -> None:
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        kw.setdefault("cmap", "gray")
        if img.dtype == np.uint8:
            kw.setdefault("vmin", 0)
            kw.setdefault("vmax", 255)
    ax.imshow(img, interpolation="nearest", **kw)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_image(image: np.ndarray, *, title: str = "", ax: Any = None, **kw: Any):
    """Show one image (grey or RGB) without axes ticks; returns the Axes."""
    ax = _ax(ax, 3, 3)
    _show(ax, image, **kw)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def image_grid(
    images: Sequence[np.ndarray] | np.ndarray,
    *,
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    cell: float = 1.3,
    row_labels: Sequence[str] | None = None,
    suptitle: str = "",
    **kw: Any,
):
    """Lay images out on a grid; returns the Figure. ``row_labels`` name each row; a None
    image leaves its cell empty."""
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = (n + ncols - 1) // ncols
    fig = new_figure(cell * ncols + (1.2 if row_labels else 0), cell * nrows + 0.3)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < n and images[i] is not None:  # None leaves a cell empty
            _show(ax, images[i], **kw)
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
        else:
            ax.axis("off")
    if row_labels:
        for r, label in enumerate(row_labels[:nrows]):
            axes[r, 0].set_ylabel(label, fontsize=9, rotation=0, ha="right", va="center")
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig


def plot_confusion(
    cm: np.ndarray | Sequence[Sequence[int]],
    classes: Sequence[str],
    *,
    normalize: bool = True,
    ax: Any = None,
):
    """Confusion matrix as a heat map (rows: true class, columns: predicted)."""
    cm = np.asarray(cm, dtype=np.float64)
    ax = _ax(ax, 0.55 * len(classes) + 2.5, 0.5 * len(classes) + 2)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if len(classes) <= 12:
        for (i, j), v in np.ndenumerate(shown):
            if v >= 0.005:
                ax.text(
                    j,
                    i,
                    f"{v:.2f}" if normalize else f"{int(v)}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if v > 0.5 * shown.max() else "black",
                )
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
    return ax


def plot_bars(
    names: Sequence[str],
    values: Sequence[float],
    *,
    xlabel: str = "",
    title: str = "",
    log: bool = False,
    fmt: str = "{:.3f}",
    ax: Any = None,
):
    """Horizontal bars with their values written at the end (comparisons, parameter counts)."""
    ax = _ax(ax, 6.5, 0.45 * len(names) + 1.2)
    y = np.arange(len(names))
    ax.barh(y, values, color="#3b7dd8")
    ax.set_yticks(y, names, fontsize=9)
    ax.invert_yaxis()
    if log:
        ax.set_xscale("log")
    for yi, v in zip(y, values, strict=True):
        ax.text(v, yi, " " + fmt.format(v), va="center", fontsize=8)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.margins(x=0.18)
    return ax


def plot_dimensionality(info: dict[str, Any], *, ax: Any = None):
    """Bars of input size d and first-dense-layer parameters after each preprocessing step."""
    steps = [*info["steps"], info["reference"]]
    names = [s["step"] for s in steps]
    ax = _ax(ax, 7, 0.5 * len(steps) + 1.5)
    y = np.arange(len(steps))
    ax.barh(y - 0.2, [s["d"] for s in steps], height=0.4, label="d (numbers per image)")
    ax.barh(
        y + 0.2,
        [s["dense_params"] for s in steps],
        height=0.4,
        label=f"weights of a {info['dense_width']}-unit dense layer",
    )
    ax.set_yticks(y, names, fontsize=9)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel("count (log scale)")
    return ax


def plot_keypoints(
    image: np.ndarray, keypoints: np.ndarray, *, ax: Any = None, max_points: int = 300
):
    """SIFT keypoints as circles (radius = scale) with a tick for the orientation."""
    ax = _ax(ax, 5, 4)
    _show(ax, image)
    kp = np.asarray(keypoints)[:max_points]
    for x, y, size, angle in kp:
        r = size / 2
        ax.add_patch(_circle((x, y), r))
        t = np.deg2rad(angle)
        ax.plot([x, x + r * np.cos(t)], [y, y - r * np.sin(t)], color="#ffd400", lw=0.8)
    ax.set_title(f"{len(keypoints)} SIFT keypoints", fontsize=9)
    return ax


def _circle(xy: tuple[float, float], r: float):
    from matplotlib.patches import Circle

    return Circle(xy, r, fill=False, color="#ffd400", lw=0.8)


def plot_matches(
    img_a: np.ndarray,
    img_b: np.ndarray,
    pts_a: np.ndarray,
    pts_b: np.ndarray,
    *,
    ax: Any = None,
    max_lines: int = 60,
):
    """Two images side by side with lines joining matched points."""
    from pixelab.data.preprocess import to_rgb

    a, b = to_rgb(img_a), to_rgb(img_b)
    h = max(a.shape[0], b.shape[0])
    canvas = np.full((h, a.shape[1] + b.shape[1], 3), 255, np.uint8)
    canvas[: a.shape[0], : a.shape[1]] = a
    canvas[: b.shape[0], a.shape[1] :] = b
    ax = _ax(ax, 9, 4)
    _show(ax, canvas)
    for (xa, ya), (xb, yb) in list(zip(pts_a, pts_b, strict=True))[:max_lines]:
        ax.plot([xa, xb + a.shape[1]], [ya, yb], lw=0.7, color="#00c853")
    ax.set_title(f"{len(pts_a)} SIFT matches", fontsize=9)
    return ax


def plot_embedding(
    points: np.ndarray,
    labels: np.ndarray,
    classes: Sequence[str],
    *,
    title: str = "",
    ax: Any = None,
):
    """A 2-D scatter of images coloured by class (PCA / t-SNE of pixels or features)."""
    ax = _ax(ax, 6, 5)
    cmap = _tab_colors(len(classes))
    for c, name in enumerate(classes):
        sel = labels == c
        ax.scatter(points[sel, 0], points[sel, 1], s=6, alpha=0.7, color=cmap[c], label=name)
    ax.legend(fontsize=7, markerscale=2, loc="best", ncols=2)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def _tab_colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def mistakes_grid(
    images: np.ndarray, true: np.ndarray, pred: np.ndarray, classes: Sequence[str], *, n: int = 24
):
    """The first ``n`` misclassified images titled "true → predicted"; None when there are none."""
    wrong = np.flatnonzero(np.asarray(pred) != np.asarray(true))[:n]
    if not len(wrong):
        return None
    return image_grid(
        images[wrong],
        titles=[f"{classes[true[i]]}\n→ {classes[pred[i]]}" for i in wrong],
        ncols=8,
        suptitle="mistakes: true class → predicted class",
    )
