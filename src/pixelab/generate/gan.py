"""A DCGAN sized for a CPU: a generator that turns noise into an image by upsampling (a CNN run
backwards) and a discriminator that is an ordinary CNN classifier (real or generated?).

Both play a game: the discriminator learns to tell real images from generated ones, the
generator learns to fool it. With ``n_classes`` > 0 both are told the class (the generator
gets a learned class vector beside its noise; the discriminator a projection term, as in
Miyato & Koyama 2018), so a user can ask for "a sandal". Over the PyTorch DCGAN tutorial this
adds spectral normalisation and a minibatch-spread map in the discriminator, the hinge loss, a
faster discriminator learning rate (TTUR) and a moving average of the generator's weights
(BENCHMARKS.md measures the difference).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from pixelab._core.checks import check_positive_int
from pixelab._core.config import Config
from pixelab._core.errors import PixelabError
from pixelab.data.tensors import signed_to_uint8

LOSSES = ("hinge", "bce")
#: The generator's default learning rate, with classes (True) and without. Without classes
#: twice the rate reaches an 18-27 % lower FID in the same steps; with classes it makes the
#: samples of each class alike (BENCHMARKS.md, GANs: "the generator's learning rate").
LR_G = {True: 2e-4, False: 4e-4}


def upsamplings(size: int, *, what: str = "a GAN") -> tuple[int, int]:
    """(number of 2x upsamplings, first grid side) for an image side: 28 -> (2, 7), 32 ->
    (3, 4), 64 -> (3, 8). The side must be a multiple of 4 from 8 to 128."""
    if isinstance(size, bool) or not isinstance(size, int) or size % 4 or not 8 <= size <= 128:
        raise PixelabError(
            f"{what} makes square images with a side that is a multiple of 4 from 8 to 128, "
            f"got {size!r}",
            hint="use --size 28, 32 or 64",
        )
    k = 2
    while k < 3 and size % 2 ** (k + 1) == 0 and size // 2 ** (k + 1) >= 4:
        k += 1
    return k, size // 2**k


class Generator(nn.Module):
    """Noise (and a class) -> image in [-1, 1]: a dense layer to a small grid of feature maps,
    then upsample + conv blocks that double the side and halve the channels."""

    def __init__(self, latent: int, channels: int, size: int, n_classes: int = 0, width: int = 64):
        super().__init__()
        self.latent, self.channels, self.size, self.n_classes = latent, channels, size, n_classes
        k, side = upsamplings(size)
        self.side = side
        start = width * 2**k
        self.embed = nn.Embedding(n_classes, latent) if n_classes else None
        self.project = nn.Sequential(
            nn.Linear(latent * (2 if n_classes else 1), start * side * side, bias=False),
            nn.BatchNorm1d(start * side * side),
            nn.ReLU(inplace=True),
        )
        blocks: list[nn.Module] = []
        c = start
        for _ in range(k):
            blocks += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(c, c // 2, 3, padding=1, bias=False),
                nn.BatchNorm2d(c // 2),
                nn.ReLU(inplace=True),
            ]
            c //= 2
        blocks += [nn.Conv2d(c, channels, 3, padding=1), nn.Tanh()]
        self.body = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if y is None:
                raise PixelabError("this generator is class-conditional: give the classes")
            z = torch.cat([z, self.embed(y)], 1)
        x = self.project(z).view(len(z), -1, self.side, self.side)
        return self.body(x)


class Discriminator(nn.Module):
    """Image (and its class) -> one score, high for "real": strided convolutions, each
    spectrally normalised so that no layer can make the score jump (a stable game)."""

    def __init__(self, channels: int, size: int, n_classes: int = 0, width: int = 64):
        super().__init__()
        k, _ = upsamplings(size)
        layers: list[nn.Module] = []
        c_in, c = channels, width
        for _ in range(k):
            layers += [
                spectral_norm(nn.Conv2d(c_in, c, 4, stride=2, padding=1)),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            c_in, c = c, c * 2
        self.body = nn.Sequential(*layers)
        # the batch's spread as one more map (minibatch standard deviation, Karras et al.
        # 2018): samples that all look alike are then easy to spot, which punishes collapse
        self.last = nn.Sequential(spectral_norm(nn.Conv2d(c_in + 1, c_in, 3, padding=1)),
                                  nn.LeakyReLU(0.2, True))  # fmt: skip
        self.score = spectral_norm(nn.Linear(c_in, 1))
        self.embed = spectral_norm(nn.Embedding(n_classes, c_in)) if n_classes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x)
        spread = h.std(0, unbiased=False).mean().expand(len(h), 1, *h.shape[2:])
        h = self.last(torch.cat([h, spread], 1)).sum((2, 3))  # sum pooling, as in SNGAN
        out = self.score(h).squeeze(1)
        if self.embed is not None:
            if y is None:
                raise PixelabError("this discriminator is class-conditional: give the classes")
            out = out + (self.embed(y) * h).sum(1)
        return out


@dataclasses.dataclass(frozen=True)
class GANConfig(Config):
    """How a GAN is built and trained; the defaults train a Fashion-MNIST GAN in minutes."""

    latent: int = 64
    width: int = 32
    conditional: bool = True
    epochs: int = 5
    batch_size: int = 64
    lr_g: float | None = None  # None: LR_G[conditional], measured best for each (BENCHMARKS)
    lr_d: float = 8e-4  # a faster discriminator (TTUR): one step of each stays a fair game
    beta1: float = 0.5
    loss: str = "hinge"
    average: float = 0.999
    mode_seeking: float = 0.0  # > 0: reward samples that differ when their noise does
    seed: int = 0

    def __post_init__(self) -> None:
        if self.lr_g is None:  # the default rate depends on whether classes are given
            object.__setattr__(self, "lr_g", LR_G[bool(self.conditional)])

    def check(self) -> GANConfig:
        """Raise PixelabError naming the option for an impossible value; return self."""
        self.check_types()
        check_positive_int(self.latent, name="--latent")
        check_positive_int(self.width, name="--width")
        check_positive_int(self.epochs, name="--epochs")
        check_positive_int(self.batch_size, name="--batch-size")
        check_positive_int(self.seed, name="--seed", minimum=0)
        for name in ("lr_g", "lr_d"):
            v = getattr(self, name)
            if not (v > 0 and math.isfinite(v)):
                raise PixelabError(f"--{name.replace('_', '-')} must be a positive number, got {v}")
        if not 0 <= self.beta1 < 1:
            raise PixelabError(f"--beta1 must lie in [0, 1), got {self.beta1}")
        if self.loss not in LOSSES:
            raise PixelabError(
                f"unknown GAN loss {self.loss!r}", hint=f"choose from: {', '.join(LOSSES)}"
            )
        if not (self.mode_seeking >= 0 and math.isfinite(self.mode_seeking)):
            raise PixelabError(f"--mode-seeking must be 0 or more, got {self.mode_seeking}")
        if not 0 <= self.average < 1:
            raise PixelabError(f'"average" must lie in [0, 1), got {self.average}',
                               hint="0 turns the generator's weight average off")  # fmt: skip
        return self


def d_loss(loss: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss on its scores for real and for generated images."""
    if loss == "hinge":
        return torch.relu(1 - real).mean() + torch.relu(1 + fake).mean()
    bce = nn.functional.binary_cross_entropy_with_logits
    return bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))


def g_loss(loss: str, fake: torch.Tensor) -> torch.Tensor:
    """The generator's loss: it wants its images scored as real (non-saturating for bce)."""
    if loss == "hinge":
        return -fake.mean()
    return nn.functional.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def mode_seeking_penalty(fake: torch.Tensor, z: torch.Tensor, half: int) -> torch.Tensor:
    """The mode-seeking term (Mao et al. 2019): small when the first ``half`` samples differ
    from the next ``half`` as much as their noise does. A generator that ignores its noise
    (every sandal the same) pays for it."""
    images = (fake[:half] - fake[half : 2 * half]).abs().flatten(1).mean(1)
    noise = (z[:half] - z[half : 2 * half]).abs().mean(1)
    return 1 / ((images / noise).mean() + 1e-5)


def fixed_latents(latent: int, n: int, seed: int) -> torch.Tensor:
    """The same ``n`` noise vectors for one seed: what the per-epoch grids show, so a picture
    shows the same samples getting better."""
    return torch.randn(n, latent, generator=torch.Generator().manual_seed(seed * 7919 + 1))


@torch.no_grad()
def sample(
    generator: Generator,
    z: torch.Tensor,
    y: torch.Tensor | None = None,
    *,
    batch: int = 256,
) -> np.ndarray:
    """Images from noise ``z`` (and classes ``y``) as uint8 (N, H, W, C)."""
    generator.eval()
    dev = next(generator.parameters()).device
    out = []
    for i in range(0, len(z), batch):
        yy = None if y is None else y[i : i + batch].to(dev)
        out.append(signed_to_uint8(generator(z[i : i + batch].to(dev), yy)))
    return np.concatenate(out)


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """Points between two noise vectors along the great circle (slerp): every point keeps the
    typical length of a noise vector, so the strip stays on what the generator knows."""
    a, b = a.flatten(), b.flatten()
    omega = torch.arccos(torch.clamp((a / a.norm()) @ (b / b.norm()), -1, 1))
    t = torch.linspace(0, 1, steps)[:, None]
    if float(omega) < 1e-6:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def build(cfg: GANConfig, channels: int, size: int, n_classes: int) -> tuple[Any, Any]:
    """The generator and discriminator for ``cfg``, initialised from its seed."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        c = n_classes if cfg.conditional else 0
        return (Generator(cfg.latent, channels, size, c, cfg.width),
                Discriminator(channels, size, c, cfg.width))  # fmt: skip


def check_enough(n: int, batch_size: int, *, what: str = "a GAN") -> int:
    """``n`` training images, refused when they do not fill one batch (one clear line)."""
    if n < batch_size:
        raise PixelabError(f"{what} needs at least one batch of {batch_size} training images, "
                           f"got {n}", hint="lower --batch-size or add images")  # fmt: skip
    return n


@dataclasses.dataclass
class GANResult:
    """What :func:`fit_gan` returns: one row per epoch (losses, scores, the monitor's numbers),
    the training seconds and whether it finished (False: interrupted, checkpoint kept)."""

    history: list[dict[str, Any]]
    train_seconds: float
    finished: bool
    steps: int = 0  # optimisation steps (of each network) taken in this call


def fit_gan(
    generator: Generator,
    discriminator: Discriminator,
    images: np.ndarray,
    labels: np.ndarray,
    cfg: GANConfig,
    *,
    device: str = "cpu",
    checkpoint_dir: Any = None,
    resume: bool = False,
    on_epoch: Any = None,
    max_seconds: float | None = None,
    bf16: bool = False,
    progress: Any = None,
) -> GANResult:
    """Train the pair on uint8 ``images`` (N, H, W, C): per step one discriminator update on a
    real and a generated batch, then one generator update. ``on_epoch(epoch, averaged
    generator)`` returns numbers (the monitor's) kept in that epoch's history row. Every
    epoch is checkpointed atomically; ``resume`` continues exactly (data order and noise come
    from the seed and the epoch); Ctrl-C returns ``finished=False`` after the last epoch saved.
    ``max_seconds`` ends training (finished) at the first step past that much training time,
    for comparisons on equal time; where it stops depends on the machine. ``bf16`` runs the
    networks under bfloat16 autocast (about 1.6x faster per step on a CPU with bf16 hardware;
    the weights, optimiser and losses stay in float32).
    """
    import time
    from pathlib import Path

    from pixelab._core.progress import report
    from pixelab.data.tensors import to_signed, to_tensor_uint8
    from pixelab.train.averaging import WeightAverage
    from pixelab.train.checkpoint import OptimizerPair, resume_epochs, save_checkpoint
    from pixelab.train.loop import bf16_autocast

    cfg = cfg.check()
    n = check_enough(len(images), cfg.batch_size)
    dev = torch.device(device)
    memory = torch.channels_last  # measured 10-15 % faster per step on a CPU
    generator.to(dev, memory_format=memory)
    discriminator.to(dev, memory_format=memory)
    x_all = to_tensor_uint8(images)
    y_all = torch.from_numpy(np.asarray(labels, np.int64))
    cond = generator.n_classes > 0
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, 0.999))
    pair = nn.ModuleDict({"generator": generator, "discriminator": discriminator})
    average = WeightAverage(generator, cfg.average) if cfg.average > 0 else None
    kept = generator if average is None else average.module
    history: list[dict[str, Any]] = []
    start, elapsed = 0, 0.0
    if resume:
        history, elapsed, start = resume_epochs(
            checkpoint_dir, cfg.to_dict(), cfg.epochs, model=pair,
            optimizer=OptimizerPair(opt_g, opt_d),
            average=None if average is None else average.module,
        )  # fmt: skip
    steps = n // cfg.batch_size
    taken = 0
    try:
        for epoch in range(start, cfg.epochs):
            t0 = time.perf_counter()
            gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
            torch.manual_seed(cfg.seed * 100_003 + epoch)
            order = torch.randperm(n, generator=gen)
            generator.train()
            discriminator.train()
            sums = dict.fromkeys(("d_loss", "g_loss", "real_score", "fake_score"), 0.0)
            out_of_time = False
            done_steps = steps
            for step in range(steps):
                if max_seconds is not None and elapsed + time.perf_counter() - t0 >= max_seconds:
                    out_of_time, done_steps = True, step
                    break
                idx = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
                real = to_signed(x_all[idx].to(dev)).contiguous(memory_format=memory)
                y = y_all[idx].to(dev) if cond else None
                z = torch.randn(len(idx), cfg.latent, generator=gen).to(dev)
                half = len(idx) // 2
                if cfg.mode_seeking and cond:  # pairs of noise vectors for one class each
                    y = torch.cat([y[:half], y[:half], y[2 * half :]])
                with bf16_autocast(dev, bf16):
                    fake = generator(z, y)
                    s_real, s_fake = discriminator(real, y), discriminator(fake.detach(), y)
                    loss_d = d_loss(cfg.loss, s_real.float(), s_fake.float())
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
                with bf16_autocast(dev, bf16):
                    loss_g = g_loss(cfg.loss, discriminator(fake, y).float())
                    if cfg.mode_seeking:
                        ms = mode_seeking_penalty(fake.float(), z, half)
                        loss_g = loss_g + cfg.mode_seeking * ms
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_g.step()
                if average is not None:
                    average.update(epoch * steps + step + 1)
                taken += 1
                sums["d_loss"] += float(loss_d.detach())
                sums["g_loss"] += float(loss_g.detach())
                sums["real_score"] += float(s_real.detach().mean())
                sums["fake_score"] += float(s_fake.detach().mean())
                report(progress, f"epoch {epoch + 1}/{cfg.epochs}", step + 1, steps)
            elapsed += time.perf_counter() - t0
            if done_steps == 0:  # the time ran out with the last epoch
                break
            row: dict[str, Any] = {"epoch": epoch + 1,
                                   **{k: round(v / done_steps, 5) for k, v in sums.items()},
                                   "seconds": round(elapsed, 3)}  # fmt: skip
            if on_epoch is not None:
                row.update(on_epoch(epoch, kept) or {})
            history.append(row)
            if checkpoint_dir is not None:
                save_checkpoint(Path(checkpoint_dir), model=pair, optimizer=OptimizerPair(opt_g, opt_d),
                                scheduler=None, average=None if average is None else average.module,
                                state={"epoch": epoch, "config": cfg.to_dict(), "history": history,
                                       "finished": epoch + 1 == cfg.epochs or out_of_time,
                                       "train_seconds": elapsed})  # fmt: skip
            if out_of_time:
                break
    except KeyboardInterrupt:
        return GANResult(history, elapsed, finished=False, steps=taken)
    if average is not None:
        generator.load_state_dict(average.module.state_dict())
    generator.eval()
    return GANResult(history, elapsed, finished=True, steps=taken)
