"""Policies: a chain of ops written as a string (``"rotate:30,erase:0.25,mixup:0.2"``).

A policy samples every op's parameters for a batch at once (``policy.sample(rng, n)``) and
applies them in order (``policy.apply(x, params)``); mixing ops also blend the labels
(``policy.mix_labels``). Named policies are shorthands: ``basic`` moves and mirrors, ``strong``
adds turns, zooms, light changes and an occluder.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from pixelab._core.errors import PixelabError
from pixelab.augment.ops import OPS, Op, Params, get_op

#: Named policies, as policy strings.
POLICIES: dict[str, str] = {
    "none": "",
    "basic": "translate:0.1,flip:0.5",
    "strong": "translate:0.1,flip:0.5,rotate:15,scale:0.15,brightness:0.2,contrast:0.2,erase:0.25",
}


@dataclasses.dataclass(frozen=True)
class Policy:
    """Ops applied one after the other, each with its own sampled parameters."""

    ops: tuple[Op, ...] = ()

    @property
    def spec(self) -> str:
        """The policy as a string that :func:`parse_policy` reads back."""
        return ",".join(op.spec for op in self.ops)

    @property
    def mixes(self) -> bool:
        """True when an op blends images (the labels become soft)."""
        return any(op.mixes for op in self.ops)

    def sample(self, rng: np.random.Generator, n: int) -> list[Params]:
        """Every op's parameters for a batch of ``n`` images, in order."""
        return [op.sample(rng, n) for op in self.ops]

    def apply(self, x: torch.Tensor, params: list[Params]) -> torch.Tensor:
        """The batch through every op with its parameters. Consecutive affine ops (flip,
        translate, rotate, scale, crop, affine) are fused into one warp: one resampling
        instead of several, faster and sharper, and a corner turned out and back in again
        is kept rather than cut off."""
        from pixelab.augment.geometric import AffineOp, compose, warp_affine

        pending = None
        for op, p in zip(self.ops, params, strict=True):
            if isinstance(op, AffineOp):
                t = op.transform(p, x)
                pending = t if pending is None else compose(pending, t)
                continue
            if pending is not None:
                x, pending = warp_affine(x, *pending), None
            x = op.apply(x, p)
        return x if pending is None else warp_affine(x, *pending)

    def mix_labels(
        self, y: torch.Tensor, params: list[Params], size: tuple[int, int]
    ) -> torch.Tensor:
        """Soft labels ``(B, K)`` after the mixing ops (``y``: one-hot or soft)."""
        for op, p in zip(self.ops, params, strict=True):
            if op.mixes:
                y = op.mix_labels(y, p, size)
        return y


def parse_policy(text: str) -> Policy:
    """``"rotate:30,erase,mixup:0.2"`` or a named policy (``basic``) -> a checked Policy.

    An op without ``:value`` gets its default strength; an unknown op or an out-of-range value
    is one clear error that lists the valid choices.
    """
    if not isinstance(text, str):
        raise PixelabError(f"an augmentation policy is a string, got {text!r}")
    text = POLICIES.get(text.strip(), text.strip())
    ops = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, value = part.partition(":")
        name = name.strip()
        if name not in OPS:
            raise PixelabError(
                f"unknown augmentation {name!r}",
                hint=f"ops: {', '.join(OPS)}; named policies: {', '.join(POLICIES)}",
            )
        magnitude: float | None = None
        if sep:
            try:
                magnitude = float(value)
            except ValueError:
                raise PixelabError(
                    f"{part!r}: the strength after ':' must be a number", hint=f"e.g. {name}:0.2"
                ) from None
        ops.append(get_op(name, magnitude))
    if len({op.name for op in ops}) < len(ops):
        raise PixelabError(f"augmentation policy {text!r} names an op twice")
    return Policy(tuple(ops))


def augment_images(
    images: np.ndarray, policy: Policy | Op | str, *, seed: int = 0, value: float | None = None
) -> np.ndarray:
    """uint8 images ``(N, H, W, C)`` through a policy or op (random by ``seed``; with ``value``,
    every image at exactly that strength); returns uint8 images of the same shape."""
    from pixelab.augment.ops import to_float, to_uint8

    rng = np.random.default_rng(seed)
    x = to_float(images)
    if isinstance(policy, str):
        policy = parse_policy(policy)
    if isinstance(policy, Policy):
        return to_uint8(policy.apply(x, policy.sample(rng, len(x))))
    return to_uint8(policy.apply(x, policy.sample(rng, len(x), value=value)))


def describe(op: Any) -> dict[str, Any]:
    """What an op is, for listings and metrics.json: name, family, unit, range, default."""
    return {"name": op.name, "family": op.family, "unit": op.unit, "max": op.limit,
            "default": op.default, "mixes": op.mixes}  # fmt: skip
