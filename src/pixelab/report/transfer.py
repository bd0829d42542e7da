"""Figures of the transfer-learning chapter: what the ImageNet model sees."""

from __future__ import annotations

from typing import Any

import numpy as np

from pixelab.report.figures import new_figure


def plot_imagenet(images: list[np.ndarray], predictions: list[dict[str, Any]], *, cols: int = 2):
    """Each image (as the model saw it) beside a bar chart of its top ImageNet classes."""
    n = len(images)
    cols = min(cols, n)
    rows = -(-n // cols)
    fig = new_figure(5.2 * cols, 2.3 * rows)
    fig.set_layout_engine("constrained")
    grid = fig.add_gridspec(rows, 2 * cols, width_ratios=[1, 1.5] * cols)
    for i, (image, pred) in enumerate(zip(images, predictions, strict=True)):
        r, c = divmod(i, cols)
        ax = fig.add_subplot(grid[r, 2 * c])
        ax.imshow(image if image.shape[-1] == 3 else image[..., 0], cmap="gray")
        ax.set_axis_off()
        name = str(pred["path"]).rsplit("/", 1)[-1]
        ax.set_title(name if len(name) <= 28 else name[:25] + "...", fontsize=8)
        bar = fig.add_subplot(grid[r, 2 * c + 1])
        top = pred["top"][::-1]
        probs = [t["probability"] for t in top]
        bar.barh(range(len(top)), probs, color=["#4c72b0"] * (len(top) - 1) + ["#dd8452"])
        bar.set_yticks(range(len(top)), [t["class"] for t in top], fontsize=8)
        bar.set_xlim(0, 1)
        bar.tick_params(axis="x", labelsize=7)
        for y, p in enumerate(probs):
            bar.text(min(p + 0.02, 0.8), y, f"{p:.0%}", va="center", fontsize=7)
    fig.suptitle("EfficientNet-Lite0 (ImageNet): top classes", fontsize=10)
    return fig


def plot_learning_curve(curve: dict[str, Any], *, title: str = "", ax: Any = None):
    """Test accuracy against images per class, mean and spread over seeds, per method."""
    ax = ax if ax is not None else new_figure(5.5, 3.6).add_subplot()
    shots = curve["shots"]
    labels = {"probe": "pretrained features + new head", "finetune": "... then finetuned",
              "scratch": "small CNN from scratch"}  # fmt: skip
    for method, colour in (("probe", "#dd8452"), ("finetune", "#c44e52"), ("scratch", "#4c72b0")):
        if method not in curve:
            continue
        mean = [curve[method][str(n)]["mean"] for n in shots]
        std = [curve[method][str(n)]["std"] for n in shots]
        ax.errorbar(shots, mean, yerr=std, marker="o", capsize=3, color=colour,
                    label=labels[method])  # fmt: skip
    ax.set_xscale("log")
    ax.set_xticks(shots, [str(n) for n in shots])
    ax.set_xlabel("training images per class")
    ax.set_ylabel(f"test accuracy ({curve['n_test']} images)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title, fontsize=10)
    return ax
