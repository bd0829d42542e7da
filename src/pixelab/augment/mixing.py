"""Random erasing, mixing images (mixup, cutmix) and images from a generator.

Mixing ops blend images of one batch and return soft labels through ``mix_labels``: a mixup
of 70 % coat and 30 % shoe is a target of 0.7 coat + 0.3 shoe, which cross-entropy takes as
it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch

from pixelab._core.errors import PixelabError
from pixelab.augment.ops import MixOp, Op, Params, register_op, tensor


def _boxes(rng: np.random.Generator, area: np.ndarray, aspect: np.ndarray) -> dict[str, np.ndarray]:
    """Boxes of ``area`` (share of the image) and ``aspect`` (h / w), placed at random so that
    their centre lies in the image; sides as shares of the image side."""
    h = np.clip(np.sqrt(area * aspect), 0, 1)
    w = np.clip(np.sqrt(area / aspect), 0, 1)
    n = len(area)
    return {"cy": rng.random(n), "cx": rng.random(n), "h": h, "w": w}


def _box_mask(params: Params, x: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) True inside each image's box."""
    _, _, h, w = x.shape
    ys = (torch.arange(h, dtype=x.dtype, device=x.device) + 0.5) / h
    xs = (torch.arange(w, dtype=x.dtype, device=x.device) + 0.5) / w

    def inside(centre: str, side: str, grid: torch.Tensor) -> torch.Tensor:
        c, s = tensor(params, centre, x)[:, None], tensor(params, side, x)[:, None]
        return (grid[None] >= c - s / 2) & (grid[None] < c + s / 2)

    return inside("cy", "h", ys)[:, None, :, None] & inside("cx", "w", xs)[:, None, None, :]


@register_op
class Erase(Op):
    """Random erasing: a box of up to ``magnitude`` of the area painted one random grey (an
    occluder), one box per image."""

    name: ClassVar[str] = "erase"
    family: ClassVar[str] = "erasing"
    unit: ClassVar[str] = "share of the area"
    limit: ClassVar[float] = 0.9
    default: ClassVar[float] = 0.25
    show_max: ClassVar[float] = 0.5
    signed: ClassVar[bool] = False

    def sample(self, rng: np.random.Generator, n: int, *, value: float | None = None) -> Params:
        area = self.amounts(rng, n, value)
        aspect = np.exp(rng.uniform(np.log(0.3), np.log(3.3), n))  # as torchvision's default
        return {**_boxes(rng, area, aspect), "fill": rng.random(n)}

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        fill = tensor(params, "fill", x)[:, None, None, None].expand_as(x)
        return torch.where(_box_mask(params, x), fill, x)


def _partners(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.permutation(n)


@register_op
class Mixup(MixOp):
    """Blend each image with another of the batch, ``lam * a + (1 - lam) * b``, with ``lam``
    drawn from Beta(m, m) (m = 0: no mixing; 0.2 is usual)."""

    name: ClassVar[str] = "mixup"
    family: ClassVar[str] = "mixing"
    unit: ClassVar[str] = "alpha of Beta(alpha, alpha)"
    limit: ClassVar[float] = 10.0
    default: ClassVar[float] = 0.2
    show_max: ClassVar[float] = 0.5  # with value: the share of the partner image

    def sample(self, rng: np.random.Generator, n: int, *, value: float | None = None) -> Params:
        if value is not None:  # a picture: exactly that share of the partner
            lam = np.full(n, 1 - float(value))
        elif self.magnitude == 0:
            lam = np.ones(n)
        else:
            lam = rng.beta(self.magnitude, self.magnitude, n)
            lam = np.maximum(lam, 1 - lam)  # the image stays the larger part: its own label leads
        return {"lam": lam, "perm": _partners(rng, n)}

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        lam = tensor(params, "lam", x)[:, None, None, None]
        perm = torch.as_tensor(params["perm"], device=x.device)
        return lam * x + (1 - lam) * x[perm]


@register_op
class Cutmix(MixOp):
    """Paste a box from another image of the batch; labels mix by the box's area. The box's
    area is ``1 - lam`` with ``lam`` from Beta(m, m)."""

    name: ClassVar[str] = "cutmix"
    family: ClassVar[str] = "mixing"
    unit: ClassVar[str] = "alpha of Beta(alpha, alpha)"
    limit: ClassVar[float] = 10.0
    default: ClassVar[float] = 1.0
    show_max: ClassVar[float] = 0.5  # with value: the area taken from the partner

    def sample(self, rng: np.random.Generator, n: int, *, value: float | None = None) -> Params:
        if value is not None:
            area = np.full(n, float(value))
        elif self.magnitude == 0:
            area = np.zeros(n)
        else:
            lam = rng.beta(self.magnitude, self.magnitude, n)
            area = np.minimum(lam, 1 - lam)
        return {**_boxes(rng, area, np.ones(n)), "perm": _partners(rng, n)}

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        perm = torch.as_tensor(params["perm"], device=x.device)
        return torch.where(_box_mask(params, x), x[perm], x)

    def mix_labels(
        self, y: torch.Tensor, params: Params, size: tuple[int, int] = (64, 64)
    ) -> torch.Tensor:
        # the box as pasted (clipped at the border, in whole pixels), not as drawn: the labels
        # follow the pixels
        probe = torch.zeros(len(y), 1, *size, dtype=y.dtype, device=y.device)
        share = _box_mask(params, probe).to(y.dtype).mean((1, 2, 3))
        perm = torch.as_tensor(params["perm"], device=y.device)
        return (1 - share)[:, None] * y + share[:, None] * y[perm]


#: A generator of class-conditional images: ``labels`` (n,) and a seed -> (n, C, H, W) in [0, 1].
Generator = Callable[[torch.Tensor, int], torch.Tensor]


class GeneratedSamples:
    """Swap a ``share`` of each batch for images a generative model made of the same classes
    (the lecture's GAN-made augmentation). ``generator(labels, seed)`` returns float images
    ``(n, C, H, W)`` in [0, 1] shaped like the batch; the generative models fill it in."""

    name = "generated"
    family = "generated"
    mixes = False

    def __init__(self, generator: Generator, share: float) -> None:
        if not callable(generator):
            raise PixelabError("GeneratedSamples needs a callable generator(labels, seed)")
        if isinstance(share, bool) or not 0 <= share <= 1:
            raise PixelabError(f"the share of generated images must lie in [0, 1], got {share!r}")
        self.generator, self.share = generator, float(share)

    @property
    def spec(self) -> str:
        return f"generated:{self.share:g}"

    def sample(self, rng: np.random.Generator, n: int, *, value: float | None = None) -> Params:
        share = self.share if value is None else value
        return {"swap": rng.random(n) < share, "seed": rng.integers(0, 2**31, 1)}

    def apply(self, x: torch.Tensor, params: Params, labels: Any = None) -> torch.Tensor:
        """``x`` with the chosen images replaced by generated ones of ``labels``' classes."""
        swap = torch.as_tensor(params["swap"], device=x.device)
        k = int(swap.sum())
        if k == 0:
            return x.clone()
        if labels is None:
            raise PixelabError("generated samples need the batch's labels (classes to draw)")
        made = self.generator(
            torch.as_tensor(labels, device=x.device)[swap], int(params["seed"][0])
        )
        if tuple(made.shape) != (k, *x.shape[1:]):
            raise PixelabError(
                f"the generator made images shaped {tuple(made.shape)}, the batch needs "
                f"{(k, *x.shape[1:])}"
            )
        out = x.clone()
        out[swap] = made.to(x.dtype).clamp(0, 1)
        return out
