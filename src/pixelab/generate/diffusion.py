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
from pixelab._core.config import Config
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


def clip_bound(clip: bool | float) -> float | None:
    """The range x0 is clamped to, [-bound, bound]: 1 (pixels) for ``True``, none for
    ``False``, else the number given (a latent code's measured range)."""
    if clip is True:
        return 1.0
    if clip is False:
        return None
    if not (clip > 0 and math.isfinite(clip)):
        raise PixelabError(f"a clipping range must be a positive number, got {clip}")
    return float(clip)


def predict_x0(
    x_t: torch.Tensor, eps: torch.Tensor, abar_t: torch.Tensor, *, clip: bool | float = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """(x0, epsilon) from a noise prediction at a step whose signal share is ``abar_t``. With
    ``clip`` x0 is clamped to the image range [-1, 1] (or to [-clip, clip] for a number: a
    latent code's range) and epsilon recomputed from the clamped x0, so that the two stay
    consistent (what makes strong guidance help, not break). Near t = T, abar is tiny and x0
    is the noise prediction's error magnified thousands of times: without a range it explodes."""
    x0 = (x_t - (1 - abar_t).sqrt() * eps) / abar_t.sqrt()
    bound = clip_bound(clip)
    if bound is None:
        return x0, eps
    x0 = x0.clamp(-bound, bound)
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
    clip: bool | float = True,
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
    clip: bool | float = True,
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
def renoise(x_prev: torch.Tensor, t_prev: int, t: int, schedule: NoiseSchedule,
            noise: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """x at step ``t`` drawn from x at the earlier step ``t_prev`` (-1: a clean image) by the
    forward process, q(x_t | x_prev): how RePaint steps back up to resample."""
    keep = _abar(schedule, t, x_prev) / _abar(schedule, t_prev, x_prev)
    return keep.sqrt() * x_prev + (1 - keep).sqrt() * noise


def _clamp(x: torch.Tensor, clip: bool | float) -> torch.Tensor:
    bound = clip_bound(clip)
    return x if bound is None else x.clamp(-bound, bound)


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
    init: torch.Tensor | None = None,
    strength: float = 1.0,
    known: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    resample: int = 1,
    clip: bool | float = True,
    progress: Any = None,
) -> tuple[torch.Tensor, list[tuple[int, torch.Tensor]]]:
    """From pure noise (or ``x_T``) to images in [-1, 1] with ``steps`` network calls:
    ``eps_fn(x, t)`` predicts the noise in ``x`` at steps ``t`` (one per image). "ddim" (eta
    0: the same noise always gives the same image) or "ddpm" (fresh noise every step).

    Image-to-image (SDEdit, Meng et al. 2022): ``init`` images are noised to the share
    ``strength`` of the way and denoised from there (0 returns them unchanged, 1 forgets them).
    Inpainting (RePaint, Lugmayr et al. 2022): where ``mask`` is 1 the ``known`` images are
    kept, noised to each step's level, and the rest is denoised to fit them; every step is
    redone ``resample`` times, stepping back up with fresh noise, so the filled part has time
    to agree with the kept part. The kept pixels come back exactly.

    ``clip`` keeps the predicted clean image (and the result) within [-1, 1], the range of
    pixels, or within [-clip, clip] for a number (latent codes: their measured range).

    Returns the images and, with ``keep`` > 0, about that many (t, x) snapshots on the way,
    for strips and GIFs. All noise comes from ``seed``."""
    from pixelab._core.progress import report

    if sampler not in ("ddim", "ddpm"):
        raise PixelabError(f"unknown sampler {sampler!r}", hint="choose from: ddim, ddpm")
    if not 0 <= eta <= 1:
        raise PixelabError(f"--eta must lie in [0, 1], got {eta}")
    if not 0 <= strength <= 1:
        raise PixelabError(f"--strength must lie in [0, 1], got {strength}")
    check_positive_int(resample, name="--resample")
    if (known is None) != (mask is None):
        raise PixelabError("inpainting needs both the known images and their mask")
    ts = timesteps(schedule.steps, steps, spacing=spacing)
    gen = torch.Generator().manual_seed(seed)

    def fresh() -> torch.Tensor:
        return torch.randn(shape, generator=gen).to(device)

    if init is not None:
        init = init.to(device)
        ts = ts[len(ts) - round(len(ts) * strength) :]
        if not ts:
            return _clamp(init, clip), [(0, init.cpu())] if keep else []
        x = schedule.add_noise(init, fresh(), torch.full((shape[0],), ts[0], device=device))
    else:
        x = fresh() if x_T is None else x_T.detach().clone().to(device)
    if known is not None:
        known, mask = known.to(device), mask.to(device)
    every = max(1, len(ts) // keep) if keep else 0
    snaps: list[tuple[int, torch.Tensor]] = [(ts[0] + 1, x.cpu())] if keep else []
    for i, t in enumerate(ts):
        t_prev = ts[i + 1] if i + 1 < len(ts) else -1
        rounds = resample if (known is not None and t_prev >= 0) else 1
        for r in range(rounds):
            eps = eps_fn(x, torch.full((shape[0],), t, dtype=torch.long, device=device))
            need_noise = (sampler == "ddpm" and t_prev >= 0) or (sampler == "ddim" and eta > 0)
            noise = fresh() if need_noise else None
            if sampler == "ddim":
                x_prev = ddim_step(x, eps, t, t_prev, schedule, eta=eta, noise=noise, clip=clip)
            else:
                x_prev = ddpm_step(x, eps, t, t_prev, schedule, noise=noise, clip=clip)
            if known is not None:
                seen = known if t_prev < 0 else schedule.add_noise(
                    known, fresh(), torch.full((shape[0],), t_prev, device=device))  # fmt: skip
                x_prev = mask * seen + (1 - mask) * x_prev
            x = renoise(x_prev, t_prev, t, schedule, fresh()) if r + 1 < rounds else x_prev
        if keep and ((i + 1) % every == 0 or t_prev < 0):
            snaps.append((max(t_prev, 0), x.cpu()))
        report(progress, "denoising", i + 1, len(ts))
    x = _clamp(x, clip)
    if known is not None:  # exactly the given pixels where they are known
        x = torch.where(mask.expand_as(x) > 0.5, known.expand_as(x), x)
    return x, snaps


@dataclasses.dataclass(frozen=True)
class DiffusionConfig(Config):
    """How a denoiser is built and trained; sized for minutes on a CPU."""

    schedule: str = "cosine"
    steps: int = 1000
    width: int = 32
    conditional: bool = True
    uncond_share: float = 0.1  # of training images shown as "no class" (for guidance)
    partial_share: float = 0.2  # of each attribute shown as unknown (prompts naming only some)
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    average: float = 0.999
    seed: int = 0

    def check(self) -> DiffusionConfig:
        """Raise PixelabError naming the option for an impossible value; return self."""
        self.check_types()
        NoiseSchedule(self.schedule, self.steps)
        check_positive_int(self.width, name="--width", minimum=4)
        check_positive_int(self.epochs, name="--epochs")
        check_positive_int(self.batch_size, name="--batch-size")
        check_positive_int(self.seed, name="--seed", minimum=0)
        if not 0 <= self.uncond_share < 1:
            raise PixelabError(f"--uncond-share must lie in [0, 1), got {self.uncond_share}")
        if not 0 <= self.partial_share < 1:
            raise PixelabError(f'"partial_share" must lie in [0, 1), got {self.partial_share}')
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise PixelabError(f"--lr must be a positive number, got {self.lr}")
        if not 0 <= self.average < 1:
            raise PixelabError(f'"average" must lie in [0, 1), got {self.average}')
        return self


def build(cfg: DiffusionConfig, channels: int, size: int, n_classes: int,
          attributes: tuple[int, ...] = ()) -> Any:  # fmt: skip
    """The U-Net for ``cfg`` (conditioned on the class and, if given, on ``attributes``: the
    value count of each), initialised from its seed."""
    from pixelab.generate.unet import UNet

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        if not cfg.conditional:
            return UNet(channels, size, 0, cfg.width)
        # attributes include places ("top left"): the network is told where each pixel is
        return UNet(channels, size, n_classes, cfg.width, attributes=tuple(attributes),
                    coords=bool(attributes))  # fmt: skip


def guided_eps(model: Any, guidance: float, y: torch.Tensor | None) -> Callable[..., torch.Tensor]:
    """``eps_fn`` for the samplers: the model's noise prediction for classes ``y``, pushed
    away from its prediction without a class by ``guidance`` (classifier-free guidance, Ho &
    Salimans 2022: eps = eps_none + w (eps_class - eps_none); w = 1 is the plain conditional
    model, 0 the unconditional one). The samplers clamp x0 and recompute eps from it, so
    strong guidance cannot push images out of range."""
    if guidance < 0 or not math.isfinite(guidance):
        raise PixelabError(f"--guidance must be 0 or more, got {guidance}")

    def eps_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if y is None or model.label is None:
            return model(x, t, None)
        yy = model.full_labels(y.to(x.device))
        if guidance == 1:
            return model(x, t, yy)
        none = model.null_class(len(x), x.device)
        if guidance == 0:
            return model(x, t, none)
        both = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([yy, none]))
        cond, uncond = both.chunk(2)
        return uncond + guidance * (cond - uncond)

    return eps_fn


@dataclasses.dataclass
class DiffusionResult:
    """What :func:`fit_diffusion` returns: one row per epoch, the training seconds, and whether
    it finished (False: interrupted, checkpoint kept)."""

    history: list[dict[str, Any]]
    train_seconds: float
    finished: bool


def fit_diffusion(
    model: Any,
    images: Any,
    labels: Any,
    cfg: DiffusionConfig,
    *,
    device: str = "cpu",
    checkpoint_dir: Any = None,
    resume: bool = False,
    on_epoch: Any = None,
    max_seconds: float | None = None,
    progress: Any = None,
) -> DiffusionResult:
    """Train ``model`` to predict the noise added to uint8 ``images`` (N, H, W, C), or to
    float codes (N, C, H, W) already scaled for it (latent diffusion), at random steps (mean
    squared error), showing a share of them as "no class". ``labels`` are classes (N,) or, for
    a model with attributes, (N, 1 + attributes), each attribute hidden for a share of the
    images so that a prompt may leave some out. A moving average of
    the weights is kept and is what ``on_epoch(epoch, averaged model)`` sees and the model
    holds at the end. Every epoch is checkpointed atomically; ``resume`` continues exactly;
    Ctrl-C returns ``finished=False`` after the last epoch saved; ``max_seconds`` ends
    training (finished) at the first step past that much training time."""
    import time
    from pathlib import Path

    import numpy as np

    from pixelab._core.progress import report
    from pixelab.data.tensors import to_signed, to_tensor_uint8
    from pixelab.generate.gan import check_enough
    from pixelab.train.averaging import WeightAverage
    from pixelab.train.checkpoint import resume_epochs, save_checkpoint

    cfg = cfg.check()
    n = check_enough(len(images), cfg.batch_size, what="a diffusion model")
    schedule = NoiseSchedule(cfg.schedule, cfg.steps)
    dev = torch.device(device)
    model.to(dev)
    abar = schedule.alphas_cumprod.to(dev)
    codes = isinstance(images, torch.Tensor) and images.is_floating_point()
    x_all = images if codes else to_tensor_uint8(images)
    y_all = torch.from_numpy(np.asarray(labels, np.int64))
    cond = model.label is not None
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    average = WeightAverage(model, cfg.average) if cfg.average > 0 else None
    kept = model if average is None else average.module
    history: list[dict[str, Any]] = []
    start, elapsed = 0, 0.0
    if resume:
        history, elapsed, start = resume_epochs(
            checkpoint_dir, cfg.to_dict(), cfg.epochs, model=model, optimizer=opt,
            average=None if average is None else average.module,
        )  # fmt: skip
    steps = n // cfg.batch_size
    try:
        for epoch in range(start, cfg.epochs):
            t0 = time.perf_counter()
            gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
            order = torch.randperm(n, generator=gen)
            model.train()
            total, done_steps, out_of_time = 0.0, steps, False
            for step in range(steps):
                if max_seconds is not None and elapsed + time.perf_counter() - t0 >= max_seconds:
                    out_of_time, done_steps = True, step
                    break
                idx = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
                x0 = x_all[idx].to(dev) if codes else to_signed(x_all[idx].to(dev))
                t = torch.randint(0, cfg.steps, (len(idx),), generator=gen).to(dev)
                noise = torch.randn(x0.shape, generator=gen).to(dev)
                a = abar[t].view(-1, 1, 1, 1)
                x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise
                y = None
                if cond:
                    y = y_all[idx].clone()
                    drop = torch.rand(len(idx), generator=gen) < cfg.uncond_share
                    if y.ndim == 1:
                        y[drop] = model.n_classes
                    else:  # every attribute unknown now and then, all of them for guidance
                        some = torch.rand(y.shape, generator=gen) < cfg.partial_share
                        y = torch.where(some | drop[:, None], model.unknown, y)
                    y = y.to(dev)
                loss = torch.nn.functional.mse_loss(model(x_t, t, y), noise)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if average is not None:
                    average.update(epoch * steps + step + 1)
                total += float(loss.detach())
                report(progress, f"epoch {epoch + 1}/{cfg.epochs} loss {total / (step + 1):.4f}",
                       step + 1, steps)  # fmt: skip
            elapsed += time.perf_counter() - t0
            if done_steps == 0:
                break
            row: dict[str, Any] = {"epoch": epoch + 1, "loss": round(total / done_steps, 5),
                                   "steps": done_steps, "seconds": round(elapsed, 3)}  # fmt: skip
            if on_epoch is not None:
                row.update(on_epoch(epoch, kept) or {})
            history.append(row)
            if checkpoint_dir is not None:
                save_checkpoint(Path(checkpoint_dir), model=model, optimizer=opt, scheduler=None,
                                average=None if average is None else average.module,
                                state={"epoch": epoch, "config": cfg.to_dict(), "history": history,
                                       "finished": epoch + 1 == cfg.epochs or out_of_time,
                                       "train_seconds": elapsed})  # fmt: skip
            if out_of_time:
                break
    except KeyboardInterrupt:
        return DiffusionResult(history, elapsed, finished=False)
    if average is not None:
        model.load_state_dict(average.module.state_dict())
    model.eval()
    return DiffusionResult(history, elapsed, finished=True)


def time_training_step(
    model: Any, shape: tuple[int, ...], *, repeats: int = 3, warmup: int = 1, seed: int = 0
) -> float:
    """Median seconds of one training step (forward, backward, Adam) of a copy of ``model`` on
    random inputs of ``shape`` (a batch of noisy images, or of code grids): what a step costs,
    whatever the weights (the model itself is left untouched)."""
    import copy
    import time

    check_positive_int(repeats, name="repeats")
    net = copy.deepcopy(model).train()
    dev = next(net.parameters()).device
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen).to(dev)
    y = torch.randint(0, max(1, net.n_classes), (shape[0],), generator=gen).to(dev)
    y = y if net.label is not None else None
    times = []
    for i in range(warmup + repeats):
        t = torch.randint(0, 1000, (shape[0],), generator=gen).to(dev)
        noise = torch.randn(shape, generator=gen).to(dev)
        t0 = time.perf_counter()
        loss = torch.nn.functional.mse_loss(net(x + noise, t, y), noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return float(sorted(times)[len(times) // 2])
