"""Noise, blur and colour ops: the pixels change, the geometry does not.

Colour ops on grey (1-channel) images: saturation, hue and grayscale leave them as they are.
Random noise is replayable without storing it: the parameters hold a seed, and the noise is
drawn again from it at apply time (the same batch shape gives the same noise).
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from pixelab.augment.ops import Op, Params, register_op, tensor

#: Luma weights (ITU-R BT.601, as torchvision rounds them).
LUMA = (0.2989, 0.587, 0.114)


def luma(x: torch.Tensor) -> torch.Tensor:
    """Brightness per pixel ``(B, 1, H, W)`` (grey images: themselves)."""
    if x.shape[1] != 3:
        return x[:, :1]
    w = torch.tensor(LUMA, dtype=x.dtype, device=x.device)[None, :, None, None]
    return (x * w).sum(1, keepdim=True)


def _per_image(params: Params, key: str, x: torch.Tensor) -> torch.Tensor:
    return tensor(params, key, x)[:, None, None, None]


def _seeded(params: Params, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    """Uniform [0, 1) numbers of ``shape`` from the seed in ``params`` (replayable)."""
    gen = torch.Generator().manual_seed(int(params["seed"][0]))
    return torch.rand(shape, generator=gen, dtype=like.dtype).to(like.device)


def _seeded_normal(params: Params, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
    gen = torch.Generator().manual_seed(int(params["seed"][0]))
    return torch.randn(shape, generator=gen, dtype=like.dtype).to(like.device)


class _SeededOp(Op):
    """An op whose randomness is a noise pattern: a seed plus a per-image strength."""

    signed: ClassVar[bool] = False

    def sample(self, rng: np.random.Generator, n: int, *, value: float | None = None) -> Params:
        return {"amount": self.amounts(rng, n, value), "seed": rng.integers(0, 2**31, 1)}


@register_op
class Noise(_SeededOp):
    """Gaussian noise with a standard deviation up to ``magnitude`` (of the full range)."""

    name: ClassVar[str] = "noise"
    family: ClassVar[str] = "noise"
    unit: ClassVar[str] = "standard deviation"
    default: ClassVar[float] = 0.05
    show_max: ClassVar[float] = 0.3

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        noise = _seeded_normal(params, tuple(x.shape), x)
        return (x + noise * _per_image(params, "amount", x)).clamp(0, 1)


@register_op
class SaltPepper(_SeededOp):
    """Up to ``magnitude`` of the pixels set to black or white (a dusty, broken sensor)."""

    name: ClassVar[str] = "saltpepper"
    family: ClassVar[str] = "noise"
    unit: ClassVar[str] = "share of the pixels"
    limit: ClassVar[float] = 0.5
    default: ClassVar[float] = 0.05
    show_max: ClassVar[float] = 0.2

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        b, _, h, w = x.shape
        u = _seeded(params, (b, 1, h, w), x)
        amount = _per_image(params, "amount", x)
        salt = u < amount / 2
        pepper = (u >= amount / 2) & (u < amount)
        return torch.where(salt, torch.ones_like(x), torch.where(pepper, torch.zeros_like(x), x))


@register_op
class Blur(Op):
    """Gaussian blur with a standard deviation of up to ``magnitude`` pixels (out of focus)."""

    name: ClassVar[str] = "blur"
    family: ClassVar[str] = "noise"
    unit: ClassVar[str] = "pixels (standard deviation)"
    limit: ClassVar[float] = 10.0
    default: ClassVar[float] = 1.0
    show_max: ClassVar[float] = 3.0
    signed: ClassVar[bool] = False

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        sigma = tensor(params, "amount", x).clamp_min(1e-3)
        b, c, h, w = x.shape
        radius = max(1, math.ceil(3 * float(sigma.max())))
        radius = min(radius, (min(h, w) - 1) // 2) or 1
        t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
        k = torch.exp(-(t[None] ** 2) / (2 * sigma[:, None] ** 2))
        k = (k / k.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (B*C, K), per image
        flat = x.reshape(1, b * c, h, w)
        mode = "reflect" if radius < min(h, w) else "replicate"
        flat = F.pad(flat, (radius, radius, 0, 0), mode=mode)
        flat = F.conv2d(flat, k[:, None, None, :], groups=b * c)
        flat = F.pad(flat, (0, 0, radius, radius), mode=mode)
        flat = F.conv2d(flat, k[:, None, :, None], groups=b * c)
        return flat.reshape(b, c, h, w)


@register_op
class Brightness(Op):
    """Multiply by a factor in [1 - m, 1 + m] (darker or brighter light)."""

    name: ClassVar[str] = "brightness"
    family: ClassVar[str] = "colour"
    unit: ClassVar[str] = "change of the factor"
    default: ClassVar[float] = 0.2
    show_max: ClassVar[float] = 0.8

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return (x * (1 + _per_image(params, "amount", x))).clamp(0, 1)


@register_op
class Contrast(Op):
    """Blend with the image's mean grey by a factor in [1 - m, 1 + m] (flat or harsh light)."""

    name: ClassVar[str] = "contrast"
    family: ClassVar[str] = "colour"
    unit: ClassVar[str] = "change of the factor"
    default: ClassVar[float] = 0.2
    show_max: ClassVar[float] = 0.8

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        mean = luma(x).mean((1, 2, 3), keepdim=True)
        f = 1 + _per_image(params, "amount", x)
        return (mean + f * (x - mean)).clamp(0, 1)


@register_op
class Gamma(Op):
    """Raise to a power in [1 - m, 1 + m]: shadows and highlights change unevenly."""

    name: ClassVar[str] = "gamma"
    family: ClassVar[str] = "colour"
    unit: ClassVar[str] = "change of the exponent"
    limit: ClassVar[float] = 0.9
    default: ClassVar[float] = 0.2
    show_max: ClassVar[float] = 0.7

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return x.clamp_min(0).pow(1 + _per_image(params, "amount", x))


@register_op
class Saturation(Op):
    """Blend with the grey version by a factor in [1 - m, 1 + m] (washed out or vivid)."""

    name: ClassVar[str] = "saturation"
    family: ClassVar[str] = "colour"
    unit: ClassVar[str] = "change of the factor"
    default: ClassVar[float] = 0.3
    show_max: ClassVar[float] = 1.0

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        grey = luma(x)
        return (grey + (1 + _per_image(params, "amount", x)) * (x - grey)).clamp(0, 1)


#: RGB -> YIQ (rows Y, I, Q); a hue shift turns the colour (I, Q) about the grey axis.
_YIQ = ((0.299, 0.587, 0.114), (0.596, -0.274, -0.322), (0.211, -0.523, 0.312))


@register_op
class Hue(Op):
    """Turn the colours round the colour wheel by up to ``magnitude`` of a full turn."""

    name: ClassVar[str] = "hue"
    family: ClassVar[str] = "colour"
    unit: ClassVar[str] = "share of a full turn of the colour wheel"
    limit: ClassVar[float] = 0.5
    default: ClassVar[float] = 0.05
    show_max: ClassVar[float] = 0.5

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        if x.shape[1] != 3:
            return x.clone()
        yiq = torch.tensor(_YIQ, dtype=x.dtype, device=x.device)
        a = tensor(params, "amount", x) * (2 * math.pi)
        c, s = torch.cos(a), torch.sin(a)
        rot = torch.zeros(len(x), 3, 3, dtype=x.dtype, device=x.device)
        rot[:, 0, 0] = 1
        rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = c, -s, s, c
        m = torch.linalg.inv(yiq) @ rot @ yiq  # (B, 3, 3) in RGB
        return torch.einsum("bij,bjhw->bihw", m, x).clamp(0, 1)


@register_op
class Grayscale(Op):
    """Drop the colour of each image with probability ``magnitude``."""

    name: ClassVar[str] = "grayscale"
    family: ClassVar[str] = "colour"
    unit: ClassVar[str] = "probability"
    default: ClassVar[float] = 0.2
    signed: ClassVar[bool] = False

    def sample(self, rng: np.random.Generator, n: int, *, value: float | None = None) -> Params:
        return {"grey": rng.random(n) < (self.magnitude if value is None else value)}

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        grey = torch.as_tensor(params["grey"], device=x.device)[:, None, None, None]
        return torch.where(grey, luma(x).expand_as(x), x)
