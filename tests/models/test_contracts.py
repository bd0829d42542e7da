"""Every registered model keeps the PixelabModel contract (new models are covered automatically).

Tiny inputs only: batch 2-3, 28x28 grey and 32x32 colour.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pixelab.models import (
    PixelabModel,
    create_model,
    export_onnx,
    list_models,
    load_model,
    save_model,
)

MODELS = list(list_models())
SHAPES = [(1, 28), (3, 32)]  # (in_channels, image_size)


def make(name: str, channels: int = 1, size: int = 28, num_classes: int = 5, seed: int = 0):
    torch.manual_seed(seed)
    return create_model(name, num_classes=num_classes, in_channels=channels, image_size=size)


def images(batch: int, channels: int, size: int, seed: int = 1) -> torch.Tensor:
    return torch.rand(batch, channels, size, size, generator=torch.Generator().manual_seed(seed))


def body_state(model: PixelabModel) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("head.")}


@pytest.mark.parametrize("channels, size", SHAPES)
@pytest.mark.parametrize("name", MODELS)
def test_output_shape_and_finite(name, channels, size):
    model = make(name, channels, size)
    assert isinstance(model, PixelabModel)
    assert (model.num_classes, model.in_channels, model.image_size) == (5, channels, size)
    for mode in (model.train, model.eval):
        mode()
        out = model(images(3, channels, size))
        assert out.shape == (3, 5)
        assert out.dtype == torch.float32
        assert torch.isfinite(out).all()


@pytest.mark.parametrize("size", [16, 64])
@pytest.mark.parametrize("name", MODELS)
def test_other_image_sizes(name, size):
    model = make(name, 3, size).eval()
    assert model(images(2, 3, size)).shape == (2, 5)
    if not model.fixed_size:  # global pooling: a model built for one size runs at others
        assert make(name, 3, 28).eval()(images(2, 3, size)).shape == (2, 5)


@pytest.mark.parametrize("channels, size", SHAPES)
@pytest.mark.parametrize("name", MODELS)
def test_every_parameter_gets_a_gradient(name, channels, size):
    model = make(name, channels, size).train()
    loss = F.cross_entropy(model(images(4, channels, size)), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    for pname, param in model.named_parameters():
        assert param.grad is not None, f"{pname} got no gradient"
        assert param.grad.abs().sum() > 0, f"{pname} got an all-zero gradient"


@pytest.mark.parametrize("name", MODELS)
def test_forward_is_head_of_features(name):
    model = make(name, 3, 32).eval()
    x = images(2, 3, 32)
    features = model.forward_features(x)
    torch.testing.assert_close(model(x), model.forward_head(features), rtol=0, atol=0)
    pre = model.forward_head(features, pre_logits=True)
    assert pre.ndim == 2 and pre.shape[0] == 2
    assert pre.shape[1] == model.get_classifier().in_features
    if features.ndim == 4:  # conv nets expose their last feature map (B, C, h, w)
        assert features.shape[0] == 2 and min(features.shape[2:]) >= 1
    else:
        assert features.ndim == 2


@pytest.mark.parametrize("name", MODELS)
def test_feature_layers_are_submodules_in_order(name):
    model = make(name).eval()
    layers = model.feature_layers()
    assert isinstance(layers, dict) and layers
    submodules = list(model.modules())
    for key, layer in layers.items():
        assert isinstance(key, str) and key
        assert any(layer is m for m in submodules), f"{key} is not a submodule"
    seen: list[str] = []  # the hooks fire in the order feature_layers lists them
    outputs: dict[str, torch.Tensor] = {}

    def hook(key):
        def record(module, inputs, output):
            seen.append(key)
            outputs[key] = output

        return record

    handles = [layer.register_forward_hook(hook(key)) for key, layer in layers.items()]
    try:
        features = model.forward_features(images(2, 1, 28))
    finally:
        for handle in handles:
            handle.remove()
    assert seen == list(layers)
    torch.testing.assert_close(outputs[seen[-1]], features, rtol=0, atol=0)


@pytest.mark.parametrize("name", MODELS)
def test_reset_classifier_keeps_the_body(name):
    model = make(name, 3, 32).eval()
    body = body_state(model)
    model.reset_classifier(7)
    assert model.num_classes == 7 and model.config["num_classes"] == 7
    assert model(images(2, 3, 32)).shape == (2, 7)
    after = body_state(model)
    assert after.keys() == body.keys()
    for key, value in body.items():
        assert torch.equal(after[key], value), f"{key} changed"


@pytest.mark.parametrize("name", MODELS)
def test_config_rebuilds_the_model(name):
    model = make(name, 3, 32)
    config = json.loads(json.dumps(model.config))  # JSON-ready
    assert config["name"] == name
    rebuilt = create_model(**config)
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == shapes
    assert rebuilt.config == config
    assert model.num_parameters() == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", MODELS)
def test_deterministic_init(name):
    a, b, c = make(name, seed=0), make(name, seed=0), make(name, seed=1)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key])
    assert not all(torch.equal(v, c.state_dict()[k]) for k, v in a.state_dict().items())


@pytest.mark.parametrize("channels, size", SHAPES)
@pytest.mark.parametrize("name", MODELS)
def test_save_load_round_trip(name, channels, size, tmp_path):
    model = make(name, channels, size)
    with torch.no_grad():
        model.train()(images(4, channels, size, seed=5))  # move BN running statistics
    save_model(model, tmp_path / "m", meta={"classes": list("abcde"), "image_size": size})
    loaded, meta = load_model(tmp_path / "m")
    assert type(loaded) is type(model) and loaded.config == model.config
    assert meta == {"classes": list("abcde"), "image_size": size}
    assert not loaded.training
    x = images(3, channels, size)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), loaded(x))


@pytest.mark.parametrize("channels, size", SHAPES)
@pytest.mark.parametrize("name", MODELS)
def test_onnx_matches_torch(name, channels, size, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = make(name, channels, size)
    path = export_onnx(model, tmp_path / "m.onnx", image_size=size, in_channels=channels)
    assert model.training  # export restores the mode it found
    x = images(3, channels, size)  # another batch size than the traced one: dynamic axis
    with torch.no_grad():
        expected = model.eval()(x).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"images": x.numpy()})
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_import_pixelab_stays_free_of_torch():
    import subprocess
    import sys

    code = "import sys, pixelab; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
