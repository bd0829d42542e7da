"""Invariance sweeps: accuracy and confidence as one change to the images grows.

A factor (translate, rotate, scale, ...) is an augmentation op of :mod:`pixelab.augment` at
exact amounts in a unit a person reads (pixels, degrees, times the size). The corruption of
each amount is drawn from (seed, factor, amount, batch) alone, never from the model, so every
model swept with the same seed sees exactly the same changed images.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from pixelab._core.errors import PixelabError
from pixelab._core.progress import ProgressFn, report


@dataclasses.dataclass(frozen=True)
class Factor:
    """One kind of change: the op, the amounts swept (``neutral`` is the unchanged image) and
    how an amount becomes the op's value for images of a given side."""

    name: str
    op: str
    unit: str
    amounts: tuple[float, ...]
    neutral: float = 0.0
    to_value: Callable[[float, int], float] = lambda a, side: a

    def value(self, amount: float, side: int) -> float:
        """The op's strength for ``amount`` on images whose shorter side is ``side`` pixels."""
        return self.to_value(amount, side)


#: The factors ``robust sweep`` knows, with the amounts it sweeps by default.
FACTORS: dict[str, Factor] = {
    f.name: f
    for f in (
        Factor("translate", "translate", "pixels", (0, 1, 2, 3, 4, 6, 8),
               to_value=lambda a, side: a / side),
        Factor("rotate", "rotate", "degrees", (0, 15, 30, 45, 90, 135, 180)),
        Factor("scale", "scale", "times the size", (0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5),
               neutral=1.0, to_value=lambda a, side: a - 1),
        Factor("brightness", "brightness", "times the light", (0.25, 0.5, 0.75, 1.0, 1.5, 2.0),
               neutral=1.0, to_value=lambda a, side: a - 1),
        Factor("contrast", "contrast", "times the contrast", (0.25, 0.5, 0.75, 1.0, 1.5, 2.0),
               neutral=1.0, to_value=lambda a, side: a - 1),
        Factor("occlude", "erase", "share of the image covered", (0, 0.1, 0.2, 0.3, 0.4, 0.5)),
        Factor("noise", "noise", "noise standard deviation", (0, 0.05, 0.1, 0.2, 0.3, 0.5)),
        Factor("blur", "blur", "blur radius, pixels", (0, 0.5, 1, 1.5, 2, 3)),
    )
}  # fmt: skip


def _factor(name: str) -> Factor:
    if name not in FACTORS:
        raise PixelabError(
            f"unknown sweep factor {name!r}", hint=f"choose from: {', '.join(FACTORS)}"
        )
    return FACTORS[name]


def corrupt(
    images: np.ndarray, factor: str, amount: float, *, seed: int = 0, start: int = 0
) -> Any:
    """uint8 images ``(N, H, W, C)`` changed by ``factor`` at ``amount``, as a float batch
    ``(N, C, H, W)`` in [0, 1]. ``start`` (the batch's position in the whole set) keeps the
    randomness of each image the same however the set is cut into batches of one size."""
    from pixelab.augment import get_op, to_float

    f = _factor(factor)
    side = int(min(images.shape[1:3]))
    value = _checked_value(f, float(amount), side)
    op = get_op(f.op, abs(value))
    key = [seed, zlib.crc32(factor.encode()), zlib.crc32(f"{amount:g}".encode()), start]
    rng = np.random.default_rng(key)
    x = to_float(images)
    params = op.sample(rng, len(x), value=value)
    return op.apply(x, params)


def change(
    images: np.ndarray,
    *,
    rotate: float = 0.0,
    shift: tuple[float, float] = (0.0, 0.0),
    scale: float = 1.0,
    brightness: float = 1.0,
    occlude: float = 0.0,
    occlude_at: tuple[float, float] = (0.5, 0.5),
    fill: float = 0.5,
) -> Any:
    """uint8 images ``(N, H, W, C)`` changed by several sweep factors at once, at chosen amounts
    and places, as a float batch ``(N, C, H, W)`` in [0, 1]: what the studio's sliders show.

    Amounts are in the units of :data:`FACTORS` and checked the same way: ``rotate`` degrees,
    ``shift`` pixels (across, down), ``scale`` times the size, ``brightness`` times the light,
    ``occlude`` the share of the image covered by a square of grey ``fill``, centred at
    ``occlude_at`` (shares of the width and height). What a sweep draws at random (which way a
    shift goes, where the cover lies and how grey it is) is given here instead. The geometric
    changes (scale, then turn, then shift) are one resampling. A turn, zoom or light change
    alone is exactly :func:`corrupt`'s at that amount, a shift too when it goes the way
    corrupt's seed drew; the neutral amounts leave the images as they are.
    """
    from pixelab.augment import get_op, to_float
    from pixelab.augment.geometric import compose, warp_affine

    x = to_float(images)
    n, side = len(x), int(min(images.shape[1:3]))
    if len(occlude_at) != 2 or not all(0 <= v <= 1 for v in (*occlude_at, fill)):
        raise PixelabError(f"occlude_at and fill must be shares in [0, 1], got {occlude_at!r} "
                           f"and {fill!r}")  # fmt: skip

    def op_params(name: str, amount: float, **params: float) -> tuple[Any, dict[str, Any]]:
        f = _factor(name)
        value = _checked_value(f, float(amount), side)
        given = params or {"amount": value}
        return get_op(f.op, abs(value)), {k: np.full(n, float(v)) for k, v in given.items()}

    warps = []
    dx, dy = (_checked_value(FACTORS["translate"], float(a), side) for a in shift)
    for name, amount, params in (("scale", scale, {}), ("rotate", rotate, {}),
                                 ("translate", max(abs(shift[0]), abs(shift[1])),
                                  {"dx": dx, "dy": dy})):  # fmt: skip
        if amount != FACTORS[name].neutral:
            op, p = op_params(name, amount, **params)
            warps.append(op.transform(p, x))
    if warps:
        fused = warps[0]
        for then in warps[1:]:
            fused = compose(fused, then)
        x = warp_affine(x, *fused)
    if brightness != FACTORS["brightness"].neutral:
        op, p = op_params("brightness", brightness)
        x = op.apply(x, p)
    if occlude != FACTORS["occlude"].neutral:
        side_share = float(np.sqrt(_checked_value(FACTORS["occlude"], float(occlude), side)))
        op, p = op_params("occlude", occlude, cx=occlude_at[0], cy=occlude_at[1], w=side_share,
                          h=side_share, fill=fill)  # fmt: skip
        x = op.apply(x, p)
    return x


def _checked_value(f: Factor, amount: float, side: int) -> float:
    """The op's value for ``amount``; an amount the images cannot take is one clear error."""
    value = f.value(amount, side)
    if abs(value) > _limit(f.op) + 1e-9:
        raise PixelabError(
            f"{f.name} {amount:g} ({f.unit}) is more than these {side}-pixel images can take",
            hint=f"the largest is {_largest(f, side):g}",
        )
    return value


def _limit(op: str) -> float:
    from pixelab.augment import OPS

    return OPS[op].limit


def _largest(f: Factor, side: int) -> float:
    """The largest amount of ``f`` the op accepts for ``side``-pixel images."""
    limit = _limit(f.op)
    if f.name == "translate":
        return limit * side
    return limit + f.neutral


def sweep(
    predict: Callable[[Any], Any],
    images: np.ndarray,
    labels: np.ndarray,
    factor: str,
    *,
    amounts: tuple[float, ...] | None = None,
    seed: int = 0,
    batch_size: int = 500,
    progress: ProgressFn | None = None,
) -> list[dict[str, float]]:
    """Accuracy and mean confidence (the top class's probability) at each amount of ``factor``.

    ``predict`` maps a float batch ``(B, C, H, W)`` to class probabilities ``(B, K)`` (a
    NumPy array or tensor). Returns one row per amount: amount, accuracy, confidence.
    """
    f = _factor(factor)
    amounts = f.amounts if amounts is None else tuple(amounts)
    if not amounts:
        raise PixelabError(f"no amounts to sweep for {factor}")
    side = int(min(images.shape[1:3]))
    for a in amounts:  # every amount checked before any work
        _checked_value(f, float(a), side)
    rows = []
    for k, a in enumerate(amounts):
        correct, confidence = 0, 0.0
        for start in range(0, len(images), batch_size):
            x = corrupt(images[start : start + batch_size], factor, a, seed=seed, start=start)
            probs = np.asarray(predict(x))
            correct += int((probs.argmax(1) == labels[start : start + batch_size]).sum())
            confidence += float(probs.max(1).sum())
        rows.append({"amount": float(a), "accuracy": round(correct / len(images), 4),
                     "confidence": round(confidence / len(images), 4)})  # fmt: skip
        report(progress, f"sweep {factor}", k + 1, len(amounts))
    return rows
