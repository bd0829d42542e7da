"""The augmentation op contract: sample parameters once, apply them as often as needed.

An op changes a batch of float images ``(B, C, H, W)`` in [0, 1] (torch). It never draws random
numbers while applying: ``params = op.sample(rng, n)`` draws everything random (angles, boxes,
noise seeds) with a NumPy generator, and ``op.apply(x, params)`` is a pure function of the images
and those parameters. So the same corruption can be replayed on every model compared, a picture
can show exactly what training saw, and an interrupted training run resumes with the same
augmentation (its generator is seeded by the epoch).

``magnitude`` is the op's strength in its own unit (degrees for ``rotate``, a share of the side
for ``translate``, a probability for ``flip``): random parameters stay within it, and 0 is the
identity. ``sample(rng, n, value=v)`` puts every image at exactly ``v`` instead (sweeps and
pictures); the other random choices (noise patterns, box positions) still come from ``rng``.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import torch

from pixelab._core.errors import PixelabError

Params = dict[str, np.ndarray]


@dataclasses.dataclass(frozen=True)
class Op:
    """Base class: a named, range-checked strength, and the sample/apply pair."""

    magnitude: float

    #: The name used in policy strings ("rotate:30").
    name: ClassVar[str] = ""
    #: The family the lecture groups it in: geometric, noise, colour, mixing or erasing.
    family: ClassVar[str] = ""
    #: What ``magnitude`` measures, in words (for errors and figure labels).
    unit: ClassVar[str] = ""
    #: The largest magnitude accepted (the smallest is 0).
    limit: ClassVar[float] = 1.0
    #: The magnitude used when a policy names the op without one ("flip").
    default: ClassVar[float] = 0.5
    #: A strong but still recognisable magnitude: the right end of ``augment show``'s row.
    show_max: ClassVar[float] = 1.0
    #: Whether ``value`` may be negative (a rotation either way) or only positive.
    signed: ClassVar[bool] = True
    #: Mixing ops combine images of a batch and change their labels (see :class:`MixOp`).
    mixes: ClassVar[bool] = False

    def __post_init__(self) -> None:
        m = self.magnitude
        if isinstance(m, bool) or not isinstance(m, (int, float, np.floating, np.integer)):
            raise PixelabError(f"{self.name}: the strength must be a number, got {m!r}")
        if not 0 <= float(m) <= self.limit:
            raise PixelabError(
                f"{self.name}:{m} is out of range: its strength ({self.unit}) must lie in "
                f"[0, {self.limit:g}]",
                hint=f"e.g. {self.name}:{self.default:g}",
            )
        object.__setattr__(self, "magnitude", float(m))

    @property
    def spec(self) -> str:
        """The op as a policy string: ``rotate:30``."""
        return f"{self.name}:{self.magnitude:g}"

    def amounts(self, rng: np.random.Generator, n: int, value: float | None) -> np.ndarray:
        """Per-image amounts: ``value`` for all, or uniform in [-m, m] ([0, m] when unsigned)."""
        if value is not None:
            return np.full(n, float(value))
        low = -self.magnitude if self.signed else 0.0
        return rng.uniform(low, self.magnitude, n)

    def sample(self, rng: np.random.Generator, n: int, *, value: float | None = None) -> Params:
        """Everything random the op needs for ``n`` images."""
        return {"amount": self.amounts(rng, n, value)}

    def apply(self, x: torch.Tensor, params: Params) -> torch.Tensor:
        """The images changed by ``params`` (a new tensor; ``x`` is left as it is)."""
        raise NotImplementedError

    def __call__(self, x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        return self.apply(x, self.sample(rng, len(x)))


class MixOp(Op):
    """An op that blends images of one batch (mixup, cutmix): labels are blended too."""

    mixes: ClassVar[bool] = True
    signed: ClassVar[bool] = False

    def mix_labels(
        self, y: torch.Tensor, params: Params, size: tuple[int, int] = (64, 64)
    ) -> torch.Tensor:
        """Soft labels ``(B, K)`` (each row sums to 1) for the blended images of ``size``."""
        lam = torch.as_tensor(params["lam"], dtype=y.dtype, device=y.device)[:, None]
        perm = torch.as_tensor(params["perm"], device=y.device)
        return lam * y + (1 - lam) * y[perm]


def tensor(params: Params, key: str, like: torch.Tensor) -> torch.Tensor:
    """``params[key]`` as a float tensor on ``like``'s device and dtype."""
    return torch.as_tensor(params[key], dtype=like.dtype, device=like.device)


#: name -> op class, filled by :func:`register_op`.
OPS: dict[str, type[Op]] = {}


def register_op(cls: type[Op]) -> type[Op]:
    """Class decorator: make the op available by name in policy strings."""
    OPS[cls.name] = cls
    return cls


def get_op(name: str, magnitude: float | None = None) -> Op:
    """The op ``name`` at ``magnitude`` (its default when None); unknown names list the valid ones."""
    if name not in OPS:
        raise PixelabError(f"unknown augmentation {name!r}", hint=f"choose from: {', '.join(OPS)}")
    cls = OPS[name]
    return cls(cls.default if magnitude is None else magnitude)


def to_float(images: np.ndarray) -> torch.Tensor:
    """uint8 images ``(N, H, W, C)`` -> a float batch ``(N, C, H, W)`` in [0, 1]."""
    if images.ndim != 4 or images.dtype != np.uint8:
        raise PixelabError(
            f"expected uint8 images shaped (N, H, W, C), got {images.dtype} {images.shape}"
        )
    x = images.transpose(0, 3, 1, 2)
    # a read-only array (memory-mapped data) is copied: torch needs writable memory
    x = np.ascontiguousarray(x) if x.flags.writeable else x.copy()
    return torch.from_numpy(x).float() / 255


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """A float batch ``(N, C, H, W)`` -> uint8 images ``(N, H, W, C)`` (rounded, clipped)."""
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
