"""Convolution by hand: a named or typed kernel slid over an image, and its feature map.

What a CNN's first layer does, with the kernel set by a person instead of learned. Like every
deep-learning library, this is cross-correlation (the kernel is not flipped).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from pixelab._core.checks import check_positive_int
from pixelab._core.errors import PixelabError

#: Classic hand-made 3x3 kernels, by name.
KERNELS: dict[str, list[list[float]]] = {
    "sobel-x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel-y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "blur": [[1 / 9] * 3] * 3,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
    "edge": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
}
#: Largest kernel side accepted from the command line.
MAX_KERNEL = 15


def parse_kernel(spec: str | list[list[float]] | np.ndarray) -> tuple[str, np.ndarray]:
    """A kernel name (``sobel-x``...) or a square odd-sized matrix -> (name, float32 (k, k)).

    >>> parse_kernel("[[0, 1, 0], [1, -4, 1], [0, 1, 0]]")[1].shape
    (3, 3)
    """
    if isinstance(spec, str):
        text = spec.strip()
        if text in KERNELS:
            return text, np.asarray(KERNELS[text], np.float32)
        if not text.startswith("["):
            raise PixelabError(
                f"unknown kernel {spec!r}",
                hint=f"use one of {', '.join(KERNELS)} or a matrix such as "
                '"[[0,1,0],[1,-4,1],[0,1,0]]"',
            )
        try:
            values = json.loads(text)
        except ValueError as err:
            raise PixelabError(
                f"the kernel {spec!r} is not a matrix of numbers ({err.msg})",
                hint='write rows in brackets: "[[0,1,0],[1,-4,1],[0,1,0]]"',
            ) from err
        name = "custom"
    else:
        values, name = spec, "custom"
    try:
        k = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise PixelabError(f"the kernel {spec!r} is not a matrix of numbers") from err
    if k.ndim != 2 or k.shape[0] != k.shape[1] or k.shape[0] % 2 == 0:
        raise PixelabError(
            f"a kernel must be a square matrix of odd size (3x3, 5x5, ...), got shape {k.shape}",
            hint="an odd size gives the kernel a centre pixel",
        )
    if k.shape[0] > MAX_KERNEL or not np.isfinite(k).all():
        raise PixelabError(f"a kernel must be at most {MAX_KERNEL}x{MAX_KERNEL} finite numbers")
    return name, k


def output_size(n: int, k: int, *, stride: int = 1, padding: int = 0) -> int:
    """The side of the feature map: ``(n + 2 * padding - k) // stride + 1``.

    >>> output_size(28, 3, padding=1), output_size(28, 3, stride=2)
    (28, 13)
    """
    return (n + 2 * padding - k) // stride + 1


def convolve(
    image: np.ndarray,
    kernel: str | list[list[float]] | np.ndarray,
    *,
    stride: int = 1,
    padding: int | None = None,
) -> dict[str, Any]:
    """Slide ``kernel`` over a grey image (H, W) (uint8, or float in [0, 1]).

    ``padding=None`` pads with zeros by ``k // 2`` ("same" size at stride 1). Returns the
    kernel, the feature map (float32) and the output-size arithmetic with the numbers filled in.
    """
    import torch
    import torch.nn.functional as F

    name, k = parse_kernel(kernel)
    x = np.asarray(image)
    if x.ndim == 3 and x.shape[2] == 1:
        x = x[:, :, 0]
    if x.ndim != 2:
        raise PixelabError(f"convolve takes one grey image (H, W), got shape {x.shape}")
    x = x.astype(np.float32) / 255 if x.dtype == np.uint8 else x.astype(np.float32)
    stride = check_positive_int(stride, name="--stride")
    pad = (
        k.shape[0] // 2
        if padding is None
        else check_positive_int(padding, name="--padding", minimum=0)
    )
    h, w = x.shape
    size = k.shape[0]
    out_h, out_w = (output_size(n, size, stride=stride, padding=pad) for n in (h, w))
    if out_h < 1 or out_w < 1:
        raise PixelabError(
            f"a {size}x{size} kernel does not fit a {w}x{h} image with padding {pad}",
            hint="use a smaller kernel or more --padding",
        )
    fmap = F.conv2d(torch.from_numpy(x)[None, None], torch.from_numpy(k)[None, None],
                    stride=stride, padding=pad)[0, 0].numpy()  # fmt: skip
    return {
        "kernel_name": name,
        "kernel": k,
        "feature_map": fmap,
        "stride": stride,
        "padding": pad,
        "input_shape": [h, w],
        "output_shape": [out_h, out_w],
        "formula": f"({h} + 2*{pad} - {size}) // {stride} + 1 = {out_h}"
        if (h, w) == (w, h)
        else f"height ({h} + 2*{pad} - {size}) // {stride} + 1 = {out_h}, "
        f"width ({w} + 2*{pad} - {size}) // {stride} + 1 = {out_w}",
    }
