"""Diffusion jobs: ``forward`` (an image buried in noise step by step, with the numbers that
say how much of it is left), ``train`` (a denoiser, watched and measured), ``sample`` (by
class or prompt, with the reverse process drawn) and ``guidance`` (a sweep of the guidance
scale). The edits (inpaint, img2img) are in :mod:`pixelab.apps.diffusion_edit`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from pixelab.apps._shipped import SHIPPED as SHIPPED  # the name that stands for a shipped run
from pixelab.data.tensors import signed_to_uint8, to_signed
from pixelab.report import RunDir

#: Frames of the forward GIF.
GIF_FRAMES = 40


def _noised(schedule: Any, x0: Any, ts: list[int], seed: int) -> Any:
    """x_t for every step in ``ts`` with one fixed noise image (so the frames differ only by
    how far along the process they are)."""
    import torch

    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    return schedule.add_noise(x0.expand(len(ts), *x0.shape[1:]), noise.expand(len(ts), *x0.shape[1:]),
                              torch.as_tensor(ts))  # fmt: skip


def diffusion_forward(
    source: str,
    out: str | os.PathLike[str],
    *,
    schedule: str = "cosine",
    steps: int = 1000,
    show: int = 8,
    seed: int = 0,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Draw ``source`` (a file, a sample photo, a dataset or folder: its first image) at ``show``
    steps from t = 0 to T - 1 of a ``schedule`` of ``steps`` (and the other schedule beneath
    it), the schedules' signal shares over t, and a GIF; metrics.json gives per shown step the
    share of the signal's power left, the signal-to-noise ratio, the PSNR against the image
    and the correlation with it."""
    import torch

    from pixelab._core.checks import check_positive_int
    from pixelab._core.errors import PixelabError
    from pixelab.apps.augment import source_images
    from pixelab.generate.diffusion import SCHEDULES, NoiseSchedule
    from pixelab.report import figures as F
    from pixelab.report.generate import plot_schedules, save_gif

    chosen = NoiseSchedule(schedule, steps)
    check_positive_int(show, name="--show", minimum=2)
    if show > 20:
        raise PixelabError(f"--show {show} is more steps than one figure can show",
                           hint="at most 20")  # fmt: skip
    check_positive_int(seed, name="--seed", minimum=0)
    images, name = source_images(source, count=1)
    image = images[0]
    x0 = to_signed(torch.from_numpy(image).permute(2, 0, 1)[None])
    ts = np.unique(np.linspace(0, steps - 1, show).round().astype(int)).tolist()
    schedules = [chosen] + [NoiseSchedule(k, steps) for k in SCHEDULES if k != schedule]
    rows, shown = [], []
    for sched in schedules:
        noised = _noised(sched, x0, ts, seed)
        rows.append((sched.kind, signed_to_uint8(noised)))
        if sched is chosen:
            abar, snr = sched.alphas_cumprod, sched.signal_to_noise()
            x0_flat = x0.flatten()
            for t, x in zip(ts, noised, strict=True):
                rms = float(((x.clamp(-1, 1) - x0[0]) * 127.5).pow(2).mean().sqrt())
                corr = float(np.corrcoef(x0_flat.numpy(), x.flatten().numpy())[0, 1])
                shown.append({"t": t, "signal_share": round(float(abar[t]), 6),
                              "snr": round(float(snr[t]), 6),
                              "psnr": round(20 * np.log10(255 / max(rms, 1e-9)), 2),
                              "correlation": round(corr, 4)})  # fmt: skip
            last = noised[-1]
    half = {s.kind: int((s.alphas_cumprod < 0.5).nonzero()[0]) for s in schedules}
    with RunDir.create(out, kind="diffusion-forward", overwrite=overwrite) as rd:
        rd.write_config({"source": source, "schedule": schedule, "steps": steps, "show": show,
                         "seed": seed}, kind="diffusion-forward")  # fmt: skip
        cells = [im for _, group in rows for im in group]
        titles = [f"t={t}" for t in ts] * len(rows)
        fig = F.image_grid(cells, ncols=len(ts), titles=titles, cell=1.5,
                           row_labels=[k for k, _ in rows],
                           suptitle=f"{name}: the forward process (one noise image, rising t)")  # fmt: skip
        figs = [rd.save_figure(fig, "forward"),
                rd.save_figure(plot_schedules(schedules), "schedules")]  # fmt: skip
        gif_ts = np.unique(np.linspace(0, steps - 1, GIF_FRAMES).round().astype(int)).tolist()
        frames = signed_to_uint8(_noised(chosen, x0, gif_ts, seed))
        frames = frames[..., 0] if frames.shape[-1] == 1 else frames
        figs.append(save_gif(list(frames), rd.figures / "forward.gif", ms=120))
        metrics = {
            "source": name, "schedule": schedule, "steps": steps, "shown": shown,
            "x_T": {"mean": round(float(last.mean()), 4), "std": round(float(last.std()), 4)},
            "half_signal_step": half,
            "note": "signal_share is abar_t, the share of the image's power left at step t "
                    "(x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise); half_signal_step is the "
                    "first step where less than half is left",
            "figures": [str(Path(f).relative_to(rd.path)) for f in figs],
        }  # fmt: skip
        rd.write_metrics(metrics)
        return metrics


#: DDIM steps of the grid drawn after every epoch, and of the final quality samples.
MONITOR_STEPS = 20
QUALITY_STEPS = 25
#: Samples the final quality numbers are measured on.
QUALITY_SAMPLES = 500
#: Classifier-free guidance scale used unless another is asked for.
DEFAULT_GUIDANCE = 2.0


class Space:
    """Where a denoiser works and how what it makes becomes images: pixels in [-1, 1], or the
    grid codes of a VAE (latent diffusion), scaled to a spread of about 1 as the noise has,
    kept within the range the training codes span (``bound``), and decoded to pixels."""

    def __init__(self, channels: int, side: int, autoencoder: Any = None, scale: float = 1.0,
                 bound: float | None = None):  # fmt: skip
        self.channels, self.side, self.autoencoder, self.scale = channels, side, autoencoder, scale
        if autoencoder is not None and bound is None:
            raise ValueError("a latent space needs the range of its codes (bound)")
        self.clip: bool | float = True if autoencoder is None else float(bound)

    def shape(self, n: int) -> tuple[int, int, int, int]:
        """The shape of ``n`` noise images (or code grids) the sampler starts from."""
        return (n, self.channels, self.side, self.side)

    def images(self, x: Any) -> np.ndarray:
        """uint8 images (N, H, W, C) of what the sampler returned."""
        if self.autoencoder is None:
            return signed_to_uint8(x)
        from pixelab.generate.vae import decode

        return decode(self.autoencoder, x / self.scale)


def conditions(train: Any, conditional: bool) -> tuple[dict[str, list[str]] | None, np.ndarray]:
    """What a denoiser of ``train`` is conditioned on: its attributes' values (None when the
    data has no attributes, or the model no classes) and the labels, (N,) classes or (N, 1 +
    attributes) with the class first (the data's first attribute is its class)."""
    if not conditional or train.attributes is None:
        return None, train.labels
    values = dict(train.attribute_values)
    first, *rest = values
    if not np.array_equal(train.attributes[first], train.labels):
        raise ValueError(f"the first attribute ({first}) must be the class")
    return values, np.stack([train.labels, *(train.attributes[a] for a in rest)], axis=1)


def _extra_sizes(values: dict[str, list[str]] | None) -> tuple[int, ...]:
    """The value counts of the attributes after the class (what the U-Net embeds)."""
    return () if not values else tuple(len(v) for v in list(values.values())[1:])


def random_conditions(values: dict[str, list[str]], n: int, *, seed: int) -> Any:
    """``n`` full prompts as labels (n, attributes): every attribute drawn uniformly."""
    import torch

    rng = np.random.default_rng(seed)
    return torch.from_numpy(np.stack([rng.integers(0, len(v), n) for v in values.values()], 1))


def describe_condition(row: Any, values: dict[str, list[str]]) -> str:
    """A prompt in words for one row of labels: "small red star, top left"."""
    v = {a: (vals[int(k)] if int(k) < len(vals) else None)
         for (a, vals), k in zip(values.items(), row, strict=True)}  # fmt: skip
    words = " ".join(x for x in (v.get("size"), v.get("colour"), v.get("shape")) if x)
    return words + (f", {v['position']}" if v.get("position") else "")


def attribute_honour(
    images: np.ndarray, y: Any, values: dict[str, list[str]], judge_net: Any, *,
    seen: np.ndarray | None = None,
) -> dict[str, Any]:  # fmt: skip
    """How often generated ``images`` show what their labels ``y`` (n, attributes) asked:
    the shape as the judge reads it, colour, size and position read off the pixels
    (:func:`~pixelab.data.shapes.read_attributes`, exact on the real data); per attribute, all
    at once, and (with the training labels ``seen``) on combinations never shown in training."""
    from pixelab.data.shapes import read_attributes
    from pixelab.generate.judge import judge

    y = np.asarray(y)
    read = read_attributes(images)
    if judge_net is not None:  # without a judge the class is not measured
        read[next(iter(values))] = judge(judge_net, images)[1]
    names = [a for a in values if a in read]
    hit = np.stack([read[a] == y[:, list(values).index(a)] for a in names], 1)
    shares = {a: round(float(hit[:, j].mean()), 4) for j, a in enumerate(names)}
    out: dict[str, Any] = {"honoured": {**shares, "all": round(float(hit.all(1).mean()), 4)}}
    out["chance_all"] = round(float(np.prod([1 / len(v) for v in values.values()])), 6)
    out["samples"] = len(y)
    if seen is not None:
        known = {tuple(r) for r in np.asarray(seen).tolist()}
        new = np.array([tuple(r) not in known for r in y.tolist()])
        out["unseen_combinations"] = int(new.sum())
        if new.any():
            out["all_on_unseen"] = round(float(hit[new].all(1).mean()), 4)
    out["note"] = ("share of samples showing the attribute asked for: the shape judged by the "
                   "judge network, colour/size/position read off the pixels")  # fmt: skip
    return out


def _prompt_honour(images: np.ndarray, y: Any, rec: dict[str, Any]) -> dict[str, float]:
    """Per attribute a prompt named, the share of ``images`` that show it (the shape only
    when the run's judge is at hand)."""
    from pixelab.apps.diffusion_edit import run_judge

    values = rec["attributes"]
    asked = np.asarray(y)[0]
    named = {a: j for j, a in enumerate(values) if asked[j] < len(values[a])}
    judged = run_judge(rec)
    if judged is None:
        named.pop(next(iter(values)), None)
    if not named:
        return {}
    row = np.asarray(y)
    full = np.where(row < [len(v) for v in values.values()], row, 0)
    scores = attribute_honour(images, full, values, judged[0] if judged else None)
    return {a: scores["honoured"][a] for a in named}


def prompt_grid(images: np.ndarray, y: Any, values: dict[str, list[str]]) -> Any:
    """A figure of generated images, each titled by the prompt that made it."""
    from pixelab.report import figures as F

    titles = [describe_condition(r, values) for r in np.asarray(y)]
    return F.image_grid(list(images), ncols=min(6, len(images)), titles=titles, cell=1.6,
                        suptitle="each image with the attributes it was asked for")  # fmt: skip


def latent_codes(
    vae_run: str | os.PathLike[str], latent: int | None, data: Any, side: int, channels: int,
    images: np.ndarray, *, device: str = "cpu",
) -> tuple[Any, Any, dict[str, Any]]:  # fmt: skip
    """The VAE of ``vae_run`` (its ``latent`` size, or the smallest) that latent diffusion
    works in, the mean codes of ``images`` scaled to a spread of 1 (Stable Diffusion's
    "scaling factor", here measured), and what the run records about it. Refuses a VAE with
    flat codes, or one trained on other images than ``data``."""
    import torch

    from pixelab._core.errors import PixelabError
    from pixelab.apps.cnn import _read_config
    from pixelab.apps.vae import load_vae
    from pixelab.generate.vae import encode

    vae, rec = load_vae(vae_run, latent, device=device)
    saved = _read_config(Path(vae_run), kind="vae")
    if not vae.grid:
        raise PixelabError(f"{vae_run}'s VAEs code an image as a flat list of numbers; latent "
                           "diffusion denoises a grid of codes",
                           hint="train one with: pixelab vae train --grid --latent 4 "
                                f"--data {data}")  # fmt: skip
    if str(saved["data"]) != str(data) or (rec["size"], rec["channels"]) != (side, channels):
        raise PixelabError(f"{vae_run}'s VAE was trained on {saved['data']} at "
                           f"{rec['size']}x{rec['size']}x{rec['channels']}, not on {data} at "
                           f"{side}x{side}x{channels}",
                           hint="train the VAE on the same data (and --size/--gray), or pass "
                                "that data here")  # fmt: skip
    codes = torch.from_numpy(encode(vae, images))
    scale = round(float(1.0 / codes.std().clamp(min=1e-6)), 6)
    # the codes' range plays the part of the pixels' [-1, 1]: the sampler keeps x0 within it
    bound = round(float((codes * scale).abs().max()), 4)
    record = {"vae_run": str(vae_run), "latent": vae.latent, "code_shape": list(vae.code_shape),
              "scale": scale, "range": bound,
              "vae": {**rec["vae"], "kind": vae.kind, "latent": vae.latent}}  # fmt: skip
    return vae, codes * scale, record


def diffusion_train(
    data: str,
    out: str | os.PathLike[str],
    *,
    config: Any = None,
    size: int | None = None,
    gray: bool | None = None,
    limit: int | None = None,
    budget_min: float | None = None,
    judge: str | os.PathLike[str] | None = None,
    judge_model: tuple[Any, dict[str, Any]] | None = None,
    quality_samples: int = QUALITY_SAMPLES,
    vae: str | os.PathLike[str] | None = None,
    vae_latent: int | None = None,
    device: str = "auto",
    resume: bool = False,
    overwrite: bool = False,
    cache: str | os.PathLike[str] | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Train a denoiser (``config``: a :class:`~pixelab.generate.diffusion.DiffusionConfig`)
    on ``data`` for its epochs or ``budget_min`` minutes of training, whichever ends first, and
    write a run folder: the same noise denoised after every epoch (figures/epochs/ and a GIF),
    the loss curve, samples by class, and metrics.json with the judge's numbers. With ``vae``
    (a ``vae train --grid`` run on the same data) it learns to denoise that VAE's codes, not
    pixels (latent diffusion), and its samples are decoded. Ctrl-C keeps the last finished
    epoch; ``resume=True`` continues it exactly."""
    import math

    from pixelab._core.checks import check_positive_int
    from pixelab._core.errors import PixelabError
    from pixelab.apps.cnn import _interrupted, _read_config
    from pixelab.apps.gan import judge_run
    from pixelab.data import load_train_test
    from pixelab.generate.diffusion import DiffusionConfig, build
    from pixelab.generate.gan import check_enough
    from pixelab.train.loop import resolve_device

    out = Path(out)
    if resume:
        saved = _read_config(out, kind="diffusion")
        if (out / "metrics.json").is_file():
            raise PixelabError(f"{out} is a finished run; nothing to resume",
                               hint="start a new run with another --out")  # fmt: skip
        config = DiffusionConfig.from_dict(saved["diffusion"])
        data, size, gray, limit = saved["data"], saved["size"], saved["gray"], saved["limit"]
        budget_min, judge = saved["budget_min"], saved.get("judge_arg")
        vae, vae_latent = saved.get("vae_arg"), saved.get("vae_latent")
    cfg = (config or DiffusionConfig()).check()
    check_positive_int(quality_samples, name="--eval-samples", minimum=10)
    if budget_min is not None and not (budget_min > 0 and math.isfinite(budget_min)):
        raise PixelabError(f"--budget-min must be a positive number of minutes, got {budget_min}")
    dev = resolve_device(device)
    train, test = load_train_test(data, size=size, gray=gray, limit=limit, seed=cfg.seed,
                                  progress=progress)  # fmt: skip
    side, channels = train.shape[0], train.shape[2]
    if side % 4 or side < 8:
        raise PixelabError(f"a diffusion model here makes square images with a side that is a "
                           f"multiple of 4 (8 or more); {data} has {side}",
                           hint="use --size 28 or 32")  # fmt: skip
    check_enough(len(train), cfg.batch_size, what="a diffusion model")
    space, codes, latent = Space(channels, side), None, None
    if vae is not None:  # refused before a judge is trained when the VAE does not fit
        autoencoder, codes, latent = latent_codes(vae, vae_latent, data, side, channels,
                                                  train.images, device=str(dev))  # fmt: skip
        space = Space(*autoencoder.code_shape[:2], autoencoder, latent["scale"], latent["range"])
    if judge_model is None:
        judge_model = judge_run(data, size=side, channels=channels, classes=train.classes,
                                judge=judge, cache=cache, progress=progress)  # fmt: skip
    values, labels = conditions(train, cfg.conditional)
    model = build(cfg, space.channels, space.side, len(train.classes), _extra_sizes(values))
    run_config = {"data": str(data), "size": side, "gray": channels == 1, "limit": limit,
                  "budget_min": budget_min, "judge_arg": None if judge is None else str(judge),
                  "judge": judge_model[1], "diffusion": cfg.to_dict(), "classes": train.classes,
                  "vae_arg": None if vae is None else str(vae), "vae_latent": vae_latent,
                  "attributes": values, "train": train.summary(),
                  "test": test.summary()}  # fmt: skip
    with RunDir.create(out, kind="diffusion", resume=resume, overwrite=overwrite) as rd:
        if not resume:
            rd.write_config(run_config, kind="diffusion")
        rd.keep_on_error = True
        try:
            return _train_and_report(rd, cfg, model, train, test, judge_model, dev, budget_min,
                                     quality_samples, resume, progress, space=space, codes=codes,
                                     latent=latent, values=values, labels=labels)  # fmt: skip
        except KeyboardInterrupt:
            return _interrupted(out, "pixelab diffusion train")


def _train_and_report(
    rd: RunDir, cfg: Any, model: Any, train: Any, test: Any, judge_model: Any, dev: Any,
    budget_min: float | None, quality_samples: int, resume: bool, progress: Any, *,
    space: Space, codes: Any = None, latent: dict[str, Any] | None = None,
    values: dict[str, list[str]] | None = None, labels: Any = None,
) -> dict[str, Any]:  # fmt: skip
    import time

    from PIL import Image

    from pixelab._core.io import write_json
    from pixelab.apps.cnn import _interrupted
    from pixelab.apps.gan import asked_classes
    from pixelab.generate import class_coverage, class_diversity, frechet_distance
    from pixelab.generate.diffusion import NoiseSchedule, fit_diffusion, guided_eps, sample_loop
    from pixelab.generate.judge import judge
    from pixelab.report.generate import mosaic, plot_diffusion_curves, save_gif, save_png
    from pixelab.train.checkpoint import has_checkpoint, remove_checkpoints, save_weights

    judge_net, judge_info = judge_model
    judge_net.to(dev)
    n_classes = len(train.classes)
    schedule = NoiseSchedule(cfg.schedule, cfg.steps)
    n_grid = n_classes * max(1, 40 // n_classes) if cfg.conditional else 40
    y_grid = asked_classes(None, train.classes, cfg.conditional, n_grid)

    def draw(net: Any, n: int, y: Any, steps: int, seed: int) -> np.ndarray:
        x, _ = sample_loop(guided_eps(net.eval(), DEFAULT_GUIDANCE, y), space.shape(n), schedule,
                           steps=steps, seed=seed, device=str(dev), clip=space.clip)  # fmt: skip
        return space.images(x)

    def on_epoch(epoch: int, net: Any) -> dict[str, Any]:
        grid = draw(net, n_grid, y_grid, MONITOR_STEPS, cfg.seed * 7919 + 1)
        save_png(mosaic(grid, ncols=n_classes if cfg.conditional else 8, scale=2),
                 rd.figures / "epochs" / f"epoch-{epoch + 1:03d}.png")  # fmt: skip
        return {}

    real = test if len(test) >= 200 else train
    real = real.subset(np.arange(min(len(real), 2000)))
    real_feats, real_pred = judge(judge_net, real.images)
    result = fit_diffusion(model, train.images if codes is None else codes, labels, cfg,
                           device=str(dev),
                           checkpoint_dir=rd.path, resume=resume and has_checkpoint(rd.path),
                           on_epoch=on_epoch, progress=progress,
                           max_seconds=None if budget_min is None else budget_min * 60)  # fmt: skip
    if not result.finished:
        return _interrupted(rd.path, "pixelab diffusion train")
    t0 = time.perf_counter()
    y_eval = asked_classes(None, train.classes, cfg.conditional, quality_samples)
    fakes = draw(model, quality_samples, y_eval, QUALITY_STEPS, cfg.seed * 7919 + 3)
    sample_seconds = time.perf_counter() - t0
    feats, pred = judge(judge_net, fakes)
    quality = {
        "fid_judge": round(frechet_distance(real_feats, feats), 4),
        "fid_real_vs_real": round(frechet_distance(real_feats[::2], real_feats[1::2]), 4),
        "diversity": round(class_diversity(feats, pred if y_eval is None else y_eval.numpy()), 4),
        "real_diversity": round(class_diversity(real_feats, real.labels), 4),
        "coverage": class_coverage(pred, n_classes),
        "real_coverage": class_coverage(real_pred, n_classes),
        "samples": quality_samples, "sampler": f"DDIM, {QUALITY_STEPS} steps",
        "guidance": DEFAULT_GUIDANCE if cfg.conditional else None,
    }  # fmt: skip
    if cfg.conditional:
        quality["class_consistency"] = round(float((pred == y_eval.numpy()).mean()), 4)
    prompt_figure = None
    if values is not None:  # how often each attribute of a full prompt is honoured
        y_attr = random_conditions(values, quality_samples, seed=cfg.seed * 7919 + 5)
        made = draw(model, quality_samples, y_attr, QUALITY_STEPS, cfg.seed * 7919 + 5)
        quality["attributes"] = attribute_honour(made, y_attr, values, judge_net,
                                                 seen=labels)  # fmt: skip
        prompt_figure = rd.save_figure(prompt_grid(made[:24], y_attr[:24], values), "prompts")
    save_weights(rd.path / "denoiser.safetensors", model.state_dict())
    if latent is not None:  # the run keeps its own copy of the VAE it works in
        save_weights(rd.path / "autoencoder.safetensors", space.autoencoder.state_dict())
    write_json(rd.path / "diffusion.json", {"diffusion": cfg.to_dict(), "classes": train.classes,
                                            "size": train.shape[0], "channels": train.shape[2],
                                            "judge": judge_info, "latent": latent,
                                            "attributes": values})  # fmt: skip
    frames = sorted((rd.figures / "epochs").glob("epoch-*.png"))
    gif = save_gif([np.asarray(Image.open(f)) for f in frames], rd.figures / "training.gif")
    figs = [rd.save_figure(plot_diffusion_curves(result.history), "losses"),
            save_png(mosaic(fakes[: n_grid], ncols=n_classes if cfg.conditional else 8, scale=3),
                     rd.figures / "samples.png")]  # fmt: skip
    metrics = {
        "judge": judge_info, "quality": quality,
        "quality_note": f"FID here is measured in the features of {judge_info['name']} "
                        f"({judge_info['model']}), not Inception's: compare it only with "
                        "numbers from the same judge",
        "epochs": len(result.history), "train_seconds": round(result.train_seconds, 2),
        "budget_min": budget_min,
        "sample_images_per_second": round(quality_samples / max(sample_seconds, 1e-9), 2),
        "n_train": len(train), "conditional": cfg.conditional,
        "space": "pixels" if latent is None else "latent",
        "denoised_numbers": int(np.prod(space.shape(1))), "latent": latent,
        "train_step_ms": round(1000 * result.train_seconds
                               / max(1, sum(r.get("steps", 0) for r in result.history)), 3),
        "history": result.history,
        "figures": [str(Path(f).relative_to(rd.path))
                    for f in [*figs, gif, *([prompt_figure] if prompt_figure else [])]],
    }  # fmt: skip
    rd.write_metrics(metrics)
    remove_checkpoints(rd.path)
    return metrics


#: The command that made the shipped denoiser (``make diffusion-weights`` runs it, then ships).
SHIPPED_COMMAND = "pixelab diffusion train --data fashion-mnist --epochs 4 --seed 0"
#: The shipped denoiser's folder name under ``assets/``.
SHIPPED_NAME = "diffusion-fashion-mnist"
#: The command that made the shipped denoiser of attribute scenes (``make shapes-weights``).
SHAPES_COMMAND = ("pixelab vae train --data shapes-attributes --grid --latent 4 --no-plain "
                  "--epochs 30 --out runs/vae-shapes, then pixelab diffusion train --data "
                  "shapes-attributes --vae runs/vae-shapes --epochs 1000 --budget-min 20 "
                  "--seed 0")  # fmt: skip
#: Every shipped denoiser by the word that names it on the command line.
SHIPPED_RUNS = {SHIPPED: SHIPPED_NAME, "shipped-shapes": "diffusion-shapes-attributes"}


def ship_diffusion(run: str | os.PathLike[str], dest: str | os.PathLike[str] | None = None,
                   *, command: str = SHIPPED_COMMAND) -> Path:  # fmt: skip
    """Copy a finished diffusion run into ``dest`` (default: the package's shipped folder) as
    a small run: config, record and metrics (without the per-epoch history) and the averaged
    weights in float16 (half the bytes; sampling in float32 differs by ~1e-3 per pixel). The
    command that made it is written into its metrics."""
    from pixelab.apps._shipped import ship_run, shipped_folder

    _, rec = load_diffusion(run)  # refuses anything but a finished diffusion run
    weights = ["denoiser.safetensors"] + (["autoencoder.safetensors"] if rec.get("latent") else [])
    return ship_run(run, dest if dest is not None else shipped_folder(SHIPPED_NAME),
                    weights=weights, records=["diffusion.json"],
                    keep=("judge", "quality", "quality_note", "epochs", "train_seconds",
                          "n_train", "conditional"),
                    made_by={"command": command, "then": f"ship_diffusion({Path(run).name!r})",
                             "weights": "float16 copy of the averaged (EMA) weights"})  # fmt: skip


def ship_shapes(run: str | os.PathLike[str], dest: str | os.PathLike[str] | None = None) -> Path:
    """Ship a finished diffusion run on attribute scenes as ``shipped-shapes``."""
    from pixelab.apps._shipped import shipped_folder

    dest = dest if dest is not None else shipped_folder(SHIPPED_RUNS["shipped-shapes"])
    return ship_diffusion(run, dest, command=SHAPES_COMMAND)


def load_diffusion(
    run: str | os.PathLike[str], *, device: str = "cpu"
) -> tuple[Any, dict[str, Any]]:
    """The (averaged) denoiser of a finished diffusion run (or ``shipped``, ``shipped-shapes``)
    and its record, whose ``path`` is the run folder."""
    from pixelab._core.errors import PixelabError
    from pixelab._core.io import read_json
    from pixelab.apps._shipped import resolve_shipped
    from pixelab.apps.cnn import _read_config
    from pixelab.generate.diffusion import DiffusionConfig, build
    from pixelab.train.checkpoint import load_weights

    path = resolve_shipped(run, SHIPPED_RUNS)
    _read_config(path, kind="diffusion")
    if not ((path / "diffusion.json").is_file() and (path / "metrics.json").is_file()):
        raise PixelabError(f"{path} has no trained denoiser yet",
                           hint=f"finish training first: pixelab diffusion train --out {path} --resume")  # fmt: skip
    rec = read_json(path / "diffusion.json")
    cfg = DiffusionConfig.from_dict(rec["diffusion"])
    space = Space(rec["channels"], rec["size"])
    if rec.get("latent"):  # latent diffusion: the denoiser works on the VAE's code grid
        from pixelab.generate.vae import VAEConfig
        from pixelab.generate.vae import build as build_vae

        lat = rec["latent"]
        autoencoder = build_vae(VAEConfig.from_dict(lat["vae"]), rec["channels"], rec["size"])
        autoencoder.load_state_dict(load_weights(path / "autoencoder.safetensors"))
        space = Space(
            *lat["code_shape"][:2], autoencoder.to(device).eval(), lat["scale"], lat.get("range")
        )
    model = build(cfg, space.channels, space.side, len(rec["classes"]),
                  _extra_sizes(rec.get("attributes")))  # fmt: skip
    model.load_state_dict(load_weights(path / "denoiser.safetensors"))  # float16 -> float32
    return model.to(device).eval(), {**rec, "config": cfg, "path": path, "space": space}


def requested_classes(
    cls: str | None, prompt: str | None, classes: list[str], conditional: bool, n: int,
    attributes: dict[str, list[str]] | None = None,
) -> tuple[Any, dict[str, Any] | None]:  # fmt: skip
    """The class of ``n`` images asked by ``--class`` or ``--prompt`` (None: none asked), and
    what was understood: the class, how the prompt matched it and the words left unused. A
    run conditioned on ``attributes`` reads every attribute the prompt names (the labels are
    then (n, 1 + attributes), "unknown" where the prompt is silent)."""
    import torch

    from pixelab._core.errors import PixelabError
    from pixelab.apps.gan import asked_classes
    from pixelab.generate.prompt import match_attributes, match_prompt

    if cls is not None and prompt is not None:
        raise PixelabError("give --class or --prompt, not both")
    if prompt is not None:
        if not conditional:
            raise PixelabError("this diffusion model was trained without classes: a prompt "
                               "cannot steer it", hint="train with classes (the default)")  # fmt: skip
        if attributes is not None:
            a = match_attributes(prompt, attributes)
            unknown = [len(v) for v in attributes.values()]
            row = [unknown[j] if k is None else k for j, k in enumerate(a.values.values())]
            return torch.tensor([row] * n, dtype=torch.long), {
                "prompt": prompt, "name": a.names.get(next(iter(attributes))),
                "values": a.names, "how": a.how, "unused": list(a.unused),
                "left_to_model": [k for k, v in a.values.items() if v is None],
                "understood": a.describe()}  # fmt: skip
        m = match_prompt(prompt, classes)
        return torch.full((n,), m.index, dtype=torch.long), {
            "prompt": prompt, "name": m.name, "how": m.how, "similarity": m.similarity,
            "unused": list(m.unused), "understood": m.describe()}  # fmt: skip
    if cls is None:
        return None, None
    return asked_classes(cls, classes, conditional, n, what="diffusion model"), {
        "name": cls, "how": "class"}  # fmt: skip


def diffusion_sample(
    run: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    n: int = 16,
    cls: str | None = None,
    prompt: str | None = None,
    steps: int = 50,
    guidance: float | None = None,
    sampler: str = "ddim",
    seed: int = 0,
    device: str = "auto",
    progress: Any = None,
) -> dict[str, Any]:
    """``n`` new images from a diffusion run (of class ``cls`` or the class ``prompt`` names,
    or every class in turn), with
    ``steps`` network calls of ``sampler`` and classifier-free ``guidance`` (default 2; only
    for a run trained with classes): one grid PNG at
    ``out``, and beside it the reverse process of the first images as a strip (PNG) and GIF."""

    from pixelab._core.checks import check_positive_int
    from pixelab._core.errors import PixelabError
    from pixelab.apps.gan import asked_classes
    from pixelab.generate.diffusion import NoiseSchedule, guided_eps, sample_loop
    from pixelab.report.generate import mosaic, save_gif, save_png
    from pixelab.train.loop import resolve_device

    check_positive_int(n, name="--n")
    if n > 10_000:
        raise PixelabError(f"--n {n} is more than one grid can show", hint="at most 10000")
    dev = str(resolve_device(device))
    model, rec = load_diffusion(run, device=dev)
    cfg, classes = rec["config"], rec["classes"]
    y, matched = requested_classes(cls, prompt, classes, cfg.conditional, n,
                                   rec.get("attributes"))  # fmt: skip
    if y is None:
        y = asked_classes(None, classes, cfg.conditional, n)
    if guidance is not None and not cfg.conditional:
        raise PixelabError("this diffusion model was trained without classes: there is no class "
                           "to guide towards", hint="leave out --guidance")  # fmt: skip
    eps_fn = guided_eps(model, DEFAULT_GUIDANCE if guidance is None else guidance, y)
    schedule, space = NoiseSchedule(cfg.schedule, cfg.steps), rec["space"]
    x, snaps = sample_loop(eps_fn, space.shape(n), schedule, steps=steps, sampler=sampler,
                           seed=seed, device=dev, keep=min(steps, 10), clip=space.clip,
                           progress=progress)  # fmt: skip
    images = space.images(x)
    if matched is not None and rec.get("attributes") and "values" in matched:
        matched["honoured"] = _prompt_honour(images, y, rec)
    out = Path(out)
    ncols = len(classes) if (cfg.conditional and matched is None and n >= len(classes)) else 8
    grid = save_png(mosaic(images, ncols=ncols, scale=2), out)
    show = min(n, 4)  # the reverse process of the first images: rows, noise to image
    strip = np.concatenate([space.images(s[:show]) for _, s in snaps])
    order = np.arange(len(strip)).reshape(len(snaps), show).T.flatten()
    strip_path = save_png(mosaic(strip[order], ncols=len(snaps), scale=2),
                          out.with_name(out.stem + "-reverse.png"))  # fmt: skip
    frames = [mosaic(strip[i * show : (i + 1) * show], ncols=show, scale=3)
              for i in range(len(snaps))]  # fmt: skip
    gif = save_gif(frames, out.with_name(out.stem + "-reverse.gif"), ms=250)
    if y is None or y.ndim == 1:
        labels = None if y is None else [classes[int(k)] for k in y]
    else:  # a prompt to a run with attributes: what each image was asked for, in words
        labels = [describe_condition(r, rec["attributes"]) for r in y]
    return {"images": images, "classes": labels, "path": str(grid), "reverse": str(strip_path),
            "gif": str(gif), "steps": [t for t, _ in snaps], "prompt": matched}  # fmt: skip


def diffusion_guidance(
    run: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    scales: list[float] | None = None,
    n: int = 200,
    steps: int = QUALITY_STEPS,
    seed: int = 0,
    device: str = "auto",
    judge_model: tuple[Any, dict[str, Any]] | None = None,
    overwrite: bool = False,
    progress: Any = None,
) -> dict[str, Any]:
    """Sample a conditional run at each classifier-free guidance scale in ``scales`` from the
    same noise, and write a run folder: one row of images per scale, class-consistency and FID
    (the run's judge, or ``judge_model``) against the scale as a figure and in metrics.json."""
    from pixelab._core.checks import check_positive_int
    from pixelab._core.errors import PixelabError
    from pixelab._core.progress import report
    from pixelab.apps.cnn import _read_config
    from pixelab.apps.diffusion_edit import run_judge
    from pixelab.apps.gan import asked_classes
    from pixelab.data import load_train_test
    from pixelab.generate import class_diversity, frechet_distance
    from pixelab.generate.diffusion import NoiseSchedule, guided_eps, sample_loop
    from pixelab.generate.judge import judge
    from pixelab.report import figures as F
    from pixelab.report.generate import plot_guidance
    from pixelab.train.loop import resolve_device

    scales = [0.0, 1.0, 2.0, 3.0, 5.0] if scales is None else sorted(set(scales))
    if not 2 <= len(scales) <= 10:
        raise PixelabError("--scales takes two to ten guidance scales")
    if min(scales) < 0:
        raise PixelabError(f"--scales must be 0 or more, got {min(scales)}")
    check_positive_int(n, name="--n", minimum=20)
    if n > 5000:
        raise PixelabError(f"--n {n} is more samples than a sweep needs", hint="at most 5000")
    dev = str(resolve_device(device))
    model, rec = load_diffusion(run, device=dev)
    cfg, classes = rec["config"], rec["classes"]
    if not cfg.conditional:
        raise PixelabError("this diffusion model was trained without classes: there is no class "
                           "to guide towards", hint="train with classes (the default)")  # fmt: skip
    judge_net, judge_info = run_judge(rec, judge_model, remake=True, progress=progress)
    saved = _read_config(rec["path"], kind="diffusion")
    train, test = load_train_test(saved["data"], size=saved["size"], gray=saved["gray"],
                                  limit=saved["limit"], seed=cfg.seed)  # fmt: skip
    real = test if len(test) >= 200 else train
    real = real.subset(np.arange(min(len(real), 2000)))
    real_feats, _ = judge(judge_net, real.images)
    y = asked_classes(None, classes, True, n)
    schedule = NoiseSchedule(cfg.schedule, cfg.steps)
    space = rec["space"]
    rows, firsts = [], []
    for i, w in enumerate(scales):
        x, _ = sample_loop(guided_eps(model, w, y), space.shape(n), schedule, steps=steps,
                           seed=seed, device=dev, clip=space.clip)  # fmt: skip
        images = space.images(x)
        feats, pred = judge(judge_net, images)
        rows.append({"guidance": w,
                     "class_consistency": round(float((pred == y.numpy()).mean()), 4),
                     "fid_judge": round(frechet_distance(real_feats, feats), 4),
                     "diversity": round(class_diversity(feats, y.numpy()), 4)})  # fmt: skip
        firsts.append(images[: len(classes)])
        report(progress, "guidance scales", i + 1, len(scales))
    real_fid = round(frechet_distance(real_feats[::2], real_feats[1::2]), 4)
    with RunDir.create(out, kind="diffusion-guidance", overwrite=overwrite) as rd:
        rd.write_config({"run": str(run), "scales": scales, "n": n, "steps": steps,
                         "seed": seed}, kind="diffusion-guidance")  # fmt: skip
        cells = [im for row in firsts for im in row]
        fig = F.image_grid(cells, ncols=len(classes), cell=1.2,
                           titles=[c[:10] for c in classes] + [""] * (len(cells) - len(classes)),
                           row_labels=[f"w = {w:g}" for w in scales],
                           suptitle="the same noise at rising guidance")  # fmt: skip
        figs = [rd.save_figure(fig, "guidance-samples"),
                rd.save_figure(plot_guidance(rows, real_fid=real_fid,
                                             judge=judge_info["name"]), "guidance")]  # fmt: skip
        metrics = {
            "scales": rows, "fid_real_vs_real": real_fid, "samples": n,
            "sampler": f"DDIM, {steps} steps", "judge": judge_info,
            "most_consistent": max(rows, key=lambda r: r["class_consistency"])["guidance"],
            "lowest_fid": min(rows, key=lambda r: r["fid_judge"])["guidance"],
            "note": "class_consistency is the share of samples the judge reads as the class "
                    "asked for; FID is measured in the judge's features, not Inception's",
            "figures": [str(Path(f).relative_to(rd.path)) for f in figs],
        }  # fmt: skip
        rd.write_metrics(metrics)
        return metrics
