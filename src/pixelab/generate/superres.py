"""Super-resolution: make a small image larger and sharper than interpolation can.

A network sees a small image and predicts the detail that bicubic interpolation misses. Both
networks here start from the bicubic enlargement and add what they predict to it (a global
residual, as in VDSR): the network then only has to learn the missing detail, which is what
lets it beat bicubic after minutes on a CPU rather than days on a GPU. They differ in where
they work and how deep they are:

- **ESPCN** (Shi et al. 2016): three convolutions on the *small* image, then a sub-pixel
  shuffle that turns ``scale**2`` channels into a ``scale`` times larger picture. All the work
  happens at low resolution, so it is very fast.
- **SRResNet-style** (Ledig et al. 2017; without batch norm, as EDSR found better): a 9x9
  convolution, residual blocks, then sub-pixel upsampling and a 9x9 convolution. Deeper and
  slower, more accurate.

Trained by pixel error, both are blurry where detail is ambiguous: the mean of all plausible
sharp images is blurred. The SRGAN idea adds a discriminator (real high-resolution patch or
not?) and compares VGG16 features instead of pixels: sharper to the eye, at a cost in PSNR.

Quality is measured as the literature does: PSNR and SSIM on the luma (Y) channel, with a
border of ``scale`` pixels cropped.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pixelab._core.checks import check_positive_int
from pixelab._core.config import Config
from pixelab._core.errors import PixelabError
from pixelab._core.progress import report
from pixelab.train.checkpoint import StepsResult, fit_steps

#: Enlargements the networks are built for.
SCALES = (2, 3, 4)
#: The networks, by name.
MODELS = ("espcn", "srresnet")
#: The side of SSIM's Gaussian window (sigma 1.5): the smallest image it measures.
SSIM_WINDOW = 11


def check_scale(scale: int) -> int:
    """``scale`` if it is one of :data:`SCALES`, else one clear error."""
    if isinstance(scale, bool) or scale not in SCALES:
        raise PixelabError(f"unsupported --scale {scale!r}",
                           hint=f"choose one of: {', '.join(map(str, SCALES))}")  # fmt: skip
    return int(scale)


def upscale_bicubic(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Images (N, C, h, w) in [0, 1] enlarged ``scale`` times by bicubic interpolation."""
    return F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)


def downscale(x: torch.Tensor, scale: int) -> torch.Tensor:
    """The degradation the networks learn to undo: bicubic shrinking with antialiasing (as
    MATLAB's ``imresize``, which made the benchmark sets), of images whose sides divide by
    ``scale``; clipped to [0, 1] like a saved image."""
    h, w = x.shape[-2:]
    return F.interpolate(x, size=(h // scale, w // scale), mode="bicubic", antialias=True,
                         align_corners=False).clamp(0, 1)  # fmt: skip


class ESPCN(nn.Module):
    """Small RGB images (N, 3, h, w) in [0, 1] -> (N, 3, scale*h, scale*w): bicubic plus the
    detail three low-resolution convolutions and a sub-pixel shuffle predict."""

    def __init__(self, scale: int, width: int = 64):
        super().__init__()
        self.scale = check_scale(scale)
        self.body = nn.Sequential(
            nn.Conv2d(3, width, 5, padding=2), nn.PReLU(width),
            nn.Conv2d(width, width // 2, 3, padding=1), nn.PReLU(width // 2),
            nn.Conv2d(width // 2, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale),
        )  # fmt: skip
        nn.init.zeros_(self.body[-2].weight)  # starts as plain bicubic
        nn.init.zeros_(self.body[-2].bias)
        self.radius = 2 + 1 + 1 + 2  # low-resolution pixels of context one output needs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upscale_bicubic(x, self.scale) + self.body(x)


class _Block(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.PReLU(c),
                                  nn.Conv2d(c, c, 3, padding=1))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    """Small RGB images (N, 3, h, w) in [0, 1] -> (N, 3, scale*h, scale*w): bicubic plus the
    detail a residual network predicts (``blocks`` blocks of ``width`` channels, sub-pixel
    upsampling by 2 or 3 at a time)."""

    def __init__(self, scale: int, width: int = 32, blocks: int = 6):
        super().__init__()
        self.scale = check_scale(scale)
        self.head = nn.Sequential(nn.Conv2d(3, width, 9, padding=4), nn.PReLU(width))
        self.blocks = nn.Sequential(*(_Block(width) for _ in range(blocks)))
        self.mid = nn.Conv2d(width, width, 3, padding=1)
        steps = [3] if scale == 3 else [2] * (scale // 2)
        up: list[nn.Module] = []
        for s in steps:
            up += [
                nn.Conv2d(width, width * s * s, 3, padding=1),
                nn.PixelShuffle(s),
                nn.PReLU(width),
            ]
        self.up = nn.Sequential(*up)
        self.tail = nn.Conv2d(width, 3, 9, padding=4)
        nn.init.zeros_(self.tail.weight)  # starts as plain bicubic
        nn.init.zeros_(self.tail.bias)
        # low-resolution context of one output: head, blocks, mid, upsampling, tail
        self.radius = 4 + 2 * blocks + 1 + len(steps) + math.ceil(4 / scale) + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        h = h + self.mid(self.blocks(h))
        return upscale_bicubic(x, self.scale) + self.tail(self.up(h))


class Discriminator(nn.Module):
    """High-resolution patches (N, 3, H, W) in [0, 1] -> one logit each: real photo or made
    by the generator? (SRGAN's, smaller: strided convolutions, then a global average.)"""

    def __init__(self, width: int = 32):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1), nn.LeakyReLU(0.2)]
        c = width
        for out, stride in (
            (width, 2),
            (2 * width, 1),
            (2 * width, 2),
            (4 * width, 1),
            (4 * width, 2),
        ):
            layers += [nn.Conv2d(c, out, 3, stride, 1), nn.BatchNorm2d(out), nn.LeakyReLU(0.2)]
            c = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(c, 2 * c), nn.LeakyReLU(0.2), nn.Linear(2 * c, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x * 2 - 1).mean(dim=(2, 3))).squeeze(1)


@dataclasses.dataclass(frozen=True)
class SRConfig(Config):
    """How a super-resolution network is built and trained; the defaults beat bicubic clearly
    after a few minutes on 2 cores."""

    model: str = "espcn"
    scale: int = 2
    width: int = 0  # 0: the model's own default (ESPCN 64, SRResNet 32)
    blocks: int = 6  # SRResNet's residual blocks
    steps: int = 2000
    batch: int = 16
    patch: int = 32  # side of the low-resolution training patches
    lr: float = 1e-3
    checkpoint_every: int = 100
    seed: int = 0

    def check(self) -> SRConfig:
        """Raise PixelabError naming the option for an impossible value; return self."""
        self.check_types()
        if self.model not in MODELS:
            raise PixelabError(f"unknown super-resolution --model {self.model!r}",
                               hint=f"choose from: {', '.join(MODELS)}")  # fmt: skip
        check_scale(self.scale)
        check_positive_int(self.width, name="--width", minimum=0)
        if self.width > 256:
            raise PixelabError(f"--width {self.width} is too wide for 2 cores", hint="at most 256")
        check_positive_int(self.blocks, name="--blocks", minimum=0)
        if self.blocks > 32:
            raise PixelabError(f"--blocks {self.blocks} is too deep", hint="at most 32")
        check_positive_int(self.steps, name="--steps")
        check_positive_int(self.batch, name="--batch-size")
        check_positive_int(self.patch, name="--patch", minimum=8)
        if self.patch > 256:
            raise PixelabError(
                f"--patch {self.patch} is too large", hint="at most 256 (32-48 is usual)"
            )
        check_positive_int(self.checkpoint_every, name="--checkpoint-every")
        check_positive_int(self.seed, name="--seed", minimum=0)
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise PixelabError(f"--lr must be a positive number, got {self.lr}")
        return self


def build(cfg: SRConfig) -> nn.Module:
    """The network for ``cfg``, initialised from its seed."""
    cfg = cfg.check()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        if cfg.model == "espcn":
            return ESPCN(cfg.scale, cfg.width or 64)
        return SRResNet(cfg.scale, cfg.width or 32, cfg.blocks)


def random_patches(
    pictures: list[np.ndarray], n: int, side: int, rng: np.random.Generator
) -> torch.Tensor:
    """``n`` random ``side`` x ``side`` patches (N, 3, side, side) in [0, 1] of uint8 RGB
    ``pictures``, each picked, placed, mirrored and turned at random (the 8 symmetries of a
    square are all natural for detail)."""
    out = np.empty((n, side, side, 3), np.uint8)
    for i in range(n):
        pic = pictures[int(rng.integers(len(pictures)))]
        y = int(rng.integers(pic.shape[0] - side + 1))
        x = int(rng.integers(pic.shape[1] - side + 1))
        piece = pic[y : y + side, x : x + side]
        if rng.random() < 0.5:
            piece = piece[:, ::-1]
        out[i] = np.rot90(piece, int(rng.integers(4)))
    return torch.from_numpy(out).permute(0, 3, 1, 2).float() / 255


def fit_superres(
    model: nn.Module,
    pictures: list[np.ndarray],
    cfg: SRConfig,
    *,
    checkpoint_dir: Any = None,
    resume: bool = False,
    max_seconds: float | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> StepsResult:
    """Train ``model`` to undo :func:`downscale` on random patches of ``pictures`` (uint8
    RGB, each at least ``patch * scale`` on its shorter side), by mean absolute error (sharper
    than squared error for the same PSNR, as EDSR found). The patches of each step come from
    the seed and the step, so a resumed run continues exactly; a checkpoint every
    ``checkpoint_every`` steps; Ctrl-C returns ``finished=False`` after the last one;
    ``max_seconds`` ends training early, at a checkpoint."""
    cfg = cfg.check()
    hr_side = cfg.patch * cfg.scale
    _check_pictures(pictures, hr_side)
    device = next(model.parameters()).device
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)

    def step(i: int) -> dict[str, float]:
        # the rate falls to a tenth over the run (cosine): big steps first, fine ones last
        for g in opt.param_groups:
            g["lr"] = cfg.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * i / cfg.steps)))
        hr = random_patches(pictures, cfg.batch, hr_side, np.random.default_rng((cfg.seed, i)))
        hr = hr.to(device)
        loss = F.l1_loss(model(downscale(hr, cfg.scale)), hr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"l1": float(loss.detach())}

    result = fit_steps(step, steps=cfg.steps, every=cfg.checkpoint_every, config=cfg.to_dict(),
                       model=model, optimizer=opt, checkpoint_dir=checkpoint_dir, resume=resume,
                       max_seconds=max_seconds, progress=progress,
                       describe=lambda done, now: f"step {done}/{cfg.steps}: L1 {now['l1']:.4f}")  # fmt: skip
    model.eval()
    return result


def _check_pictures(pictures: list[np.ndarray], hr_side: int) -> None:
    if not pictures:
        raise PixelabError("no pictures to train a super-resolution network on")
    small = [p.shape[:2] for p in pictures if min(p.shape[:2]) < hr_side]
    if small:
        raise PixelabError(f"a training picture of {small[0][1]}x{small[0][0]} is smaller than a "
                           f"{hr_side}-px patch", hint="use a smaller --patch")  # fmt: skip


@torch.no_grad()
def upscale_tiled(
    model: nn.Module,
    image: torch.Tensor,
    *,
    tile: int = 128,
    progress: Callable[[str, int, int], None] | None = None,
) -> torch.Tensor:
    """``image`` (1, 3, h, w) in [0, 1] enlarged by ``model``, ``tile`` x ``tile`` low-
    resolution pixels at a time with a margin of the network's reach around each (so the
    result equals one whole pass, up to float rounding, while memory stays that of one tile),
    clipped to [0, 1]."""
    check_positive_int(tile, name="--tile", minimum=8)
    if image.ndim != 4 or image.shape[:2] != (1, 3):
        raise PixelabError(
            f"super-resolution enlarges one RGB image (1, 3, H, W), got {tuple(image.shape)}"
        )
    s, m = model.scale, model.radius
    _, _, h, w = image.shape
    device = next(model.parameters()).device
    model.eval()
    out = torch.empty(1, 3, h * s, w * s)
    boxes = [(y, x) for y in range(0, h, tile) for x in range(0, w, tile)]
    for i, (y, x) in enumerate(boxes):
        y0, x0 = max(0, y - m), max(0, x - m)
        y1, x1 = min(h, y + tile + m), min(w, x + tile + m)
        part = model(image[..., y0:y1, x0:x1].to(device)).cpu()
        ty, tx = min(tile, h - y), min(tile, w - x)
        oy, ox = (y - y0) * s, (x - x0) * s
        out[..., y * s : (y + ty) * s, x * s : (x + tx) * s] = part[
            ..., oy : oy + ty * s, ox : ox + tx * s
        ]
        report(progress, "enlarging tile by tile", i + 1, len(boxes))
    return out.clamp(0, 1)


# ------------------------------------------------------------------------------- measures


def luma(x: np.ndarray) -> np.ndarray:
    """The Y (luma) channel of uint8 RGB images (..., 3) as ITU-R BT.601 defines it for
    studio range, float 16-235: what super-resolution papers measure on."""
    x = np.asarray(x, np.float64)
    return 16.0 + (65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]) / 255.0


def psnr_y(a: np.ndarray, b: np.ndarray, border: int = 0) -> float:
    """PSNR in dB of uint8 RGB image ``a`` against ``b`` on the luma channel, ``border``
    pixels cropped on every side; identical images give infinity."""
    ya, yb = _cropped(luma(a), luma(b), border)
    mse = float(np.mean((ya - yb) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def ssim_y(a: np.ndarray, b: np.ndarray, border: int = 0) -> float:
    """SSIM of uint8 RGB ``a`` against ``b`` on the luma channel, ``border`` cropped: the
    Gaussian-weighted form of Wang et al. (sigma 1.5), as the literature reports it."""
    from skimage.metrics import structural_similarity

    ya, yb = _cropped(luma(a), luma(b), border)
    if min(ya.shape) < SSIM_WINDOW:
        raise PixelabError(f"SSIM needs {SSIM_WINDOW} pixels or more on each side inside the border, "
                           f"got {ya.shape[1]}x{ya.shape[0]}")  # fmt: skip
    return float(structural_similarity(ya, yb, data_range=255.0, gaussian_weights=True,
                                       sigma=1.5, use_sample_covariance=False))  # fmt: skip


def _cropped(a: np.ndarray, b: np.ndarray, border: int) -> tuple[np.ndarray, np.ndarray]:
    if a.shape != b.shape:
        raise PixelabError(f"images of different sizes: {a.shape} and {b.shape}")
    if border:
        if min(a.shape[:2]) <= 2 * border:
            raise PixelabError(f"an image of {a.shape[1]}x{a.shape[0]} has nothing left inside a "
                               f"border of {border}")  # fmt: skip
        a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    return a, b


@torch.no_grad()
def vgg_distance(vgg: Any, a: np.ndarray, b: np.ndarray, layer: str = "conv3_3") -> float:
    """A perceptual distance: mean squared difference of VGG16 ``layer`` features of uint8
    RGB ``a`` and ``b``, relative to ``b``'s feature power (0: alike to the network)."""
    ta = torch.from_numpy(np.array(a, copy=True)).permute(2, 0, 1)[None].float() / 255
    tb = torch.from_numpy(np.array(b, copy=True)).permute(2, 0, 1)[None].float() / 255
    fa, fb = vgg(ta, [layer])[layer], vgg(tb, [layer])[layer]
    return float(F.mse_loss(fa, fb) / fb.pow(2).mean().clamp(min=1e-12))


# ------------------------------------------------------------------ adversarial fine-tuning


@dataclasses.dataclass(frozen=True)
class SRGANConfig(Config):
    """How a trained network is fine-tuned the SRGAN way (Ledig et al. 2017): a VGG16 feature
    loss instead of the pixel error, plus a discriminator's verdict, plus a little pixel error
    to keep colours in place."""

    steps: int = 500
    batch: int = 16
    patch: int = 32  # low-resolution patch side; the discriminator sees scale x this
    lr: float = 1e-4
    vgg_layer: str = "conv4_3"
    adversarial_weight: float = 1e-3
    pixel_weight: float = 1e-2
    disc_width: int = 32
    checkpoint_every: int = 50
    seed: int = 0

    def check(self) -> SRGANConfig:
        """Raise PixelabError naming the option for an impossible value; return self."""
        from pixelab.models.vgg16 import LAYERS

        self.check_types()
        check_positive_int(self.steps, name="--steps")
        check_positive_int(self.batch, name="--batch-size", minimum=2)
        check_positive_int(self.patch, name="--patch", minimum=8)
        if self.patch > 128:
            raise PixelabError(f"--patch {self.patch} is too large", hint="at most 128")
        check_positive_int(self.disc_width, name="--disc-width")
        check_positive_int(self.checkpoint_every, name="--checkpoint-every")
        check_positive_int(self.seed, name="--seed", minimum=0)
        if self.vgg_layer not in LAYERS:
            raise PixelabError(f"VGG16 has no layer {self.vgg_layer!r}",
                               hint=f"choose from: {', '.join(LAYERS)}")  # fmt: skip
        for name in ("adversarial_weight", "pixel_weight"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise PixelabError(f"--{name.replace('_', '-')} must be 0 or more, got {value}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise PixelabError(f"--lr must be a positive number, got {self.lr}")
        return self


def build_discriminator(cfg: SRGANConfig) -> Discriminator:
    """The discriminator for ``cfg``, initialised from its seed."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed + 1)
        return Discriminator(cfg.disc_width)


def fit_srgan(
    generator: nn.Module,
    discriminator: Discriminator,
    vgg: Any,
    pictures: list[np.ndarray],
    cfg: SRGANConfig,
    *,
    checkpoint_dir: Any = None,
    resume: bool = False,
    max_seconds: float | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> StepsResult:
    """Fine-tune a trained ``generator`` (ESPCN or SRResNet) against ``discriminator``: the
    generator lowers the VGG16 feature distance to the original patches, the chance the
    discriminator spots its output, and a little pixel error; the discriminator learns real
    from made. Patches come from the seed and the step (exact resume); checkpoints every
    ``checkpoint_every`` steps hold both networks and both optimisers; Ctrl-C returns
    ``finished=False`` after the last one."""
    from pixelab.train.checkpoint import OptimizerPair

    cfg = cfg.check()
    scale = generator.scale
    hr_side = cfg.patch * scale
    _check_pictures(pictures, hr_side)
    device = next(generator.parameters()).device
    discriminator.to(device)
    both = nn.ModuleDict({"generator": generator, "discriminator": discriminator}).train()
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr, betas=(0.9, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.lr, betas=(0.9, 0.999))
    bce = F.binary_cross_entropy_with_logits

    def step(i: int) -> dict[str, float]:
        hr = random_patches(pictures, cfg.batch, hr_side, np.random.default_rng((cfg.seed, i)))
        hr = hr.to(device)
        sr = generator(downscale(hr, scale))
        # the discriminator: real patches 1, made ones 0
        real, fake = discriminator(hr), discriminator(sr.detach())
        d_loss = bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        # the generator: look real to it, and like the original to VGG16
        with torch.no_grad():
            target = vgg(hr, [cfg.vgg_layer])[cfg.vgg_layer]
        feats = vgg(sr.clamp(0, 1), [cfg.vgg_layer])[cfg.vgg_layer]
        v_loss = F.mse_loss(feats, target) / target.pow(2).mean().clamp(min=1e-12)
        verdict = discriminator(sr)
        a_loss = bce(verdict, torch.ones_like(verdict))
        p_loss = F.l1_loss(sr, hr)
        g_loss = v_loss + cfg.adversarial_weight * a_loss + cfg.pixel_weight * p_loss
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        return {"vgg": float(v_loss.detach()), "adversarial": float(a_loss.detach()),
                "pixel": float(p_loss.detach()), "disc": float(d_loss.detach()),
                "disc_real_right": float((real > 0).float().mean()),
                "disc_fake_right": float((fake < 0).float().mean())}  # fmt: skip

    result = fit_steps(step, steps=cfg.steps, every=cfg.checkpoint_every, config=cfg.to_dict(),
                       model=both, optimizer=OptimizerPair(opt_g, opt_d),
                       checkpoint_dir=checkpoint_dir, resume=resume, max_seconds=max_seconds,
                       progress=progress,
                       describe=lambda done, now: f"step {done}/{cfg.steps}: VGG {now['vgg']:.3f} "
                                                  f"D {now['disc']:.3f}")  # fmt: skip
    both.eval()
    return result
