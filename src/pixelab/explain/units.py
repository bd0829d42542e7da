"""Units and what they respond to: each channel's strongest activation per image, the images a
unit likes most (Zeiler & Fergus 2014), and the patch of the input a unit can see.

The receptive field is computed, not guessed: a probe copy of the network with positive weights,
neutral batch norm and average- instead of max-pooling passes gradient along every path, so
the input pixels with a non-zero gradient for a unit are exactly the pixels it can see.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from pixelab._core.checks import check_images, check_positive_int
from pixelab._core.errors import PixelabError
from pixelab.explain.hooks import check_layers


def _x(images: np.ndarray, device: Any) -> Any:
    import torch

    return (torch.from_numpy(images.transpose(0, 3, 1, 2).copy()).float() / 255).to(device)


def unit_activations(
    model: Any, images: np.ndarray, layer: str, *, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """For each image and channel of ``layer``: the strongest activation (N, C), where it is
    (N, C, 2: row, column of the map) and the map's size (h, w)."""
    import torch

    (name,) = check_layers(model, [layer])
    x_all = check_images(images)
    module = model.feature_layers()[name]
    dev = next(model.parameters()).device
    store: dict[str, Any] = {}

    def keep(_m: Any, _i: Any, out: Any) -> None:
        store["out"] = out

    acts, where = [], []
    handle = module.register_forward_hook(keep)
    try:
        with torch.no_grad():
            model.eval()
            for i in range(0, len(x_all), batch_size):
                model(_x(x_all[i : i + batch_size], dev))
                out = store["out"]
                if out.ndim != 4:
                    raise PixelabError(
                        f"layer {name!r} outputs vectors, not feature maps: its units have no "
                        "place in the image",
                        hint="choose a convolutional layer of a CNN",
                    )
                flat = out.flatten(2)
                value, idx = flat.max(2)
                acts.append(value.float().cpu())
                w = out.shape[-1]
                where.append(torch.stack([idx // w, idx % w], -1).cpu())
                shape = (int(out.shape[-2]), int(out.shape[-1]))
    finally:
        handle.remove()
    return torch.cat(acts).numpy(), torch.cat(where).numpy(), shape


def _probe(model: Any) -> Any:
    """A copy through which gradient reaches every input pixel a unit depends on."""
    import torch
    from torch import nn

    probe = copy.deepcopy(model).float().cpu().eval()
    with torch.no_grad():
        for m in probe.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.copy_(m.weight.abs() + 1e-3)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.reset_running_stats()
                if m.affine:
                    m.weight.fill_(1.0)
                    m.bias.zero_()
    for parent in list(probe.modules()):
        for key, child in list(parent.named_children()):
            if isinstance(child, nn.MaxPool2d):
                setattr(parent, key, nn.AvgPool2d(child.kernel_size, child.stride, child.padding,
                                                  ceil_mode=child.ceil_mode))  # fmt: skip
    return probe


def receptive_field(
    model: Any, layer: str, position: tuple[int, int], *, image_size: int | None = None
) -> tuple[int, int, int, int]:
    """The input box (top, left, bottom, right; bottom/right exclusive, inside the image) that
    the units of ``layer`` at map ``position`` (row, column) can see."""
    import torch

    (name,) = check_layers(model, [layer])
    size = image_size or max(model.image_size, model.min_input_size)
    probe = _probe(model)
    store: dict[str, Any] = {}

    def keep(_m: Any, _i: Any, out: Any) -> None:
        store["out"] = out

    handle = probe.feature_layers()[name].register_forward_hook(keep)
    try:
        x = torch.ones(1, probe.in_channels, size, size, requires_grad=True)
        with torch.enable_grad():
            probe(x)
            out = store["out"]
            r, c = position
            if not (0 <= r < out.shape[-2] and 0 <= c < out.shape[-1]):
                raise PixelabError(
                    f"position {position} is outside the {tuple(out.shape[-2:])} map"
                )
            (grad,) = torch.autograd.grad(out[0, :, r, c].sum(), x)
    finally:
        handle.remove()
    rows = np.flatnonzero(grad[0].abs().sum(0).sum(1).numpy() > 0)
    cols = np.flatnonzero(grad[0].abs().sum(0).sum(0).numpy() > 0)
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def top_images(
    model: Any, images: np.ndarray, layer: str, *, units: list[int] | None = None, k: int = 9
) -> dict[str, Any]:
    """For each unit (channel) of ``layer``: the ``k`` images it responds to most, where, and
    the receptive-field box to crop around that place."""
    k = check_positive_int(k, name="--top")
    acts, where, shape = unit_activations(model, images, layer)
    n_units = acts.shape[1]
    chosen = list(range(min(8, n_units))) if units is None else list(units)
    bad = [u for u in chosen if not 0 <= u < n_units]
    if bad or not chosen:
        raise PixelabError(
            f"unit(s) {', '.join(map(str, bad)) or 'none'} out of range: layer {layer!r} has "
            f"{n_units} units (0 to {n_units - 1})"
        )
    cache: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    result = []
    for u in chosen:
        order = np.argsort(-acts[:, u], kind="stable")[:k]
        rows = []
        for i in order:
            pos = (int(where[i, u, 0]), int(where[i, u, 1]))
            if pos not in cache:
                cache[pos] = receptive_field(model, layer, pos, image_size=images.shape[1])
            rows.append({"index": int(i), "activation": float(acts[i, u]), "position": list(pos),
                         "box": list(cache[pos])})  # fmt: skip
        result.append({"unit": u, "top": rows, "dataset_max": float(acts[:, u].max())})
    return {"layer": layer, "map_shape": list(shape), "n_units": n_units, "units": result}
