"""Feature pictures for one image: what HOG, SIFT, edges and corners see."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from pixelab.data.preprocess import resize, to_gray
from pixelab.report import RunDir
from pixelab.report import figures as F


def shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale ``image`` so its longer side is at most ``max_side`` (aspect kept)."""
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    s = max_side / max(h, w)
    return resize(image[None], (max(1, round(h * s)), max(1, round(w * s))))[0]


def show_feature(
    kind: str,
    image: np.ndarray,
    out: str | os.PathLike[str],
    *,
    max_side: int = 512,
    cell: int = 8,
) -> dict[str, Any]:
    """Draw the ``kind`` feature of ``image`` next to the image; returns the metrics written."""
    from pixelab import features as feats

    run = RunDir(out)
    img = shrink(image, max_side)
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
    path = run.save_figure(fig, kind)
    metrics["figures"] = [str(path.relative_to(run.path))]
    run.write_metrics(metrics)
    return metrics
