"""``diffusion inpaint`` and ``diffusion img2img``: a trained denoiser edits a given image
instead of starting from noise. Inpainting keeps the known pixels and fills a region so that it
fits them (RePaint); image-to-image noises the whole image part of the way and denoises it
again, perhaps towards another class (SDEdit). Both write a run folder whose numbers say how
much of the input survived and what the judge sees in the result."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from pixelab._core.errors import PixelabError
from pixelab.data.tensors import signed_to_uint8, to_signed
from pixelab.report import RunDir

#: RePaint's resampling rounds per step unless another number is asked for.
DEFAULT_RESAMPLE = 4


def input_image(source: str, *, index: int = 0) -> tuple[np.ndarray, str]:
    """One uint8 image (H, W, C) at its own size from a file, a sample photo, a built-in
    dataset or a folder (its image ``index``), and a name for it."""
    from pixelab.apps.augment import source_images
    from pixelab.data.folder import read_image

    if Path(source).is_file():
        return read_image(source, mode="RGB"), Path(source).name
    images, name = source_images(source, index=index, count=1)
    return images[0], name


def fit_to_run(image: np.ndarray, rec: dict[str, Any]) -> tuple[np.ndarray, str | None]:
    """``image`` as the run's model sees images (centre square, its size, grey or colour), and
    a sentence saying what was changed (None: nothing)."""
    from pixelab.data.preprocess import ImagePreprocess

    side, channels = rec["size"], rec["channels"]
    fitted = ImagePreprocess(size=side, channels=channels).apply(image)
    h, w, c = image.shape
    if (h, w, c) == fitted.shape:
        return fitted, None
    mode = {1: "grey", 3: "colour"}
    return fitted, (f"converted from {w}x{h} {mode.get(c, c)} to the run's {side}x{side} "
                    f"{mode.get(channels, channels)} (centre square, resized)")  # fmt: skip


def fill_mask(
    shape: tuple[int, int], *, mask: str | None = None, box: str | None = None
) -> np.ndarray:
    """A bool (H, W) mask of the region to fill in an image of ``shape``: a mask image of the
    same size (white or opaque = fill) or a box "x,y,w,h" in the image's pixels."""
    from pixelab.data.folder import read_image

    if (mask is None) == (box is None):
        raise PixelabError("say what to fill: --mask MASK.png or --box x,y,w,h (one of them)")
    h, w = shape
    if mask is not None:
        m = read_image(mask, mode="L")[..., 0]
        if m.shape != (h, w):
            raise PixelabError(f"the mask {Path(mask).name} is {m.shape[1]}x{m.shape[0]} pixels, "
                               f"the image {w}x{h}", hint="draw the mask at the image's size")  # fmt: skip
        region = m > 127
    else:
        try:
            x, y, bw, bh = (int(v) for v in box.split(","))
        except ValueError:
            raise PixelabError(f"--box must be x,y,w,h in whole pixels, got {box!r}") from None
        if bw <= 0 or bh <= 0 or x < 0 or y < 0 or x >= w or y >= h:
            raise PixelabError(f"--box {box} is not a box inside the {w}x{h} image",
                               hint="x,y is its top left corner; w,h are positive")  # fmt: skip
        region = np.zeros((h, w), bool)
        region[y : y + bh, x : x + bw] = True
    if not region.any():
        raise PixelabError("the mask marks nothing to fill", hint="white marks the region to fill")
    if region.all():
        raise PixelabError("the mask marks the whole image: nothing is kept to fit the fill to",
                           hint="for a new image use pixelab diffusion sample")  # fmt: skip
    return region


def _region_at_run_size(region: np.ndarray, rec: dict[str, Any]) -> np.ndarray:
    from pixelab.data.preprocess import ImagePreprocess

    small = ImagePreprocess(size=rec["size"], channels=1).apply(
        region[..., None].astype(np.uint8) * 255
    )
    out = small[..., 0] > 127
    if not out.any() or out.all():
        what = "nothing" if not out.any() else "all"
        raise PixelabError(f"at the model's {rec['size']}x{rec['size']} pixels the mask covers {what} "
                           "of the image", hint="mark a larger (or smaller) region")  # fmt: skip
    return out


def run_judge(
    rec: dict[str, Any], judge_model: tuple[Any, dict[str, Any]] | None = None, *,
    remake: bool = False, progress: Any = None,
) -> tuple[Any, dict[str, Any]] | None:  # fmt: skip
    """The judge of a diffusion run's images as (network, what reports name it by):
    ``judge_model`` when given, else the one the run was measured with; when that run is gone
    (a shipped run, a moved cache), pixelab's own cached judge of the data if ``remake``
    (trained once when missing), else None."""
    from pixelab.apps.cnn import _read_config, load_run_model
    from pixelab.apps.gan import judge_run

    if judge_model is not None:
        return judge_model
    info = rec.get("judge") or {}
    if info.get("run") and (Path(info["run"]) / "metrics.json").is_file():
        return load_run_model(info["run"], device="cpu")[0], info
    if not remake:
        return None
    data = _read_config(rec["path"], kind="diffusion")["data"]
    return judge_run(data, size=rec["size"], channels=rec["channels"], classes=rec["classes"],
                     progress=progress)  # fmt: skip


def _judged(judged_by: Any, images: np.ndarray, classes: list[str]) -> list[str] | None:
    from pixelab.generate.judge import judge

    if judged_by is None:
        return None
    return [classes[int(k)] for k in judge(judged_by[0], images)[1]]


def _edit_eps(model: Any, cfg: Any, y: Any, guidance: float | None, n: int) -> Any:
    """The noise predictor of an edit: guided towards ``y`` when a class was asked for, else
    the model's own "no class" prediction (a conditional run) or its only one."""
    import torch

    from pixelab.apps.diffusion import DEFAULT_GUIDANCE
    from pixelab.generate.diffusion import guided_eps

    if y is None:
        if guidance is not None:
            raise PixelabError("--guidance steers towards a class: give --class or --prompt too")
        if cfg.conditional:
            return guided_eps(model, 0.0, torch.zeros(n, dtype=torch.long))
        return guided_eps(model, 1.0, None)
    return guided_eps(model, DEFAULT_GUIDANCE if guidance is None else guidance, y)


def _prepare(run: Any, image: np.ndarray, n: int, cls: str | None, prompt: str | None,
             guidance: float | None, device: str) -> tuple[Any, ...]:  # fmt: skip
    """What both edits start from: the device, the run's record and classes, ``image`` fitted
    to the run (and what was converted), the class asked, its noise predictor, the schedule
    and the image as ``n`` signed tensors."""
    import torch

    from pixelab.apps.diffusion import load_diffusion, requested_classes
    from pixelab.generate.diffusion import NoiseSchedule
    from pixelab.train.loop import resolve_device

    dev = str(resolve_device(device))
    model, rec = load_diffusion(run, device=dev)
    if rec.get("latent"):
        raise PixelabError(f"{rec['path']} denoises a VAE's codes, not pixels: inpainting and "
                           "img2img here keep or start from exact pixels",
                           hint="use a run trained without --vae (e.g. shipped)")  # fmt: skip
    cfg, classes = rec["config"], rec["classes"]
    fitted, converted = fit_to_run(image, rec)
    y, matched = requested_classes(cls, prompt, classes, cfg.conditional, n,
                                   rec.get("attributes"))  # fmt: skip
    eps_fn = _edit_eps(model, cfg, y, guidance, n)
    x0 = to_signed(torch.from_numpy(fitted).permute(2, 0, 1)[None]).expand(n, -1, -1, -1)
    return (dev, rec, classes, fitted, converted, matched, eps_fn,
            NoiseSchedule(cfg.schedule, cfg.steps), x0)  # fmt: skip


def _psnr(a: np.ndarray, b: np.ndarray) -> float | None:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return None if mse == 0 else round(10 * np.log10(255**2 / mse), 2)


def diffusion_inpaint(
    run: str | os.PathLike[str],
    source: str,
    out: str | os.PathLike[str],
    *,
    mask: str | None = None,
    box: str | None = None,
    index: int = 0,
    n: int = 4,
    cls: str | None = None,
    prompt: str | None = None,
    steps: int = 50,
    resample: int = DEFAULT_RESAMPLE,
    guidance: float | None = None,
    seed: int = 0,
    device: str = "auto",
    judge_model: tuple[Any, dict[str, Any]] | None = None,
    overwrite: bool = False,
    progress: Any = None,
) -> dict[str, Any]:
    """Fill the masked region of ``source`` ``n`` ways with the run's denoiser, keeping every
    other pixel exactly (RePaint: DDPM steps, each redone ``resample`` times). The run folder
    holds the original, the masked input and the fills side by side (and the same fills
    without resampling, the plain "replace the known part" method, for contrast) and
    metrics.json with the kept pixels' largest change (0) and the judge's reading of each."""
    import torch

    from pixelab._core.checks import check_positive_int
    from pixelab.generate.diffusion import sample_loop
    from pixelab.report import figures as F

    check_positive_int(n, name="--n")
    if n > 64:
        raise PixelabError(f"--n {n} is more fills than one figure shows", hint="at most 64")
    check_positive_int(resample, name="--resample")
    image, name = input_image(source, index=index)
    region = fill_mask(image.shape[:2], mask=mask, box=box)
    dev, rec, classes, fitted, converted, matched, eps_fn, schedule, x0 = _prepare(
        run, image, n, cls, prompt, guidance, device)  # fmt: skip
    small = _region_at_run_size(region, rec)
    keep = torch.from_numpy(~small).float()[None, None]
    shape = (n, rec["channels"], rec["size"], rec["size"])
    fills: dict[int, np.ndarray] = {}
    for rounds in dict.fromkeys([resample, 1]):
        x, _ = sample_loop(eps_fn, shape, schedule, steps=steps, sampler="ddpm", seed=seed,
                           device=dev, known=x0, mask=keep, resample=rounds,
                           progress=progress)  # fmt: skip
        fills[rounds] = signed_to_uint8(x)
    result = fills[resample]
    kept = ~small
    changed = int(np.abs(result.astype(int) - fitted[None].astype(int))[:, kept].max())
    judge_net = run_judge(rec, judge_model)
    with RunDir.create(out, kind="diffusion-inpaint", overwrite=overwrite) as rd:
        rd.write_config({"run": str(run), "source": source, "index": index, "mask": mask,
                         "box": box, "n": n, "class": cls, "prompt": prompt, "steps": steps,
                         "resample": resample, "guidance": guidance, "seed": seed},
                        kind="diffusion-inpaint")  # fmt: skip
        shown = fitted.copy()
        shown[small] = 128
        rows = [("input", [fitted, shown]), (f"RePaint x{resample}", list(result))]
        if resample > 1:
            rows.append(("no resampling", list(fills[1])))
        cells, labels = [], []
        ncols = max(n, 2)
        for label, row in rows:
            row = row + [None] * (ncols - len(row))
            cells += row
            labels.append(label)
        titles = ["image", "to fill"] + [""] * (ncols - 2) + [f"fill {k + 1}" for k in range(ncols)]
        titles += [""] * (len(cells) - len(titles))
        fig = F.image_grid(cells, ncols=ncols, titles=titles, row_labels=labels, cell=1.5,
                           suptitle=f"{name}: the grey region filled by the denoiser")  # fmt: skip
        figs = [rd.save_figure(fig, "inpaint")]
        metrics = {
            "source": name, "converted": converted, "fill_share": round(float(small.mean()), 4),
            "kept_pixels_max_change": changed, "n": n, "steps": steps, "resample": resample,
            "network_calls": steps * resample - (resample - 1),
            "class": matched.get("name") if matched else None, "prompt": matched,
            "fill_psnr_vs_original": [_psnr(f[small], fitted[small]) for f in result],
            "judged": _judged(judge_net, result, classes),
            "judged_without_resampling": _judged(judge_net, fills[1], classes) if resample > 1 else None,
            "judged_original": (_judged(judge_net, fitted[None], classes) or [None])[0],
            "judged_by": None if judge_net is None else judge_net[1].get("name"),
            "note": "the fill is the model's guess, not a reconstruction: PSNR against the "
                    "original only says how close the guess came",
            "figures": [str(Path(f).relative_to(rd.path)) for f in figs],
        }  # fmt: skip
        rd.write_metrics(metrics)
    return {**metrics, "images": result, "path": str(out)}


def diffusion_img2img(
    run: str | os.PathLike[str],
    source: str,
    out: str | os.PathLike[str],
    *,
    strengths: list[float] | None = None,
    index: int = 0,
    n: int = 4,
    cls: str | None = None,
    prompt: str | None = None,
    steps: int = 50,
    guidance: float | None = None,
    seed: int = 0,
    device: str = "auto",
    judge_model: tuple[Any, dict[str, Any]] | None = None,
    overwrite: bool = False,
    progress: Any = None,
) -> dict[str, Any]:
    """Noise ``source`` to each of ``strengths`` (0: untouched, 1: pure noise) and denoise it
    ``n`` ways, towards class ``cls`` (or ``prompt``) if one is given (SDEdit). The run folder
    shows one row per strength; metrics.json gives per strength the PSNR against the input (how
    much of it survived) and the share the judge reads as the asked (or the input's) class."""

    from pixelab._core.checks import check_positive_int
    from pixelab.generate.diffusion import sample_loop
    from pixelab.report import figures as F

    strengths = [0.3, 0.5, 0.7] if strengths is None else list(strengths)
    if not strengths or len(strengths) > 8:
        raise PixelabError("--strength takes one to eight values between 0 and 1")
    for s in strengths:
        if not 0 <= s <= 1:
            raise PixelabError(f"--strength must lie in [0, 1], got {s}",
                               hint="0 keeps the image, 1 starts from pure noise")  # fmt: skip
    check_positive_int(n, name="--n")
    if n > 16:
        raise PixelabError(f"--n {n} is more images per strength than one figure shows",
                           hint="at most 16")  # fmt: skip
    image, name = input_image(source, index=index)
    dev, rec, classes, fitted, converted, matched, eps_fn, schedule, x0 = _prepare(
        run, image, n, cls, prompt, guidance, device)  # fmt: skip
    shape = (n, rec["channels"], rec["size"], rec["size"])
    judge_net = run_judge(rec, judge_model)
    original_class = (_judged(judge_net, fitted[None], classes) or [None])[0]
    target = (matched or {}).get("name") or original_class  # a prompt may name no class
    rows, per = [], []
    for s in strengths:
        x, _ = sample_loop(eps_fn, shape, schedule, steps=steps, seed=seed, device=dev, init=x0,
                           strength=s, progress=progress)  # fmt: skip
        made = signed_to_uint8(x)
        rows.append(made)
        judged = _judged(judge_net, made, classes)
        psnrs = [_psnr(m, fitted) for m in made]
        finite = [p for p in psnrs if p is not None]
        per.append({"strength": s, "denoising_steps": round(steps * s),
                    "psnr_vs_input": round(float(np.median(finite)), 2) if finite else None,
                    "identical_to_input": sum(p is None for p in psnrs),
                    "judged": judged,
                    "share_judged_target": None if judged is None or target is None
                    else round(sum(j == target for j in judged) / n, 4)})  # fmt: skip
    with RunDir.create(out, kind="diffusion-img2img", overwrite=overwrite) as rd:
        rd.write_config({"run": str(run), "source": source, "index": index, "n": n,
                         "strengths": strengths, "class": cls, "prompt": prompt, "steps": steps,
                         "guidance": guidance, "seed": seed}, kind="diffusion-img2img")  # fmt: skip
        ncols = n + 1
        cells, titles = [], []
        for made in rows:
            cells += [fitted, *made]
            titles += ["input" if not titles else "", *[""] * n]
        fig = F.image_grid(cells, ncols=ncols, titles=titles, cell=1.5,
                           row_labels=[f"strength {s:g}" for s in strengths],
                           suptitle=f"{name} noised part of the way and denoised"
                                    + (f" towards {matched.get('prompt') or target}"
                                       if matched else ""))  # fmt: skip
        figs = [rd.save_figure(fig, "img2img")]
        metrics = {
            "source": name, "converted": converted, "class": target if matched else None,
            "prompt": matched, "judged_input": original_class, "target": target,
            "judged_by": None if judge_net is None else judge_net[1].get("name"),
            "strengths": per, "steps": steps,
            "note": "strength s noises the image to the s share of the schedule and denoises "
                    "it with s x steps network calls: 0 keeps it, 1 forgets it",
            "figures": [str(Path(f).relative_to(rd.path)) for f in figs],
        }  # fmt: skip
        rd.write_metrics(metrics)
    return {**metrics, "images": np.stack(rows), "path": str(out)}
