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


def plot_bits(rows: list[dict[str, Any]], *, raw_bits: int, png_bits: float):
    """Bits per image for every model as stacked bars (the code, then what the decoder still
    needs for the exact pixels), against the raw pixels and a PNG file."""
    fig = new_figure(max(5.0, 0.9 * len(rows) + 2.5), 3.6)
    ax = fig.subplots()
    x = np.arange(len(rows))
    rate = [r["rate_bits"] for r in rows]
    dist = [r["distortion_bits"] for r in rows]
    ax.bar(x, rate, color="#4C72B0", label="the code (rate)")
    ax.bar(x, dist, bottom=rate, color="#DD8452", label="the rest of the image (distortion)")
    ax.axhline(raw_bits, color="k", ls="--", lw=1, label=f"raw pixels ({raw_bits} bits)")
    ax.axhline(png_bits, color="0.4", ls=":", lw=1.2, label=f"PNG file ({png_bits:.0f} bits)")
    ax.set_xticks(
        x, [f"{'VAE' if r['kind'] == 'vae' else 'AE'} {r.get('code', r['latent'])}" for r in rows]
    )
    ax.set_ylabel("bits per image")
    ax.set_title("what it costs to store one image, by latent size", fontsize=10)
    ax.legend(fontsize=7, loc="upper right")
    ax.set_ylim(0, max(raw_bits, png_bits, *(a + b for a, b in zip(rate, dist, strict=True))) * 1.3)
    return fig


def plot_latent_map(
    grid: np.ndarray, codes: np.ndarray, labels: np.ndarray, classes: list[str], *,
    low: Any, high: Any,
):  # fmt: skip
    """Left: a 2-D latent plane (from ``low`` to ``high``) decoded point by point. Right: where
    the encoder puts real test images in that plane, coloured by class, with the decoded
    plane dashed and the prior's 5 %-95 % square dotted."""
    from matplotlib.patches import Rectangle

    from pixelab.report.figures import _tab_colors

    fig = new_figure(11, 5.2)
    a, b = fig.subplots(1, 2)
    _show(a, grid)
    a.set_title("the latent plane, decoded", fontsize=10)
    colors = _tab_colors(len(classes))
    for k, name in enumerate(classes):
        sel = labels == k
        b.scatter(codes[sel, 0], codes[sel, 1], s=4, color=colors[k], label=name, alpha=0.7)
    b.add_patch(Rectangle(tuple(low), high[0] - low[0], high[1] - low[1], fill=False, ls="--",
                          lw=0.9, color="0.2"))  # fmt: skip
    b.add_patch(Rectangle((-1.645, -1.645), 3.29, 3.29, fill=False, ls=":", lw=0.9, color="0.5"))
    b.set_aspect("equal", adjustable="datalim")
    b.set_title("where test images land (dashed: the plane on the left; dotted: the prior)",
                fontsize=9)  # fmt: skip
    b.legend(fontsize=6, markerscale=3, loc="best", ncol=2)
    return fig


def plot_quiz(images: np.ndarray, real: np.ndarray, calls: dict[str, np.ndarray]):
    """ "Which image is real?": numbered images in a grid of four columns, and below it the
    answer key and what each detector said (True: real)."""
    n = len(images)
    ncols = 4
    rows = (n + ncols - 1) // ncols
    fig = new_figure(6.4, 1.55 * rows + 1.2)
    grid = fig.add_gridspec(rows + 1, ncols, height_ratios=[1] * rows + [0.75])
    for i in range(n):
        ax = fig.add_subplot(grid[i // ncols, i % ncols])
        _show(ax, images[i])
        ax.set_title(str(i + 1), fontsize=9)
    key = fig.add_subplot(grid[rows, :])
    key.axis("off")

    def numbers(mask: np.ndarray) -> str:
        return ", ".join(str(i + 1) for i in np.flatnonzero(mask)) or "none"

    lines = [f"real: {numbers(real)}", f"generated: {numbers(~real)}"]
    for name, said in calls.items():
        right = int((said == real).sum())
        lines.append(f"the {name} called real: {numbers(said)} ({right}/{n} right)")
    key.text(0, 1, "Answers\n" + "\n".join(lines), va="top", fontsize=8, family="monospace")
    fig.suptitle("Which images are real? (the answers are below)", fontsize=10)
    return fig


def plot_detector_scores(scores: dict[str, tuple[np.ndarray, np.ndarray]]):
    """For each detector, histograms of its "real" score on real and on generated images: the
    less they overlap, the easier the generated images are to tell."""
    fig = new_figure(4.6 * len(scores), 3.3)
    axes = np.atleast_1d(fig.subplots(1, len(scores)))
    for ax, (name, (real, fake)) in zip(axes, scores.items(), strict=True):
        lo, hi = np.percentile(np.r_[real, fake], [1, 99])
        bins = np.linspace(lo, hi, 40)
        ax.hist(np.clip(real, lo, hi), bins=bins, alpha=0.6, label="real")
        ax.hist(np.clip(fake, lo, hi), bins=bins, alpha=0.6, label="generated")
        ax.axvline(0, color="k", lw=0.8)
        ax.set_title(f"the {name}'s score (above 0: 'real')", fontsize=9)
        ax.legend(fontsize=8)
    return fig


def plot_schedules(schedules: Sequence[Any]):
    """Left: the share of the image's power left at each step, per noise schedule. Right: the
    signal-to-noise ratio on a log scale (above 1 the image dominates, below it the noise)."""
    fig = new_figure(9, 3.4)
    a, b = fig.subplots(1, 2)
    for s in schedules:
        t = np.arange(s.steps)
        a.plot(t, s.alphas_cumprod.numpy(), label=s.kind)
        b.semilogy(t, s.signal_to_noise().numpy(), label=s.kind)
    a.set_xlabel("step t")
    a.set_ylabel("share of the image left")
    a.set_title("how fast the image fades", fontsize=10)
    a.legend(fontsize=8)
    b.axhline(1, color="0.6", lw=0.8)
    b.set_xlabel("step t")
    b.set_ylabel("signal-to-noise ratio")
    b.set_title("image against noise (log scale)", fontsize=10)
    b.legend(fontsize=8)
    return fig


def plot_diffusion_curves(history: list[dict[str, Any]]):
    """The denoiser's training loss (mean squared error of its noise guess) per epoch."""
    ax = _ax(None, 5, 3.2)
    ax.plot([r["epoch"] for r in history], [r["loss"] for r in history], "o-")
    ax.set_xlabel("epoch")
    ax.set_ylabel("noise-prediction error (MSE)")
    ax.set_title("how well it guesses the noise", fontsize=10)
    return ax.figure


def plot_style_losses(runs: list[dict[str, Any]]):
    """Content and style losses (relative errors) against the step of each style transfer:
    the style falls fast, the content rises as the picture moves away from the photo."""
    fig = new_figure(9, 3.3)
    a, b = fig.subplots(1, 2)
    for r in runs:
        steps = [h["step"] for h in r["history"]]
        label = f"style weight {r['style_weight']:g}"
        a.plot(steps, [h["style"] for h in r["history"]], label=label)
        b.plot(steps, [h["content"] for h in r["history"]], label=label)
    for ax, what in ((a, "style"), (b, "content")):
        ax.set_xlabel("step (with --scales 2, the full size starts where the curve jumps)")
        ax.set_ylabel(f"{what} loss (relative)")
        ax.set_yscale("log" if what == "style" else "linear")
        ax.legend(fontsize=8)
    fig.suptitle("style transfer: the painting's Gram matrices against the photo's layout",
                 fontsize=10)  # fmt: skip
    return fig


def plot_guidance(rows: list[dict[str, Any]], *, real_fid: float, judge: str):
    """Class-consistency and FID (judge features) against the classifier-free guidance scale:
    where guidance helps, and where it starts to cost variety."""
    fig = new_figure(9, 3.3)
    a, b = fig.subplots(1, 2)
    w = [r["guidance"] for r in rows]
    a.plot(w, [r["class_consistency"] for r in rows], "o-")
    a.set_ylim(0, 1.02)
    a.set_xlabel("guidance scale w")
    a.set_ylabel(f"looks like the class asked ({judge})")
    b.plot(w, [r["fid_judge"] for r in rows], "o-", color="C1", label="samples")
    b.axhline(real_fid, ls="--", color="grey", label="real vs real")
    b.set_xlabel("guidance scale w")
    b.set_ylabel("FID (judge features)")
    b.legend(fontsize=8)
    fig.suptitle("classifier-free guidance: w = 0 ignores the class, 1 is the plain model",
                 fontsize=10)  # fmt: skip
    return fig
