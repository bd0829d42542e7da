"""The lecture's challenges of vision as corruption families, five severities each.

viewpoint (a turn and a perspective tilt), deformation (elastic bends), occlusion (a covering
patch or a fence), illumination (flatter contrast, a gamma shift, darker light falling off
across the image), scale (zoomed out or in), clutter (another scene behind the object where its
mask is known, else blended over it), plus noise and blur. Intra-class variation is a property
of a dataset, not a change to an image: on ``shapes`` it is measured on new images drawn with
more variety than training saw (:func:`intra_class_suite`), elsewhere it is reported as not
applicable. Every corruption comes from (seed, family, severity, batch position) alone, so every
model measured with one seed sees exactly the same images; a fingerprint of them is returned so
that this can be checked.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from pixelab._core.errors import PixelabError
from pixelab._core.progress import ProgressFn, report
from pixelab.augment import get_op, to_float

SEVERITIES = (1, 2, 3, 4, 5)


def _signed(rng: np.random.Generator, n: int, value: float) -> np.ndarray:
    return value * rng.choice([-1.0, 1.0], n)


def _viewpoint(x: torch.Tensor, s: int, rng: np.random.Generator) -> torch.Tensor:
    turn = get_op("rotate", 180)
    x = turn.apply(x, {"amount": _signed(rng, len(x), (5, 10, 20, 30, 45)[s - 1])})
    tilt = get_op("perspective", 1)
    return tilt.apply(x, tilt.sample(rng, len(x), value=(0.05, 0.1, 0.15, 0.25, 0.35)[s - 1]))


def _deformation(x: torch.Tensor, s: int, rng: np.random.Generator) -> torch.Tensor:
    bend = get_op("elastic", 0.25)
    return bend.apply(x, bend.sample(rng, len(x), value=(0.02, 0.04, 0.06, 0.09, 0.12)[s - 1]))


def _fence(x: torch.Tensor, share: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
    """Bars across the image, upright or lying, covering ``share`` of it: a fence or railing
    seen through (period a third of the side, bars whole pixels wide, phase and grey random)."""
    n, _, h, w = x.shape
    period = max(4, min(h, w) // 3)
    coords = torch.arange(max(h, w))
    out = x.clone()
    for i in range(n):
        upright = bool(rng.random() < 0.5)
        phase, grey = int(rng.integers(0, period)), float(rng.uniform(0.2, 0.8))
        width = min(period - 1, max(1, round(float(share[i]) * period)))
        bars = ((coords + phase) % period) < width
        covered = bars[:w][None, :].expand(h, w) if upright else bars[:h][:, None].expand(h, w)
        out[i][:, covered.to(x.device)] = grey
    return out


def _occlusion(x: torch.Tensor, s: int, rng: np.random.Generator) -> torch.Tensor:
    """Half the images behind one patch (random erasing), half behind a fence; either covers
    5 ... 40 % of the image."""
    share = (0.05, 0.1, 0.2, 0.3, 0.4)[s - 1]
    patch = get_op("erase", 0.9)
    patched = patch.apply(x, patch.sample(rng, len(x), value=share))
    fenced = _fence(x, np.full(len(x), share), rng)
    use_fence = torch.as_tensor(rng.random(len(x)) < 0.5, device=x.device)[:, None, None, None]
    return torch.where(use_fence, fenced, patched)


def _illumination(x: torch.Tensor, s: int, rng: np.random.Generator) -> torch.Tensor:
    """Flatter, differently exposed and dimmer light: contrast x 0.9 ... 0.5, a gamma of
    1.1 ... 1.7 or its inverse (deep or washed-out mid-tones), brightness x 0.85 ... 0.3, and
    a shadow across the image from a random side (down to 1 - 0.15 s at the far edge)."""
    n, _, h, w = x.shape
    contrast = (0.9, 0.8, 0.7, 0.6, 0.5)[s - 1]
    gamma = (1.1, 1.2, 1.35, 1.5, 1.7)[s - 1] ** rng.choice([-1.0, 1.0], n)
    mean = x.mean((1, 2, 3), keepdim=True)
    x = (mean + (x - mean) * contrast).clamp(0, 1)
    x = x ** torch.as_tensor(gamma, dtype=x.dtype, device=x.device)[:, None, None, None]
    light = (0.85, 0.7, 0.55, 0.4, 0.3)[s - 1]
    angle = torch.as_tensor(rng.uniform(0, 2 * np.pi, n), dtype=x.dtype)
    ys = torch.linspace(-1, 1, h, dtype=x.dtype)[None, :, None]
    xs = torch.linspace(-1, 1, w, dtype=x.dtype)[None, None, :]
    along = (xs * torch.cos(angle)[:, None, None] + ys * torch.sin(angle)[:, None, None]) / 2
    shadow = 1 - 0.15 * s * (along + 0.5).clamp(0, 1)
    return (x * light * shadow[:, None].to(x.device)).clamp(0, 1)


def _scale(x: torch.Tensor, s: int, rng: np.random.Generator) -> torch.Tensor:
    zoom = get_op("scale", 0.9)
    return zoom.apply(x, {"amount": _signed(rng, len(x), (0.1, 0.2, 0.3, 0.4, 0.5)[s - 1])})


def _clutter(
    x: torch.Tensor, s: int, rng: np.random.Generator, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """A busy scene: another image of the set, mirrored and moved, as the background. Where the
    object's mask is known it replaces the background (20 ... 100 % of the way) and the object
    stays whole; elsewhere it is blended over everything at 10 ... 50 %."""
    other = torch.roll(x, shifts=int(rng.integers(1, max(2, len(x)))), dims=0).flip(-1)
    h, w = x.shape[-2:]
    other = torch.roll(
        other, shifts=(int(rng.integers(0, h)), int(rng.integers(0, w))), dims=(2, 3)
    )
    if mask is not None:
        alpha = (0.2, 0.4, 0.6, 0.8, 1.0)[s - 1]
        behind = (1 - alpha) * x + alpha * other
        return torch.where(mask, x, behind)
    alpha = (0.1, 0.2, 0.3, 0.4, 0.5)[s - 1]
    return (1 - alpha) * x + alpha * other


def _noise(x: torch.Tensor, s: int, rng: np.random.Generator) -> torch.Tensor:
    op = get_op("noise", 1)
    return op.apply(x, op.sample(rng, len(x), value=(0.04, 0.08, 0.12, 0.18, 0.26)[s - 1]))


def _blur(x: torch.Tensor, s: int, rng: np.random.Generator) -> torch.Tensor:
    op = get_op("blur", 10)
    return op.apply(x, op.sample(rng, len(x), value=(0.5, 0.75, 1.0, 1.5, 2.0)[s - 1]))


#: family -> (what it stands for, the corruption at severity s).
FAMILIES: dict[
    str, tuple[str, Callable[[torch.Tensor, int, np.random.Generator], torch.Tensor]]
] = {
    "viewpoint": ("seen from another angle: turned and tilted", _viewpoint),
    "deformation": ("bent like cloth or a rubber sheet", _deformation),
    "occlusion": ("partly covered by a patch or a fence", _occlusion),
    "illumination": ("in flatter, dimmer, uneven light", _illumination),
    "scale": ("smaller or larger than usual", _scale),
    "clutter": ("in a busy scene: other things behind it (blended in where no mask)", _clutter),
    "noise": ("grainy, as from a cheap sensor", _noise),
    "blur": ("out of focus", _blur),
}
#: Challenges of the lecture that are not a change to one image.
NOT_APPLICABLE = {"intra-class variation": "a property of the dataset (the classes' variety), "
                  "not a change to an image; measured on shapes only"}  # fmt: skip
#: The family measured on ``shapes`` only: new images with more variety within each class.
INTRA_CLASS = "intra-class"
INTRA_CLASS_MEANS = "drawn with more variety within each class than training saw"
#: shapes' ``intra_class`` knob at severities 1-5 (its default data, what training saw: 0.4).
INTRA_CLASS_LEVELS = (0.5, 0.625, 0.75, 0.875, 1.0)


def intra_class_suite(
    predict: Callable[[torch.Tensor], Any],
    preprocess: Any,
    classes: list[str],
    n: int,
    *,
    seed: int = 0,
    batch_size: int = 500,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Accuracy on ``n`` new ``shapes`` images (every class alike) at each intra-class severity,
    prepared by ``preprocess`` as the run's images were; every other knob as in the default
    set. Same seed, same images: {"accuracy": [5 values], "fingerprint", "levels"}."""
    from pixelab.data.shapes import ShapesConfig, make_shapes

    draw_seed = int(np.random.default_rng([seed, zlib.crc32(INTRA_CLASS.encode())]).integers(2**31))
    accs, digest = [], hashlib.sha256()
    for k, level in enumerate(INTRA_CLASS_LEVELS):
        cfg = ShapesConfig(classes=tuple(classes), n_per_class=max(1, n // len(classes)),
                           intra_class=level, seed=draw_seed)  # fmt: skip
        # grey, as the built-in data is: ``preprocess`` makes colour of it as it did for training
        ds = make_shapes(cfg)
        images = np.stack([preprocess.apply(im) for im in ds.images])
        digest.update(images.tobytes())
        correct = 0
        for start in range(0, len(images), batch_size):
            pred = np.asarray(predict(to_float(images[start : start + batch_size]))).argmax(1)
            correct += int((pred == ds.labels[start : start + batch_size]).sum())
        accs.append(round(correct / len(images), 4))
        report(progress, "intra-class", k + 1, len(INTRA_CLASS_LEVELS))
    return {"accuracy": accs, "fingerprint": digest.hexdigest()[:16],
            "levels": list(INTRA_CLASS_LEVELS)}  # fmt: skip


def corrupt_family(
    images: np.ndarray,
    family: str,
    severity: int,
    *,
    seed: int = 0,
    start: int = 0,
    masks: np.ndarray | None = None,
) -> torch.Tensor:
    """uint8 images (N, H, W, C) through ``family`` at ``severity`` (1-5), as floats in [0, 1].

    ``masks`` (bool (N, H, W), the object's pixels, as ``shapes`` has) lets clutter go behind
    the object instead of over it."""
    if family not in FAMILIES:
        raise PixelabError(
            f"unknown challenge {family!r}", hint=f"choose from: {', '.join(FAMILIES)}"
        )
    if severity not in SEVERITIES:
        raise PixelabError(f"severity must be one of 1-5, got {severity!r}")
    rng = np.random.default_rng([seed, zlib.crc32(family.encode()), severity, start])
    x = to_float(images)
    with torch.no_grad():
        if family == "clutter" and masks is not None:
            if masks.shape != images.shape[:3]:
                raise PixelabError(f"masks must be shaped {images.shape[:3]}, got {masks.shape}")
            mask = torch.from_numpy(np.asarray(masks, bool))[:, None].to(x.device)
            return _clutter(x, severity, rng, mask).clamp(0, 1)
        return FAMILIES[family][1](x, severity, rng).clamp(0, 1)


def challenge_suite(
    predict: Callable[[torch.Tensor], Any],
    images: np.ndarray,
    labels: np.ndarray,
    families: tuple[str, ...] = tuple(FAMILIES),
    *,
    seed: int = 0,
    batch_size: int = 500,
    masks: np.ndarray | None = None,
    done: dict[str, Any] | None = None,
    on_family: Callable[[str, dict[str, Any]], None] | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Accuracy per family and severity: {family: {"accuracy": [5 values], "fingerprint"}}.

    ``predict`` maps a float batch to class probabilities or logits; ``masks`` (the objects'
    pixels, where known) put clutter behind the objects; ``done`` holds families measured
    before (kept as they are); ``on_family`` is called after each new one.
    """
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise PixelabError(f"unknown challenge {unknown[0]!r}",
                           hint=f"choose from: {', '.join(FAMILIES)}")  # fmt: skip
    results = dict(done or {})
    todo = [f for f in families if f not in results]
    for k, family in enumerate(todo):
        accs, digest = [], hashlib.sha256()
        for s in SEVERITIES:
            correct = 0
            for start in range(0, len(images), batch_size):
                part = slice(start, start + batch_size)
                x = corrupt_family(images[part], family, s, seed=seed, start=start,
                                   masks=None if masks is None else masks[part])  # fmt: skip
                digest.update((x * 255).round().to(torch.uint8).numpy().tobytes())
                pred = np.asarray(predict(x)).argmax(1)
                correct += int((pred == labels[start : start + batch_size]).sum())
            accs.append(round(correct / len(images), 4))
        results[family] = {"accuracy": accs, "fingerprint": digest.hexdigest()[:16]}
        if on_family is not None:
            on_family(family, results[family])
        report(progress, "challenges", k + 1, len(todo))
    return {f: results[f] for f in families}


def corruption_errors(model: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """ImageNet-C's corruption error: per family, the model's errors summed over severities over
    the baseline's; mCE is their mean (below 1: more robust than the baseline)."""
    ce = {}
    for family, res in model.items():
        if family not in baseline:
            continue
        err = sum(1 - a for a in res["accuracy"])
        base = sum(1 - a for a in baseline[family]["accuracy"])
        ce[family] = round(err / base, 4) if base > 0 else None
    values = [v for v in ce.values() if v is not None]
    return {"ce": ce, "mce": round(float(np.mean(values)), 4) if values else None}
