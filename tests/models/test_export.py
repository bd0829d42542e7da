"""export_onnx: defaults, file contents and errors (numerical agreement is in test_contracts)."""

from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

from pixelab import PixelabError
from pixelab.models import create_model, export_onnx

onnx = pytest.importorskip("onnx")


def test_defaults_come_from_the_model(tmp_path):
    model = create_model("lenet", num_classes=4, in_channels=3, image_size=32)
    path = export_onnx(model, tmp_path / "sub" / "lenet.onnx")
    graph = onnx.load(str(path)).graph
    dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert graph.input[0].name == "images" and dims == ["batch", 3, 32, 32]
    assert graph.output[0].name == "logits"
    assert onnx.load(str(path)).opset_import[0].version >= 17
    assert [p.name for p in path.parent.iterdir()] == ["lenet.onnx"]  # no temporary files left


def test_missing_onnx_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes `import onnx` fail
    with pytest.raises(PixelabError, match=r"pip install 'pixelab\[export\]'"):
        export_onnx(create_model("mlp", num_classes=2), tmp_path / "m.onnx")


def test_wrong_input_shape_fails_before_tracing(tmp_path):
    model = create_model("small_cnn", num_classes=2)
    with pytest.raises(PixelabError, match="built for 1-channel images, got 3"):
        export_onnx(model, tmp_path / "m.onnx", in_channels=3)
    with pytest.raises(PixelabError, match="built for 28x28 images, got 32x32"):
        export_onnx(create_model("mlp", num_classes=2), tmp_path / "m.onnx", image_size=32)
    assert not (tmp_path / "m.onnx").exists()


def test_export_needs_a_pixelab_model(tmp_path):
    with pytest.raises(PixelabError, match="export_onnx needs a pixelab model"):
        export_onnx(nn.Linear(2, 2), tmp_path / "m.onnx")


def test_old_opset_is_refused(tmp_path):
    with pytest.raises(PixelabError, match="opset must be an integer >= 17"):
        export_onnx(create_model("mlp", num_classes=2), tmp_path / "m.onnx", opset=11)


def test_eval_mode_is_kept(tmp_path):
    model = create_model("resnet", num_classes=2).eval()
    export_onnx(model, tmp_path / "m.onnx")
    assert not model.training
    assert torch.isfinite(model(torch.rand(1, 1, 28, 28))).all()
