"""Style transfer jobs: ``style`` repaints a photo in a painting's style (Gatys et al.) and
writes a run folder with the result, the three images side by side, the loss curves and the
numbers; several ``--style-weight`` values give a sweep as one grid."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from pixelab.report import RunDir


def style_image(source: str | os.PathLike[str], *, what: str) -> tuple[np.ndarray, str, str | None]:
    """An RGB uint8 image from a file or a sample photo name (``chelsea``, ``starry_night``...),
    its name, and what was converted to make it RGB (None: nothing)."""
    from PIL import Image

    from pixelab._core.errors import PixelabError
    from pixelab.data import photo, photo_names
    from pixelab.data.folder import read_image

    path = Path(source)
    if path.is_file():
        with Image.open(path) as im:
            mode = im.mode
        converted = None
        if mode in ("L", "I", "I;16", "1", "LA"):
            converted = f"the {what} image {path.name} is grey: its channel was copied to RGB"
        if mode in ("RGBA", "LA", "PA") or (
            mode == "P" and "transparency" in Image.open(path).info
        ):
            converted = f"the {what} image {path.name} has transparency: it was put on white"
        return read_image(path, mode="RGB"), path.name, converted
    if str(source) in photo_names():
        image = photo(str(source))
        if image.ndim == 2 or image.shape[2] == 1:
            image = np.repeat(image.reshape(*image.shape[:2], 1), 3, axis=2)
            return image, str(source), f"the {what} photo {source} is grey: copied to RGB"
        return image[..., :3], str(source), None
    raise PixelabError(f"no image {str(source)!r} for the {what}",
                       hint="give an image file or a sample photo: " + ", ".join(photo_names()))  # fmt: skip


def _tensor(image: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.array(image, copy=True)).permute(2, 0, 1)[None].float() / 255


def _uint8(x: Any) -> np.ndarray:
    return (x[0].permute(1, 2, 0).numpy() * 255).round().clip(0, 255).astype(np.uint8)


def style_transfer(
    content: str | os.PathLike[str],
    style: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    config: Any = None,
    style_weights: list[float] | None = None,
    device: str = "auto",
    overwrite: bool = False,
    progress: Any = None,
) -> dict[str, Any]:
    """Repaint ``content`` in the style of ``style`` (files or sample photos) with ``config``
    (a :class:`~pixelab.generate.style.StyleConfig`), once per weight in ``style_weights``
    (default: the config's), and write a run folder: ``result.png`` (the first weight's),
    one PNG per weight, content | style | result(s) as a figure, the loss curves, and
    metrics.json with the final losses and seconds of each. Ctrl-C keeps what is finished."""
    import dataclasses
    import time

    from PIL import Image

    from pixelab._core.errors import PixelabError
    from pixelab.generate.style import StyleConfig, stylise
    from pixelab.models.vgg16 import vgg16_features
    from pixelab.report import figures as F
    from pixelab.report.generate import plot_style_losses
    from pixelab.train.loop import resolve_device

    cfg = (config or StyleConfig()).check()
    weights = [cfg.style_weight] if not style_weights else list(style_weights)
    if len(weights) > 8:
        raise PixelabError("--style-weight takes at most 8 values")
    for w in weights:
        dataclasses.replace(cfg, style_weight=w).check()
    c_img, c_name, c_conv = style_image(content, what="content")
    s_img, s_name, s_conv = style_image(style, what="style")
    dev = resolve_device(device)
    net = vgg16_features(dev)  # refused here, before a folder is made, when the weights are missing
    with RunDir.create(out, kind="style", overwrite=overwrite) as rd:
        rd.write_config({"content": str(content), "style": str(style), "style_weights": weights,
                         "style_config": cfg.to_dict()}, kind="style")  # fmt: skip
        results, runs, interrupted = [], [], False
        for i, w in enumerate(weights):
            t0 = time.perf_counter()
            try:
                x, history = stylise(net, _tensor(c_img), _tensor(s_img),
                                     dataclasses.replace(cfg, style_weight=w), progress=progress)  # fmt: skip
            except KeyboardInterrupt:
                if not results:
                    raise  # nothing finished: no folder is left behind
                interrupted = True  # the weights finished so far are kept
                break
            seconds = time.perf_counter() - t0
            image = _uint8(x)
            name = "result.png" if i == 0 else f"result-w{w:g}.png"
            Image.fromarray(image).save(rd.path / name)
            results.append(image)
            last = history[-1] if history else {}
            runs.append({"style_weight": w, "file": name, "seconds": round(seconds, 2),
                         "steps": last.get("step", 0),
                         "final": {k: round(last[k], 6) for k in ("total", "content", "style", "tv")
                                   if k in last},
                         "history": history})  # fmt: skip
        side = results[0].shape[:2]
        s_show = np.asarray(Image.fromarray(s_img).resize((side[1], side[0]), Image.BICUBIC))
        c_show = np.asarray(Image.fromarray(c_img).resize((side[1], side[0]), Image.BICUBIC))
        titles = ["content", "style", *[f"style weight {r['style_weight']:g}" for r in runs]]
        fig = F.image_grid([c_show, s_show, *results], ncols=min(4, 2 + len(results)),
                           titles=titles, cell=2.6,
                           suptitle=f"{c_name} in the style of {s_name}")  # fmt: skip
        figs = [rd.save_figure(fig, "style"), rd.save_figure(plot_style_losses(runs), "losses")]
        metrics = {
            "content": c_name, "style": s_name, "size": list(side),
            "converted": [c for c in (c_conv, s_conv) if c],
            "runs": [{k: v for k, v in r.items() if k != "history"} for r in runs],
            "history": {f"{r['style_weight']:g}": r["history"] for r in runs},
            "device": str(dev), "interrupted": interrupted,
            "note": "content and style losses are relative errors (VGG16 features of the "
                    "result against the photo's, Gram matrices against the painting's, each "
                    "divided by its target's power); the style weight says how much more the "
                    "style counts",
            "figures": [str(Path(f).relative_to(rd.path)) for f in figs],
        }  # fmt: skip
        rd.write_metrics(metrics)
        return metrics
