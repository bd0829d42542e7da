"""Forward hooks on a model's named feature layers: one mechanism every explanation uses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pixelab._core.errors import PixelabError


def check_layers(model: Any, layers: Iterable[str] | None) -> list[str]:
    """The layer names asked for (all of ``feature_layers()`` when None), checked.

    An unknown name is an error that lists the valid ones.
    """
    valid = list(model.feature_layers())
    if layers is None:
        return valid
    names = list(layers)
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise PixelabError(
            f"unknown layer(s) {', '.join(map(repr, unknown))} for {model.model_name or 'this model'}",
            hint=f"its layers: {', '.join(valid)}",
        )
    if not names:
        raise PixelabError("no layer given", hint=f"its layers: {', '.join(valid)}")
    return names


def capture(model: Any, x: Any, layers: Iterable[str] | None = None) -> dict[str, Any]:
    """Run ``model`` on ``x`` (float (B, C, H, W) in [0, 1]) and return each named layer's output.

    Hooks are removed afterwards, whatever happens; the model is left in eval mode.
    """
    import torch

    names = check_layers(model, layers)
    modules = model.feature_layers()
    outputs: dict[str, Any] = {}
    handles = [
        modules[name].register_forward_hook(
            lambda _m, _i, out, name=name: outputs.__setitem__(name, out.detach())
        )
        for name in names
    ]
    try:
        with torch.inference_mode():
            model.eval()(x)
    finally:
        for h in handles:
            h.remove()
    return {name: outputs[name] for name in names}
