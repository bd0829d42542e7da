"""Feature pictures for one image: what HOG, SIFT, edges and corners see."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from pixelab._core.checks import check_choice, check_positive_int
from pixelab._core.errors import PixelabError
from pixelab.data.preprocess import resize, to_gray
from pixelab.report import RunDir
from pixelab.report import figures as F

#: The features ``show_feature`` draws.
KINDS = ("hog", "sift", "edges", "corners")
#: The smallest --max-side: smaller pictures show no structure (and no 2x2 block of HOG cells).
MIN_SIDE = 16
#: HOG blocks are 2x2 cells: the image must hold at least one block.
HOG_BLOCK = 2


def shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale ``image`` so its longer side is at most ``max_side`` (aspect kept)."""
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    s = max_side / max(h, w)
    return resize(image[None], (max(1, round(h * s)), max(1, round(w * s))))[0]


def check_show_options(kind: str, image: np.ndarray, *, max_side: int, cell: int) -> np.ndarray:
    """Check the options of :func:`show_feature` (flags named); return the image shrunk."""
    check_choice(kind, KINDS, name="feature")
    check_positive_int(max_side, name="--max-side", minimum=MIN_SIDE)
    check_positive_int(cell, name="--cell")
    img = shrink(image, max_side)
    h, w = img.shape[:2]
    if kind == "hog" and min(h, w) < HOG_BLOCK * cell:
        raise PixelabError(
            f"--cell {cell} is too large for this {w}x{h} image: HOG needs a block of "
            f"{HOG_BLOCK}x{HOG_BLOCK} cells ({HOG_BLOCK * cell}x{HOG_BLOCK * cell} pixels)",
            hint=f"use --cell {min(h, w) // HOG_BLOCK} or less"
            + ("" if max(image.shape[:2]) <= max_side else ", or a larger --max-side")
            if min(h, w) >= HOG_BLOCK
            else "the image is too small for HOG",
        )
    return img


def show_feature(
    kind: str,
    image: np.ndarray,
    out: str | os.PathLike[str],
    *,
    max_side: int = 512,
    cell: int = 8,
) -> dict[str, Any]:
    """Draw the ``kind`` feature of ``image`` next to the image; returns the metrics written.

    The options are checked before anything is written to ``out``.
    """
    from pixelab import features as feats

    img = check_show_options(kind, image, max_side=max_side, cell=cell)
    fig = F.new_figure(10, 4.5)
    ax_img, ax_feat = fig.subplots(1, 2)
    F.plot_image(img, title="input", ax=ax_img)
    metrics: dict[str, Any] = {"feature": kind, "image_shape": list(img.shape)}
    if kind == "hog":
        vec = feats.hog(img, cell=cell)
        F.plot_image(
            feats.hog_image(img, cell=cell), title=f"HOG, {cell}px cells", ax=ax_feat, cmap="magma"
        )
        metrics.update(d=int(vec.size), cell=cell)
    elif kind == "sift":
        kp, _ = feats.sift(img)
        F.plot_keypoints(img, kp, ax=ax_feat)
        metrics.update(keypoints=len(kp))
    elif kind == "edges":
        e = feats.edges(img)
        F.plot_image(e.astype(np.uint8) * 255, title="Canny edges", ax=ax_feat)
        metrics.update(edge_fraction=round(float(e.mean()), 4))
    else:
        coords, _ = feats.corners(img)
        F.plot_image(to_gray(img), ax=ax_feat)
        ax_feat.scatter(coords[:, 1], coords[:, 0], s=14, c="#ff3d00", marker="+")
        ax_feat.set_title(f"{len(coords)} Harris corners", fontsize=9)
        metrics.update(corners=len(coords))
    with RunDir.create(out, kind="features", replace_same_kind=True) as run:
        run.write_config({"feature": kind, "max_side": max_side, "cell": cell}, kind="features")
        path = run.save_figure(fig, kind)
        metrics["figures"] = [str(path.relative_to(run.path))]
        run.write_metrics(metrics)
    return metrics
