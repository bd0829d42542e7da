"""Keras layers-models saved for TensorFlow.js, run in PyTorch: a small graph of every
supported layer against a plain NumPy evaluation of the same arrays, read from a folder and
from an npm package tarball; what is not supported is refused by name."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest
import torch

from pixelab import PixelabError
from pixelab.models.tfjs import ESRGANSlim, load_tfjs_layers_model


def _conv(name, filters, k, padding, inbound, activation="linear"):
    return {"class_name": "Conv2D", "name": name, "inbound_nodes": [[[inbound, 0, 0, {}]]],
            "config": {"name": name, "filters": filters, "kernel_size": [k, k], "strides": [1, 1],
                       "padding": padding, "activation": activation, "use_bias": True}}  # fmt: skip


def _model(rng):
    layers = [
        {"class_name": "InputLayer", "name": "LR", "inbound_nodes": [], "config": {"name": "LR"}},
        _conv("A", 4, 3, "same", "LR", "relu"),
        _conv("B", 2, 1, "valid", "A"),
        {"class_name": "Activation", "name": "B_tanh", "inbound_nodes": [[["B", 0, 0, {}]]],
         "config": {"name": "B_tanh", "activation": "tanh"}},
        {"class_name": "Concatenate", "name": "cat", "config": {"name": "cat", "axis": 3},
         "inbound_nodes": [[["A", 0, 0, {}], ["B_tanh", 0, 0, {}]]]},
        {"class_name": "Add", "name": "add", "config": {"name": "add"},
         "inbound_nodes": [[["cat", 0, 0, {}], ["cat", 0, 0, {}]]]},
        {"class_name": "UpSampling2D", "name": "up", "inbound_nodes": [[["add", 0, 0, {}]]],
         "config": {"name": "up", "size": [2, 2], "interpolation": "nearest"}},
        _conv("SR", 3, 3, "same", "up"),
    ]  # fmt: skip
    shapes = {"A": (3, 3, 3, 4), "B": (1, 1, 4, 2), "SR": (3, 3, 6, 3)}
    weights = {}
    for name, shape in shapes.items():
        weights[f"{name}/kernel"] = rng.normal(0, 0.3, shape).astype("<f4")
        weights[f"{name}/bias"] = rng.normal(0, 0.1, shape[-1:]).astype("<f4")
    order = sorted(weights)  # the manifest's order, not the layers'
    manifest = [{"paths": ["group1-shard1of1.bin"],
                 "weights": [{"name": n, "shape": list(weights[n].shape), "dtype": "float32"}
                             for n in order]}]  # fmt: skip
    config = {"class_name": "Functional", "config": {"name": "g", "layers": layers,
              "input_layers": [["LR", 0, 0]], "output_layers": [["SR", 0, 0]]}}  # fmt: skip
    model = {"format": "layers-model", "generatedBy": "test", "weightsManifest": manifest,
             "modelTopology": {"model_config": config}}  # fmt: skip
    blob = b"".join(weights[n].tobytes() for n in order)
    return model, blob, weights


def _np_conv(x, kernel, bias, padding):
    """NHWC correlation as Keras computes it, by explicit sums over the kernel."""
    kh, kw = kernel.shape[:2]
    if padding == "same":
        x = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    n, h, w, _ = x.shape
    oh, ow = h - kh + 1, w - kw + 1
    out = np.zeros((n, oh, ow, kernel.shape[3]))
    for dy in range(kh):
        for dx in range(kw):
            out += x[:, dy : dy + oh, dx : dx + ow] @ kernel[dy, dx]
    return out + bias


def _np_model(x, w):
    a = np.maximum(_np_conv(x, w["A/kernel"], w["A/bias"], "same"), 0)
    b = np.tanh(_np_conv(a, w["B/kernel"], w["B/bias"], "valid"))
    cat = np.concatenate([a, b], axis=3)
    up = np.repeat(np.repeat(2 * cat, 2, axis=1), 2, axis=2)
    return _np_conv(up, w["SR/kernel"], w["SR/bias"], "same")


def npm_package(path, model, blob, scale: int = 2):
    """An npm package tarball as ``npm pack`` makes it, with the model for ``scale``."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in (("model.json", json.dumps(model).encode()),
                           ("group1-shard1of1.bin", blob)):  # fmt: skip
            info = tarfile.TarInfo(f"package/models/x{scale}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def fake_esrgan_slim(path):
    """A package shaped like @upscalerjs/esrgan-slim (x2) with a small random model."""
    model, blob, _ = _model(np.random.default_rng(0))
    return npm_package(path, model, blob)


def test_a_keras_graph_runs_as_numpy_computes_it_from_a_folder_and_a_tarball(tmp_path):
    model, blob, weights = _model(np.random.default_rng(0))
    folder = tmp_path / "x2"
    folder.mkdir()
    (folder / "model.json").write_text(json.dumps(model))
    (folder / "group1-shard1of1.bin").write_bytes(blob)
    x = np.random.default_rng(1).random((1, 5, 7, 3))
    expected = _np_model(x, weights)
    net = load_tfjs_layers_model(folder)
    got = net(torch.from_numpy(x).float().permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    assert got.shape == (1, 10, 14, 3) and np.allclose(got, expected, atol=1e-4)
    tgz = npm_package(tmp_path / "pkg.tgz", model, blob)
    peer = ESRGANSlim(tgz, 2)  # the model works in 0-255, the wrapper in 0-1
    with torch.no_grad():
        out = peer(torch.from_numpy(x).float().permute(0, 3, 1, 2))
    assert np.allclose(
        out.permute(0, 2, 3, 1).numpy(), _np_model(x * 255, weights) / 255, atol=1e-4
    )
    with pytest.raises(PixelabError, match=r"has no package/models/x3/model\.json"):
        ESRGANSlim(tgz, 3)


def test_what_cannot_be_run_is_refused_by_name(tmp_path):
    model, blob, _ = _model(np.random.default_rng(0))
    model["modelTopology"]["model_config"]["config"]["layers"][3]["class_name"] = "Lambda"
    (tmp_path / "model.json").write_text(json.dumps(model))
    (tmp_path / "group1-shard1of1.bin").write_bytes(blob)
    with pytest.raises(PixelabError, match="cannot run: Lambda"):
        load_tfjs_layers_model(tmp_path)
    model, _, _ = _model(np.random.default_rng(0))
    (tmp_path / "model.json").write_text(json.dumps(model))
    (tmp_path / "group1-shard1of1.bin").write_bytes(blob[:40])
    with pytest.raises(PixelabError, match="end before"):
        load_tfjs_layers_model(tmp_path)
    with pytest.raises(PixelabError, match=r"neither a folder with model\.json nor an npm package"):
        load_tfjs_layers_model(tmp_path / "model.json")
