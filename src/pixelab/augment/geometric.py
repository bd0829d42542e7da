"""Geometric ops: the image moves, turns, grows or bends; what comes in from outside is black.

Every warp is one batched ``grid_sample`` with a different transform per image, so a batch of
64 costs about what one image costs in a per-image loop. Transforms are built in pixel units
about the image centre and then normalised, so non-square images turn without shearing.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from pixelab.augment.ops import Op, Params, register_op, tensor


def warp_affine(x: torch.Tensor, forward: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Move every image ``x[i]`` by the pixel-space map ``p -> forward[i] @ p + shift[i]``
    (about the centre; ``forward`` (B, 2, 2), ``shift`` (B, 2) as (dx, dy) in pixels)."""
    b, _, h, w = x.shape
    inv = torch.linalg.inv(forward)
    half = torch.tensor([w / 2, h / 2], dtype=x.dtype, device=x.device)
    # output pixel p (normalised n = p / half) reads input pixel inv @ (p - shift)
    theta = torch.empty(b, 2, 3, dtype=x.dtype, device=x.device)
    theta[:, :, :2] = inv * half[None, None, :] / half[None, :, None]
    theta[:, :, 2] = -(inv @ shift[:, :, None])[:, :, 0] / half
    return _sample(x, F.affine_grid(theta, list(x.shape), align_corners=False))


#: A per-image pixel-space map about the centre: ``forward`` (B, 2, 2) and ``shift`` (B, 2).
Transform = tuple[torch.Tensor, torch.Tensor]


class AffineOp(Op):
    """An op that is a per-image affine map: consecutive ones are fused into a single warp by
    :class:`~pixelab.augment.policy.Policy` (one resampling, nothing lost at the borders in
    between)."""

    def transform(self, params: Params, x: torch.Tensor) -> Transform:
        """The op's map for each image of ``x``."""
        raise NotImplementedError

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        return warp_affine(x, *self.transform(params, x))


def compose(first: Transform, then: Transform) -> Transform:
    """The map of ``first`` followed by ``then``: p -> A2 (A1 p + t1) + t2."""
    (a1, t1), (a2, t2) = first, then
    return a2 @ a1, (a2 @ t1[:, :, None])[:, :, 0] + t2


def _zeros(x: torch.Tensor) -> torch.Tensor:
    return torch.zeros(len(x), 2, dtype=x.dtype, device=x.device)


def _sample(x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _eye(n: int, like: torch.Tensor) -> torch.Tensor:
    return torch.eye(2, dtype=like.dtype, device=like.device).repeat(n, 1, 1)


def _rotation(degrees: torch.Tensor) -> torch.Tensor:
    a = degrees * (math.pi / 180)
    c, s = torch.cos(a), torch.sin(a)
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)


@register_op
class Flip(AffineOp):
    """Mirror left-right, each image with probability ``magnitude``."""

    name: ClassVar[str] = "flip"
    family: ClassVar[str] = "geometric"
    unit: ClassVar[str] = "probability"
    default: ClassVar[float] = 0.5
    signed: ClassVar[bool] = False

    def sample(self, rng: np.random.Generator, n: int, *, value: float | None = None) -> Params:
        p = self.magnitude if value is None else value
        return {"flip": rng.random(n) < p}

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        flip = torch.as_tensor(params["flip"], device=x.device)[:, None, None, None]
        return torch.where(flip, x.flip(-1), x)

    def transform(self, params: Params, x: torch.Tensor) -> Transform:
        forward = _eye(len(x), x)
        forward[:, 0, 0] = 1 - 2 * torch.as_tensor(params["flip"], device=x.device).to(x.dtype)
        return forward, _zeros(x)


@register_op
class Translate(AffineOp):
    """Move by up to ``magnitude`` of the side, across and down independently."""

    name: ClassVar[str] = "translate"
    family: ClassVar[str] = "geometric"
    unit: ClassVar[str] = "share of the side"
    limit: ClassVar[float] = 0.5
    default: ClassVar[float] = 0.1
    show_max: ClassVar[float] = 0.25

    def sample(self, rng: np.random.Generator, n: int, *, value: float | None = None) -> Params:
        if value is not None:  # a sweep: exactly that far, right, left, down or up at random
            angle = rng.integers(0, 4, n) * (np.pi / 2)
            return {"dx": value * np.round(np.cos(angle)), "dy": value * np.round(np.sin(angle))}
        return {"dx": self.amounts(rng, n, None), "dy": self.amounts(rng, n, None)}

    def transform(self, params: Params, x: torch.Tensor) -> Transform:
        h, w = x.shape[-2:]
        shift = torch.stack([tensor(params, "dx", x) * w, tensor(params, "dy", x) * h], -1)
        return _eye(len(x), x), shift


@register_op
class Rotate(AffineOp):
    """Turn about the centre by up to ``magnitude`` degrees either way."""

    name: ClassVar[str] = "rotate"
    family: ClassVar[str] = "geometric"
    unit: ClassVar[str] = "degrees"
    limit: ClassVar[float] = 180.0
    default: ClassVar[float] = 15.0
    show_max: ClassVar[float] = 90.0

    def transform(self, params: Params, x: torch.Tensor) -> Transform:
        return _rotation(tensor(params, "amount", x)), _zeros(x)


@register_op
class Scale(AffineOp):
    """Zoom about the centre by a factor in [1 - m, 1 + m] (below 1: smaller, black around)."""

    name: ClassVar[str] = "scale"
    family: ClassVar[str] = "geometric"
    unit: ClassVar[str] = "change of size (0.5: from half to 1.5 times)"
    limit: ClassVar[float] = 0.9
    default: ClassVar[float] = 0.15
    show_max: ClassVar[float] = 0.5

    def transform(self, params: Params, x: torch.Tensor) -> Transform:
        factor = 1 + tensor(params, "amount", x)
        return _eye(len(x), x) * factor[:, None, None], _zeros(x)


@register_op
class Crop(AffineOp):
    """A random square crop of at least ``1 - m`` of the area, enlarged back to full size."""

    name: ClassVar[str] = "crop"
    family: ClassVar[str] = "geometric"
    unit: ClassVar[str] = "share of the area cut away"
    limit: ClassVar[float] = 0.9
    default: ClassVar[float] = 0.25
    show_max: ClassVar[float] = 0.6
    signed: ClassVar[bool] = False

    def sample(self, rng: np.random.Generator, n: int, *, value: float | None = None) -> Params:
        cut = self.amounts(rng, n, value)
        zoom = 1 / np.sqrt(1 - cut)  # the kept square is 1/zoom of the side
        room = (1 - 1 / zoom) / 2  # how far its centre may move, as a share of the side
        return {
            "zoom": zoom,
            "cx": rng.uniform(-1, 1, n) * room,
            "cy": rng.uniform(-1, 1, n) * room,
        }

    def transform(self, params: Params, x: torch.Tensor) -> Transform:
        h, w = x.shape[-2:]
        zoom = tensor(params, "zoom", x)
        centre = torch.stack([tensor(params, "cx", x) * w, tensor(params, "cy", x) * h], -1)
        # the crop's centre moves to the image centre, then everything grows by zoom
        return _eye(len(x), x) * zoom[:, None, None], -centre * zoom[:, None]


@register_op
class Affine(AffineOp):
    """Rotation (30 m degrees), zoom (1 +- 0.2 m), shift (0.1 m) and shear (15 m degrees) at once."""

    name: ClassVar[str] = "affine"
    family: ClassVar[str] = "geometric"
    unit: ClassVar[str] = "overall strength"
    default: ClassVar[float] = 0.5
    signed: ClassVar[bool] = False

    def sample(self, rng: np.random.Generator, n: int, *, value: float | None = None) -> Params:
        m = self.magnitude if value is None else value

        def u(scale: float) -> np.ndarray:
            return rng.uniform(-1, 1, n) * scale * m

        return {"angle": u(30), "zoom": 1 + u(0.2), "dx": u(0.1), "dy": u(0.1), "shear": u(15)}

    def transform(self, params: Params, x: torch.Tensor) -> Transform:
        h, w = x.shape[-2:]
        shear = torch.tan(tensor(params, "shear", x) * (math.pi / 180))
        sh = _eye(len(x), x)
        sh[:, 0, 1] = shear
        forward = (
            _rotation(tensor(params, "angle", x)) @ sh * tensor(params, "zoom", x)[:, None, None]
        )
        shift = torch.stack([tensor(params, "dx", x) * w, tensor(params, "dy", x) * h], -1)
        return forward, shift


def _homographies(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """The 3x3 maps (B, 3, 3) taking the 4 points ``src`` (B, 4, 2) onto ``dst``."""
    b = src.shape[0]
    rows = []
    for i in range(4):
        x, y = src[:, i, 0], src[:, i, 1]
        u, v = dst[:, i, 0], dst[:, i, 1]
        one, zero = torch.ones_like(x), torch.zeros_like(x)
        rows.append(torch.stack([x, y, one, zero, zero, zero, -u * x, -u * y], -1))
        rows.append(torch.stack([zero, zero, zero, x, y, one, -v * x, -v * y], -1))
    a = torch.stack(rows, 1)
    rhs = dst.reshape(b, 8, 1)
    h = torch.linalg.solve(a.double(), rhs.double()).to(src.dtype)[:, :, 0]
    return torch.cat([h, torch.ones(b, 1, dtype=h.dtype, device=h.device)], 1).reshape(b, 3, 3)


@register_op
class Perspective(Op):
    """A view from another angle: each corner pulled inwards by up to ``m`` of half the side."""

    name: ClassVar[str] = "perspective"
    family: ClassVar[str] = "geometric"
    unit: ClassVar[str] = "corner pull, share of half the side"
    default: ClassVar[float] = 0.3
    show_max: ClassVar[float] = 0.6
    signed: ClassVar[bool] = False

    def sample(self, rng: np.random.Generator, n: int, *, value: float | None = None) -> Params:
        m = self.magnitude if value is None else value
        return {"pull": rng.uniform(0, 1, (n, 4, 2)) * m}

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        b, _, h, w = x.shape
        corners = torch.tensor([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=x.dtype, device=x.device)
        pulled = corners * (1 - tensor(params, "pull", x))  # inwards, in normalised units
        # output pixels at the pulled corners read the original corners
        hom = _homographies(pulled, corners.expand(b, 4, 2))
        ys = torch.linspace(-1 + 1 / h, 1 - 1 / h, h, dtype=x.dtype, device=x.device)
        xs = torch.linspace(-1 + 1 / w, 1 - 1 / w, w, dtype=x.dtype, device=x.device)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        pts = torch.stack([gx, gy, torch.ones_like(gx)], -1).reshape(1, -1, 3)
        mapped = pts @ hom.transpose(1, 2)
        grid = mapped[..., :2] / mapped[..., 2:].clamp_min(1e-6)
        return _sample(x, grid.reshape(b, h, w, 2))


@register_op
class Elastic(Op):
    """A smooth random bend (a rubber sheet): pixels move by up to ``m`` of the side."""

    name: ClassVar[str] = "elastic"
    family: ClassVar[str] = "geometric"
    unit: ClassVar[str] = "largest move, share of the side"
    limit: ClassVar[float] = 0.25
    default: ClassVar[float] = 0.05
    show_max: ClassVar[float] = 0.12
    signed: ClassVar[bool] = False
    #: Control points per side of the random displacement field (smooth between them).
    grid: ClassVar[int] = 5

    def sample(self, rng: np.random.Generator, n: int, *, value: float | None = None) -> Params:
        m = self.amounts(rng, n, value)
        field = rng.uniform(-1, 1, (n, 2, self.grid, self.grid)) * m[:, None, None, None]
        return {"field": field}

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        b, _, h, w = x.shape
        field = F.interpolate(tensor(params, "field", x) * 2, size=(h, w), mode="bicubic",
                              align_corners=True)  # fmt: skip
        ident = F.affine_grid(torch.eye(2, 3, dtype=x.dtype, device=x.device).expand(b, 2, 3),
                              list(x.shape), align_corners=False)  # fmt: skip
        return _sample(x, ident + field.permute(0, 2, 3, 1))
