"""Figures of robustness: accuracy against the size of a change to the images."""

from __future__ import annotations

from typing import Any

from pixelab.report.figures import new_figure


def plot_sweep(result: dict[str, Any], *, title: str = "", runs: dict[str, Any] | None = None):
    """One panel per factor: accuracy (solid) and mean confidence (dashed) against the amount,
    the clean accuracy and chance marked. ``runs`` (label -> result) draws several models."""
    runs = runs or {"": result}
    factors = list(next(iter(runs.values()))["factors"])
    cols = min(3, len(factors))
    rows = -(-len(factors) // cols)
    fig = new_figure(4.2 * cols, 3.2 * rows)
    axes = list(fig.subplots(rows, cols, squeeze=False).flat)
    colours = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b2"]
    for ax, name in zip(axes, factors, strict=False):
        for (label, res), colour in zip(runs.items(), colours, strict=False):
            f = res["factors"][name]
            xs = [r["amount"] for r in f["rows"]]
            ax.plot(xs, [r["accuracy"] for r in f["rows"]], marker="o", color=colour,
                    label=f"{label} accuracy".strip())  # fmt: skip
            if len(runs) == 1:  # several models: accuracy only, or the panel is a tangle
                ax.plot(xs, [r["confidence"] for r in f["rows"]], ls="--", color=colour,
                        alpha=0.6, label=f"{label} confidence".strip())  # fmt: skip
        ax.axhline(result["clean_accuracy"], color="grey", lw=0.8, label="unchanged images")
        ax.axhline(result["chance"], color="grey", lw=0.8, ls=":", label="chance")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(result["factors"][name]["unit"], fontsize=8)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    for ax in axes[len(factors) :]:
        ax.axis("off")
    fig.axes[0].set_ylabel("accuracy / confidence")
    fig.axes[0].legend(fontsize=7, loc="lower left")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
