"""The one bridge from uint8 images (N, H, W, C) to torch tensors (N, C, H, W)."""

from __future__ import annotations

from typing import Any

import numpy as np

from pixelab._core.checks import check_images


def to_tensor_uint8(images: np.ndarray) -> Any:
    """uint8 (N, H, W, C) NumPy images -> uint8 (N, C, H, W) torch tensor (shares no memory).

    Keeping uint8 until the batch is drawn needs 4x less memory than floats.
    """
    import torch

    x = check_images(images)
    # always a copy: read-only inputs (e.g. memory-mapped idx files) stay untouched
    return torch.from_numpy(x.transpose(0, 3, 1, 2).copy())


def to_float_tensor(images: np.ndarray) -> Any:
    """uint8 (N, H, W, C) -> float32 (N, C, H, W) in [0, 1], the input every model takes.

    >>> to_float_tensor(np.full((1, 2, 2, 1), 255, np.uint8)).max().item()
    1.0
    """
    return to_tensor_uint8(images).float().div_(255.0)


def to_signed(x: Any) -> Any:
    """A uint8 tensor (N, C, H, W) -> float32 in [-1, 1], the range generators work in."""
    return x.float().div(127.5).sub(1)


def signed_to_uint8(x: Any) -> np.ndarray:
    """Float (N, C, H, W) in [-1, 1] (clipped) -> uint8 NumPy images (N, H, W, C): what a
    generator's output becomes."""
    import torch

    out = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return out.permute(0, 2, 3, 1).numpy()
