"""Saliency: agreement with pytorch-grad-cam and Captum, known answers, faithfulness, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from pixelab import PixelabError
from pixelab.explain.saliency import (
    deletion_curve,
    gradcam,
    gradients,
    integrated_gradients,
    mask_share,
    occlusion,
)
from pixelab.models import create_model
from tests.cli.test_cli import cli
from tests.explain.test_explain import colour_run  # noqa: F401  (a shared fixture)


@pytest.fixture(scope="module")
def cnn():
    model = create_model("small_cnn", num_classes=4, widths=(8, 16), seed=0).eval()
    x = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    return model, x


def test_gradcam_agrees_with_pytorch_grad_cam(cnn):
    pgc = pytest.importorskip("pytorch_grad_cam")
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    model, x = cnn
    target = torch.tensor([0, 1, 2, 3, 0, 1])
    for layer in ("block1", "block2"):
        ours = gradcam(model, x, target, layer=layer).numpy()
        with pgc.GradCAM(model=model, target_layers=[model.feature_layers()[layer]]) as cam:
            ref = cam(input_tensor=x, targets=[ClassifierOutputTarget(int(t)) for t in target])
        assert ours.shape == ref.shape == (6, 28, 28)
        for a, b in zip(ours, ref, strict=True):
            if b.std() > 0:
                assert np.corrcoef(a.ravel(), b.ravel())[0, 1] >= 0.99
            else:
                assert a.max() == 0


def test_occlusion_equals_captum(cnn):
    captum = pytest.importorskip("captum.attr")
    model, x = cnn
    target = torch.tensor([3, 2, 1, 0, 3, 2])
    ours = occlusion(model, x, target, window=6, stride=3, baseline=0.5)
    ref = captum.Occlusion(model).attribute(
        x, target=target, sliding_window_shapes=(1, 6, 6), strides=(1, 3, 3), baselines=0.5
    )[:, 0]
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-4)


def test_gradients_equal_captum_saliency_and_ig_adds_up(cnn):
    captum = pytest.importorskip("captum.attr")
    model, x = cnn
    target = torch.tensor([1, 1, 0, 0, 2, 3])
    ref = captum.Saliency(model).attribute(x.clone().requires_grad_(), target=target, abs=True)
    torch.testing.assert_close(gradients(model, x, target), ref.amax(1))
    ig = integrated_gradients(model, x, target, steps=64)
    with torch.no_grad():
        change = (model(x) - model(torch.zeros_like(x))).gather(1, target[:, None])[:, 0]
    torch.testing.assert_close(
        ig.sum((1, 2, 3)), change, atol=0.02 * float(change.abs().max()), rtol=0
    )


class Quadrant(nn.Module):
    """Class 0 when the top-left quadrant is bright, class 1 otherwise: a known answer."""

    def forward(self, x):
        bright = x[:, :, :4, :4].mean((1, 2, 3))
        return torch.stack([bright, torch.full_like(bright, 0.5)], 1)


def test_the_deletion_curve_falls_at_once_for_the_true_map():
    x = torch.ones(10, 1, 8, 8)
    y = torch.zeros(10, dtype=torch.long)
    true_map = torch.zeros(10, 8, 8)
    true_map[:, :4, :4] = 1
    result = deletion_curve(Quadrant(), x, y, true_map, fractions=(0.0, 0.25, 0.5, 1.0))
    assert result["accuracy"]["saliency"] == [1.0, 0.0, 0.0, 0.0]
    assert result["accuracy"]["random"][:2] == [1.0, 1.0]  # a quarter at random: still bright
    assert result["area"]["saliency"] < result["area"]["random"]
    masks = torch.zeros(10, 8, 8, dtype=torch.bool)
    masks[:, :4, :4] = True
    assert mask_share(true_map, masks).tolist() == [1.0] * 10
    assert mask_share(torch.ones(10, 8, 8), masks).tolist() == [0.25] * 10


def test_gradcam_needs_a_feature_map():
    mlp = create_model("mlp", num_classes=3, image_size=8, hidden=(4,))
    with pytest.raises(PixelabError, match=r"no feature map .* --method gradients"):
        gradcam(mlp, torch.rand(2, 1, 8, 8))


def test_saliency_on_a_run_with_faithfulness(capsys, colour_run, tmp_path):  # noqa: F811
    root, run = colour_run
    image = next((root / "c1").glob("*.png"))
    for method in ("gradcam", "occlusion"):
        out = tmp_path / method
        code, stdout, err = cli(capsys, "explain", "saliency", str(run), str(image), "chelsea",
                                "--method", method, "--data", str(root), "--class", "c1",
                                "--out", str(out), "--json")  # fmt: skip
        assert code == 0, err
        m = json.loads(stdout)
        assert [r["explained_class"] for r in m["images"]] == ["c1", "c1"]
        f = m["faithfulness"]
        assert f["n_images"] == 12 and f["accuracy"]["saliency"][-1] == f["accuracy"]["random"][-1]
        assert (out / "figures" / "saliency.png").is_file() and (
            out / "figures" / "deletion.png"
        ).is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "lime"], "unknown --method 'lime'"),
        (["--method", "occlusion", "--layer", "block1"], "--layer is for --method gradcam"),
        (["--layer", "conv9"], "its layers: block1"),
        (["--class", "c7"], "unknown class 'c7'"),
        (["--limit", "0"], "--limit must be"),
        (["--data", "digits"], "the model knows the classes"),
    ],
)
def test_saliency_bad_input_writes_nothing(capsys, colour_run, tmp_path, args, message):  # noqa: F811
    root, run = colour_run
    image = str(next((root / "c0").glob("*.png")))
    out = tmp_path / "out"
    code, _, err = cli(capsys, "explain", "saliency", str(run), image, *args, "--out", str(out))
    assert code == 2 and message in err and "Traceback" not in err
    assert not out.exists()


def test_saliency_needs_images_or_data(capsys, colour_run, tmp_path):  # noqa: F811
    _, run = colour_run
    code, _, err = cli(capsys, "explain", "saliency", str(run), "--out", str(tmp_path / "o"))
    assert code == 2 and "nothing to explain" in err


def test_explain_image_gives_arrays_that_agree_with_saliency(colour_run):  # noqa: F811
    """The studio's "why" view: one image's probabilities, saliency map (the same as the
    saliency function's) and its most active feature maps, as arrays."""
    from pixelab.apps.cnn import load_run_model
    from pixelab.apps.explain import explain_image, model_input
    from pixelab.explain.saliency import saliency

    root, run = colour_run
    model, meta = load_run_model(run)
    image = next((root / "c1").glob("*.png"))
    r = explain_image(model, meta, image, per_layer=3)
    x = model_input(meta, image)
    assert np.array_equal(r["image"], x) and r["saliency"].shape == x.shape[:2]
    assert r["probabilities"].sum() == pytest.approx(1) and r["target"] == r["predicted"]
    t = torch.from_numpy(x.transpose(2, 0, 1).copy()).float()[None] / 255
    expected = saliency(model, t, r["target"], layer=r["layer"])[0].numpy()
    assert np.allclose(r["saliency"], expected, atol=1e-6) and r["layer"] == "block3"
    assert list(r["layers"]) == ["block1", "block2", "block3"]
    for found in r["layers"].values():
        means = found["maps"].mean((1, 2))
        assert len(found["channels"]) == 3 and list(means) == sorted(means, reverse=True)
    other = explain_image(model, meta, image, target="c0", method="occlusion", layers=["block2"])
    assert other["target"] == 0 and list(other["layers"]) == ["block2"]
    assert not np.allclose(other["saliency"], r["saliency"])
    with pytest.raises(PixelabError, match="unknown class 'c7'"):
        explain_image(model, meta, image, target="c7")
    mlp = create_model("mlp", num_classes=2, image_size=8, hidden=(4,))
    mlp_meta = {"classes": ["a", "b"], "preprocess": {"size": 8, "channels": 1}}
    grey = np.zeros((8, 8, 1), np.uint8)
    with pytest.raises(PixelabError, match="no feature maps") as err:
        explain_image(mlp, mlp_meta, grey)
    assert "gradients" in err.value.hint
    found = explain_image(mlp, mlp_meta, grey, method="gradients")
    assert found["layers"] == {} and found["saliency"].shape == (8, 8)
