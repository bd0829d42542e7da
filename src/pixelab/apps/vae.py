"""``vae train`` and ``vae sample``: autoencoders of several latent sizes trained on one
dataset or folder, answering "how few numbers can an image be squeezed into?" with
reconstructions and bits per image against the raw pixels and PNG.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from pixelab._core.errors import PixelabError
from pixelab._core.io import read_json, write_json
from pixelab._core.progress import ProgressFn
from pixelab.apps.cnn import _read_config
from pixelab.report import RunDir

#: Test images the numbers are measured on, and the judge's samples.
EVAL_IMAGES = 2000
QUALITY_SAMPLES = 2000
COMMAND = "pixelab vae train"


def parse_latents(text: str | list[int] | tuple[int, ...]) -> list[int]:
    """Latent sizes from "2,8,32" (or a list): positive, distinct, in the order given."""
    if isinstance(text, str):
        try:
            values = [int(t) for t in text.replace(" ", "").split(",") if t]
        except ValueError:
            raise PixelabError(f"--latent takes sizes separated by commas, got {text!r}",
                               hint="e.g. --latent 2,8,32") from None  # fmt: skip
    else:
        values = [int(v) for v in text]
    if not values:
        raise PixelabError("--latent needs at least one size", hint="e.g. --latent 2,8,32")
    bad = [v for v in values if v < 1 or v > 1024]
    if bad:
        raise PixelabError(f"--latent must be from 1 to 1024, got {bad[0]}")
    if len(set(values)) != len(values):
        raise PixelabError(f"--latent lists a size twice: {text}")
    return values


def png_bits(images: np.ndarray) -> np.ndarray:
    """The size in bits of each uint8 image (N, H, W, C) saved as an optimised PNG file,
    headers included: what a lossless file on disk costs."""
    from PIL import Image

    sizes = []
    for im in images:
        buf = io.BytesIO()
        Image.fromarray(im[:, :, 0] if im.shape[2] == 1 else im).save(buf, "PNG", optimize=True)
        sizes.append(8 * buf.tell())
    return np.asarray(sizes)


def _model_names(latents: list[int], plain: bool) -> list[tuple[str, int]]:
    """(kind, latent) for every model, a VAE and (with ``plain``) an autoencoder per size."""
    return [(k, z) for z in latents for k in (("vae", "ae") if plain else ("vae",))]


def vae_train(
    data: str,
    out: str | os.PathLike[str],
    *,
    latents: str | list[int] = (2, 8, 32),
    config: Any = None,
    plain: bool = True,
    size: int | None = None,
    gray: bool | None = None,
    limit: int | None = None,
    judge: str | os.PathLike[str] | None = None,
    judge_model: tuple[Any, dict[str, Any]] | None = None,
    device: str = "auto",
    resume: bool = False,
    overwrite: bool = False,
    cache: str | os.PathLike[str] | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Train a VAE (and, with ``plain``, a plain autoencoder) for every latent size on ``data``
    and write a run folder: reconstructions by latent size, bits per image (the code's and the
    rest's) against raw pixels and PNG, the decoded map of a 2-D latent space, samples from
    the prior, and metrics.json. ``config`` (a :class:`~pixelab.generate.vae.VAEConfig`) sets
    the shared options. Ctrl-C keeps every finished model and the current one's last epoch;
    ``resume=True`` continues exactly."""
    import dataclasses

    from pixelab.data import load_train_test
    from pixelab.generate.gan import check_enough, upsamplings
    from pixelab.generate.vae import VAEConfig
    from pixelab.train.loop import resolve_device

    out = Path(out)
    if resume:
        saved = _read_config(out, kind="vae")
        if (out / "metrics.json").is_file():
            raise PixelabError(f"{out} is a finished run; nothing to resume",
                               hint="start a new run with another --out")  # fmt: skip
        config = VAEConfig.from_dict(saved["vae"])
        data, size, gray, limit = saved["data"], saved["size"], saved["gray"], saved["limit"]
        latents, plain, judge = saved["latents"], saved["plain"], saved.get("judge_arg")
    cfg = (config or VAEConfig()).check()
    latents = parse_latents(latents)
    for z in latents:  # every size must make sense (a grid code: at most 64 per place)
        dataclasses.replace(cfg, latent=z).check()
    dev = resolve_device(device)
    # an autoencoder needs no classes: a folder of one class, or of loose images, will do
    train, test = load_train_test(data, size=size, gray=gray, limit=limit, seed=cfg.seed,
                                  min_classes=1, progress=progress)  # fmt: skip
    side, channels = train.shape[0], train.shape[2]
    upsamplings(side, what="an autoencoder")  # a size the networks cannot make: refused now
    check_enough(len(train), cfg.batch_size, what="an autoencoder")
    if judge_model is None and len(train.classes) >= 2:
        from pixelab.apps.gan import judge_run

        judge_model = judge_run(data, size=side, channels=channels, classes=train.classes,
                                judge=judge, cache=cache, progress=progress)  # fmt: skip
    run_config = {"data": str(data), "size": side, "gray": channels == 1, "limit": limit,
                  "latents": latents, "plain": plain, "vae": cfg.to_dict(),
                  "judge_arg": None if judge is None else str(judge), "classes": train.classes,
                  "train": train.summary(), "test": test.summary()}  # fmt: skip
    with RunDir.create(out, kind="vae", resume=resume, overwrite=overwrite) as rd:
        if not resume:
            rd.write_config(run_config, kind="vae")
        rd.keep_on_error = True
        try:
            return _train_and_report(rd, cfg, latents, plain, train, test, judge_model, dev,
                                     progress)  # fmt: skip
        except KeyboardInterrupt:
            return _interrupted(rd.path, latents, plain)


def _interrupted(path: Path, latents: list[int], plain: bool) -> dict[str, Any]:
    done = [f"{k}-{z}" for k, z in _model_names(latents, plain)
            if (path / f"{k}-{z}.safetensors").is_file()]  # fmt: skip
    return {"interrupted": True, "models_done": done,
            "resume": f"{COMMAND} --out {path} --resume"}  # fmt: skip


def _fit_one(rd: RunDir, cfg: Any, train: Any, dev: Any, progress: ProgressFn | None) -> Any:
    """One model: loaded when finished, else trained (or resumed) with its checkpoints in
    training/<name>/ and saved as <name>.safetensors. Returns (model, history, seconds)."""
    from pixelab.generate.vae import build, fit_vae
    from pixelab.train.checkpoint import has_checkpoint, load_weights, save_weights

    name = f"{cfg.kind}-{cfg.latent}"
    model = build(cfg, train.shape[2], train.shape[0])
    weights, record = rd.path / f"{name}.safetensors", rd.path / "training" / f"{name}.json"
    if weights.is_file() and record.is_file():
        model.load_state_dict(load_weights(weights))
        rec = read_json(record)
        return model.to(dev).eval(), rec["history"], rec["train_seconds"]
    ckpt = rd.path / "training" / name
    res = fit_vae(model, train.images, cfg, device=str(dev), checkpoint_dir=ckpt,
                  resume=has_checkpoint(ckpt), progress=progress)  # fmt: skip
    if not res.finished:
        raise KeyboardInterrupt
    save_weights(weights, model.state_dict())
    write_json(record, {"history": res.history, "train_seconds": res.train_seconds})
    import shutil

    shutil.rmtree(ckpt, ignore_errors=True)
    return model, res.history, res.train_seconds


def _pick(images: np.ndarray, labels: np.ndarray, n: int = 10) -> np.ndarray:
    """Indices of ``n`` test images, one per class in turn: a fair row to show."""
    order: list[int] = []
    by_class = [np.flatnonzero(labels == c).tolist() for c in np.unique(labels)]
    while len(order) < min(n, len(images)):
        for idx in by_class:
            if idx and len(order) < n:
                order.append(idx.pop(0))
    return np.asarray(order)


def _train_and_report(
    rd: RunDir, cfg: Any, latents: list[int], plain: bool, train: Any, test: Any,
    judge_model: tuple[Any, dict[str, Any]] | None, dev: Any, progress: ProgressFn | None,
) -> dict[str, Any]:  # fmt: skip
    import dataclasses

    import torch

    from pixelab.generate import frechet_distance
    from pixelab.generate.judge import judge
    from pixelab.generate.vae import decode, encode, evaluate, latent_grid, reconstruct
    from pixelab.report import figures as F
    from pixelab.report.generate import mosaic, plot_bits, plot_latent_map, save_png

    real = test.subset(np.arange(min(len(test), EVAL_IMAGES)))
    png = png_bits(real.images)
    if judge_model is not None:
        judge_net, judge_info = judge_model
        judge_net.to(dev)
        real_feats, _ = judge(judge_net, real.images)
    rows, recon_rows, sample_rows, models = [], [], [], {}
    show = _pick(real.images, real.labels)
    for kind, latent in _model_names(latents, plain):
        one = dataclasses.replace(cfg, kind=kind, latent=latent)
        model, history, seconds = _fit_one(rd, one, train, dev, progress)
        models[(kind, latent)] = model
        shape = "x".join(map(str, model.code_shape))  # "8", or "4x7x7" for a grid code
        row = {"name": f"{kind}-{latent}", "kind": kind, "latent": latent, "code": shape,
               "code_numbers": model.code_numbers,
               **evaluate(model, real.images, seed=cfg.seed), "epochs": len(history),
               "train_seconds": round(seconds, 2), "history": history}  # fmt: skip
        recon_rows.append((f"{'VAE' if kind == 'vae' else 'AE'} {latent}",
                           reconstruct(model, real.images[show])))  # fmt: skip
        if kind == "vae":
            z = torch.randn(QUALITY_SAMPLES, *model.code_shape,
                            generator=torch.Generator().manual_seed(cfg.seed * 7919 + 3))  # fmt: skip
            fakes = decode(model, z)
            sample_rows.append((f"VAE {latent}", fakes[:10]))
            if judge_model is not None:
                feats, _ = judge(judge_net, fakes)
                row["samples_fid_judge"] = round(frechet_distance(real_feats, feats), 4)
        rows.append(row)
    figs = []
    pics = [real.images[show]] + [r[1] for r in recon_rows]
    labels = ["original"] + [r[0] for r in recon_rows]
    fig = F.image_grid([im for group in pics for im in group], ncols=len(show),
                       row_labels=labels, cell=1.0)  # fmt: skip
    figs.append(rd.save_figure(fig, "reconstructions"))
    raw = 8 * int(np.prod(real.images.shape[1:]))
    figs.append(rd.save_figure(plot_bits(rows, raw_bits=raw, png_bits=float(np.median(png))),
                               "bits"))  # fmt: skip
    fig = F.image_grid([im for _, group in sample_rows for im in group], ncols=10,
                       row_labels=[r[0] for r in sample_rows], cell=1.0)  # fmt: skip
    figs.append(rd.save_figure(fig, "samples"))
    if 2 in latents and not cfg.grid:  # a plane of flat 2-number codes
        vae2, steps = models[("vae", 2)], 15
        codes = encode(vae2, real.images)
        # the plane where the test images' codes lie (2 % to 98 % in each axis): a trained
        # VAE puts them within its prior's spread, a young one anywhere
        low, high = np.percentile(codes, 2, axis=0), np.percentile(codes, 98, axis=0)
        grid = mosaic(decode(vae2, latent_grid(steps, low=tuple(low), high=tuple(high))),
                      ncols=steps, pad=0)  # fmt: skip
        fig = plot_latent_map(grid, codes, real.labels, train.classes, low=low, high=high)
        figs.append(rd.save_figure(fig, "latent_map"))
        save_png(grid, rd.figures / "latent_grid.png")
    judge_note = None
    if judge_model is not None:
        judge_note = (f"samples_fid_judge is the Fréchet distance between prior samples and "
                      f"real test images in the features of {judge_info['name']} "
                      f"({judge_info['model']}), not Inception's")  # fmt: skip
    metrics = {
        "models": rows, "raw_bits": raw, "png_bits_median": float(np.median(png)),
        "bits_note": "bits_per_image is rate (the code: its KL from the prior for a VAE, 16 "
                     "bits per number for a plain autoencoder) plus distortion (what the "
                     "decoder's pixel distribution still needs to store the exact image); for a "
                     "VAE it is the negative ELBO, an upper bound on a lossless code's length",
        "judge": None if judge_model is None else judge_info, "quality_note": judge_note,
        "n_train": len(train), "n_eval": len(real),
        "figures": [str(Path(f).relative_to(rd.path)) for f in figs],
    }  # fmt: skip
    write_json(rd.path / "vae.json", {"vae": cfg.to_dict(), "latents": latents, "plain": plain,
                                      "classes": train.classes, "size": train.shape[0],
                                      "channels": train.shape[2]})  # fmt: skip
    rd.write_metrics(metrics)
    import shutil

    shutil.rmtree(rd.path / "training", ignore_errors=True)
    return metrics


def load_vae(
    run: str | os.PathLike[str], latent: int | None = None, *, kind: str = "vae",
    device: str = "cpu",
) -> tuple[Any, dict[str, Any]]:  # fmt: skip
    """One trained model of a finished vae run (the given ``latent`` size, or the smallest)
    and the run's record."""
    import dataclasses

    from pixelab.generate.vae import VAEConfig, build
    from pixelab.train.checkpoint import load_weights

    path = Path(run)
    _read_config(path, kind="vae")
    if not ((path / "vae.json").is_file() and (path / "metrics.json").is_file()):
        raise PixelabError(f"{path} has no trained models yet",
                           hint=f"finish training first: {COMMAND} --out {path} --resume")  # fmt: skip
    rec = read_json(path / "vae.json")
    latents = rec["latents"]
    latent = min(latents) if latent is None else latent
    if latent not in latents:
        raise PixelabError(f"the run has no model with latent size {latent}",
                           hint=f"its sizes: {', '.join(map(str, latents))}")  # fmt: skip
    if kind == "ae" and not rec["plain"]:
        raise PixelabError("the run trained no plain autoencoder")
    cfg = dataclasses.replace(VAEConfig.from_dict(rec["vae"]), kind=kind, latent=latent)
    model = build(cfg, rec["channels"], rec["size"])
    model.load_state_dict(load_weights(path / f"{kind}-{latent}.safetensors"))
    return model.to(device).eval(), rec


def vae_sample(
    run: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    latent: int | None = None,
    n: int = 64,
    seed: int = 0,
    device: str = "auto",
) -> dict[str, Any]:
    """``n`` new images from a VAE of the run: codes drawn from the prior (a standard normal)
    and decoded, written as one grid PNG at ``out``."""
    import torch

    from pixelab._core.checks import check_positive_int
    from pixelab.generate.vae import decode
    from pixelab.report.generate import mosaic, save_png
    from pixelab.train.loop import resolve_device

    check_positive_int(n, name="--n")
    if n > 10_000:
        raise PixelabError(f"--n {n} is more than one grid can show", hint="at most 10000")
    model, _ = load_vae(run, latent, device=str(resolve_device(device)))
    z = torch.randn(n, *model.code_shape, generator=torch.Generator().manual_seed(seed))
    images = decode(model, z)
    path = save_png(mosaic(images, ncols=8, scale=2), out)
    return {"images": images, "latent": model.latent, "path": str(path)}
