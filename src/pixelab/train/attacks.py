"""Adversarial examples: the smallest pixel changes that push a model to a wrong answer.

FGSM takes one step of size ``eps`` along the sign of the loss gradient; PGD takes ``steps``
smaller steps of ``alpha``, each time pulled back within ``eps`` of the image (the L-infinity
ball) and into [0, 1]. Both work on any model that maps [0, 1] images to logits, through
autograd on the input only (the model's weights get no gradients). They live in ``train/`` so
that adversarial training (a policy of ``fit``) and ``robust attack`` share them.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from pixelab._core.errors import PixelabError

METHODS = ("fgsm", "pgd")


def _input_grad(model: Any, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The gradient of the mean cross-entropy with respect to the images ``x``."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        loss = F.cross_entropy(model(x).float(), y)
        (grad,) = torch.autograd.grad(loss, x)
    return grad


def _check_eps(eps: float) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 <= eps <= 1:
        raise PixelabError(f"eps must lie in [0, 1] (a share of the pixel range), got {eps!r}",
                           hint="e.g. 8/255 = 0.031")  # fmt: skip
    return float(eps)


def fgsm(model: Any, x: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """Fast gradient sign method: ``x + eps * sign(grad)``, clipped to [0, 1]."""
    eps = _check_eps(eps)
    if eps == 0:
        return x.detach().clone()
    return (x + eps * _input_grad(model, x, y).sign()).clamp(0, 1).detach()


def pgd(
    model: Any,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    *,
    alpha: float | None = None,
    steps: int = 10,
    random_start: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Projected gradient descent in the L-infinity ball of radius ``eps`` (Madry et al.):
    ``steps`` signed steps of ``alpha`` (default ``2.5 * eps / steps``), each projected back.
    With ``random_start`` it begins at a uniform random point of the ball (seeded by
    ``generator``)."""
    eps = _check_eps(eps)
    if steps < 1:
        raise PixelabError(f"PGD needs at least one step, got {steps}")
    if eps == 0:
        return x.detach().clone()
    alpha = 2.5 * eps / steps if alpha is None else float(alpha)
    adv = x.detach().clone()
    if random_start:
        noise = torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        adv = (adv + (2 * noise - 1) * eps).clamp(0, 1)
    for _ in range(steps):
        adv = adv + alpha * _input_grad(model, adv, y).sign()
        adv = (x + (adv - x).clamp(-eps, eps)).clamp(0, 1).detach()
    return adv


def attack(
    model: Any, x: torch.Tensor, y: torch.Tensor, method: str, eps: float, **options: Any
) -> torch.Tensor:
    """Adversarial versions of ``x`` by ``method`` (fgsm or pgd) at ``eps``."""
    if method not in METHODS:
        raise PixelabError(f"unknown attack {method!r}", hint=f"choose from: {', '.join(METHODS)}")
    return fgsm(model, x, y, eps) if method == "fgsm" else pgd(model, x, y, eps, **options)


def fast_fgsm(
    model: Any, x: torch.Tensor, y: torch.Tensor, eps: float, generator: torch.Generator
) -> torch.Tensor:
    """FGSM from a random start, for adversarial training ("fast is better than free", Wong et
    al. 2020): a uniform random point of the eps-ball, one signed step of 1.25 eps, projected
    back. One extra forward and backward per training step instead of PGD's ten."""
    eps = _check_eps(eps)
    noise = torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    start = (x + (2 * noise - 1) * eps).clamp(0, 1)
    step = 1.25 * eps * _input_grad(model, start, y).sign()
    return (x + (start + step - x).clamp(-eps, eps)).clamp(0, 1).detach()


def adversarial_eps(augment: str) -> float | None:
    """The eps (a share of the range) of an ``augment`` option "adversarial[:LEVELS]" (LEVELS
    out of 255, default 8), or None for any other option.

    >>> adversarial_eps("adversarial"), adversarial_eps("adversarial:4") * 255, adversarial_eps("strong")
    (0.03137254901960784, 4.0, None)
    """
    name, sep, value = augment.partition(":")
    if name.strip() != "adversarial":
        return None
    try:
        levels = float(value) if sep else 8.0
    except ValueError:
        levels = -1.0
    if not 0 < levels <= 64:
        raise PixelabError(
            f"--augment {augment!r}: adversarial training takes eps in (0, 64] pixel levels",
            hint="e.g. adversarial:8 (each pixel may move by 8/255)",
        )
    return levels / 255
