"""Fast style transfer (Johnson, Alahi & Fei-Fei, 2016): a network that repaints any photo in one
painting's style in a single forward pass, instead of an optimisation per photo.

The network is trained once per painting with the same losses as Gatys' optimisation (content:
VGG16 features of the photo; style: Gram matrices of the painting; a little total variation),
but on many photos: random crops of the training pictures. What the optimisation found for one
photo in a minute, the network then produces for any photo in a fraction of a second.

The network (CPU-sized here): a 9x9 convolution, two strided convolutions down to a quarter of
the side, residual blocks, two nearest-neighbour upsamplings with convolutions (no transposed
convolutions: they leave a checkerboard), a 9x9 convolution back to RGB. Instance normalisation
everywhere (Ulyanov et al. 2016): each image's contrast is normalised away, which is what makes
a style network generalise across photos. Reflection padding keeps the borders clean.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pixelab._core.checks import check_positive_int
from pixelab._core.config import Config
from pixelab._core.errors import PixelabError
from pixelab.generate.style import check_loss_options, gram, total_variation
from pixelab.train.checkpoint import StepsResult, fit_steps

#: Johnson et al.'s layers: content from conv3_3, style from the last layer of blocks 1-4.
FAST_CONTENT_LAYERS = ("conv3_3",)
FAST_STYLE_LAYERS = ("conv1_2", "conv2_2", "conv3_3", "conv4_3")


def _conv(c_in: int, c_out: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.ReflectionPad2d(k // 2), nn.Conv2d(c_in, c_out, k, stride))


class _Residual(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(
            _conv(c, c, 3), nn.InstanceNorm2d(c, affine=True), nn.ReLU(inplace=True),
            _conv(c, c, 3), nn.InstanceNorm2d(c, affine=True),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class StyleNet(nn.Module):
    """RGB images (N, 3, H, W) in [0, 1] -> the same images repainted, same size, in [0, 1].
    ``width`` channels at full size (four times that at a quarter of the side), ``blocks``
    residual blocks in the middle. Any side works: it is padded to a multiple of 4 and cropped
    back (and to 8 at least)."""

    def __init__(self, width: int = 16, blocks: int = 5):
        super().__init__()
        self.width, self.blocks = int(width), int(blocks)
        c1, c2, c3 = width, 2 * width, 4 * width

        def down(a: int, b: int, k: int, s: int) -> list[nn.Module]:
            return [_conv(a, b, k, s), nn.InstanceNorm2d(b, affine=True), nn.ReLU(inplace=True)]

        def up(a: int, b: int) -> list[nn.Module]:
            return [nn.Upsample(scale_factor=2, mode="nearest"), *down(a, b, 3, 1)]

        self.net = nn.Sequential(
            *down(3, c1, 9, 1), *down(c1, c2, 3, 2), *down(c2, c3, 3, 2),
            *(_Residual(c3) for _ in range(blocks)),
            *up(c3, c2), *up(c2, c1), _conv(c1, 3, 9),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        # a multiple of 4, and at least 8 (the 9x9 convolutions' reflection needs a side > 4)
        ph, pw = max(8, h + -h % 4) - h, max(8, w + -w % 4) - w
        if ph or pw:  # reflect needs a pad below the side: replicate covers tiny images
            x = F.pad(x, (0, pw, 0, ph), mode="reflect" if ph < h and pw < w else "replicate")
        return torch.sigmoid(self.net(x))[..., :h, :w]


@dataclasses.dataclass(frozen=True)
class FastStyleConfig(Config):
    """How a style network is built and trained; the defaults give a clear style from ten or
    so minutes on 2 cores."""

    width: int = 16
    blocks: int = 5
    steps: int = 1500  # optimiser steps, each on ``batch`` random crops
    batch: int = 4
    crop: int = 128  # side of the training crops
    style_size: int = 256  # longer side the painting is measured at (sets the strokes' scale)
    lr: float = 1e-3
    # relative errors as for the optimisation; 5 painted over the photos, 2 keeps them legible
    style_weight: float = 2.0
    content_weight: float = 1.0
    tv_weight: float = 1.0
    content_layers: tuple[str, ...] = FAST_CONTENT_LAYERS
    style_layers: tuple[str, ...] = FAST_STYLE_LAYERS
    checkpoint_every: int = 50  # steps between checkpoints (a Ctrl-C loses at most these)
    seed: int = 0

    def check(self) -> FastStyleConfig:
        """Raise PixelabError naming the option for an impossible value; return self."""

        self.check_types()
        check_positive_int(self.width, name="--width")
        if self.width > 128:
            raise PixelabError(f"--width {self.width} is more than a CPU style network needs",
                               hint="at most 128 (16-32 is usual)")  # fmt: skip
        check_positive_int(self.blocks, name="--blocks", minimum=0)
        if self.blocks > 16:
            raise PixelabError(
                f"--blocks {self.blocks} is too deep", hint="at most 16 (5 is usual)"
            )
        check_positive_int(self.steps, name="--steps")
        check_positive_int(self.batch, name="--batch-size")
        check_positive_int(self.crop, name="--crop", minimum=16)
        if self.crop > 512:
            raise PixelabError(f"--crop {self.crop} is too large to train on 2 cores",
                               hint="at most 512 (128-256 is usual)")  # fmt: skip
        check_positive_int(self.style_size, name="--style-size", minimum=32)
        if self.style_size > 1024:
            raise PixelabError(f"--style-size {self.style_size} is too large", hint="at most 1024")
        check_positive_int(self.checkpoint_every, name="--checkpoint-every")
        check_positive_int(self.seed, name="--seed", minimum=0)
        check_loss_options(self)
        return self


def build(cfg: FastStyleConfig) -> StyleNet:
    """The style network for ``cfg``, initialised from its seed."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return StyleNet(cfg.width, cfg.blocks)


def random_crops(
    pictures: list[np.ndarray], n: int, crop: int, rng: np.random.Generator
) -> torch.Tensor:
    """``n`` random ``crop`` x ``crop`` pieces (N, 3, crop, crop) in [0, 1] of the uint8 RGB
    ``pictures`` (each at least ``crop`` on its shorter side), each picked, placed and
    mirrored at random."""
    out = np.empty((n, crop, crop, 3), np.uint8)
    for i in range(n):
        pic = pictures[int(rng.integers(len(pictures)))]
        y = int(rng.integers(pic.shape[0] - crop + 1))
        x = int(rng.integers(pic.shape[1] - crop + 1))
        piece = pic[y : y + crop, x : x + crop]
        out[i] = piece[:, ::-1] if rng.random() < 0.5 else piece
    return torch.from_numpy(out).permute(0, 3, 1, 2).float() / 255


class BatchStyleLoss:
    """Content (each image against its own photo), style (Gram matrices against one painting's)
    and total-variation losses of a batch, measured by ``vgg``; relative errors as in
    :class:`~pixelab.generate.style.StyleLoss`, so weights mean the same in both."""

    def __init__(self, vgg: Any, style: torch.Tensor, cfg: FastStyleConfig):
        self.vgg, self.cfg = vgg, cfg
        self.layers = tuple(dict.fromkeys((*cfg.content_layers, *cfg.style_layers)))
        with torch.no_grad():
            self.style = {k: gram(v) for k, v in vgg(style, cfg.style_layers).items()}
        self.style_norm = {
            k: float(v.pow(2).mean().clamp(min=1e-12)) for k, v in self.style.items()
        }

    def __call__(self, made: torch.Tensor, photos: torch.Tensor) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        with torch.no_grad():
            target = self.vgg(photos, cfg.content_layers)
        feats = self.vgg(made, self.layers)
        content = sum(F.mse_loss(feats[k], target[k]) / target[k].pow(2).mean().clamp(min=1e-12)
                      for k in cfg.content_layers) / len(cfg.content_layers)  # fmt: skip
        style = sum(F.mse_loss(gram(feats[k]), self.style[k].expand(len(made), -1, -1))
                    / self.style_norm[k] for k in cfg.style_layers) / len(cfg.style_layers)  # fmt: skip
        tv = total_variation(made)
        total = cfg.content_weight * content + cfg.style_weight * style + cfg.tv_weight * tv
        return {"total": total, "content": content, "style": style, "tv": tv}


def fit_style_net(
    model: StyleNet,
    vgg: Any,
    pictures: list[np.ndarray],
    style: torch.Tensor,
    cfg: FastStyleConfig,
    *,
    checkpoint_dir: Any = None,
    resume: bool = False,
    max_seconds: float | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> StepsResult:
    """Train ``model`` to repaint random crops of ``pictures`` (uint8 RGB, each at least
    ``cfg.crop`` on its shorter side) in the style of ``style`` (1, 3, H, W) in [0, 1]. Every
    ``cfg.checkpoint_every`` steps a checkpoint is written atomically; the crops of each step
    come from the seed and the step, so ``resume`` continues exactly. Ctrl-C returns
    ``finished=False`` after the last checkpoint; ``max_seconds`` ends training early, at a
    checkpoint."""
    cfg = cfg.check()
    if not pictures:
        raise PixelabError("no pictures to train a style network on")
    small = [p.shape[:2] for p in pictures if min(p.shape[:2]) < cfg.crop]
    if small:
        raise PixelabError(f"a training picture of {small[0][1]}x{small[0][0]} is smaller than "
                           f"--crop {cfg.crop}", hint="use a smaller --crop")  # fmt: skip
    device = next(vgg.parameters()).device
    model.to(device).train()
    loss_fn = BatchStyleLoss(vgg, style.to(device), cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)

    def step(i: int) -> dict[str, float]:
        photos = random_crops(pictures, cfg.batch, cfg.crop, np.random.default_rng((cfg.seed, i)))
        photos = photos.to(device)
        losses = loss_fn(model(photos), photos)
        opt.zero_grad(set_to_none=True)
        losses["total"].backward()
        opt.step()
        return {k: float(v.detach()) for k, v in losses.items()}

    result = fit_steps(step, steps=cfg.steps, every=cfg.checkpoint_every, config=cfg.to_dict(),
                       model=model, optimizer=opt, checkpoint_dir=checkpoint_dir, resume=resume,
                       max_seconds=max_seconds, progress=progress,
                       describe=lambda done, now: f"step {done}/{cfg.steps}: style "
                                                  f"{now['style']:.3g} content {now['content']:.3g}")  # fmt: skip
    model.eval()
    return result


@torch.no_grad()
def apply_style_net(model: StyleNet, image: torch.Tensor) -> torch.Tensor:
    """``image`` (1, 3, H, W) or a batch in [0, 1], repainted by a trained style network."""
    if image.ndim != 4 or image.shape[1] != 3:
        raise PixelabError(
            f"a style network repaints RGB images (N, 3, H, W), got {tuple(image.shape)}"
        )
    model.eval()
    device = next(model.parameters()).device
    return model(image.to(device)).cpu()
