"""PixelabModel: the contract every pixelab network follows (timm-style).

Every model is ``forward(x) = forward_head(forward_features(x))``:

- ``forward_features(x)`` checks the input, normalises it and runs the body. For a CNN it returns
  the last feature map ``(B, C, h, w)`` (what Grad-CAM and feature-map pictures look at); for an
  MLP it returns the last hidden activations ``(B, D)``.
- ``forward_head(features)`` turns those features into class scores (logits) ``(B, num_classes)``.
- ``reset_classifier(num_classes)`` swaps the head for a fresh one and keeps the body (transfer).
- ``feature_layers()`` names the body's layers in order, so hooks can reach any model.

Inputs are float tensors ``(B, C, H, W)`` with values in [0, 1]; the model normalises them itself
with ``(x - input_mean) / input_std``, so users never have to remember the statistics.

Like a scikit-learn estimator, every constructor argument is stored as an attribute of the same
name; ``model.config`` reads them back (plus the registry name), which is all that is needed to
rebuild the model (see ``pixelab.models.save_model``).
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import torch
from torch import nn

from pixelab._core.checks import check_positive_int
from pixelab._core.errors import PixelabError

__all__ = ["PixelabModel", "check_dropout", "check_sizes"]


class PixelabModel(nn.Module):
    """Base class of the registered models: shared attributes, input checks and normalisation.

    Subclasses set ``fixed_size = True`` when their input must be exactly
    ``image_size x image_size`` (a flatten + dense layer fixes the size) and implement
    ``forward_features``, ``forward_head``, ``feature_layers`` and ``get_classifier``.
    """

    #: The registry name, set by ``@register_model``.
    model_name: ClassVar[str] = ""
    #: True when inputs must be exactly image_size x image_size (dense layers after a flatten).
    fixed_size: ClassVar[bool] = False
    #: Per-channel statistics used by ``normalize``; [0, 1] inputs become roughly [-1, 1].
    input_mean: ClassVar[float] = 0.5
    input_std: ClassVar[float] = 0.5
    #: The version of the layer layout. A subclass raises it when a change makes weights saved
    #: by an older pixelab unloadable, so loading them says so instead of listing missing keys.
    layout: ClassVar[int] = 1

    def __init__(self, *, num_classes: int, in_channels: int = 1, image_size: int = 28) -> None:
        super().__init__()
        self.num_classes = check_positive_int(num_classes, name="num_classes")
        self.in_channels = check_positive_int(in_channels, name="in_channels")
        self.image_size = check_positive_int(image_size, name="image_size")
        # Non-persistent: not saved in state dicts, follow the model across devices and dtypes.
        shape = (1, 1, 1, 1)
        self.register_buffer("_mean", torch.full(shape, self.input_mean), persistent=False)
        self.register_buffer("_std", torch.full(shape, self.input_std), persistent=False)

    # ---- the contract -----------------------------------------------------------------------

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores (logits) ``(B, num_classes)`` for images ``(B, C, H, W)`` in [0, 1]."""
        return self.forward_head(self.forward_features(x))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The body's output: the last feature map ``(B, C, h, w)`` (MLP: ``(B, D)``)."""
        raise NotImplementedError

    def forward_head(self, features: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        """Logits ``(B, num_classes)``; with ``pre_logits=True`` the vector fed to the classifier."""
        raise NotImplementedError

    def get_classifier(self) -> nn.Linear:
        """The final linear layer (the only part ``reset_classifier`` replaces)."""
        return self.head

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier by a freshly initialised one with ``num_classes`` outputs."""
        num_classes = check_positive_int(num_classes, name="num_classes")
        old = self.get_classifier()
        self.head = nn.Linear(old.in_features, num_classes).to(old.weight.device, old.weight.dtype)
        self.num_classes = num_classes

    def feature_layers(self) -> dict[str, nn.Module]:
        """The body's named layers in forward order; the last one outputs ``forward_features``."""
        raise NotImplementedError

    def freeze(self, trainable: list[str] | tuple[str, ...] = ()) -> PixelabModel:
        """Stop training every body layer but those named in ``trainable`` (from
        ``feature_layers()``); the classifier always trains. Frozen layers keep their batch-norm
        statistics too (see :meth:`train`): finetuning a pretrained body. Returns the model."""
        layers = self.feature_layers()
        unknown = [name for name in trainable if name not in layers]
        if unknown:
            raise PixelabError(
                f"unknown layer(s) {', '.join(unknown)} of {self.model_name or type(self).__name__}",
                hint=f"the layers are: {', '.join(layers)}",
            )
        for p in self.parameters():
            p.requires_grad_(False)
        for name in trainable:
            for p in layers[name].parameters():
                p.requires_grad_(True)
        for p in self.get_classifier().parameters():
            p.requires_grad_(True)
        return self.train(self.training)

    def train(self, mode: bool = True) -> PixelabModel:
        """Like ``nn.Module.train``, except that batch-norm layers whose weights are all frozen
        stay in eval mode: their running statistics belong to the data they were trained on."""
        super().train(mode)
        if mode:
            for m in self.modules():
                params = list(m.parameters(recurse=False))
                if (
                    isinstance(m, nn.modules.batchnorm._BatchNorm)
                    and params
                    and not any(p.requires_grad for p in params)
                ):
                    m.eval()
        return self

    # ---- helpers ------------------------------------------------------------------------------

    @property
    def config(self) -> dict[str, Any]:
        """The registry name and constructor arguments: enough to rebuild the model (JSON-ready)."""
        params = inspect.signature(type(self).__init__).parameters
        names = [
            p.name
            for p in params.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        kwargs = {name: _jsonable(getattr(self, name)) for name in names}
        return {"name": self.model_name, **kwargs}

    @property
    def min_input_size(self) -> int:
        """The smallest height/width the body can process (each pooling halves the size)."""
        return 1

    def num_parameters(self, *, trainable_only: bool = False) -> int:
        """How many numbers the model learns (all of them, or only those with requires_grad)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Map [0, 1] inputs to the range the weights expect: ``(x - mean) / std``."""
        return (x - self._mean) / self._std

    def check_input(self, x: torch.Tensor) -> torch.Tensor:
        """Check that ``x`` is a float batch ``(B, C, H, W)`` this model can process."""
        if torch.jit.is_tracing():  # shapes are fixed while exporting; checks would break tracing
            return x
        name = self.model_name or type(self).__name__
        if not isinstance(x, torch.Tensor):
            raise PixelabError(
                f"{name} expects a torch.Tensor, got {type(x).__name__}",
                hint="convert uint8 images with torch.from_numpy(pixelab.data.to_float01(imgs))",
            )
        if x.ndim != 4:
            raise PixelabError(
                f"{name} expects a batch shaped (B, C, H, W), got shape {tuple(x.shape)}",
                hint="add a batch axis with x[None]; NumPy images (H, W, C) need "
                "x.permute(0, 3, 1, 2)",
            )
        if not x.is_floating_point():
            raise PixelabError(
                f"{name} expects float images in [0, 1], got dtype {x.dtype}",
                hint="scale uint8 images with x.float() / 255",
            )
        if x.shape[1] != self.in_channels:
            raise PixelabError(
                f"{name} was built for {self.in_channels}-channel images, got {x.shape[1]} "
                f"channels (input shape {tuple(x.shape)})",
                hint=f"create the model with in_channels={x.shape[1]}, or convert the images "
                "(pixelab.data.to_gray / to_rgb); NumPy images (B, H, W, C) need "
                "x.permute(0, 3, 1, 2)",
            )
        h, w = x.shape[-2:]
        if self.fixed_size and (h, w) != (self.image_size, self.image_size):
            raise PixelabError(
                f"{name} was built for {self.image_size}x{self.image_size} images, got {h}x{w}",
                hint=f"resize the images (pixelab.data.resize) or create the model with "
                f"image_size={h}" + ("" if h == w else " on square images"),
            )
        if min(h, w) < self.min_input_size:
            raise PixelabError(
                f"{name} needs images of at least {self.min_input_size}x{self.min_input_size} "
                f"pixels, got {h}x{w}",
                hint="resize the images (pixelab.data.resize) or use a model with fewer "
                "pooling stages",
            )
        return x

    def _check_image_size(self) -> None:
        """Fail early when ``image_size`` is too small for this architecture."""
        if self.image_size < self.min_input_size:
            name = self.model_name or type(self).__name__
            raise PixelabError(
                f"{name} needs image_size >= {self.min_input_size}, got {self.image_size}",
                hint="resize the images or choose a model with fewer pooling stages",
            )


def check_sizes(value: Any, *, name: str) -> tuple[int, ...]:
    """Check a non-empty sequence of positive ints (layer widths, depths) and return a tuple.

    >>> check_sizes([32, 64], name="widths")
    (32, 64)
    """
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise PixelabError(f"{name} must be a sequence of positive integers, got {value!r}")
    sizes = tuple(value)
    if not sizes:
        raise PixelabError(f"{name} must not be empty")
    return tuple(check_positive_int(v, name=f"each entry of {name}") for v in sizes)


def check_dropout(value: Any, *, name: str = "dropout") -> float:
    """Check a dropout probability in [0, 1).

    >>> check_dropout(0.25)
    0.25
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise PixelabError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def _jsonable(value: Any) -> Any:
    return [_jsonable(v) for v in value] if isinstance(value, (tuple, list)) else value
