"""Diffusion, the parts apart from the network: how an image is buried in noise (the forward
process, a noise schedule), and how a network's noise predictions walk it back (the samplers).

The forward process needs no learning: at step t an image x0 becomes
``x_t = sqrt(abar_t) * x0 + sqrt(1 - abar_t) * noise``, where ``abar_t`` (the share of the
signal's power left) falls from about 1 to about 0 over T steps. A network is then trained to
predict the noise in x_t; a sampler starts from pure noise and, step by step, removes the
predicted noise. As in diffusers, the schedule and the sampler know nothing about the network:
they take its predictions (epsilon) as tensors, so any denoiser works with any sampler, and
diffusers' own schedulers check the arithmetic (tests/generate/test_diffusion.py).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import torch

from pixelab._core.checks import check_positive_int
from pixelab._core.errors import PixelabError

SCHEDULES = ("linear", "cosine")
SPACINGS = ("trailing", "leading")


@dataclasses.dataclass(frozen=True)
class NoiseSchedule:
    """``steps`` noise levels of one ``kind``: "linear" (betas from 1e-4 to 0.02, Ho et al.
    2020) or "cosine" (abar follows a squared cosine, Nichol & Dhariwal 2021: less of the
    signal is destroyed early, which suits small images). ``betas`` and ``alphas_cumprod``
    (abar) are float32 tensors of length ``steps``, as diffusers computes them."""

    kind: str = "cosine"
    steps: int = 1000

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise PixelabError(f"unknown noise schedule {self.kind!r}",
                               hint=f"choose from: {', '.join(SCHEDULES)}")  # fmt: skip
        check_positive_int(self.steps, name="--steps", minimum=2)
        if self.steps > 10_000:
            raise PixelabError(f"--steps {self.steps} is more than a schedule needs",
                               hint="at most 10000 (1000 is usual)")  # fmt: skip

    @property
    def betas(self) -> torch.Tensor:
        """The noise variance each step adds."""
        if self.kind == "linear":
            scale = 1000 / self.steps  # the same ends for any number of steps
            return torch.linspace(1e-4 * scale, 0.02 * scale, self.steps, dtype=torch.float32)

        def abar(t: float) -> float:
            return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

        n = self.steps
        return torch.tensor([min(1 - abar((i + 1) / n) / abar(i / n), 0.999) for i in range(n)],
                            dtype=torch.float32)  # fmt: skip

    @property
    def alphas_cumprod(self) -> torch.Tensor:
        """abar_t: the share of the signal's power left after step t (t = 0 ... steps - 1)."""
        return torch.cumprod(1.0 - self.betas, dim=0)

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x_t for images ``x0`` (in [-1, 1]), standard normal ``noise`` and steps ``t`` (one
        per image): the forward process in one jump."""
        abar = self.alphas_cumprod.to(x0.device)[t].view(-1, *([1] * (x0.ndim - 1)))
        return abar.sqrt() * x0 + (1 - abar).sqrt() * noise

    def signal_to_noise(self) -> torch.Tensor:
        """abar / (1 - abar) per step: above 1 the image dominates, below 1 the noise."""
        abar = self.alphas_cumprod.double()
        return (abar / (1 - abar)).float()


def timesteps(steps: int, n: int, *, spacing: str = "trailing") -> list[int]:
    """The ``n`` steps (descending) a sampler visits on a schedule of ``steps``. "trailing"
    starts at the last step (pure noise, what the model was trained to undo; better for few
    steps, Lin et al. 2024); "leading" is diffusers' older default, starting below it."""
    check_positive_int(n, name="--steps", minimum=1)
    if n > steps:
        raise PixelabError(f"--steps {n} is more than the schedule's {steps} steps")
    if spacing not in SPACINGS:
        raise PixelabError(f"unknown timestep spacing {spacing!r}",
                           hint=f"choose from: {', '.join(SPACINGS)}")  # fmt: skip
    if spacing == "leading":
        ratio = steps // n
        return [i * ratio for i in range(n)][::-1]
    ratio = steps / n
    return [round(steps - i * ratio) - 1 for i in range(n)]


def predict_x0(
    x_t: torch.Tensor, eps: torch.Tensor, abar_t: torch.Tensor, *, clip: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """(x0, epsilon) from a noise prediction at a step whose signal share is ``abar_t``. With
    ``clip`` x0 is clamped to the image range [-1, 1] and epsilon recomputed from the clamped
    x0, so that the two stay consistent (what makes strong guidance help, not break)."""
    x0 = (x_t - (1 - abar_t).sqrt() * eps) / abar_t.sqrt()
    if not clip:
        return x0, eps
    x0 = x0.clamp(-1, 1)
    return x0, (x_t - abar_t.sqrt() * x0) / (1 - abar_t).sqrt()


def _abar(schedule: NoiseSchedule, t: int, like: torch.Tensor) -> torch.Tensor:
    """abar at step ``t`` as a tensor like ``like``; 1 (a clean image) for t < 0."""
    value = schedule.alphas_cumprod[t] if t >= 0 else torch.tensor(1.0)
    return value.to(like.device, like.dtype)


def ddim_step(
    x_t: torch.Tensor,
    eps: torch.Tensor,
    t: int,
    t_prev: int,
    schedule: NoiseSchedule,
    *,
    eta: float = 0.0,
    noise: torch.Tensor | None = None,
    clip: bool = True,
) -> torch.Tensor:
    """One DDIM step (Song et al. 2021) from step ``t`` to ``t_prev`` (-1: the clean image).
    ``eta`` 0 is deterministic; 1 adds as much fresh noise as DDPM does."""
    a_t, a_prev = _abar(schedule, t, x_t), _abar(schedule, t_prev, x_t)
    x0, eps = predict_x0(x_t, eps, a_t, clip=clip)
    var = (1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)
    std = eta * var.sqrt()
    x = a_prev.sqrt() * x0 + (1 - a_prev - std**2).clamp(min=0).sqrt() * eps
    if eta > 0:
        if noise is None:
            raise PixelabError("a DDIM step with eta > 0 needs noise")
        x = x + std * noise
    return x


def ddpm_step(
    x_t: torch.Tensor,
    eps: torch.Tensor,
    t: int,
    t_prev: int,
    schedule: NoiseSchedule,
    *,
    noise: torch.Tensor | None = None,
    clip: bool = True,
) -> torch.Tensor:
    """One ancestral DDPM step (Ho et al. 2020) from ``t`` to ``t_prev``: the mean of the
    posterior q(x_prev | x_t, x0) at the predicted x0, plus its own noise (none at the end)."""
    a_t, a_prev = _abar(schedule, t, x_t), _abar(schedule, t_prev, x_t)
    alpha = a_t / a_prev  # what this (possibly strided) step keeps
    x0, _ = predict_x0(x_t, eps, a_t, clip=clip)
    mean = (a_prev.sqrt() * (1 - alpha) / (1 - a_t)) * x0 + (
        alpha.sqrt() * (1 - a_prev) / (1 - a_t)
    ) * x_t
    if t_prev < 0:
        return mean
    if noise is None:
        raise PixelabError("a DDPM step needs noise")
    var = ((1 - a_prev) / (1 - a_t) * (1 - alpha)).clamp(min=1e-20)
    return mean + var.sqrt() * noise


@torch.no_grad()
def sample_loop(
    eps_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    shape: tuple[int, ...],
    schedule: NoiseSchedule,
    *,
    steps: int = 50,
    sampler: str = "ddim",
    eta: float = 0.0,
    spacing: str = "trailing",
    seed: int = 0,
    device: str = "cpu",
    keep: int = 0,
    x_T: torch.Tensor | None = None,
    progress: Any = None,
) -> tuple[torch.Tensor, list[tuple[int, torch.Tensor]]]:
    """From pure noise (or ``x_T``) to images in [-1, 1] with ``steps`` network calls:
    ``eps_fn(x, t)`` predicts the noise in ``x`` at steps ``t`` (one per image). "ddim" (eta
    0: the same noise always gives the same image) or "ddpm" (fresh noise every step).
    Returns the images and, with ``keep`` > 0, about that many (t, x) snapshots on the way,
    for strips and GIFs. All noise comes from ``seed``."""
    from pixelab._core.progress import report

    if sampler not in ("ddim", "ddpm"):
        raise PixelabError(f"unknown sampler {sampler!r}", hint="choose from: ddim, ddpm")
    if not 0 <= eta <= 1:
        raise PixelabError(f"--eta must lie in [0, 1], got {eta}")
    ts = timesteps(schedule.steps, steps, spacing=spacing)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen) if x_T is None else x_T.detach().cpu().clone()
    x = x.to(device)
    every = max(1, len(ts) // keep) if keep else 0
    snaps: list[tuple[int, torch.Tensor]] = [(ts[0] + 1, x.cpu())] if keep else []
    for i, t in enumerate(ts):
        t_prev = ts[i + 1] if i + 1 < len(ts) else -1
        eps = eps_fn(x, torch.full((shape[0],), t, dtype=torch.long, device=device))
        need_noise = (sampler == "ddpm" and t_prev >= 0) or (sampler == "ddim" and eta > 0)
        noise = torch.randn(shape, generator=gen).to(device) if need_noise else None
        if sampler == "ddim":
            x = ddim_step(x, eps, t, t_prev, schedule, eta=eta, noise=noise)
        else:
            x = ddpm_step(x, eps, t, t_prev, schedule, noise=noise)
        if keep and ((i + 1) % every == 0 or t_prev < 0):
            snaps.append((max(t_prev, 0), x.cpu()))
        report(progress, "denoising", i + 1, len(ts))
    return x.clamp(-1, 1), snaps
