"""Models by name: ``create_model("small_cnn", num_classes=10)`` -> a fresh network.

>>> from pixelab.models import create_model, list_models
>>> list(list_models())
['mlp', 'lenet', 'small_cnn', 'resnet', 'efficientnet_lite0']
>>> model = create_model("small_cnn", num_classes=10, widths=(8, 16))
>>> model.config
{'name': 'small_cnn', 'num_classes': 10, 'in_channels': 1, 'image_size': 28, 'widths': [8, 16], 'convs_per_block': 1, 'head': 'flat', 'grid': 7, 'dropout': 0.0}
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from pixelab._core.errors import PixelabError
from pixelab.models.base import PixelabModel

__all__ = ["create_model", "list_models", "register_model"]

M = TypeVar("M", bound=type[PixelabModel])

# name -> (model class, one-line description), in registration (= teaching) order
_MODELS: dict[str, tuple[type[PixelabModel], str]] = {}


def register_model(name: str, description: str) -> Callable[[M], M]:
    """Class decorator: make a PixelabModel subclass available to ``create_model(name)``.

    The class receives ``model_name = name``. Re-running the same definition (a notebook cell)
    replaces the entry; a different class claiming a taken name is an error.
    """

    def decorate(cls: M) -> M:
        if not (isinstance(cls, type) and issubclass(cls, PixelabModel)):
            raise PixelabError(
                f"register_model({name!r}) decorates PixelabModel subclasses, got {cls!r}"
            )
        if name in _MODELS:
            old = _MODELS[name][0]
            if (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
                raise PixelabError(
                    f"model name {name!r} is already taken by {old.__module__}.{old.__qualname__}",
                    hint="choose another name",
                )
        cls.model_name = name
        _MODELS[name] = (cls, description)
        return cls

    return decorate


def list_models() -> dict[str, str]:
    """The registered model names with a one-line description each, in teaching order."""
    return {name: description for name, (_, description) in _MODELS.items()}


def model_options(name: str) -> list[str]:
    """The keyword arguments ``create_model(name, ...)`` accepts."""
    cls = _model_class(name)
    params = inspect.signature(cls.__init__).parameters.values()
    return [p.name for p in params if p.name != "self" and p.kind is p.KEYWORD_ONLY]


def create_model(
    name: str,
    *,
    num_classes: int,
    in_channels: int = 1,
    image_size: int = 28,
    seed: int | None = None,
    **kwargs: Any,
) -> PixelabModel:
    """A new, randomly initialised model; the same ``seed`` gives the same initial weights.

    ``in_channels`` is 1 for grey images and 3 for colour; ``image_size`` is the side of the
    (square) training images. Other options depend on the model (see its class docstring).
    With ``seed=None`` the weights come from torch's global generator; with a seed they come
    from a generator of their own, and the global one is left as it was.
    """
    cls = _model_class(name)
    valid = model_options(name)
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        raise PixelabError(
            f"unknown option(s) for model {name!r}: {', '.join(unknown)}",
            hint=f"valid options: {', '.join(valid)}",
        )
    if seed is None:
        return cls(
            num_classes=num_classes, in_channels=in_channels, image_size=image_size, **kwargs
        )
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(
            num_classes=num_classes, in_channels=in_channels, image_size=image_size, **kwargs
        )


def _model_class(name: str) -> type[PixelabModel]:
    if name not in _MODELS:
        raise PixelabError(
            f"unknown model {name!r}", hint=f"choose one of: {', '.join(_MODELS) or 'none'}"
        )
    return _MODELS[name][0]
