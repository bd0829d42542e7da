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


def plot_attack_curves(curves: dict[str, Any], *, chance: float, ax: Any = None):
    """Accuracy against the attack's strength eps, one line per method."""
    ax = ax if ax is not None else new_figure(5.5, 3.6).add_subplot()
    for method, rows in curves.items():
        ax.plot([r["eps"] for r in rows], [r["accuracy"] for r in rows], marker="o",
                label=method.upper())  # fmt: skip
    ax.axhline(chance, color="grey", lw=0.8, ls=":", label="chance")
    ax.set_xlabel("eps: largest change of a pixel, in levels out of 255")
    ax.set_ylabel("accuracy on attacked images")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def plot_adversarial(
    images: Any, adversarial: Any, labels: Any, predicted: Any, classes: list[str], *, title: str
):
    """Each image, its change (amplified to be seen) and the attacked image, with predictions."""
    import numpy as np

    n = len(images)
    fig = new_figure(6.2, 1.9 * n)
    axes = fig.subplots(n, 3, squeeze=False)
    for i in range(n):
        a, b = images[i].astype(float), adversarial[i].astype(float)
        d = b - a
        amp = 0.5 + d / (2 * max(np.abs(d).max(), 1e-9))
        for ax, img, text in ((axes[i, 0], a / 255, f"{classes[labels[i]]}"),
                              (axes[i, 1], amp, "change (amplified)"),
                              (axes[i, 2], b / 255, f"seen as: {classes[predicted[i]]}")):  # fmt: skip
            ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(text, fontsize=8,
                         color="#c44e52" if "seen" in text and predicted[i] != labels[i] else "k")  # fmt: skip
    fig.suptitle(title, fontsize=10)
    return fig


def plot_challenges(metrics: dict[str, Any]):
    """A heat map of accuracy per challenge family (rows) and severity (columns), with the
    unchanged images' accuracy as a first column; with a baseline, each family's CE beside it."""
    import numpy as np

    families = list(metrics["families"])
    grid = np.array([[metrics["clean_accuracy"], *metrics["families"][f]["accuracy"]]
                     for f in families])  # fmt: skip
    fig = new_figure(7.2, 0.45 * len(families) + 1.6)
    ax = fig.add_subplot()
    im = ax.imshow(grid, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    for (r, c), v in np.ndenumerate(grid):
        ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=7,
                color="white" if v < 0.6 else "black")  # fmt: skip
    labels = families
    base = metrics.get("baseline")
    if base:
        labels = [f"{f} (CE {base['ce'].get(f) or float('nan'):.2f})" for f in families]
    ax.set_yticks(range(len(families)), labels, fontsize=8)
    ax.set_xticks(range(6), ["none", *[str(s) for s in metrics["severities"]]], fontsize=8)
    ax.set_xlabel("severity")
    title = f"accuracy on {metrics['n_images']} images"
    if base and base.get("mce") is not None:
        title += f"; mCE {base['mce']:.2f} relative to the baseline"
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.04)
    return fig


def plot_ablation(rows: dict[str, Any]):
    """Per policy: clean accuracy, mean accuracy over the challenge suite and PGD accuracy at
    eps 8/255, as grouped bars."""
    import numpy as np

    policies = list(rows)
    keys = (("accuracy", "unchanged images"), ("challenge_accuracy", "challenge suite (mean)"),
            ("pgd_8", "PGD attack, eps 8/255"))  # fmt: skip
    fig = new_figure(1.6 * len(policies) + 2.5, 3.6)
    ax = fig.add_subplot()
    width = 0.8 / len(keys)
    for i, (key, label) in enumerate(keys):
        vals = [rows[p][key] for p in policies]
        xs = np.arange(len(policies)) + (i - 1) * width
        ax.bar(xs, vals, width, label=label)
        for x, v in zip(xs, vals, strict=True):
            ax.text(x, v + 0.01, f"{v:.2f}", ha="center", fontsize=7)
    ax.set_xticks(range(len(policies)), policies, fontsize=8)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.08)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("what each augmentation policy buys", fontsize=10)
    return fig
