"""``augment show``: one image through each augmentation op at rising strengths, and a grid of
random draws of a policy (what a training run sees)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from pixelab._core.errors import PixelabError
from pixelab.report import RunDir

#: The ops ``augment show`` draws when none are named: one or two of each family.
DEFAULT_OPS = ("flip", "translate", "rotate", "scale", "perspective", "elastic", "noise", "blur",
               "brightness", "contrast", "hue", "erase", "mixup", "cutmix")  # fmt: skip
#: Images larger than this (longer side, pixels) are shrunk before they are shown.
SHOW_SIDE = 192


def source_images(source: str, *, index: int = 0, count: int = 2) -> tuple[np.ndarray, str]:
    """``count`` uint8 images (N, H, W, C) of one size from a file, a sample photo, a built-in
    dataset or a folder (images ``index``, ``index + 1``, ...), and a name for them. Mixing ops
    blend the first with the second."""
    from pixelab._core.checks import check_positive_int
    from pixelab.data import photo, photo_names
    from pixelab.data.registry import _is_path

    check_positive_int(index, name="--index", minimum=0)
    path = Path(source)
    if path.is_file():
        from pixelab.data.folder import read_image

        first = read_image(path, mode="RGB")
        return np.stack([_shrink(first), _shrink(first[:, ::-1])]), path.name
    if not path.exists() and source in photo_names():
        first = photo(source)
        second = photo("astronaut" if source != "astronaut" else "chelsea")
        return np.stack(_same_size([_shrink(first), _shrink(second)])), source
    from pixelab.data import load

    ds = load(source, size=96 if _is_path(source) else None)
    if index + count > len(ds):
        raise PixelabError(f"--index {index} is past the {len(ds)} images of {source}")
    order = np.argsort(ds.labels, kind="stable")  # two classes side by side where there are
    pick = [order[(index + k * max(1, len(ds) // count)) % len(ds)] for k in range(count)]
    return ds.images[pick], f"{source} #{index}"


def _shrink(image: np.ndarray) -> np.ndarray:
    from PIL import Image

    h, w = image.shape[:2]
    if max(h, w) <= SHOW_SIDE:
        return np.ascontiguousarray(image)
    scale = SHOW_SIDE / max(h, w)
    img = Image.fromarray(np.ascontiguousarray(image)).resize(
        (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS
    )
    return np.asarray(img)


def _same_size(images: list[np.ndarray]) -> list[np.ndarray]:
    from PIL import Image

    h, w = images[0].shape[:2]
    return [images[0], *[np.asarray(Image.fromarray(im).resize((w, h))) for im in images[1:]]]


def op_strengths(images: np.ndarray, ops: list[str], *, steps: int = 4, seed: int = 0) -> dict:
    """The first image through each op at ``steps`` strengths from 0 to the op's ``show_max``:
    {"rows": [{"op", "unit", "values", "images"}]} (mixing ops blend in the second image)."""
    import torch

    from pixelab._core.checks import check_positive_int
    from pixelab.augment import get_op, to_float, to_uint8

    check_positive_int(steps, name="--steps", minimum=2)
    x = to_float(images)
    rows = []
    for name in ops:
        op = get_op(name)
        values = np.linspace(0, min(op.show_max, op.limit), steps)
        if op.family == "mixing" or op.name in ("flip", "grayscale"):
            values = np.linspace(0, 1 if not op.mixes else op.show_max, steps)
        shown = []
        for v in values:
            rng = np.random.default_rng(seed)
            params = op.sample(rng, len(x), value=float(v))
            if op.mixes:
                params["perm"] = np.roll(np.arange(len(x)), -1)  # the first takes the second
            with torch.no_grad():
                shown.append(to_uint8(op.apply(x, params))[0])
        rows.append({"op": name, "unit": op.unit, "values": [float(f"{v:.3g}") for v in values],
                     "images": shown})  # fmt: skip
    return {"rows": rows}


def policy_draws(images: np.ndarray, policy: str, *, n: int = 8, seed: int = 0) -> np.ndarray:
    """``n`` random draws of ``policy`` on the images (uint8), as a training batch would get."""
    from pixelab.augment import parse_policy, to_float, to_uint8

    pol = parse_policy(policy)
    reps = -(-n // len(images))
    x = to_float(np.concatenate([images] * reps)[:n])
    rng = np.random.default_rng(seed)
    return to_uint8(pol.apply(x, pol.sample(rng, len(x))))


def augment_show(
    source: str,
    out: str | os.PathLike[str],
    *,
    ops: list[str] | None = None,
    policy: str | None = None,
    steps: int = 4,
    index: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """Write a run folder with one figure of the ops at rising strengths (and, with ``policy``,
    one of 8 random draws of it) for the image(s) of ``source``; returns metrics.json."""
    from pixelab.augment import describe, get_op, parse_policy
    from pixelab.report import figures as F

    names = list(ops or DEFAULT_OPS)
    described = [describe(get_op(n)) for n in names]  # unknown names fail before any work
    pol = parse_policy(policy) if policy else None
    images, name = source_images(source, index=index)
    strengths = op_strengths(images, names, steps=steps, seed=seed)
    with RunDir.create(out, kind="augment", replace_same_kind=True) as run:
        run.write_config({"source": source, "ops": names, "policy": policy, "steps": steps,
                          "index": index, "seed": seed}, kind="augment")  # fmt: skip
        cells = [im for row in strengths["rows"] for im in row["images"]]
        titles = [f"{v:g}" for row in strengths["rows"] for v in row["values"]]
        labels = [row["op"] for row in strengths["rows"]]
        fig = F.image_grid(cells, titles=titles, ncols=steps, cell=1.5, row_labels=labels,
                           suptitle=f"{name}: each op from 0 (unchanged) to strong")  # fmt: skip
        figures = [run.save_figure(fig, "ops")]
        if pol is not None:
            draws = policy_draws(images, pol.spec, seed=seed)
            fig = F.image_grid(list(draws), ncols=4, cell=1.6,
                               suptitle=f"8 random draws of {pol.spec or 'none'}")  # fmt: skip
            figures.append(run.save_figure(fig, "policy"))
        metrics = {
            "source": name, "image_shape": list(images.shape[1:]),
            "ops": [{**d, "values": row["values"]}
                    for d, row in zip(described, strengths["rows"], strict=True)],
            "policy": pol.spec if pol is not None else None,
            "figures": [str(f.relative_to(run.path)) for f in figures],
        }  # fmt: skip
        run.write_metrics(metrics)
    return metrics
