"""``gan train`` and ``gan sample``: a GAN trained on a dataset or folder, watched while it
learns (the same noise drawn every epoch, as pictures and a GIF), with a mode-collapse monitor
and quality numbers measured by a judge network, never by eye alone.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from pixelab._core.errors import PixelabError
from pixelab._core.io import read_json, write_json
from pixelab._core.progress import ProgressFn
from pixelab.apps.cnn import _interrupted, _read_config
from pixelab.report import RunDir

#: How the cached judge is trained (a change here retrains it: it is part of the cache key).
JUDGE_RECIPE = {"model": "small_cnn", "epochs": 3, "seed": 0}
#: Samples the monitor judges each epoch, and the final quality numbers use.
MONITOR_SAMPLES = 500
QUALITY_SAMPLES = 2000
#: Below these the monitor warns of mode collapse.
MIN_COVERAGE = 0.8
MIN_DIVERSITY_SHARE = 0.5


def _data_key(data: str, size: int, channels: int) -> str:
    """A name for the judge of ``data`` at this size and mode: built-ins by name, folders by
    path and the names, sizes and times of their files (an edited folder gets a new judge)."""
    h = hashlib.sha256(repr((sorted(JUDGE_RECIPE.items()), size, channels)).encode())
    path = Path(data)
    if path.is_dir():
        h.update(str(path.resolve()).encode())
        for f in sorted(path.rglob("*")):
            if f.is_file():
                st = f.stat()
                h.update(f"{f.relative_to(path)}:{st.st_size}:{st.st_mtime_ns}".encode())
        name = path.name
    else:
        name = data
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)
    return f"{safe}-{size}px-{channels}c-{h.hexdigest()[:12]}"


def judge_run(
    data: str,
    *,
    size: int,
    channels: int,
    classes: list[str],
    judge: str | os.PathLike[str] | None = None,
    cache: str | os.PathLike[str] | None = None,
    progress: ProgressFn | None = None,
) -> tuple[Any, dict[str, Any]]:
    """The judge network for ``data``: the user's ``judge`` run, or pixelab's own small_cnn
    trained once on the data and kept in the cache (``$PIXELAB_CACHE/judges``). Returns the
    model and what every report names it by."""
    from pixelab.apps.cnn import load_run_model, train_cnn
    from pixelab.models.efficientnet_lite import cache_dir
    from pixelab.train import CNNConfig

    if judge is None:
        path = Path(cache or cache_dir()) / "judges" / _data_key(data, size, channels)
        if not (path / "metrics.json").is_file():
            cfg = CNNConfig(data=data, size=size, gray=channels == 1, **JUDGE_RECIPE)
            resume = (path / "config.json").is_file()
            m = train_cnn(None if resume else cfg, path, resume=resume, overwrite=not resume,
                          progress=progress)  # fmt: skip
            if m.get("interrupted"):
                raise KeyboardInterrupt
        judge = path
    model, meta = load_run_model(judge, device="cpu")
    pre = meta.get("preprocess", {})
    if meta["classes"] != classes or (pre.get("size"), pre.get("channels")) != (size, channels):
        raise PixelabError(
            f"the judge {judge} knows {meta['classes']} at {pre.get('size')} px, "
            f"{pre.get('channels')} channel(s); the GAN makes {classes} at {size} px, "
            f"{channels} channel(s)",
            hint="give a --judge run trained on the same data, size and colour mode",
        )
    accuracy = read_json(Path(judge) / "metrics.json").get("accuracy")
    name = read_json(Path(judge) / "config.json").get("model", "cnn")
    return model, {"run": str(judge), "model": name, "accuracy": accuracy,
                   "name": f"judge {Path(judge).name}"}  # fmt: skip


def _grid_size(cfg: Any, n_classes: int) -> int:
    """Samples in the fixed grid: 64, or for classes whole rows of every class (60 for 10)."""
    return n_classes * max(1, 64 // n_classes) if cfg.conditional else 64


def _eval_classes(n: int, n_classes: int) -> np.ndarray:
    """Classes for ``n`` conditional samples: every class in turn (an equal share each)."""
    return np.arange(n) % n_classes


def asked_classes(cls: str | None, classes: list[str], conditional: bool, n: int, *,
                  what: str = "model") -> Any:  # fmt: skip
    """The classes of ``n`` samples of a generator run: all ``cls`` (checked against the
    run's classes), every class in turn when none is asked, None for a run without classes."""
    import torch

    if cls is None:
        return torch.as_tensor(_eval_classes(n, len(classes))) if conditional else None
    if not conditional:
        raise PixelabError(f"this {what} was trained without classes: --class cannot choose one",
                           hint="train with classes (the default) to ask for one")  # fmt: skip
    if cls not in classes:
        raise PixelabError(
            f"the run has no class {cls!r}", hint=f"its classes: {', '.join(classes)}"
        )
    return torch.full((n,), classes.index(cls), dtype=torch.long)


def gan_train(
    data: str,
    out: str | os.PathLike[str],
    *,
    config: Any = None,
    size: int | None = None,
    gray: bool | None = None,
    limit: int | None = None,
    judge: str | os.PathLike[str] | None = None,
    judge_model: tuple[Any, dict[str, Any]] | None = None,
    device: str = "auto",
    bf16: bool | None = None,
    resume: bool = False,
    overwrite: bool = False,
    cache: str | os.PathLike[str] | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Train a GAN (``config``: a :class:`~pixelab.generate.GANConfig`) on ``data`` and write a
    run folder: sample grids of the same noise after every epoch and their GIF, loss curves,
    the mode-collapse monitor, a latent interpolation, nearest training images, and
    metrics.json with the quality numbers in the judge's features. Ctrl-C keeps the last
    finished epoch; ``resume=True`` continues it exactly. ``judge_model`` (a loaded model on
    the same classes and its description) replaces the judge run, e.g. for the tour.
    ``bf16`` None: bfloat16 autocast where the hardware has it (as ``cnn train``)."""
    from pixelab.data import load_train_test
    from pixelab.generate import GANConfig
    from pixelab.generate.gan import build, check_enough, upsamplings
    from pixelab.train.loop import choose_precision, resolve_device

    out = Path(out)
    if resume:
        saved = _read_config(out, kind="gan")
        if (out / "metrics.json").is_file():
            raise PixelabError(f"{out} is a finished run; nothing to resume",
                               hint="start a new run with another --out")  # fmt: skip
        config = GANConfig.from_dict(saved["gan"])
        data, size, gray, limit = saved["data"], saved["size"], saved["gray"], saved["limit"]
        judge = saved.get("judge_arg")
    cfg = (config or GANConfig()).check()
    dev = resolve_device(device)
    precision = choose_precision(bf16, dev)
    train, test = load_train_test(data, size=size, gray=gray, limit=limit, seed=cfg.seed,
                                  progress=progress)  # fmt: skip
    side, channels = train.shape[0], train.shape[2]
    upsamplings(side)  # a size the generator cannot make: refused before any work
    if cfg.conditional and len(train.classes) < 2:
        raise PixelabError(f"a class-conditional GAN needs at least two classes; {data} has one",
                           hint="train an unconditional one: --unconditional")  # fmt: skip
    check_enough(len(train), cfg.batch_size)  # before the judge trains and the folder is made
    if judge_model is None:
        judge_model = judge_run(data, size=side, channels=channels, classes=train.classes,
                                judge=judge, cache=cache, progress=progress)  # fmt: skip
    judge_model, judge_info = judge_model
    judge_model.to(dev)
    g, d = build(cfg, channels, side, len(train.classes))
    run_config = {"data": str(data), "size": side, "gray": channels == 1, "limit": limit,
                  "judge_arg": None if judge is None else str(judge), "judge": judge_info,
                  "gan": cfg.to_dict(), "classes": train.classes,
                  "train": train.summary(), "test": test.summary()}  # fmt: skip
    with RunDir.create(out, kind="gan", resume=resume, overwrite=overwrite) as rd:
        if not resume:
            rd.write_config(run_config, kind="gan")
        rd.keep_on_error = True
        try:
            return _train_and_report(rd, cfg, g, d, train, test, judge_model, judge_info, dev,
                                     precision, resume, progress)  # fmt: skip
        except KeyboardInterrupt:
            return _interrupted(out, "pixelab gan train")


def _monitor(rd: RunDir, cfg: Any, n_classes: int, judge_model: Any, real_feats: np.ndarray) -> Any:
    """``on_epoch``: a picture of the fixed noise, and the monitor's numbers on fresh samples."""
    import torch

    from pixelab.generate import class_coverage, class_diversity, frechet_distance, sample
    from pixelab.generate.gan import fixed_latents
    from pixelab.generate.judge import judge
    from pixelab.report.generate import mosaic, save_png

    n_grid = _grid_size(cfg, n_classes)
    z_grid = fixed_latents(cfg.latent, n_grid, cfg.seed)
    y_grid = torch.as_tensor(_eval_classes(n_grid, n_classes)) if cfg.conditional else None
    z_eval = torch.randn(MONITOR_SAMPLES, cfg.latent,
                         generator=torch.Generator().manual_seed(cfg.seed * 7919 + 2))  # fmt: skip
    y_eval = torch.as_tensor(_eval_classes(MONITOR_SAMPLES, n_classes)) if cfg.conditional else None

    def on_epoch(epoch: int, generator: Any) -> dict[str, Any]:
        grid = sample(generator, z_grid, y_grid)
        save_png(mosaic(grid, ncols=8 if not cfg.conditional else n_classes, scale=2),
                 rd.figures / "epochs" / f"epoch-{epoch + 1:03d}.png")  # fmt: skip
        feats, pred = judge(judge_model, sample(generator, z_eval, y_eval))
        cov = class_coverage(pred, n_classes)
        groups = pred if y_eval is None else y_eval.numpy()  # the class asked for, or judged
        row = {"diversity": round(class_diversity(feats, groups), 4), "coverage": cov["entropy"],
               "missing_classes": cov["missing"],
               "fid": round(frechet_distance(real_feats, feats), 4)}  # fmt: skip
        if cfg.conditional:
            row["class_consistency"] = round(float((pred == y_eval.numpy()).mean()), 4)
        return row

    return on_epoch


def collapse_warning(
    history: list[dict[str, Any]], real_diversity: float, classes: list[str]
) -> str | None:
    """A sentence when the last epoch's samples cover the classes unevenly or vary much less
    than real images do (the signs of mode collapse); None when neither."""
    last = history[-1]
    signs = []
    if last["coverage"] < MIN_COVERAGE or last["missing_classes"]:
        missing = ", ".join(classes[k] for k in last["missing_classes"]) or "none"
        signs.append(f"class coverage {last['coverage']:.2f} (classes nearly absent: {missing})")
    if last["diversity"] < MIN_DIVERSITY_SHARE * real_diversity:
        signs.append(f"diversity {last['diversity']:.2f} against {real_diversity:.2f} for real "
                     "images")  # fmt: skip
    if not signs:
        return None
    return ("possible mode collapse: " + "; ".join(signs) + ". Try a lower --lr-g, more "
            "epochs, or a conditional GAN")  # fmt: skip


def _train_and_report(
    rd: RunDir, cfg: Any, g: Any, d: Any, train: Any, test: Any, judge_model: Any,
    judge_info: dict[str, Any], dev: Any, precision: dict[str, Any], resume: bool,
    progress: ProgressFn | None,
) -> dict[str, Any]:  # fmt: skip
    import torch

    from pixelab.generate import class_diversity, fit_gan, sample
    from pixelab.generate.gan import fixed_latents, interpolate
    from pixelab.generate.judge import judge
    from pixelab.report.generate import (
        mosaic,
        plot_gan_curves,
        plot_monitor,
        plot_nearest,
        plot_strip,
        save_gif,
        save_png,
    )
    from pixelab.train.checkpoint import has_checkpoint, remove_checkpoints, save_weights

    n_classes = len(train.classes)
    real = quality_reference(train, test)
    real_feats, real_pred = judge(judge_model, real.images)
    real_div = class_diversity(real_feats, real.labels)
    result = fit_gan(g, d, train.images, train.labels, cfg, device=str(dev), checkpoint_dir=rd.path,
                     resume=resume and has_checkpoint(rd.path),
                     on_epoch=_monitor(rd, cfg, n_classes, judge_model, real_feats),
                     bf16=precision["bf16"], progress=progress)  # fmt: skip
    if not result.finished:
        return _interrupted(rd.path, "pixelab gan train")
    q = gan_quality(g, cfg, train, real, judge_model, real_feats=real_feats, real_pred=real_pred)
    quality, fakes, near, sample_seconds = q["quality"], q["fakes"], q["near"], q["sample_seconds"]
    judge_name = judge_info["name"]
    # the model files
    save_weights(rd.path / "generator.safetensors", g.state_dict())
    save_weights(rd.path / "discriminator.safetensors", d.state_dict())
    write_json(rd.path / "gan.json", {"gan": cfg.to_dict(), "classes": train.classes,
                                      "size": train.shape[0], "channels": train.shape[2],
                                      "judge": judge_info})  # fmt: skip
    # the figures
    frames = sorted((rd.figures / "epochs").glob("epoch-*.png"))
    from PIL import Image

    gif = save_gif([np.asarray(Image.open(f)) for f in frames], rd.figures / "training.gif")
    figs = [rd.save_figure(plot_gan_curves(result.history), "losses"),
            rd.save_figure(plot_monitor(result.history, real_diversity=real_div,
                                        judge=judge_name), "monitor")]  # fmt: skip
    n_grid = _grid_size(cfg, n_classes)
    grid = sample(g, fixed_latents(cfg.latent, n_grid, cfg.seed),
                  torch.as_tensor(_eval_classes(n_grid, n_classes)) if cfg.conditional else None)  # fmt: skip
    figs.append(save_png(mosaic(grid, ncols=n_classes if cfg.conditional else 8, scale=3),
                         rd.figures / "samples.png"))  # fmt: skip
    a, b = fixed_latents(cfg.latent, 2, cfg.seed + 1)
    path = interpolate(a, b, 10)
    strip_y = torch.zeros(10, dtype=torch.long) if cfg.conditional else None
    fig = plot_strip(sample(g, path, strip_y),
                     title="from one noise vector to another").figure  # fmt: skip
    figs.append(rd.save_figure(fig, "interpolation"))
    figs.append(rd.save_figure(plot_nearest(fakes[:10], train.images[near["index"][:10]],
                                            near["rms"][:10],
                                            real_rms=quality["real_nearest_training_rms_median"]),
                               "nearest"))  # fmt: skip
    warning = collapse_warning(result.history, real_div, train.classes)
    metrics = {
        "judge": judge_info, "quality": quality,
        "quality_note": f"FID and KID here are measured in the features of {judge_name} "
                        f"({judge_info['model']}, test accuracy {judge_info['accuracy']}), not "
                        "Inception's: compare them only with numbers from the same judge",
        "collapse_warning": warning,
        "epochs": len(result.history), "train_seconds": round(result.train_seconds, 2),
        "precision": precision,
        "sample_images_per_second": round(QUALITY_SAMPLES / max(sample_seconds, 1e-9), 1),
        "n_train": len(train), "n_real_eval": len(real), "conditional": cfg.conditional,
        "history": result.history,
        "figures": [str(Path(f).relative_to(rd.path)) for f in [*figs, gif]],
    }  # fmt: skip
    rd.write_metrics(metrics)
    remove_checkpoints(rd.path)
    return metrics


def quality_reference(train: Any, test: Any) -> Any:
    """The real images generated ones are measured against: the test images (the training
    images when there are fewer than 200), at most ``QUALITY_SAMPLES``."""
    real = test if len(test) >= 200 else train
    return real.subset(np.arange(min(len(real), QUALITY_SAMPLES)))


def gan_quality(
    g: Any, cfg: Any, train: Any, real: Any, judge_model: Any, *,
    real_feats: np.ndarray | None = None, real_pred: np.ndarray | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The quality numbers of generator ``g`` on ``QUALITY_SAMPLES`` fresh samples (every
    class alike), in ``judge_model``'s features against the ``real`` images, and how near
    they lie to the ``train`` images. Returns ``quality``, the samples (``fakes``), their
    nearest training images (``near``, for the first 200) and the ``sample_seconds``."""
    import torch

    from pixelab.generate import class_diversity, frechet_distance, kernel_distance, sample
    from pixelab.generate.judge import judge
    from pixelab.generate.metrics import class_coverage, nearest_training

    n_classes = len(train.classes)
    if real_feats is None or real_pred is None:
        real_feats, real_pred = judge(judge_model, real.images)
    real_div = class_diversity(real_feats, real.labels)
    t0 = time.perf_counter()
    z = torch.randn(QUALITY_SAMPLES, cfg.latent,
                    generator=torch.Generator().manual_seed(cfg.seed * 7919 + 3))  # fmt: skip
    y = torch.as_tensor(_eval_classes(QUALITY_SAMPLES, n_classes)) if cfg.conditional else None
    fakes = sample(g, z, y)
    sample_seconds = time.perf_counter() - t0
    feats, pred = judge(judge_model, fakes)
    kid, kid_std = kernel_distance(real_feats, feats, subsets=50,
                                   subset_size=min(500, len(real_feats)), seed=cfg.seed)  # fmt: skip
    near = nearest_training(fakes[:200], train.images)
    real_near = nearest_training(real.images[:200], train.images)
    quality = {
        "fid_judge": round(frechet_distance(real_feats, feats), 4),
        "fid_real_vs_real": round(frechet_distance(real_feats[::2], real_feats[1::2]), 4),
        "kid_judge": round(kid, 6), "kid_judge_std": round(kid_std, 6),
        "diversity": round(class_diversity(feats, pred if y is None else y.numpy()), 4),
        "real_diversity": round(real_div, 4),
        "coverage": class_coverage(pred, n_classes),
        "real_coverage": class_coverage(real_pred, n_classes),
        "nearest_training_rms_median": round(float(np.median(near["rms"])), 2),
        "real_nearest_training_rms_median": round(float(np.median(real_near["rms"])), 2),
    }  # fmt: skip
    if cfg.conditional:
        quality["class_consistency"] = round(float((pred == y.numpy()).mean()), 4)
    return {"quality": quality, "fakes": fakes, "near": near, "sample_seconds": sample_seconds}


#: The shipped GAN's folder under ``assets/`` and the command that made it (``make
#: gan-weights`` runs it, then :func:`ship_gan`).
SHIPPED_NAME = "gan-fashion-mnist"
SHIPPED_COMMAND = "pixelab gan train --data fashion-mnist --epochs 5 --seed 0"


def ship_gan(run: str | os.PathLike[str], dest: str | os.PathLike[str] | None = None,
             *, command: str = SHIPPED_COMMAND) -> Path:  # fmt: skip
    """Copy a finished GAN run into ``dest`` (default: the package's shipped folder) as a
    small run: both networks in float16, the record, the metrics without the per-epoch
    history, and the picture of the fixed noise after every epoch (the tour shows them)."""
    from pixelab.apps._shipped import ship_run, shipped_folder

    _, rec = load_gan(run)  # refuses anything but a finished GAN run
    frames = sorted((rec["path"] / "figures" / "epochs").glob("epoch-*.png"))
    return ship_run(run, dest if dest is not None else shipped_folder(SHIPPED_NAME),
                    weights=["generator.safetensors", "discriminator.safetensors"],
                    records=["gan.json"],
                    keep=("judge", "quality", "quality_note", "collapse_warning", "epochs",
                          "train_seconds", "n_train", "n_real_eval", "conditional"),
                    made_by={"command": command, "then": f"ship_gan({Path(run).name!r})",
                             "weights": "float16 copies of the averaged generator and of "
                                        "the discriminator"},
                    files=tuple(str(f.relative_to(rec["path"])) for f in frames))  # fmt: skip


def load_gan(run: str | os.PathLike[str], *, device: str = "cpu") -> tuple[Any, dict[str, Any]]:
    """The averaged generator of a finished GAN run (or ``shipped``) and its record (classes,
    size, options), whose ``path`` is the run folder."""
    from pixelab.apps._shipped import resolve_shipped
    from pixelab.generate import GANConfig
    from pixelab.generate.gan import Generator
    from pixelab.train.checkpoint import load_weights

    path = resolve_shipped(run, SHIPPED_NAME)
    _read_config(path, kind="gan")
    if not ((path / "gan.json").is_file() and (path / "metrics.json").is_file()):
        raise PixelabError(f"{path} has no trained generator yet",
                           hint=f"finish training first: pixelab gan train --out {path} --resume")  # fmt: skip
    rec = read_json(path / "gan.json")
    cfg = GANConfig.from_dict(rec["gan"])
    g = Generator(cfg.latent, rec["channels"], rec["size"],
                  len(rec["classes"]) if cfg.conditional else 0, cfg.width)  # fmt: skip
    g.load_state_dict(load_weights(path / "generator.safetensors"))  # float16 -> float32
    return g.to(device).eval(), {**rec, "config": cfg, "path": path}


def gan_sample(
    run: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    n: int = 64,
    cls: str | None = None,
    seed: int = 0,
    device: str = "auto",
) -> dict[str, Any]:
    """``n`` new images from a GAN run (of class ``cls``, or every class in turn), written as
    one grid PNG at ``out`` and returned as uint8 arrays with their classes."""
    import torch

    from pixelab._core.checks import check_positive_int
    from pixelab.generate import sample
    from pixelab.report.generate import mosaic, save_png
    from pixelab.train.loop import resolve_device

    check_positive_int(n, name="--n")
    if n > 10_000:
        raise PixelabError(f"--n {n} is more than one grid can show", hint="at most 10000")
    g, rec = load_gan(run, device=str(resolve_device(device)))
    cfg, classes = rec["config"], rec["classes"]
    y = asked_classes(cls, classes, cfg.conditional, n, what="GAN")
    z = torch.randn(n, cfg.latent, generator=torch.Generator().manual_seed(seed))
    images = sample(g, z, y)
    ncols = len(classes) if (cfg.conditional and cls is None and n >= len(classes)) else 8
    path = save_png(mosaic(images, ncols=ncols, scale=2), out)
    labels = None if y is None else [classes[int(k)] for k in y]
    return {"images": images, "classes": labels, "path": str(path)}


#: Images of each side (real, generated) per detector split, at most.
DETECT_IMAGES = 1000


def gan_detect(
    run: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    n: int = DETECT_IMAGES,
    epochs: int = 3,
    seed: int = 0,
    device: str = "auto",
    overwrite: bool = False,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """ "Which image is real?": the GAN run's discriminator, and a small CNN trained on ``n``
    real training images against ``n`` generated ones, each tell ``n`` held-out real images
    from ``n`` fresh generated ones. Writes a run folder with their accuracies and ROC AUCs, a
    histogram of their scores and a quiz (real and generated mixed, the answers below)."""
    import torch

    from pixelab._core.checks import check_positive_int
    from pixelab.data import load_train_test
    from pixelab.generate import sample
    from pixelab.generate.detect import (
        detection_scores,
        detector_real_scores,
        discriminator_scores,
        train_detector,
    )
    from pixelab.generate.gan import Discriminator
    from pixelab.report.generate import plot_detector_scores, plot_quiz
    from pixelab.train.checkpoint import load_weights
    from pixelab.train.loop import resolve_device

    check_positive_int(n, name="--n", minimum=20)
    check_positive_int(epochs, name="--epochs")
    check_positive_int(seed, name="--seed", minimum=0)
    dev = str(resolve_device(device))
    g, rec = load_gan(run, device=dev)
    cfg, classes, run = rec["config"], rec["classes"], rec["path"]
    saved = _read_config(run, kind="gan")
    d = Discriminator(rec["channels"], rec["size"], len(classes) if cfg.conditional else 0,
                      cfg.width)  # fmt: skip
    d.load_state_dict(load_weights(run / "discriminator.safetensors"))
    d.to(dev).eval()
    train, test = load_train_test(saved["data"], size=saved["size"], gray=saved["gray"],
                                  limit=saved["limit"], seed=cfg.seed, progress=progress)  # fmt: skip
    n_test = min(n, len(test))
    if n_test < 20:
        raise PixelabError(f"the GAN's data has only {len(test)} held-out images; a detector "
                           "needs at least 20 to be measured")  # fmt: skip
    n_train = min(n, len(train))
    rng = np.random.default_rng(seed)
    real_train = train.images[rng.permutation(len(train))[:n_train]]
    pick = rng.permutation(len(test))[:n_test]
    real_test, real_labels = test.images[pick], test.labels[pick]

    def fakes(count: int, stream: int) -> tuple[np.ndarray, np.ndarray | None]:
        gen = torch.Generator().manual_seed(seed * 1009 + stream)
        z = torch.randn(count, cfg.latent, generator=gen)
        y = torch.randint(0, len(classes), (count,), generator=gen) if cfg.conditional else None
        return sample(g, z, y), None if y is None else y.numpy()

    fake_train, _ = fakes(n_train, 1)
    fake_test, fake_labels = fakes(n_test, 2)
    with RunDir.create(out, kind="gan-detect", overwrite=overwrite) as rd:
        rd.write_config({"gan_run": str(run), "n": n, "epochs": epochs, "seed": seed},
                        kind="gan-detect")  # fmt: skip
        d_real = discriminator_scores(d, real_test, real_labels if cfg.conditional else None)
        d_fake = discriminator_scores(d, fake_test, fake_labels)
        cnn = train_detector(real_train, fake_train, epochs=epochs, seed=seed, device=dev,
                             progress=progress)  # fmt: skip
        c_real, c_fake = detector_real_scores(cnn, real_test), detector_real_scores(cnn, fake_test)
        results = {"discriminator": detection_scores(d_real, d_fake, threshold=0.0),
                   "cnn": detection_scores(c_real, c_fake, threshold=0.0)}  # fmt: skip
        # the quiz: 8 real and 8 generated test images in an order fixed by the seed
        order = rng.permutation(16)
        quiz_images = np.concatenate([real_test[:8], fake_test[:8]])[order]
        truth = order < 8
        d_calls = np.r_[d_real[:8], d_fake[:8]][order] > 0
        c_calls = np.r_[c_real[:8], c_fake[:8]][order] > 0
        figs = [rd.save_figure(plot_quiz(quiz_images, truth, {"discriminator": d_calls,
                                                              "small CNN": c_calls}), "quiz"),
                rd.save_figure(plot_detector_scores({"discriminator": (d_real, d_fake),
                                                     "small CNN": (c_real, c_fake)}),
                               "scores")]  # fmt: skip
        from pixelab.report.generate import mosaic, save_png

        figs.append(save_png(mosaic(quiz_images, ncols=4, scale=3), rd.figures / "quiz_only.png"))
        metrics = {
            **results,
            "n_real": n_test, "n_generated": n_test, "n_train_each": n_train,
            "gan_run": str(run),
            "note": "accuracy is the mean of the share of real images called real and of "
                    "generated ones called generated (0.5: a coin toss); AUC is the chance "
                    "that a real image scores as more real than a generated one",
            "quiz": [{"number": i + 1, "real": bool(t), "discriminator_says_real": bool(a),
                      "cnn_says_real": bool(b)}
                     for i, (t, a, b) in enumerate(zip(truth, d_calls, c_calls, strict=True))],
            "figures": [str(Path(f).relative_to(rd.path)) for f in figs],
        }  # fmt: skip
        rd.write_metrics(metrics)
        return metrics
