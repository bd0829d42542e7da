"""Super-resolution jobs: ``superres train`` (a network learns to enlarge random patches of
photos), ``superres apply`` (enlarge an image of any size, tile by tile) and ``superres eval``
(PSNR and SSIM on the luma channel and a VGG16 feature distance, against bicubic, on photos
the networks never saw, with crops side by side)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from pixelab.report import RunDir

#: Photos held out of every ``superres train`` on ``photos``: the same ones whatever the seed,
#: model or scale, so that every run can be measured on pictures none of them saw.
HELD_OUT_PHOTOS = ("chelsea", "coffee", "astronaut", "baboon", "butterfly", "fruits")
#: The shipped networks (``make superres-weights``) by the word that names them.
SHIPPED_SR = {"shipped": "superres-espcn-x2", "shipped-srresnet": "superres-srresnet-x2",
              "shipped-srgan": "superres-srgan-x2"}  # fmt: skip
#: The commands that made the shipped networks (``make superres-weights``).
SHIPPED_SR_COMMANDS = {
    "shipped": "pixelab superres train --model espcn --scale 2 --data photos --seed 0",
    "shipped-srresnet": "pixelab superres train --model srresnet --scale 2 --data photos --seed 0",
    "shipped-srgan": "pixelab superres gan runs/superres-srresnet --seed 0",
}
#: The pretrained peer's name in ``superres eval`` tables.
PEER = "esrgan-slim (pretrained RDN)"
#: Low-resolution tile side of ``superres apply`` (memory of one tile, whatever the image).
TILE = 128


def sr_pictures(
    data: str | os.PathLike[str], *, held_out: bool = False
) -> tuple[list[np.ndarray], list[str], list[str]]:
    """RGB uint8 pictures at their own resolution: the sample photos without the held-out
    ones (or only those, with ``held_out``), or every image of a folder (subfolders
    included). Returns (pictures, names, notes on files skipped)."""
    from pixelab._core.errors import PixelabError
    from pixelab.data import photo, photo_names
    from pixelab.data.folder import iter_image_files, read_image

    notes: list[str] = []
    named: list[tuple[str, np.ndarray]] = []
    if str(data) == "photos":
        names = [n for n in photo_names() if (n in HELD_OUT_PHOTOS) == held_out]
        named = [(n, photo(n)) for n in names]
    else:
        root = Path(data)
        if not root.is_dir():
            raise PixelabError(f"--data {str(data)!r} is neither 'photos' nor a folder")
        for f in iter_image_files([root]):
            try:
                named.append((str(f.relative_to(root)), read_image(f, mode="RGB")))
            except PixelabError as e:
                notes.append(f"skipped {f.name}: {e}")
    pictures = [np.repeat(p, 3, axis=2) if p.shape[2] == 1 else p[..., :3] for _, p in named]
    if not pictures:
        raise PixelabError(f"no usable picture in {data}", hint="jpg/png/... files are needed")
    return pictures, [n for n, _ in named], notes


def _tensor(image: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.array(image, copy=True)).permute(2, 0, 1)[None].float() / 255


def _uint8(x: Any) -> np.ndarray:
    return (x[0].permute(1, 2, 0).numpy() * 255).round().clip(0, 255).astype(np.uint8)


def split_pictures(
    data: str | os.PathLike[str], scale: int, patch: int
) -> tuple[list[np.ndarray], list[str], list[np.ndarray], list[str], list[str]]:
    """The pictures a network trains on and those it is measured on: for ``photos`` the
    sample photos apart from :data:`HELD_OUT_PHOTOS`, for a folder a tenth of its images (at
    least one, if there are 5) kept apart. Pictures smaller than a patch are left out of
    training, held-out ones too small to measure out of the measure. Returns (pictures,
    names, held-out pictures, their names, notes)."""
    from pixelab._core.errors import PixelabError

    pictures, names, notes = sr_pictures(data)
    if str(data) == "photos":
        held, held_names, _ = sr_pictures(data, held_out=True)
    else:
        order = np.random.default_rng(0).permutation(len(pictures))
        k = len(pictures) // 10 or (1 if len(pictures) >= 5 else 0)
        keep = set(order[:k].tolist())
        held = [p for i, p in enumerate(pictures) if i in keep]
        held_names = [n for i, n in enumerate(names) if i in keep]
        pictures = [p for i, p in enumerate(pictures) if i not in keep]
        names = [n for i, n in enumerate(names) if i not in keep]
    unmeasured = [n for n, p in zip(held_names, held, strict=True) if not measurable(p, scale)]
    if unmeasured:
        notes.append(f"not measured: {len(unmeasured)} held-out picture(s) too small for SSIM")
        held = [p for p in held if measurable(p, scale)]
        held_names = [n for n in held_names if n not in unmeasured]
    side = patch * scale
    small = [n for n, p in zip(names, pictures, strict=True) if min(p.shape[:2]) < side]
    if small:
        notes.append(f"left out {len(small)} picture(s) smaller than a {side}-px patch")
        pictures = [p for p in pictures if min(p.shape[:2]) >= side]
        names = [n for n in names if n not in small]
    if not pictures:
        raise PixelabError(f"no training picture is {side} px or more on its shorter side",
                           hint="use a smaller --patch or larger pictures")  # fmt: skip
    return pictures, names, held, held_names, notes


def superres_train(
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
    """Train a super-resolution network (``config``: a
    :class:`~pixelab.generate.superres.SRConfig`) on random patches of ``data`` and write a run
    folder: the weights, the loss curve, and metrics.json with the PSNR against bicubic on the
    held-out photos (``photos``) or on a tenth of the folder's images kept apart. Ctrl-C keeps
    the last checkpoint; ``resume=True`` continues exactly."""
    from pixelab._core.checks import check_positive_number
    from pixelab.apps.cnn import resumed_config
    from pixelab.generate.superres import SRConfig, build, fit_superres

    out = Path(out)
    if resume:
        saved = resumed_config(out, kind="superres")
        config = SRConfig.from_dict(saved["superres"])
        data, budget_min = saved["data"], saved["budget_min"]
    cfg = (config or SRConfig()).check()
    check_positive_number(budget_min, name="--budget-min")
    split = split_pictures(data, cfg.scale, cfg.patch)
    model = build(cfg)

    def fit(model: Any, pictures: list[np.ndarray], ckpt: Path, again: bool) -> Any:
        return fit_superres(model, pictures, cfg, checkpoint_dir=ckpt, resume=again,
                            max_seconds=None if budget_min is None else 60 * budget_min,
                            progress=progress)  # fmt: skip

    run_config = {"data": str(data), "budget_min": budget_min, "superres": cfg.to_dict()}
    return _train_and_report(out, model, cfg, split, run_config, fit, device=device,
                             resume=resume, overwrite=overwrite, command="pixelab superres train",
                             curve=("l1", "mean absolute error (0-1 scale)"),
                             planned=cfg.steps)  # fmt: skip


def superres_gan(
    run: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    config: Any = None,
    budget_min: float | None = None,
    device: str = "auto",
    resume: bool = False,
    overwrite: bool = False,
    progress: Any = None,
) -> dict[str, Any]:
    """Fine-tune the network of the finished superres ``run`` the SRGAN way (``config``: a
    :class:`~pixelab.generate.superres.SRGANConfig`) on the same pictures, and write it as a
    new superres run with the same measures plus the VGG16 feature distance, before and
    after: sharper to the eye, at a cost in PSNR."""
    from pixelab._core.checks import check_positive_number
    from pixelab.apps.cnn import resumed_config
    from pixelab.generate.superres import SRGANConfig, build, build_discriminator, fit_srgan
    from pixelab.models.vgg16 import vgg16_features
    from pixelab.train.loop import resolve_device

    out = Path(out)
    if resume:
        saved = resumed_config(out, kind="superres")
        config = SRGANConfig.from_dict(saved["adversarial"])
        run, budget_min = saved["source_run"], saved["budget_min"]
    cfg = (config or SRGANConfig()).check()
    check_positive_number(budget_min, name="--budget-min")
    source, rec = load_superres(run)
    base = rec["config"]
    data = rec["metrics"]["data"]
    split = split_pictures(data, base.scale, cfg.patch)
    dev = resolve_device(device)
    vgg = vgg16_features(dev)  # refused here, before a folder is made, when weights are missing
    model = build(base)
    model.load_state_dict(source.state_dict())
    before = measure(source, split[2], base.scale, vgg=vgg) if split[2] else None

    def fit(model: Any, pictures: list[np.ndarray], ckpt: Path, again: bool) -> Any:
        return fit_srgan(model, build_discriminator(cfg), vgg, pictures, cfg, checkpoint_dir=ckpt,
                         resume=again, max_seconds=None if budget_min is None else 60 * budget_min,
                         progress=progress)  # fmt: skip

    run_config = {"data": data, "budget_min": budget_min, "superres": base.to_dict(),
                  "adversarial": cfg.to_dict(), "source_run": str(rec["path"])}  # fmt: skip
    m = _train_and_report(out, model, base, split, run_config, fit, device=device, resume=resume,
                          overwrite=overwrite, command="pixelab superres gan", vgg=vgg,
                          curve=("vgg", "VGG16 feature distance (relative)"), planned=cfg.steps,
                          extra={"adversarial": cfg.to_dict(), "source_run": str(rec["path"]),
                                 "source_scores": before})  # fmt: skip
    return m


def _train_and_report(
    out: Path, model: Any, cfg: Any, split: tuple, run_config: dict[str, Any], fit: Any, *,
    device: str, resume: bool, overwrite: bool, command: str, curve: tuple[str, str],
    planned: int, vgg: Any = None, extra: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The run folder of a superres training: ``fit(model, pictures, checkpoint folder,
    resume)`` trains; then the weights, the record, the held-out measures and the curve."""
    import shutil

    from pixelab._core.io import write_json
    from pixelab.train.checkpoint import has_checkpoint, remove_checkpoints, save_weights
    from pixelab.train.loop import resolve_device

    pictures, names, held, held_names, notes = split
    dev = resolve_device(device)
    model.to(dev)
    with RunDir.create(out, kind="superres", resume=resume, overwrite=overwrite) as rd:
        if not resume:
            rd.write_config({**run_config, "pictures": names, "held_out": held_names},
                            kind="superres")  # fmt: skip
        rd.keep_on_error = True
        ckpt = rd.path / "training"
        result = fit(model, pictures, ckpt, resume and has_checkpoint(ckpt))
        if not result.finished:
            return {"interrupted": True, "steps_done": result.steps_done,
                    "resume": f"{command} --out {rd.path} --resume"}  # fmt: skip
        model.eval()
        save_weights(rd.path / "superres.safetensors", model.state_dict())
        write_json(rd.path / "superres.json", {"superres": cfg.to_dict(), "radius": model.radius,
                                               **({"adversarial": extra["adversarial"]} if extra else {})})  # fmt: skip
        scores = measure(model, held, cfg.scale, vgg=vgg) if held else None
        figs = [rd.save_figure(_plot_curve(result.history, *curve), "loss")]
        metrics = {
            "model": cfg.model, "scale": cfg.scale, "data": run_config["data"],
            "adversarial": bool(extra), "n_pictures": len(pictures), "held_out": held_names,
            "notes": notes, "steps": result.steps_done,
            "train_seconds": round(result.train_seconds, 2),
            "ended_by_budget": result.steps_done < planned,
            "parameters": sum(p.numel() for p in model.parameters()),
            "held_out_scores": scores, **(extra or {}), "device": str(dev),
            "history": result.history,
            "note": "PSNR/SSIM on the luma (Y) channel with a border of scale pixels cropped; "
                    "low-resolution inputs made by bicubic shrinking with antialiasing",
            "figures": [str(Path(f).relative_to(rd.path)) for f in figs],
        }  # fmt: skip
        rd.write_metrics(metrics)
        remove_checkpoints(ckpt)
        shutil.rmtree(ckpt, ignore_errors=True)
        return metrics


def _plot_curve(history: list[dict[str, Any]], key: str, label: str) -> Any:
    from pixelab.report.figures import new_figure

    fig = new_figure(5, 3)
    ax = fig.subplots()
    ax.plot([h["step"] for h in history], [h[key] for h in history])
    ax.set_xlabel("step")
    ax.set_ylabel(label)
    ax.set_title("training: how far the enlargements are from the originals", fontsize=10)
    return fig


def measurable(image: np.ndarray, scale: int) -> bool:
    """Whether ``image`` is large enough to be shrunk by ``scale`` and measured (SSIM's window
    inside the cropped border)."""
    from pixelab.generate.superres import SSIM_WINDOW

    return min(image.shape[:2]) - min(image.shape[:2]) % scale >= SSIM_WINDOW + 2 * scale


def crop_to_scale(image: np.ndarray, scale: int) -> np.ndarray:
    """``image`` with its sides cut down to multiples of ``scale`` (the literature's "mod
    crop"), so that shrinking and enlarging give back its exact size."""
    h, w = image.shape[:2]
    return image[: h - h % scale, : w - w % scale]


def score(made: np.ndarray, hr: np.ndarray, scale: int, vgg: Any = None) -> dict[str, float]:
    """PSNR and SSIM on Y (border ``scale`` cropped) of the enlargement ``made`` against the
    original ``hr`` (uint8 RGB), and with ``vgg`` the VGG16 feature distance."""
    from pixelab.generate.superres import psnr_y, ssim_y, vgg_distance

    row = {"psnr_y": psnr_y(made, hr, scale), "ssim_y": ssim_y(made, hr, scale)}
    if vgg is not None:
        row["vgg_distance"] = vgg_distance(vgg, made, hr)
    return row


def enlargements(
    models: dict[str, Any], hr: np.ndarray, scale: int
) -> tuple[Any, dict[str, np.ndarray], dict[str, float]]:
    """``hr`` shrunk by ``scale`` (a tensor), then enlarged back by bicubic and by each of
    ``models`` (uint8 RGB by name), with each model's ms per output megapixel."""
    import time

    from pixelab.generate.superres import downscale, upscale_bicubic, upscale_tiled

    lr = downscale(_tensor(hr), scale)
    made = {"bicubic": _uint8(upscale_bicubic(lr, scale).clamp(0, 1))}
    ms = {}
    for label, model in models.items():
        t0 = time.perf_counter()
        made[label] = _uint8(upscale_tiled(model, lr, tile=TILE))
        ms[label] = 1000 * (time.perf_counter() - t0) / (hr.shape[0] * hr.shape[1] / 1e6)
    return lr, made, ms


def measure(
    model: Any, pictures: list[np.ndarray], scale: int, *, vgg: Any = None
) -> dict[str, Any]:
    """Mean PSNR/SSIM on Y (border ``scale`` cropped; with ``vgg`` the VGG16 feature
    distance too) of ``model`` and of bicubic on ``pictures`` shrunk by ``scale``, and the
    model's gain over bicubic in dB."""
    rows: dict[str, list[dict[str, float]]] = {"bicubic": [], "model": []}
    for pic in pictures:
        hr = crop_to_scale(pic, scale)
        _, made, _ = enlargements({"model": model}, hr, scale)
        for k, img in made.items():
            rows[k].append(score(img, hr, scale, vgg))
    out: dict[str, Any] = {k: {m: round(float(np.mean([r[m] for r in v])), 4) for m in v[0]}
                           for k, v in rows.items()}  # fmt: skip
    out["gain_db"] = round(out["model"]["psnr_y"] - out["bicubic"]["psnr_y"], 4)
    out["images"] = len(pictures)
    return out


def load_superres(
    run: str | os.PathLike[str], *, device: str = "cpu"
) -> tuple[Any, dict[str, Any]]:
    """The trained network of a ``superres train`` run (or a shipped one) and its record."""
    from pixelab._core.io import read_json
    from pixelab.apps._shipped import finished_run
    from pixelab.generate.superres import SRConfig, build

    path, rec, state = finished_run(run, SHIPPED_SR, kind="superres", record="superres.json",
                                    weights="superres.safetensors",
                                    command="pixelab superres train")  # fmt: skip
    cfg = SRConfig.from_dict(rec["superres"])
    model = build(cfg)
    model.load_state_dict(state)
    return model.to(device).eval(), {**rec, "config": cfg, "path": path,
                                     "metrics": read_json(path / "metrics.json")}  # fmt: skip


def superres_apply(
    run: str | os.PathLike[str],
    image: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    tile: int = TILE,
    device: str = "auto",
    progress: Any = None,
) -> dict[str, Any]:
    """Enlarge ``image`` (a file or a sample photo) with the network of ``run`` tile by tile
    (any size fits in memory) and save it as the PNG ``out``; also the bicubic enlargement
    beside it (``out`` with ``-bicubic``). Returns sizes, seconds and ms per output megapixel."""
    import time

    from PIL import Image

    from pixelab._core.errors import PixelabError
    from pixelab.apps.style import style_image
    from pixelab.generate.superres import upscale_bicubic, upscale_tiled
    from pixelab.train.loop import resolve_device

    img, name, converted = style_image(image, what="input")
    dev = resolve_device(device)
    model, rec = load_superres(run, device=str(dev))
    s = rec["config"].scale
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise PixelabError(f"--out {out} must be a .png file")
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    x = _tensor(img)
    made = _uint8(upscale_tiled(model, x, tile=tile, progress=progress))
    seconds = time.perf_counter() - t0
    from pixelab._core.io import atomic_write

    atomic_write(out, lambda p: Image.fromarray(made).save(p, format="PNG"))
    bicubic = out.with_name(out.stem + "-bicubic.png")
    bic = _uint8(upscale_bicubic(x, s).clamp(0, 1))
    atomic_write(bicubic, lambda p: Image.fromarray(bic).save(p, format="PNG"))
    mpix = made.shape[0] * made.shape[1] / 1e6
    return {"image": name, "converted": converted, "scale": s, "model": rec["config"].model,
            "input": [img.shape[1], img.shape[0]], "output": [made.shape[1], made.shape[0]],
            "path": str(out), "bicubic": str(bicubic), "seconds": round(seconds, 3),
            "tiles": -(-img.shape[0] // tile) * -(-img.shape[1] // tile),
            "ms_per_megapixel": round(1000 * seconds / mpix, 1)}  # fmt: skip


def _detail_box(image: np.ndarray, side: int) -> tuple[int, int]:
    """Top-left corner of the ``side`` x ``side`` window of ``image`` with the most detail
    (gradient energy): where enlargements differ most."""
    from scipy.ndimage import uniform_filter

    y = image.mean(axis=2)
    energy = np.abs(np.diff(y, axis=0))[:, :-1] + np.abs(np.diff(y, axis=1))[:-1]
    if min(energy.shape) < side:
        return 0, 0
    score = uniform_filter(energy, side)[
        side // 2 : -(side // 2) or None, side // 2 : -(side // 2) or None
    ]
    yy, xx = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(min(yy, image.shape[0] - side)), int(min(xx, image.shape[1] - side))


def method_name(rec: dict[str, Any], run: str | os.PathLike[str]) -> str:
    """How a run is named in tables: its network, "SRGAN-style" if sharpened so, and the run
    as it was given ("espcn (shipped)", "srresnet SRGAN-style (runs/x)")."""
    kind = rec["config"].model + (" SRGAN-style" if rec.get("adversarial") else "")
    return f"{kind} ({run})"


def superres_eval(
    runs: list[str],
    out: str | os.PathLike[str],
    *,
    data: str | os.PathLike[str] | None = None,
    esrgan_slim: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    device: str = "auto",
    overwrite: bool = False,
    progress: Any = None,
) -> dict[str, Any]:
    """Measure super-resolution ``runs`` (of one scale) and bicubic on ``data`` (default: the
    held-out photos, which no run on ``photos`` saw): mean PSNR and SSIM on Y with the border
    cropped, the VGG16 feature distance, ms per output megapixel; a table and crops side by
    side (low resolution, bicubic, each run, the original) in a run folder. ``esrgan_slim``
    (the npm package ``@upscalerjs/esrgan-slim``, as its .tgz or unpacked; default: the
    ``PIXELAB_ESRGAN_SLIM`` environment variable) adds its pretrained RDN as a peer;
    ``limit`` measures only the first pictures."""
    from pixelab._core.checks import check_positive_int
    from pixelab._core.errors import PixelabError
    from pixelab._core.progress import report
    from pixelab.generate.superres import SSIM_WINDOW
    from pixelab.models.vgg16 import vgg16_features
    from pixelab.report import figures as F
    from pixelab.train.loop import resolve_device

    if not runs:
        raise PixelabError("no run to measure", hint="give one or more superres train runs")
    dev = resolve_device(device)
    models = [load_superres(r, device=str(dev)) for r in runs]
    scales = {rec["config"].scale for _, rec in models}
    if len(scales) > 1:
        raise PixelabError(f"the runs enlarge by different scales ({sorted(scales)})",
                           hint="compare runs of one --scale")  # fmt: skip
    scale = scales.pop()
    if data is None:
        pictures, names, notes = sr_pictures("photos", held_out=True)
        seen = [rec["path"] for _, rec in models if rec["metrics"].get("data") != "photos"]
        if seen:
            notes.append("the held-out photos are only held out of runs trained on photos")
    else:
        pictures, names, notes = sr_pictures(data)
        if str(data) == "photos":
            notes.append("photos includes pictures the runs were trained on: use the default "
                         "(held-out photos) for a fair measure")  # fmt: skip
    if limit is not None:
        check_positive_int(limit, name="--limit")
        pictures, names = pictures[:limit], names[:limit]
    pictures = [crop_to_scale(p, scale) for p in pictures]
    too_small = [n for n, p in zip(names, pictures, strict=True) if not measurable(p, scale)]
    if too_small:
        raise PixelabError(f"{too_small[0]} is too small to shrink by {scale} and measure",
                           hint=f"at least {SSIM_WINDOW + 2 * scale} pixels on each side")  # fmt: skip
    esrgan_slim = esrgan_slim or os.environ.get("PIXELAB_ESRGAN_SLIM") or None
    nets = {method_name(rec, run): m for (m, rec), run in zip(models, runs, strict=True)}
    if esrgan_slim:
        from pixelab.models.tfjs import ESRGANSlim

        nets[PEER] = ESRGANSlim(esrgan_slim, scale).to(dev)
    vgg = vgg16_features(dev)
    labels = ["bicubic", *nets]
    per: dict[str, list[dict[str, float]]] = {k: [] for k in labels}
    ms: dict[str, list[float]] = {k: [] for k in labels[1:]}
    crops: list[list[np.ndarray]] = []
    with RunDir.create(out, kind="superres-eval", overwrite=overwrite) as rd:
        rd.write_config({"runs": [str(r) for r in runs], "data": None if data is None else str(data),
                         "esrgan_slim": None if esrgan_slim is None else str(esrgan_slim),
                         "scale": scale}, kind="superres-eval")  # fmt: skip
        for i, hr in enumerate(pictures):
            lr, made, took = enlargements(nets, hr, scale)
            for label, v in took.items():
                ms[label].append(v)
            for label, img in made.items():
                per[label].append(score(img, hr, scale, vgg))
            if i < 3:
                side = min(64, *hr.shape[:2])
                y, x = _detail_box(hr, side)
                small = _uint8(lr)[
                    y // scale : (y + side) // scale, x // scale : (x + side) // scale
                ]
                row = [np.kron(small, np.ones((scale, scale, 1), np.uint8))]
                row += [made[k][y : y + side, x : x + side] for k in labels]
                crops.append([*row, hr[y : y + side, x : x + side]])
            report(progress, "measuring", i + 1, len(pictures))
        table = []
        for label in labels:
            rows = per[label]
            table.append({"method": label,
                          **{m: round(float(np.mean([r[m] for r in rows])), 4)
                             for m in ("psnr_y", "ssim_y", "vgg_distance")},
                          "ms_per_megapixel": round(float(np.median(ms[label])), 1) if label in ms else None})  # fmt: skip
        for row in table:
            row["gain_db"] = round(row["psnr_y"] - table[0]["psnr_y"], 4)
        titles = ["low resolution", *labels, "original"]
        cells = [c for row in crops for c in row]
        fig = F.image_grid(cells, ncols=len(titles), titles=titles * len(crops), cell=1.8,
                           suptitle=f"x{scale}: the part of each photo with the most detail")  # fmt: skip
        figs = [rd.save_figure(fig, "crops")]
        metrics = {"scale": scale, "images": names, "notes": notes, "table": table,
                   "per_image": {k: v for k, v in per.items()},
                   "note": "PSNR and SSIM on the luma (Y) channel with a border of scale pixels "
                           "cropped (as the literature does); vgg_distance is a perceptual "
                           "measure: VGG16 conv3_3 features of the enlargement against the "
                           "original's, relative (0: alike); lower is better",
                   "figures": [str(Path(f).relative_to(rd.path)) for f in figs]}  # fmt: skip
        rd.write_metrics(metrics)
        return metrics


def ship_superres(run: str | os.PathLike[str], word: str = "shipped",
                  dest: str | os.PathLike[str] | None = None) -> Path:  # fmt: skip
    """Copy a finished super-resolution run into the package as ``word`` (a key of
    :data:`SHIPPED_SR`): weights in float16, its record, the metrics without the history."""
    from pixelab.apps._shipped import ship_run, shipped_folder

    load_superres(run)  # refuses anything but a finished superres run
    return ship_run(run, dest if dest is not None else shipped_folder(SHIPPED_SR[word]),
                    weights=["superres.safetensors"], records=["superres.json"],
                    keep=("model", "scale", "data", "n_pictures", "held_out", "steps",
                          "train_seconds", "ended_by_budget", "parameters", "held_out_scores",
                          "note"),
                    made_by={"command": SHIPPED_SR_COMMANDS[word], "then": f"ship_superres({Path(run).name!r}, {word!r})",
                             "weights": "float16 copy of the network's weights"})  # fmt: skip
