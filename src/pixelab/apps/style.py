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


# ------------------------------------------------------------------ the fast style network

#: The command that made the shipped style network (``make style-weights``).
SHIPPED_STYLE_COMMAND = "pixelab style train --style starry_night --data photos --seed 0"
#: The shipped style network's folder under ``assets/``.
SHIPPED_STYLE_NAME = "style-starry-night"
#: Pictures held out of a style network's training, to show it on photos it never saw.
HELD_OUT = 2
#: The longest side ``style apply`` repaints at unless told (a larger image is shrunk).
APPLY_MAX_SIDE = 1024


def training_pictures(
    data: str | os.PathLike[str], crop: int, *, exclude: str | None = None
) -> tuple[list[np.ndarray], list[str], list[str]]:
    """The pictures a style network learns from: the sample photos (``photos``) or every image
    in a folder (subfolders included), in RGB, each resized so that its shorter side is 1.5 x
    ``crop`` (the scale a 256-px result is seen at). Returns (pictures, names, notes about
    files skipped or converted); ``exclude`` (the painting's name) is left out."""
    from PIL import Image

    from pixelab._core.errors import PixelabError
    from pixelab.data import photo, photo_names
    from pixelab.data.folder import iter_image_files, read_image

    notes: list[str] = []
    if str(data) == "photos":
        named = [(n, photo(n)) for n in photo_names() if n != exclude]
    else:
        root = Path(data)
        if not root.is_dir():
            raise PixelabError(f"--data {str(data)!r} is neither 'photos' nor a folder")
        named = []
        for f in iter_image_files([root]):
            try:
                named.append((str(f.relative_to(root)), read_image(f, mode="RGB")))
            except PixelabError as e:
                notes.append(f"skipped {f.name}: {e}")
    pictures, names = [], []
    side = round(1.5 * crop)
    for name, img in named:
        if img.shape[2] == 1:
            img = np.repeat(img, 3, axis=2)
        h, w = img.shape[:2]
        k = side / min(h, w)
        if min(h, w) * k < crop or max(h, w) * k > 20 * side:
            notes.append(f"skipped {name}: {w}x{h} is too thin to crop")
            continue
        size = (max(crop, round(w * k)), max(crop, round(h * k)))
        pictures.append(np.asarray(Image.fromarray(img[..., :3]).resize(size, Image.BICUBIC)))
        names.append(name)
    if len(pictures) < 1:
        raise PixelabError(f"no usable picture in {data}",
                           hint="a style network needs photos to learn from (jpg/png...)")  # fmt: skip
    return pictures, names, notes


def style_train(
    style: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    data: str | os.PathLike[str] = "photos",
    config: Any = None,
    budget_min: float | None = None,
    device: str = "auto",
    resume: bool = False,
    overwrite: bool = False,
    progress: Any = None,
) -> dict[str, Any]:
    """Train a fast style network (Johnson et al.) for the painting ``style`` on random crops
    of ``data`` (``photos`` or a folder) and write a run folder: the weights, the network
    applied to photos held out of training next to the painting, the loss curves, and
    metrics.json (losses, seconds, milliseconds per 256-px image). Ctrl-C keeps the last
    checkpoint; ``resume=True`` continues exactly."""
    import shutil

    import torch

    from pixelab._core.checks import check_positive_number
    from pixelab._core.io import write_json
    from pixelab.apps.cnn import resumed_config
    from pixelab.generate.fast_style import FastStyleConfig, apply_style_net, build, fit_style_net
    from pixelab.models.vgg16 import vgg16_features
    from pixelab.report.generate import plot_style_losses
    from pixelab.train.checkpoint import has_checkpoint, remove_checkpoints, save_weights
    from pixelab.train.loop import resolve_device

    out = Path(out)
    if resume:
        saved = resumed_config(out, kind="style-net")
        config = FastStyleConfig.from_dict(saved["style_net"])
        style, data, budget_min = saved["style"], saved["data"], saved["budget_min"]
    cfg = (config or FastStyleConfig()).check()
    check_positive_number(budget_min, name="--budget-min")
    s_img, s_name, s_conv = style_image(style, what="style")
    pictures, names, notes = training_pictures(data, cfg.crop, exclude=s_name)
    order = np.random.default_rng(cfg.seed).permutation(len(pictures))
    held = sorted(order[:HELD_OUT].tolist()) if len(pictures) > 3 * HELD_OUT else []
    train = [p for i, p in enumerate(pictures) if i not in held]
    dev = resolve_device(device)
    vgg = vgg16_features(dev)  # refused here, before a folder is made, when weights are missing
    model = build(cfg)
    painting = _tensor(s_img)
    k = cfg.style_size / max(painting.shape[-2:])
    painting = torch.nn.functional.interpolate(painting, scale_factor=k, mode="bicubic",
                                               antialias=k < 1, align_corners=False).clamp(0, 1)  # fmt: skip
    run_config = {"style": str(style), "data": str(data), "budget_min": budget_min,
                  "style_net": cfg.to_dict(), "pictures": names,
                  "held_out": [names[i] for i in held]}  # fmt: skip
    with RunDir.create(out, kind="style-net", resume=resume, overwrite=overwrite) as rd:
        if not resume:
            rd.write_config(run_config, kind="style-net")
        rd.keep_on_error = True
        ckpt = rd.path / "training"
        result = fit_style_net(model, vgg, train, painting, cfg, checkpoint_dir=ckpt,
                               resume=resume and has_checkpoint(ckpt),
                               max_seconds=None if budget_min is None else 60 * budget_min,
                               progress=progress)  # fmt: skip
        if not result.finished:
            return {"interrupted": True, "steps_done": result.steps_done,
                    "resume": f"pixelab style train --out {rd.path} --resume"}  # fmt: skip
        save_weights(rd.path / "style_net.safetensors", model.state_dict())
        write_json(rd.path / "style_net.json", {"style_net": cfg.to_dict(), "style": s_name})
        shown = [pictures[i] for i in held] or pictures[:2]
        cells, titles = [], []
        for pic in shown:
            made = _uint8(apply_style_net(model, _tensor(pic)))
            cells += [pic, made]
            titles += ["photo" + (" (held out)" if held else ""), "repainted"]
        fig = _examples_figure(s_img, s_name, cells, titles)
        figs = [rd.save_figure(fig, "examples"),
                rd.save_figure(plot_style_losses([{"style_weight": cfg.style_weight,
                                                   "history": result.history}]), "losses")]  # fmt: skip
        last = result.history[-1] if result.history else {}
        metrics = {
            "style": s_name, "data": str(data), "n_pictures": len(train),
            "held_out": [names[i] for i in held], "converted": [c for c in (s_conv,) if c],
            "notes": notes, "steps": result.steps_done, "train_seconds": round(result.train_seconds, 2),
            "ended_by_budget": result.steps_done < cfg.steps,
            "final": {k: last[k] for k in ("total", "content", "style", "tv") if k in last},
            "ms_per_256px_image": round(time_style_net(model, 256), 2), "device": str(dev),
            "parameters": sum(p.numel() for p in model.parameters()),
            "history": result.history,
            "note": "losses are the mean of the last checkpoint's steps, relative errors as for "
                    "pixelab style (content: VGG16 conv3_3 of each crop's own photo; style: Gram "
                    "matrices of the painting)",
            "figures": [str(Path(f).relative_to(rd.path)) for f in figs],
        }  # fmt: skip
        rd.write_metrics(metrics)
        remove_checkpoints(ckpt)
        shutil.rmtree(ckpt, ignore_errors=True)
        return metrics


def _examples_figure(
    s_img: np.ndarray, s_name: str, cells: list[np.ndarray], titles: list[str]
) -> Any:
    from pixelab.report import figures as F

    return F.image_grid([s_img, *cells], ncols=1 + len(cells), titles=[s_name, *titles], cell=2.2,
                        suptitle=f"a network trained to paint like {s_name}, on photos")  # fmt: skip


def time_style_net(model: Any, side: int = 256, repeats: int = 5) -> float:
    """Median milliseconds the style network takes to repaint one ``side`` x ``side`` image."""
    import time

    import torch

    x = torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(0))
    dev = next(model.parameters()).device
    x = x.to(dev)
    times = []
    with torch.no_grad():
        model.eval()(x)  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(x)
            times.append(1000 * (time.perf_counter() - t0))
    return float(np.median(times))


def load_style_net(
    run: str | os.PathLike[str], *, device: str = "cpu"
) -> tuple[Any, dict[str, Any]]:
    """The trained network of a ``style train`` run (or ``shipped``) and its record."""
    from pixelab.apps._shipped import finished_run
    from pixelab.generate.fast_style import FastStyleConfig, build

    path, rec, state = finished_run(run, SHIPPED_STYLE_NAME, kind="style-net",
                                    record="style_net.json", weights="style_net.safetensors",
                                    command="pixelab style train")  # fmt: skip
    cfg = FastStyleConfig.from_dict(rec["style_net"])
    model = build(cfg)
    model.load_state_dict(state)
    return model.to(device).eval(), {**rec, "config": cfg, "path": path}


def style_apply(
    run: str | os.PathLike[str],
    images: list[str],
    out: str | os.PathLike[str],
    *,
    size: int | None = None,
    device: str = "auto",
    overwrite: bool = False,
    progress: Any = None,
) -> dict[str, Any]:
    """Repaint ``images`` (files, folders or sample photo names) with the style network of
    ``run`` (or ``shipped``): one PNG each in the run folder ``out``, a figure of them, and
    metrics.json with the milliseconds each took. ``size`` is the longer side to paint at
    (default: the image's own, at most :data:`APPLY_MAX_SIDE`)."""
    import time

    import torch
    from PIL import Image

    from pixelab._core.checks import check_positive_int
    from pixelab._core.errors import PixelabError
    from pixelab._core.progress import report
    from pixelab.data.folder import iter_image_files
    from pixelab.generate.fast_style import apply_style_net
    from pixelab.report import figures as F
    from pixelab.train.loop import resolve_device

    if size is not None:
        check_positive_int(size, name="--size", minimum=16)
        if size > 4096:
            raise PixelabError(f"--size {size} is too large", hint="at most 4096")
    if not images:
        raise PixelabError("no image to repaint", hint="give image files, a folder or chelsea")
    sources: list[str] = []
    for item in images:
        path = Path(item)
        if path.is_dir():
            found = [str(f) for f in iter_image_files([path])]
            if not found:
                raise PixelabError(f"{path} holds no image files")
            sources += found
        else:
            sources.append(str(item))
    loaded = [style_image(s, what="photo") for s in sources]  # unreadable: refused before work
    dev = resolve_device(device)
    model, rec = load_style_net(run, device=str(dev))
    with RunDir.create(out, kind="style-apply", overwrite=overwrite) as rd:
        rd.write_config({"run": str(run), "images": sources, "size": size}, kind="style-apply")
        rows, cells, titles = [], [], []
        for i, (img, name, conv) in enumerate(loaded):
            longest = max(img.shape[:2])
            side = size or min(longest, APPLY_MAX_SIDE)
            x = _tensor(img)
            if side != longest:
                k = side / longest
                hw = (max(1, round(img.shape[0] * k)), max(1, round(img.shape[1] * k)))
                x = torch.nn.functional.interpolate(x, size=hw, mode="bicubic", antialias=k < 1,
                                                    align_corners=False).clamp(0, 1)  # fmt: skip
            t0 = time.perf_counter()
            made = _uint8(apply_style_net(model, x))
            ms = 1000 * (time.perf_counter() - t0)
            file = f"{i:02d}-{Path(name).stem}-styled.png"
            Image.fromarray(made).save(rd.path / file)
            rows.append({"image": name, "file": file, "size": [made.shape[1], made.shape[0]],
                         "ms": round(ms, 1), "converted": conv})  # fmt: skip
            if len(cells) < 8:
                cells += [np.asarray(Image.fromarray(img[..., :3]).resize(made.shape[1::-1])), made]
                titles += [name, "repainted"]
            report(progress, "repainting", i + 1, len(loaded))
        fig = F.image_grid(cells, ncols=min(4, len(cells)), titles=titles, cell=2.4,
                           suptitle=f"repainted in the style of {rec['style']} in one pass each")  # fmt: skip
        figs = [rd.save_figure(fig, "styled")]
        metrics = {"run": str(rec["path"]), "style": rec["style"], "images": rows,
                   "median_ms": round(float(np.median([r["ms"] for r in rows])), 1),
                   "device": str(dev),
                   "figures": [str(Path(f).relative_to(rd.path)) for f in figs]}  # fmt: skip
        rd.write_metrics(metrics)
        return metrics


def ship_style(run: str | os.PathLike[str], dest: str | os.PathLike[str] | None = None) -> Path:
    """Copy a finished style network run into the package (``shipped``): weights in float16,
    its record, the metrics without the history, and its example figure."""
    from pixelab.apps._shipped import ship_run, shipped_folder

    load_style_net(run)  # refuses anything but a finished style-net run
    return ship_run(run, dest if dest is not None else shipped_folder(SHIPPED_STYLE_NAME),
                    weights=["style_net.safetensors"], records=["style_net.json"],
                    keep=("style", "data", "n_pictures", "held_out", "steps", "train_seconds",
                          "ended_by_budget", "final", "ms_per_256px_image", "parameters", "note"),
                    made_by={"command": SHIPPED_STYLE_COMMAND, "then": f"ship_style({Path(run).name!r})",
                             "weights": "float16 copy of the network's weights"},
                    files=("figures/examples.png",))  # fmt: skip
