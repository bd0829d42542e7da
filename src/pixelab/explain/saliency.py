"""Saliency: which pixels a prediction rests on, four ways, and how faithful each map is.

- ``gradcam``: one hook on a feature layer; each channel is weighted by the mean gradient of the
  class score over the map (Selvaraju et al. 2017), ReLU, scaled to [0, 1], upsampled.
- ``gradients``: |d score / d pixel|, the largest over colour channels (Simonyan et al. 2014).
- ``integrated_gradients``: gradients averaged on the straight path from a black image, times
  the pixel difference (Sundararajan et al. 2017); the attributions add up to the score change.
- ``occlusion``: the score's drop when a window of pixels is greyed out, averaged over the
  windows covering each pixel (Zeiler & Fergus 2014), the same arithmetic as Captum's Occlusion.

Every function takes a model, images float (B, C, H, W) in [0, 1] and target classes (B,), and
returns maps (B, H, W). ``deletion_curve`` measures faithfulness: accuracy as the most salient
pixels are removed first, against removing random pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from pixelab._core.checks import check_choice, check_positive_int
from pixelab._core.errors import PixelabError
from pixelab.explain.hooks import check_layers

METHODS = ("gradcam", "occlusion", "gradients", "integrated-gradients")


def _targets(model: Any, x: Any, target: Any) -> Any:
    """Target classes as a long tensor: the predicted ones when ``target`` is None."""
    import torch

    if target is None:
        with torch.no_grad():
            return model.eval()(x).argmax(1)
    t = torch.as_tensor(target, dtype=torch.long, device=x.device).reshape(-1)
    if t.numel() == 1 and len(x) > 1:
        t = t.expand(len(x))
    if len(t) != len(x) or t.min() < 0 or t.max() >= model.num_classes:
        raise PixelabError(f"target classes must be {len(x)} indices in [0, {model.num_classes})")
    return t


def spatial_layer(model: Any, layer: str | None = None) -> str:
    """The layer Grad-CAM looks at: ``layer``, else the last feature layer (a feature map)."""
    import torch

    name = check_layers(model, None if layer is None else [layer])[-1]
    probe: dict[str, Any] = {}
    module = model.feature_layers()[name]

    def look(_m: Any, _i: Any, out: Any) -> None:  # a hook that returns something replaces out
        probe["shape"] = out.shape

    handle = module.register_forward_hook(look)
    try:
        with torch.no_grad():
            size = max(model.image_size, model.min_input_size)
            model.eval()(torch.zeros(1, model.in_channels, size, size, device=_device(model)))
    finally:
        handle.remove()
    if len(probe["shape"]) != 4:
        raise PixelabError(
            f"{model.model_name or 'this model'} has no feature map at layer {name!r} for "
            "Grad-CAM (its layers pass vectors on)",
            hint="use --method gradients, integrated-gradients or occlusion",
        )
    return name


def _device(model: Any) -> Any:
    return next(model.parameters()).device


def gradcam(model: Any, x: Any, target: Any = None, *, layer: str | None = None) -> Any:
    """Grad-CAM maps (B, H, W) in [0, 1] for ``target`` (default: the predicted class)."""
    import torch
    import torch.nn.functional as F

    name = spatial_layer(model, layer)
    t = _targets(model, x, target)
    store: dict[str, Any] = {}

    def keep(_m: Any, _i: Any, out: Any) -> None:
        out.register_hook(lambda g: store.__setitem__("grad", g))
        store["act"] = out

    handle = model.feature_layers()[name].register_forward_hook(keep)
    try:
        with torch.enable_grad():
            model.eval().zero_grad(set_to_none=True)
            scores = model(x).gather(1, t[:, None]).sum()
            scores.backward()
    finally:
        handle.remove()
        model.zero_grad(set_to_none=True)
    act, grad = store["act"].detach(), store["grad"].detach()
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * act).sum(1, keepdim=True))
    lo = cam.amin(dim=(2, 3), keepdim=True)
    cam = cam - lo
    cam = cam / (cam.amax(dim=(2, 3), keepdim=True) + 1e-7)
    return F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]


def _input_gradient(model: Any, x: Any, t: Any) -> Any:
    import torch

    with torch.enable_grad():
        x = x.detach().clone().requires_grad_(True)
        scores = model.eval()(x).gather(1, t[:, None]).sum()
        (grad,) = torch.autograd.grad(scores, x)
    return grad


def gradients(model: Any, x: Any, target: Any = None) -> Any:
    """Vanilla gradient maps |d score / d pixel| (B, H, W), max over channels."""
    t = _targets(model, x, target)
    return _input_gradient(model, x, t).abs().amax(1)


def integrated_gradients(
    model: Any, x: Any, target: Any = None, *, steps: int = 32, baseline: float = 0.0
) -> Any:
    """Integrated-gradients attributions (B, C, H, W) from a constant ``baseline`` image.

    A midpoint Riemann sum over ``steps`` points; the attributions add up to
    score(x) - score(baseline) up to the sum's error.
    """
    import torch

    steps = check_positive_int(steps, name="--steps")
    t = _targets(model, x, target)
    base = torch.full_like(x, baseline)
    total = torch.zeros_like(x)
    for alpha in (torch.arange(steps, dtype=x.dtype) + 0.5) / steps:
        total += _input_gradient(model, base + alpha * (x - base), t)
    return (x - base) * total / steps


def occlusion(
    model: Any,
    x: Any,
    target: Any = None,
    *,
    window: int = 4,
    stride: int = 2,
    baseline: float = 0.5,
    batch_size: int = 256,
) -> Any:
    """Occlusion maps (B, H, W): the target score's drop when a ``window`` square is set to
    ``baseline``, averaged over the windows covering each pixel (every pixel is covered)."""
    import torch

    window = check_positive_int(window, name="--window")
    stride = check_positive_int(stride, name="--stride")
    _, _, h, w = x.shape
    if window > min(h, w):
        raise PixelabError(f"--window {window} is larger than the {w}x{h} image")
    t = _targets(model, x, target)
    # as Captum: enough windows to reach the far edge, the last ones cut off by the border
    tops = [i * stride for i in range(math.ceil((h - window) / stride) + 1)]
    lefts = [i * stride for i in range(math.ceil((w - window) / stride) + 1)]
    spots = [(r, c) for r in tops for c in lefts]
    total = torch.zeros(x.shape[0], h, w, device=x.device)
    count = torch.zeros(h, w, device=x.device)
    with torch.no_grad():
        model.eval()
        base_score = model(x).gather(1, t[:, None])[:, 0]
        for i in range(len(x)):
            for j in range(0, len(spots), batch_size):
                chunk = spots[j : j + batch_size]
                batch = x[i : i + 1].repeat(len(chunk), 1, 1, 1)
                for k, (r, c) in enumerate(chunk):
                    batch[k, :, r : r + window, c : c + window] = baseline
                drop = base_score[i] - model(batch)[:, t[i]]
                for k, (r, c) in enumerate(chunk):
                    total[i, r : r + window, c : c + window] += drop[k]
        for r, c in spots:
            count[r : r + window, c : c + window] += 1
    return torch.where(count > 0, total / count.clamp(min=1), torch.zeros_like(total))


def saliency(model: Any, x: Any, target: Any = None, *, method: str = "gradcam", **kw: Any) -> Any:
    """One saliency map (B, H, W) per image by ``method`` (see METHODS); non-negative."""
    check_choice(method, METHODS, name="--method")
    if method == "gradcam":
        return gradcam(model, x, target, **kw)
    if method == "gradients":
        return gradients(model, x, target)
    if method == "integrated-gradients":
        return integrated_gradients(model, x, target, **kw).abs().amax(1)
    return occlusion(model, x, target, **kw).clamp(min=0)


def deletion_curve(
    model: Any,
    x: Any,
    y: Any,
    saliency_maps: Any,
    *,
    fractions: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0),
    baseline: float = 0.0,
    seed: int = 0,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Accuracy as the most salient pixels are set to ``baseline`` first, and as the same
    number of random pixels are; with the area under each curve (lower: more faithful)."""
    import torch

    from pixelab._core.progress import report

    b, _, h, w = x.shape
    order = saliency_maps.reshape(b, -1).argsort(dim=1, descending=True)
    gen = torch.Generator().manual_seed(seed)
    rand = torch.stack([torch.randperm(h * w, generator=gen) for _ in range(b)]).to(x.device)
    curves: dict[str, list[float]] = {"saliency": [], "random": []}
    with torch.no_grad():
        model.eval()
        for i, frac in enumerate(fractions):
            n = round(frac * h * w)
            for key, ranks in (("saliency", order), ("random", rand)):
                mask = torch.zeros(b, h * w, dtype=torch.bool, device=x.device)
                mask.scatter_(1, ranks[:, :n], True)
                xd = torch.where(mask.reshape(b, 1, h, w), torch.full_like(x, baseline), x)
                acc = float((model(xd).argmax(1) == y).float().mean())
                curves[key].append(round(acc, 4))
            report(progress, "deletion curve", i + 1, len(fractions))
    area = {k: round(float(np.trapezoid(v, fractions)), 4) for k, v in curves.items()}
    return {"fractions": list(fractions), "accuracy": curves, "area": area}


def mask_share(saliency_maps: Any, masks: Any) -> Any:
    """The share of each map's mass inside its object mask (B,)."""
    s = saliency_maps.clamp(min=0).reshape(len(saliency_maps), -1)
    m = masks.reshape(len(masks), -1).to(s.dtype)
    return (s * m).sum(1) / s.sum(1).clamp(min=1e-12)
