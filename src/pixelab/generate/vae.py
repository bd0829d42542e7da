"""Autoencoders sized for a CPU: an encoder (an ordinary CNN) squeezes an image into a few
numbers, the latent code, and a decoder (a CNN run backwards, like a GAN's generator) rebuilds
the image from them. How few numbers suffice measures how regular images are.

A plain autoencoder (``kind="ae"``) learns one code per image. A variational one (``"vae"``,
Kingma & Welling 2014) learns a small cloud of codes per image and is pulled towards a standard
normal prior, so that any point drawn from the prior decodes to a plausible image and the code
has a price in bits (its KL divergence from the prior). Both decoders predict each 8-bit pixel
with a discretised logistic distribution (as PixelCNN++ does) whose spread is learned, so the
reconstruction's cost is also in bits: what the code leaves to be said about the image.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from pixelab._core.checks import check_positive_int
from pixelab._core.config import Config
from pixelab._core.errors import PixelabError
from pixelab.data.tensors import signed_to_uint8, to_signed, to_tensor_uint8
from pixelab.generate.gan import check_enough, upsamplings

KINDS = ("vae", "ae")
LN2 = math.log(2.0)


def _halvings(size: int, grid: bool) -> tuple[int, int]:
    """(number of 2x down/upsamplings, code grid side): a grid code always halves twice (28 ->
    7, 32 -> 8, as Stable Diffusion's autoencoder shrinks by 8), a flat one as a GAN does."""
    k, side = upsamplings(size, what="an autoencoder")
    return (2, size // 4) if grid else (k, side)


class Encoder(nn.Module):
    """Image in [-1, 1] -> ``out`` numbers: strided convolutions halve the side and double the
    channels, then one dense layer; with ``grid``, a 1x1 convolution instead, so the code is
    ``out`` numbers at every place of a small grid (what latent diffusion denoises)."""

    def __init__(self, channels: int, size: int, out: int, width: int, grid: bool = False):
        super().__init__()
        k, side = _halvings(size, grid)
        layers: list[nn.Module] = []
        c_in, c = channels, width
        for _ in range(k):
            layers += [nn.Conv2d(c_in, c, 4, stride=2, padding=1), nn.BatchNorm2d(c),
                       nn.LeakyReLU(0.2, inplace=True)]  # fmt: skip
            c_in, c = c, c * 2
        if grid:
            self.body = nn.Sequential(*layers)
            self.head: nn.Module = nn.Conv2d(c_in, out, 1)
        else:
            self.body = nn.Sequential(*layers, nn.Flatten())
            self.head = nn.Linear(c_in * side * side, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class Decoder(nn.Module):
    """Code -> the mean of every pixel (in [-1, 1] units): a dense layer (a 3x3 convolution
    for a grid code) to a small grid, then upsample + conv blocks, the mirror of
    :class:`Encoder`."""

    def __init__(self, latent: int, channels: int, size: int, width: int, grid: bool = False):
        super().__init__()
        k, side = _halvings(size, grid)
        self.side, c = side, width * 2 ** (k - 1)
        first: nn.Module = (nn.Conv2d(latent, c, 3, padding=1) if grid
                            else nn.Linear(latent, c * side * side))  # fmt: skip
        self.project = nn.Sequential(first, nn.ReLU(inplace=True))
        blocks: list[nn.Module] = []
        for _ in range(k):
            blocks += [nn.Upsample(scale_factor=2, mode="nearest"),
                       nn.Conv2d(c, max(c // 2, width), 3, padding=1),
                       nn.BatchNorm2d(max(c // 2, width)), nn.ReLU(inplace=True)]  # fmt: skip
            c = max(c // 2, width)
        blocks.append(nn.Conv2d(c, channels, 3, padding=1))
        self.body = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(self.project(z).view(len(z), -1, self.side, self.side))


class Autoencoder(nn.Module):
    """An encoder, a decoder, and the learned log-spread of the pixel distribution (one per
    channel). ``kind`` "vae" encodes a mean and a log-variance per latent number; "ae" the
    code itself. With ``grid`` the code is ``latent`` numbers at every place of a grid a
    quarter of the image's side (:attr:`code_shape`)."""

    def __init__(self, kind: str, latent: int, channels: int, size: int, width: int = 32,
                 grid: bool = False):  # fmt: skip
        super().__init__()
        if kind not in KINDS:
            raise PixelabError(f"unknown autoencoder kind {kind!r}",
                               hint=f"choose from: {', '.join(KINDS)}")  # fmt: skip
        self.kind, self.latent, self.channels, self.size = kind, latent, channels, size
        self.grid = grid
        out = latent * (2 if kind == "vae" else 1)
        self.encoder = Encoder(channels, size, out, width, grid)
        self.decoder = Decoder(latent, channels, size, width, grid)
        self.log_scale = nn.Parameter(torch.full((channels,), -2.0))

    @property
    def code_shape(self) -> tuple[int, ...]:
        """The shape of one image's code: (latent,), or (latent, side, side) for a grid."""
        side = self.decoder.side
        return (self.latent, side, side) if self.grid else (self.latent,)

    @property
    def code_numbers(self) -> int:
        """How many numbers one image's code holds."""
        return int(np.prod(self.code_shape))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(mean code, log-variance or None for a plain autoencoder) of images in [-1, 1]."""
        h = self.encoder(x)
        if self.kind == "ae":
            return h, None
        mu, logvar = h.chunk(2, 1)
        return mu, logvar.clamp(-12, 8)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel means in [-1, 1] units for codes ``z``."""
        return self.decoder(z)

    def scale(self) -> torch.Tensor:
        """The log-spread of the pixel distribution, shaped to broadcast over images."""
        return self.log_scale.clamp(min=-7.0).view(1, -1, 1, 1)


def discretized_logistic_nll(
    x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor
) -> torch.Tensor:
    """-log p(x) in nats per pixel for 8-bit pixels ``x`` scaled to [-1, 1]: the probability of
    the pixel's bin of width 2/255 under a logistic of ``mean`` and ``exp(log_scale)``, the
    first and last bins taking the tails (Salimans et al. 2017). A true code length: summed
    over an image and divided by ln 2 it is the bits that image costs to store."""
    inv = torch.exp(-log_scale)
    centred = x - mean
    plus, minus = inv * (centred + 1 / 255), inv * (centred - 1 / 255)
    log_cdf_plus = plus - nn.functional.softplus(plus)  # log sigmoid(plus): the lowest bin
    log_sf_minus = -nn.functional.softplus(minus)  # log (1 - sigmoid(minus)): the highest bin
    delta = torch.sigmoid(plus) - torch.sigmoid(minus)
    mid = inv * centred  # where the bin is too thin to subtract, its density times its width
    log_mid = mid - log_scale - 2 * nn.functional.softplus(mid) + math.log(2 / 255)
    inner = torch.where(delta > 1e-5, torch.log(delta.clamp(min=1e-12)), log_mid)
    logp = torch.where(x < -0.999, log_cdf_plus, torch.where(x > 0.999, log_sf_minus, inner))
    return -logp


def kl_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)) in nats, summed over the code: per image."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).flatten(1).sum(1)


def losses(model: Autoencoder, x: torch.Tensor, *, sample: bool = True) -> dict[str, torch.Tensor]:
    """Per image, in nats: ``rate`` (the code's KL from the prior; 0 for a plain autoencoder),
    ``distortion`` (-log p(image | code)) and the pixel means ``recon``. ``x``: uint8
    (N, C, H, W). ``sample`` draws the code from the encoder's cloud (training and the bound),
    else uses its mean (the pictures)."""
    xs = to_signed(x)
    mu, logvar = model.encode(xs)
    if logvar is None:
        z, rate = mu, torch.zeros(len(x), device=x.device)
    else:
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if sample else mu
        rate = kl_normal(mu, logvar)
    mean = model.decode(z)
    distortion = discretized_logistic_nll(xs, mean, model.scale()).flatten(1).sum(1)
    return {"rate": rate, "distortion": distortion, "recon": mean, "code": mu}


@dataclasses.dataclass(frozen=True)
class VAEConfig(Config):
    """How one autoencoder is built and trained; the defaults train a Fashion-MNIST VAE in a
    few minutes."""

    kind: str = "vae"
    latent: int = 8
    width: int = 32
    epochs: int = 5
    batch_size: int = 128
    lr: float = 2e-3
    beta: float = 1.0
    grid: bool = False  # codes on a grid (latent numbers per place), for latent diffusion
    seed: int = 0

    def check(self) -> VAEConfig:
        """Raise PixelabError naming the option for an impossible value; return self."""
        self.check_types()
        if self.kind not in KINDS:
            raise PixelabError(f"unknown autoencoder kind {self.kind!r}",
                               hint=f"choose from: {', '.join(KINDS)}")  # fmt: skip
        check_positive_int(self.latent, name="--latent")
        if self.latent > 1024:
            raise PixelabError(f"--latent {self.latent} is larger than an image should need",
                               hint="at most 1024")  # fmt: skip
        if self.grid and self.latent > 64:
            raise PixelabError(f"--latent {self.latent} with --grid is numbers per place of the "
                               "code's grid: more than an image should need",
                               hint="at most 64 (4 is usual)")  # fmt: skip
        check_positive_int(self.width, name="--width")
        check_positive_int(self.epochs, name="--epochs")
        check_positive_int(self.batch_size, name="--batch-size")
        check_positive_int(self.seed, name="--seed", minimum=0)
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise PixelabError(f"--lr must be a positive number, got {self.lr}")
        if not (self.beta >= 0 and math.isfinite(self.beta)):
            raise PixelabError(f"--beta must be 0 or more, got {self.beta}")
        return self


def build(cfg: VAEConfig, channels: int, size: int) -> Autoencoder:
    """The autoencoder for ``cfg``, initialised from its seed."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return Autoencoder(cfg.kind, cfg.latent, channels, size, cfg.width, cfg.grid)


@dataclasses.dataclass
class VAEResult:
    """What :func:`fit_vae` returns: one row per epoch, the training seconds, and whether it
    finished (False: interrupted, checkpoint kept)."""

    history: list[dict[str, Any]]
    train_seconds: float
    finished: bool


def fit_vae(
    model: Autoencoder,
    images: np.ndarray,
    cfg: VAEConfig,
    *,
    device: str = "cpu",
    checkpoint_dir: Any = None,
    resume: bool = False,
    progress: Any = None,
) -> VAEResult:
    """Train on uint8 ``images`` (N, H, W, C) by the negative evidence lower bound (distortion
    + ``beta`` x rate; distortion alone for a plain autoencoder). Every epoch is checkpointed
    atomically; ``resume`` continues exactly (data order and noise come from the seed and the
    epoch); Ctrl-C returns ``finished=False`` after the last epoch saved."""
    import time
    from pathlib import Path

    from pixelab._core.progress import report
    from pixelab.train.checkpoint import resume_epochs, save_checkpoint

    cfg = cfg.check()
    n = check_enough(len(images), cfg.batch_size, what="an autoencoder")
    dev = torch.device(device)
    model.to(dev)
    x_all = to_tensor_uint8(images)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    history: list[dict[str, Any]] = []
    start, elapsed = 0, 0.0
    if resume:
        history, elapsed, start = resume_epochs(checkpoint_dir, cfg.to_dict(), cfg.epochs,
                                                model=model, optimizer=opt)  # fmt: skip
    steps = n // cfg.batch_size
    pixels = int(np.prod(images.shape[1:]))
    try:
        for epoch in range(start, cfg.epochs):
            t0 = time.perf_counter()
            gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
            torch.manual_seed(cfg.seed * 100_003 + epoch)  # the codes' noise
            order = torch.randperm(n, generator=gen)
            model.train()
            sums = dict.fromkeys(("rate", "distortion"), 0.0)
            for step in range(steps):
                idx = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
                out = losses(model, x_all[idx].to(dev))
                loss = (out["distortion"] + cfg.beta * out["rate"]).mean() / pixels
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sums["rate"] += float(out["rate"].detach().mean())
                sums["distortion"] += float(out["distortion"].detach().mean())
                report(progress, f"{cfg.kind} {cfg.latent}: epoch {epoch + 1}/{cfg.epochs}",
                       step + 1, steps)  # fmt: skip
            elapsed += time.perf_counter() - t0
            rate, dist = sums["rate"] / steps / LN2, sums["distortion"] / steps / LN2
            history.append({"epoch": epoch + 1, "rate_bits": round(rate, 3),
                            "distortion_bits": round(dist, 3),
                            "bits_per_image": round(rate + dist, 3),
                            "seconds": round(elapsed, 3)})  # fmt: skip
            if checkpoint_dir is not None:
                save_checkpoint(Path(checkpoint_dir), model=model, optimizer=opt, scheduler=None,
                                state={"epoch": epoch, "config": cfg.to_dict(), "history": history,
                                       "finished": epoch + 1 == cfg.epochs,
                                       "train_seconds": elapsed})  # fmt: skip
    except KeyboardInterrupt:
        return VAEResult(history, elapsed, finished=False)
    model.eval()
    return VAEResult(history, elapsed, finished=True)


@torch.no_grad()
def evaluate(
    model: Autoencoder, images: np.ndarray, *, seed: int = 0, batch: int = 500
) -> dict[str, Any]:
    """How well ``model`` stores uint8 ``images``: mean bits per image for the code (rate) and
    for the rest (distortion) and their sum (the negative ELBO, an upper bound on the bits a
    VAE needs); the pixel error of reconstructions from the mean code (RMS in 0-255 levels and
    PSNR). A plain autoencoder's code is priced at 16 bits per number (stored as float16, and
    decoded from that rounding)."""
    model.eval()
    dev = next(model.parameters()).device
    x_all = to_tensor_uint8(images)
    rate = dist = sq = 0.0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i in range(0, len(images), batch):
            x = x_all[i : i + batch].to(dev)
            if model.kind == "ae":  # the code as it would be stored
                mu, _ = model.encode(to_signed(x))
                mean = model.decode(mu.half().float())
                d = discretized_logistic_nll(to_signed(x), mean, model.scale())
                dist += float(d.flatten(1).sum(1).sum())
            else:
                out = losses(model, x, sample=True)
                rate += float(out["rate"].sum())
                dist += float(out["distortion"].sum())
                mean = model.decode(out["code"])
            recon = ((mean.clamp(-1, 1) + 1) * 127.5).round()
            sq += float((recon - x.float()).pow(2).mean((1, 2, 3)).sum())
    n = len(images)
    rate_bits = 16.0 * model.code_numbers if model.kind == "ae" else rate / n / LN2
    dist_bits = dist / n / LN2
    rms = math.sqrt(sq / n)
    return {"rate_bits": round(rate_bits, 2), "distortion_bits": round(dist_bits, 2),
            "bits_per_image": round(rate_bits + dist_bits, 2),
            "raw_bits": 8 * int(np.prod(images.shape[1:])),
            "rms": round(rms, 3), "psnr": round(20 * math.log10(255 / max(rms, 1e-9)), 2)}  # fmt: skip


@torch.no_grad()
def reconstruct(model: Autoencoder, images: np.ndarray) -> np.ndarray:
    """Reconstructions of uint8 ``images`` (N, H, W, C) from their mean code, as uint8."""
    model.eval()
    dev = next(model.parameters()).device
    x = to_tensor_uint8(images).to(dev)
    mu, _ = model.encode(to_signed(x))
    return signed_to_uint8(model.decode(mu))


@torch.no_grad()
def encode(model: Autoencoder, images: np.ndarray, *, batch: int = 500) -> np.ndarray:
    """The mean codes (N, *code_shape) of uint8 ``images`` (N, H, W, C)."""
    model.eval()
    dev = next(model.parameters()).device
    x_all = to_tensor_uint8(images)
    out = [model.encode(to_signed(x_all[i : i + batch].to(dev)))[0].cpu()
           for i in range(0, len(images), batch)]  # fmt: skip
    return torch.cat(out).numpy()


@torch.no_grad()
def decode(model: Autoencoder, z: torch.Tensor, *, batch: int = 500) -> np.ndarray:
    """Images (uint8, N, H, W, C) decoded from codes ``z`` (N, *code_shape): the pixel
    means."""
    model.eval()
    dev = next(model.parameters()).device
    return np.concatenate([signed_to_uint8(model.decode(z[i : i + batch].to(dev)))
                           for i in range(0, len(z), batch)])  # fmt: skip


def latent_grid(
    steps: int = 15, *, low: tuple[float, float] = (-1.645, -1.645),
    high: tuple[float, float] = (1.645, 1.645),
) -> torch.Tensor:  # fmt: skip
    """Points of a 2-D latent plane on an even grid from ``low`` to ``high`` in each axis (by
    default the prior's 5 % and 95 % quantiles, as in Kingma & Welling's figure):
    (steps * steps, 2), rows top to bottom with the second axis falling, so the decoded grid
    reads like a scatter plot of the codes."""
    xs = torch.linspace(low[0], high[0], steps)
    ys = torch.linspace(low[1], high[1], steps).flip(0)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([xx.flatten(), yy.flatten()], 1)
