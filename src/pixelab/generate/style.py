"""Neural style transfer (Gatys, Ecker & Bethge, 2016): repaint a photo in a painting's style by
optimising the picture itself, not a network.

A fixed network (VGG16) describes an image twice. Its *content* is the feature maps of a deep
layer: where things are. Its *style* is, per layer, the Gram matrix of the feature maps: which
features occur together, wherever they are (brush strokes, colours, textures), with the layout
thrown away. Starting from the photo, gradient descent on the pixels lowers the distance to the
photo's content plus ``style_weight`` times the distance to the painting's Gram matrices, plus
a little total variation (neighbouring pixels alike) against speckle.

By default L-BFGS moves the pixels, as in the PyTorch tutorial: on this problem it reached a
lower loss sooner than Adam, with or without a first pass at half size (measured in
BENCHMARKS.md). ``scales=2`` still settles the layout at half size first, and Adam on the
image's logits remains an option.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import torch
import torch.nn.functional as F

from pixelab._core.checks import check_positive_int
from pixelab._core.config import Config
from pixelab._core.errors import PixelabError
from pixelab._core.progress import report

#: The layers of the PyTorch tutorial's recipe: content from conv4_2, style from the first
#: layer of every block.
CONTENT_LAYERS = ("conv4_2",)
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrices (N, C, C) of feature maps (N, C, H, W): how strongly every pair of
    channels fires together, averaged over the positions (so image size does not matter)."""
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between neighbouring pixels (N, C, H, W): low for smooth images."""
    return (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean() + (x[..., :, 1:] - x[..., :, :-1]).pow(
        2
    ).mean()


@dataclasses.dataclass(frozen=True)
class StyleConfig(Config):
    """How an image is repainted; the defaults give a clear painterly result in about a minute
    at 256 px on 2 cores. L-BFGS on the pixels (clamped to [0, 1]) is the default: at 256 px
    it reached a lower loss in less time than Adam at one or two sizes, and a half-size pass
    first did not pay for itself (BENCHMARKS.md), so ``scales`` is 1 unless asked."""

    size: int = 256  # longer side of the result, in pixels
    steps: int = 150  # per size: loss evaluations (L-BFGS) or steps (Adam)
    scales: int = 1  # 1: full size only; 2: half size first, then full size; ...
    style_weight: float = 10.0  # both losses are relative errors; the style counts this much more
    content_weight: float = 1.0
    tv_weight: float = 1.0
    optimizer: str = "lbfgs"  # or "adam" (on the image's logits: always in [0, 1])
    lr: float = 0.05  # Adam's step (L-BFGS sets its own by its history)
    content_layers: tuple[str, ...] = CONTENT_LAYERS
    style_layers: tuple[str, ...] = STYLE_LAYERS
    init: str = "content"  # or "noise"
    seed: int = 0

    def check(self) -> StyleConfig:
        """Raise PixelabError naming the option for an impossible value; return self."""

        check_positive_int(self.size, name="--size", minimum=32)
        if self.size > 2048:
            raise PixelabError(f"--size {self.size} is more than a CPU can repaint in reasonable time",
                               hint="at most 2048 (256-512 is usual)")  # fmt: skip
        check_positive_int(self.steps, name="--steps")
        check_positive_int(self.scales, name="--scales")
        if self.scales > 4 or self.size // 2 ** (self.scales - 1) < 32:
            raise PixelabError(f"--scales {self.scales} shrinks a {self.size}-px image below 32 px",
                               hint=f"use --scales 1, or --size {32 * 2 ** (self.scales - 1)} "
                                    "or more (at most 4 scales)")  # fmt: skip
        check_positive_int(self.seed, name="--seed", minimum=0)
        if self.init not in ("content", "noise"):
            raise PixelabError(f"unknown --init {self.init!r}", hint="content or noise")
        if self.optimizer not in ("lbfgs", "adam"):
            raise PixelabError(f"unknown --optimizer {self.optimizer!r}", hint="lbfgs or adam")
        check_loss_options(self)
        return self


def check_loss_options(cfg: Any) -> None:
    """One clear error for a negative or infinite weight of ``cfg`` (style, content, total
    variation), a learning rate that is not positive, or a VGG16 layer that does not exist."""
    from pixelab.models.vgg16 import LAYERS

    for name in ("style_weight", "content_weight", "tv_weight"):
        value = getattr(cfg, name)
        if not (value >= 0 and math.isfinite(value)):
            raise PixelabError(f"--{name.replace('_', '-')} must be 0 or more, got {value}")
    if not (cfg.lr > 0 and math.isfinite(cfg.lr)):
        raise PixelabError(f"--lr must be a positive number, got {cfg.lr}")
    if not cfg.style_layers or not cfg.content_layers:
        raise PixelabError("--style-layers and --content-layers need a layer each at least",
                           hint="e.g. --style-layers conv1_1,conv2_1,conv3_1")  # fmt: skip
    for layer in (*cfg.content_layers, *cfg.style_layers):
        if layer not in LAYERS:
            raise PixelabError(f"VGG16 has no layer {layer!r}",
                               hint=f"choose from: {', '.join(LAYERS)}")  # fmt: skip


class StyleLoss:
    """The weighted content, style and total-variation losses of images against one content
    image and one style image, measured by ``net`` (a VGG16Features). The targets are computed
    once, here, at the content's size."""

    def __init__(self, net: Any, content: torch.Tensor, style: torch.Tensor, cfg: StyleConfig):
        self.net, self.cfg = net, cfg
        self.layers = tuple(dict.fromkeys((*cfg.content_layers, *cfg.style_layers)))
        with torch.no_grad():
            self.content = dict(net(content, cfg.content_layers))
            self.style = {k: gram(v) for k, v in net(style, cfg.style_layers).items()}
        # each layer's error relative to its target's power: layers count alike, whatever
        # their scale, and a weight reads as "how much more the style counts than the content"
        self.norm = {k: float(v.pow(2).mean().clamp(min=1e-12))
                     for k, v in (*self.content.items(), *self.style.items())}  # fmt: skip

    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.net(x, self.layers)
        cfg = self.cfg
        content = sum(F.mse_loss(feats[k], self.content[k]) / self.norm[k]
                      for k in cfg.content_layers) / len(cfg.content_layers)  # fmt: skip
        style = sum(F.mse_loss(gram(feats[k]), self.style[k]) / self.norm[k]
                    for k in cfg.style_layers) / len(cfg.style_layers)  # fmt: skip
        tv = total_variation(x)
        total = cfg.content_weight * content + cfg.style_weight * style + cfg.tv_weight * tv
        return {"total": total, "content": content, "style": style, "tv": tv}


def _resize(x: torch.Tensor, side: int) -> torch.Tensor:
    """``x`` with its longer side ``side`` (bicubic for shrinking and growing alike)."""
    h, w = x.shape[-2:]
    k = side / max(h, w)
    size = (max(1, round(h * k)), max(1, round(w * k)))
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=k < 1).clamp(
        0, 1
    )


def stylise(
    net: Any,
    content: torch.Tensor,
    style: torch.Tensor,
    cfg: StyleConfig | None = None,
    *,
    progress: Any = None,
    every: int = 10,
) -> tuple[torch.Tensor, list[dict[str, float]]]:
    """Repaint ``content`` (1, 3, H, W) in [0, 1] in the style of ``style`` (1, 3, h, w): the
    result at ``cfg.size`` on its longer side, and the losses after every ``every`` steps
    (loss evaluations for L-BFGS) and at the end of each size (step, scale, side, seconds,
    total, content, style, tv). Deterministic for a seed."""
    cfg = (cfg or StyleConfig()).check()
    if (
        content.ndim != 4
        or content.shape[:2] != (1, 3)
        or style.ndim != 4
        or style.shape[:2] != (1, 3)
    ):
        raise PixelabError("content and style must be single RGB images (1, 3, H, W)")
    device = next(net.parameters()).device
    sides = [cfg.size // 2 ** (cfg.scales - 1 - s) for s in range(cfg.scales)]
    style_full = _resize(style.to(device), cfg.size)
    gen = torch.Generator().manual_seed(cfg.seed)
    x = None
    history: list[dict[str, float]] = []
    t0 = time.perf_counter()
    total_steps = cfg.steps * len(sides)
    at = {"done": 0, "calls": 0, "scale": 1, "side": sides[0]}  # where the optimisation is

    def seen(losses: dict[str, torch.Tensor]) -> None:
        """Count one evaluation: a history row every ``every`` of a size, the bar always."""
        now = {k: float(v.detach()) for k, v in losses.items()}
        if at["calls"] % every == 0:
            history.append({"step": at["done"], "scale": at["scale"], "side": at["side"],
                            "seconds": round(time.perf_counter() - t0, 3), **now})  # fmt: skip
        at["calls"] += 1
        at["done"] += 1
        report(progress, f"side {at['side']}: style {now['style']:.3g} content "
                         f"{now['content']:.3g}", at["done"], total_steps)  # fmt: skip

    for s, side in enumerate(sides):
        target = _resize(content.to(device), side)
        # the painting is measured at the size of the pass, so its strokes keep their scale
        loss_fn = StyleLoss(net, target, _resize(style_full, side), cfg)
        if x is None:
            start = (
                target
                if cfg.init == "content"
                else torch.rand(target.shape, generator=gen).to(device)
            )
        else:
            start = F.interpolate(
                x, size=target.shape[-2:], mode="bicubic", align_corners=False
            ).clamp(0, 1)
        at.update(calls=0, scale=s + 1, side=side)
        if cfg.optimizer == "lbfgs":
            x = _lbfgs(loss_fn, start, cfg.steps, seen)
        else:
            x = _adam(loss_fn, start, cfg.steps, cfg.lr, seen)
        with torch.no_grad():  # the losses of what this pass made
            now = {k: float(v) for k, v in loss_fn(x).items()}
        history.append({"step": at["done"], "scale": s + 1, "side": side,
                        "seconds": round(time.perf_counter() - t0, 3), **now})  # fmt: skip
    return x.cpu(), history


def _lbfgs(loss_fn: StyleLoss, start: torch.Tensor, evaluations: int, seen: Any) -> torch.Tensor:
    """L-BFGS on the pixels, clamped to [0, 1] before every evaluation (as the PyTorch
    tutorial does), for ``evaluations`` loss evaluations."""
    x = start.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], max_iter=min(20, evaluations), history_size=50)
    count = [0]

    def closure() -> torch.Tensor:
        with torch.no_grad():
            x.clamp_(0, 1)
        opt.zero_grad(set_to_none=True)
        losses = loss_fn(x)
        losses["total"].backward()
        seen(losses)
        count[0] += 1
        return losses["total"]

    while count[0] < evaluations:
        opt.param_groups[0]["max_iter"] = min(20, evaluations - count[0])
        opt.param_groups[0]["max_eval"] = min(25, evaluations - count[0])
        opt.step(closure)
    with torch.no_grad():
        return x.clamp_(0, 1).detach()


def _adam(
    loss_fn: StyleLoss, start: torch.Tensor, steps: int, lr: float, seen: Any
) -> torch.Tensor:
    """Adam on an unconstrained image whose sigmoid is the picture (always in [0, 1])."""
    logit = torch.logit(start.clamp(1e-3, 1 - 1e-3)).detach().requires_grad_(True)
    opt = torch.optim.Adam([logit], lr=lr)
    for _ in range(steps):
        losses = loss_fn(torch.sigmoid(logit))
        opt.zero_grad(set_to_none=True)
        losses["total"].backward()
        opt.step()
        seen(losses)
    return torch.sigmoid(logit).detach()
