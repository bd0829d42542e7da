"""explain: convolution by hand, first-layer kernels, feature maps, on any CNN run folder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from pixelab import PixelabError
from pixelab.explain import (
    KERNELS,
    capture,
    check_layers,
    convolve,
    feature_maps,
    first_layer_kernels,
    orientedness,
    output_size,
    parse_kernel,
)
from pixelab.models import create_model
from tests.cli.test_cli import cli


@pytest.mark.parametrize(("stride", "padding"), [(1, None), (1, 0), (2, 1), (3, 2)])
@pytest.mark.parametrize(
    "kernel", ["sobel-x", "emboss", "[[0,1,0,1,0],[1,0,1,0,1],[0,1,0,1,0],[1,0,1,0,1],[0,1,0,1,0]]"]
)
def test_convolve_equals_torch_conv2d(kernel, stride, padding):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (23, 31), dtype=np.uint8)
    result = convolve(image, kernel, stride=stride, padding=padding)
    k = parse_kernel(kernel)[1]
    pad = k.shape[0] // 2 if padding is None else padding
    x = torch.from_numpy(image.astype(np.float32) / 255)[None, None]
    expected = F.conv2d(x, torch.from_numpy(k)[None, None], stride=stride, padding=pad)[0, 0]
    np.testing.assert_allclose(result["feature_map"], expected.numpy(), rtol=1e-6, atol=1e-6)
    assert (
        list(result["feature_map"].shape)
        == result["output_shape"]
        == [
            output_size(23, k.shape[0], stride=stride, padding=pad),
            output_size(31, k.shape[0], stride=stride, padding=pad),
        ]
    )
    assert f"= {result['output_shape'][0]}" in result["formula"]


def test_a_sobel_kernel_finds_a_vertical_edge_and_nothing_else():
    image = np.zeros((9, 9), np.uint8)
    image[:, 5:] = 255  # dark left, bright right: one vertical edge between columns 4 and 5
    fmap = convolve(image, "sobel-x", padding=0)["feature_map"]
    assert fmap.shape == (7, 7)
    np.testing.assert_allclose(fmap[:, 3:5], 4.0)  # 1 + 2 + 1 across the edge
    assert np.abs(np.delete(fmap, [3, 4], axis=1)).max() == 0


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("[[1,2],[3,4]]", "square matrix of odd size"),
        ("[[1,2,3],[4,5,6]]", "square matrix of odd size"),
        ("[[1,2,3],[4,5]]", "not a matrix of numbers"),
        ("[[1, 2, 3], [4, 5, 6], [7, 8, x]]", "not a matrix of numbers"),
        ("laplace", "unknown kernel 'laplace'"),
        ("[[1e999, 0, 0], [0, 0, 0], [0, 0, 0]]", "finite"),
    ],
)
def test_bad_kernels_are_one_clear_error(spec, match):
    with pytest.raises(PixelabError, match=match):
        parse_kernel(spec)


def test_convolve_refuses_a_kernel_larger_than_the_image():
    with pytest.raises(PixelabError, match="does not fit"):
        convolve(np.zeros((8, 8), np.uint8), np.ones((11, 11)), padding=0)
    with pytest.raises(PixelabError, match="--stride"):
        convolve(np.zeros((8, 8), np.uint8), "blur", stride=0)


def test_oriented_kernels_are_told_from_blobs_and_noise():
    names = list(KERNELS)
    result = orientedness(np.stack([np.asarray(KERNELS[n], np.float32)[None] for n in names]))
    r2 = dict(zip(names, result["r2"], strict=True))
    angle = dict(zip(names, result["angle"], strict=True))
    assert r2["sobel-x"] > 0.9 and angle["sobel-x"] == 0
    assert r2["sobel-y"] > 0.9 and angle["sobel-y"] == 90
    assert r2["edge"] < 0.5 and r2["sharpen"] < 0.5  # centre-surround: no orientation
    assert r2["blur"] == 0  # constant: nothing left once brightness is removed
    noise = np.random.default_rng(0).normal(size=(500, 3, 3, 3)).astype(np.float32)
    assert orientedness(noise)["oriented_share"] < 0.1
    # the strongest input channel decides: a colour kernel with an edge in green is oriented
    colour = np.zeros((1, 3, 3, 3), np.float32)
    colour[0, 1] = KERNELS["sobel-y"]
    colour[0, 0] = 0.1
    assert orientedness(colour)["oriented"].tolist() == [True]


def test_hooks_reach_every_layer_and_are_removed():
    model = create_model("small_cnn", num_classes=3, widths=(4, 8), seed=0)
    out = capture(model, torch.rand(2, 1, 28, 28))
    assert list(out) == ["block1", "block2"]
    assert out["block1"].shape == (2, 4, 14, 14) and out["block2"].shape == (2, 8, 14, 14)
    assert all(not m._forward_hooks for m in model.modules())
    with pytest.raises(
        PixelabError, match=r"unknown layer\(s\) 'conv9'.*its layers: block1, block2"
    ):
        check_layers(model, ["conv9"])
    maps = feature_maps(model, np.zeros((28, 28, 1), np.uint8), layers=["block2"])
    np.testing.assert_allclose(
        maps["block2"], capture(model, torch.zeros(1, 1, 28, 28), ["block2"])["block2"][0].numpy()
    )


def test_an_mlp_has_no_kernels_and_no_maps():
    mlp = create_model("mlp", num_classes=3, image_size=8, hidden=(4,))
    with pytest.raises(PixelabError, match="no convolution layer"):
        first_layer_kernels(mlp)
    with pytest.raises(PixelabError, match="not a feature map"):
        feature_maps(mlp, np.zeros((8, 8, 1), np.uint8))


# the command line, on a run trained on colour 64 px images -------------------------------


@pytest.fixture(scope="module")
def colour_run(tmp_path_factory):
    from pixelab.apps.cnn import train_cnn
    from pixelab.train import CNNConfig

    root = tmp_path_factory.mktemp("data") / "imgs"
    rng = np.random.default_rng(0)
    for k in range(2):
        (root / f"c{k}").mkdir(parents=True)
        for i in range(6):
            img = rng.integers(0, 60, (64, 64, 3), dtype=np.uint8)
            img[:, :, k] += 170
            Image.fromarray(img).save(root / f"c{k}" / f"{i}.png")
    out = tmp_path_factory.mktemp("run") / "cnn"
    train_cnn(CNNConfig(data=str(root), epochs=1, batch_size=4, seed=0), out)
    return root, out


def test_explain_filters_and_maps_on_a_colour_run(capsys, colour_run, tmp_path):
    _, run = colour_run
    code, stdout, err = cli(capsys, "explain", "filters", str(run), "--out", str(tmp_path / "f"),
                            "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    assert (m["n_kernels"], m["in_channels"], m["kernel_size"]) == (32, 3, 3)
    assert 0 <= m["oriented_share"] <= 1 and len(m["kernels"]) == 32
    assert (tmp_path / "f" / "figures" / "kernels.png").is_file()
    # an image of another size and mode is converted with the run's own preprocessing
    Image.fromarray(np.full((90, 120), 200, np.uint8)).save(tmp_path / "grey.jpg")
    code, stdout, err = cli(capsys, "explain", "maps", str(run), str(tmp_path / "grey.jpg"),
                            "--layers", "block1", "--layers", "block3", "--out", str(tmp_path / "m"),
                            "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    assert list(m["layers"]) == ["block1", "block3"]
    assert m["layers"]["block1"]["shape"] == [32, 32, 32] and m["predicted"] in ("c0", "c1")
    code, _, _ = cli(capsys, "explain", "maps", str(run), "chelsea", "--out", str(tmp_path / "m"))
    assert code == 0  # a sample photo by name; the same command again replaces its output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["explain", "filters", "CLASSIC"], "is a 'classic' run, not a 'cnn' or 'transfer' run"),
        (["explain", "filters", "EMPTY"], "not a pixelab run folder"),
        (["explain", "maps", "RUN", "chelsea", "--layers", "conv9"], "its layers: block1"),
        (["explain", "maps", "RUN", "/no/such.png"], "no such file or sample photo"),
        (["explain", "maps", "RUN", "DATA"], "is a folder"),
        (["explain", "conv", "chelsea", "--kernel", "[[1,2],[3,4]]"], "odd size"),
        (["explain", "conv", "chelsea", "--stride", "0"], "--stride"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(capsys, colour_run, tmp_path, args, message):
    root, run = colour_run
    classic = tmp_path / "classic"
    cli(capsys, "classic", "train", "--data", str(root), "--features", "color", "--classifier",
        "knn", "--out", str(classic))  # fmt: skip
    (tmp_path / "empty").mkdir()
    subst = {"CLASSIC": str(classic), "EMPTY": str(tmp_path / "empty"), "RUN": str(run),
             "DATA": str(root)}  # fmt: skip
    out = tmp_path / "out"
    code, _, err = cli(capsys, *[subst.get(a, a) for a in args], "--out", str(out))
    assert code == 2 and message in err and "Traceback" not in err
    assert not out.exists()
    assert not (run / "figures" / "kernels.png").exists()


def test_neighbourhood_scores_and_projections_know_clusters():
    from pixelab.explain.embed import neighbourhood_scores, project

    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 20)
    centres = np.eye(3) * 20
    vectors = centres[labels] + rng.normal(size=(60, 3))
    s = neighbourhood_scores(vectors, labels)
    assert s["knn_accuracy"] == 1.0 and s["silhouette"] > 0.7 and s["dimensions"] == 3
    mixed = neighbourhood_scores(rng.normal(size=(60, 3)), labels)
    assert mixed["knn_accuracy"] < 0.7 and abs(mixed["silhouette"]) < 0.1
    for method in ("pca", "tsne"):
        assert project(vectors, method=method).shape == (60, 2)
    with pytest.raises(PixelabError, match="single class"):
        neighbourhood_scores(vectors, np.zeros(60, int))
    with pytest.raises(PixelabError, match="unknown projection"):
        project(vectors, method="mds")


def test_cnn_features_are_what_the_classifier_sees():
    from pixelab.explain.embed import cnn_features

    model = create_model("small_cnn", num_classes=3, widths=(4, 8), seed=0).eval()
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28, 1), dtype=np.uint8)
    feats = cnn_features(model, images, batch_size=2)
    x = torch.from_numpy(images.transpose(0, 3, 1, 2).copy()).float() / 255
    with torch.no_grad():
        logits = model.get_classifier()(torch.from_numpy(feats))
        np.testing.assert_allclose(logits.numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)


def test_explain_embed_on_a_colour_run(capsys, colour_run, tmp_path):
    root, run = colour_run
    out = tmp_path / "e"
    code, stdout, err = cli(capsys, "explain", "embed", str(run), "--data", str(root), "--limit",
                            "12", "--projection", "pca", "--out", str(out), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    assert list(m["spaces"]) == ["pixels", "HOG", "CNN features"] and m["n_images"] == 12
    assert m["spaces"]["pixels"]["dimensions"] == 64 * 64 * 3
    assert (out / "figures" / "embed.png").is_file()
    for args, message in [(["--projection", "mds"], "unknown --projection 'mds'"),
                          (["--limit", "3"], "--limit must be"),
                          (["--data", "digits"], "the model knows the classes")]:  # fmt: skip
        code, _, err = cli(capsys, "explain", "embed", str(run), "--data", str(root), *args,
                           "--out", str(tmp_path / "bad"))  # fmt: skip
        assert code == 2 and message in err, err
        assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize(
    ("name", "kwargs", "layer", "position", "box"),
    [
        # conv 3x3 (pad 1) then pool 2: unit (3, 3) sees input rows/cols 5..8
        ("small_cnn", {}, "block1", (3, 3), (5, 5, 9, 9)),
        ("small_cnn", {}, "block2", (3, 3), (9, 9, 19, 19)),
        ("small_cnn", {}, "block3", (3, 3), (5, 5, 23, 23)),  # no pool in the last block
        ("small_cnn", {}, "block1", (0, 0), (0, 0, 3, 3)),  # cut by the border
        ("lenet", {}, "conv2", (1, 1), (0, 0, 14, 14)),
        ("lenet", {}, "pool2", (1, 1), (2, 2, 18, 18)),
    ],
)
def test_receptive_fields_are_computed_exactly(name, kwargs, layer, position, box):
    from pixelab.explain.units import receptive_field

    model = create_model(name, num_classes=3, seed=0, **kwargs)
    assert receptive_field(model, layer, position) == box


def test_top_images_are_the_most_activating_ones():
    from pixelab.explain.units import top_images, unit_activations

    model = create_model("small_cnn", num_classes=3, widths=(4, 8), seed=0).eval()
    images = np.random.default_rng(0).integers(0, 256, (20, 28, 28, 1), dtype=np.uint8)
    acts, where, shape = unit_activations(model, images, "block1", batch_size=7)
    maps = capture(model, torch.from_numpy(images.transpose(0, 3, 1, 2).copy()).float() / 255)
    np.testing.assert_allclose(acts, maps["block1"].amax((2, 3)).numpy(), rtol=1e-6)
    assert shape == (14, 14) and where.shape == (20, 4, 2)
    found = top_images(model, images, "block1", units=[2, 0], k=3)
    for u in found["units"]:
        vals = [r["activation"] for r in u["top"]]
        assert vals == sorted(acts[:, u["unit"]], reverse=True)[:3]
        assert u["dataset_max"] == vals[0]
    with pytest.raises(PixelabError, match="layer 'block1' has 4 units"):
        top_images(model, images, "block1", units=[4])
    mlp = create_model("mlp", num_classes=3, image_size=8, hidden=(4,))
    with pytest.raises(PixelabError, match="outputs vectors"):
        unit_activations(mlp, images[:, :8, :8], next(iter(mlp.feature_layers())))


def test_explain_top_on_a_colour_run(capsys, colour_run, tmp_path):
    root, run = colour_run
    out = tmp_path / "t"
    code, stdout, err = cli(capsys, "explain", "top", str(run), "--data", str(root), "--layer",
                            "block1", "--units", "0,2-3", "--top", "3", "--out", str(out),
                            "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    assert [u["unit"] for u in m["units"]] == [0, 2, 3] and len(m["units"][0]["top"]) == 3
    top = m["units"][0]["top"][0]
    assert top["image"].startswith(str(root)) and len(top["box"]) == 4
    assert (out / "figures" / "top.png").is_file()
    for args, message in [(["--units", "999"], "out of range"), (["--units", "a"], "--units 'a'"),
                          (["--layer", "conv9"], "its layers")]:  # fmt: skip
        code, _, err = cli(capsys, "explain", "top", str(run), "--data", str(root), *args,
                           "--out", str(tmp_path / "bad"))  # fmt: skip
        assert code == 2 and message in err, err
        assert not (tmp_path / "bad").exists()


def test_objectives_parse_compose_and_evaluate():
    from pixelab.explain.dream import channel, class_, evaluate, parse_objective

    obj = parse_objective("2*channel:block1:3 - class:b + neuron:block2:1", classes=["a", "b"])
    assert obj == 2 * channel("block1", 3) - class_(1) + parse_objective("neuron:block2:1")
    assert obj.describe(["a", "b"]) == "2*channel:block1:3 - class:b + neuron:block2:1"
    model = create_model("small_cnn", num_classes=2, widths=(4, 8), seed=0).eval()
    x = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    maps = capture(model, x)
    with torch.no_grad():
        expected = (2 * maps["block1"][:, 3].mean((1, 2)) - model(x)[:, 1]
                    + maps["block2"][:, 1, 7, 7])  # fmt: skip
        torch.testing.assert_close(evaluate(model, x, obj), expected)
    for text, match in [("channel:block1", "channel:LAYER:UNIT"), ("pixel:3", "cannot read"),
                        ("class:zebra", "unknown class 'zebra'"), ("", "empty objective")]:  # fmt: skip
        with pytest.raises(PixelabError, match=match):
            parse_objective(text, classes=["a", "b"])
    with pytest.raises(PixelabError, match="unit 9 out of range"):
        evaluate(model, x, channel("block1", 9))


def test_dreaming_beats_every_real_image_of_a_tiny_model():
    from pixelab.explain.dream import channel, dataset_values, dream

    model = create_model("small_cnn", num_classes=2, widths=(4, 8), seed=0).eval()
    obj = channel("block2", 5)
    real = np.random.default_rng(0).integers(0, 256, (200, 28, 28, 1), dtype=np.uint8)
    made = dream(model, obj, steps=48, batch=2, seed=0)
    assert made["images"].shape == (2, 28, 28, 1) and made["images"].dtype == np.uint8
    assert made["values"].max() > dataset_values(model, real, obj).max()
    assert made["history"][-1]["objective"] > made["history"][0]["objective"]
    assert all(p.requires_grad for p in model.parameters())  # the model is left as it was
    again = dream(model, obj, steps=48, batch=2, seed=0)
    np.testing.assert_array_equal(again["images"], made["images"])  # same seed, same dream


def test_the_settle_steps_see_the_plain_image():
    from pixelab.explain.dream import channel, dream

    model = create_model("small_cnn", num_classes=2, widths=(4, 8), seed=0).eval()
    obj = channel("block2", 5)
    plain = dream(model, obj, steps=12, batch=2, seed=0, jitter=0, scale=0.0, degrees=0.0)
    settled = dream(model, obj, steps=12, batch=2, seed=0, settle=1.0)
    moved = dream(model, obj, steps=12, batch=2, seed=0, settle=0.0)
    np.testing.assert_allclose(settled["values"], plain["values"], rtol=1e-4)
    assert not np.allclose(moved["values"], plain["values"], rtol=1e-4)
    with pytest.raises(PixelabError, match=r"settle must be in \[0, 1\]"):
        dream(model, obj, steps=2, settle=1.5)


def test_explain_dream_on_a_colour_run(capsys, colour_run, tmp_path):
    root, run = colour_run
    out = tmp_path / "d"
    code, stdout, err = cli(capsys, "explain", "dream", str(run), "--layer", "block1", "--unit",
                            "0", "--steps", "16", "--batch", "2", "--data", str(root),
                            "--out", str(out), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    assert m["objective"] == "channel:block1:0" and len(m["values"]) == 2 and m["n_images"] == 12
    assert (out / "figures" / "dream.png").is_file()
    for args, message in [(["--class", "c1", "--layer", "block1"], "give one of"),
                          (["--layer", "block1"], "go together"),
                          (["--objective", "channel:conv9:0"], "its layers"),
                          (["--objective", "neuron:block1:999"], "out of range")]:  # fmt: skip
        code, _, err = cli(capsys, "explain", "dream", str(run), *args, "--steps", "2",
                           "--out", str(tmp_path / "bad"))  # fmt: skip
        assert code == 2 and message in err, err
        assert not (tmp_path / "bad").exists()


def test_shape_concepts_cover_every_pixel_once():
    from pixelab.data.shapes import make_shapes, shape_concepts

    ds, c = shape_concepts(n_per_class=4, size=24, seed=3, occlusion=0.7, clutter=0.9)
    ref = make_shapes(n_per_class=4, size=24, seed=3, occlusion=0.7, clutter=0.9)
    np.testing.assert_array_equal(ds.images, ref.images)  # the same dataset, with ground truth
    assert c["occluder"].any() and c["distractor"].any()
    layers = c["object"].astype(int) + c["occluder"] + c["distractor"] + c["background"]
    assert (layers >= 1).all() and not (c["object"] & c["distractor"]).any()
    per_class = sum(c[name].astype(int) for name in ds.classes)
    np.testing.assert_array_equal(per_class, c["object"])  # each object pixel: its own class


def test_dissection_finds_a_planted_detector():
    from pixelab.explain.dissect import dissect

    class Planted(nn.Module):
        """Unit 0 is exactly the 'left' concept's mask; unit 1 is noise."""

        model_name = "planted"

        def __init__(self):
            super().__init__()
            self.layer = nn.Identity()
            self.w = nn.Parameter(torch.zeros(1))

        def feature_layers(self):
            return {"layer": self.layer}

        def forward(self, x):
            noise = torch.rand(x.shape[0], 1, 16, 16, generator=torch.Generator().manual_seed(0))
            return self.layer(torch.cat([x[:, :1], noise], 1)).sum((2, 3))

    images = np.zeros((40, 16, 16, 1), np.uint8)
    left = np.zeros((40, 16, 16), bool)
    rng = np.random.default_rng(0)
    for i in range(40):
        r, c = rng.integers(0, 12, 2)
        images[i, r : r + 4, c : c + 4] = 255
        left[i, r : r + 4, c : c + 4] = True
    r = dissect(Planted(), images, {"left": left, "other": ~left}, quantile=0.9)["layers"]["layer"]
    assert r["best_unit"]["left"] == 0 and r["best_iou"]["left"] > 0.9
    assert r["detectors"]["left"] == 1


def test_explain_dissect_needs_a_shapes_run(capsys, colour_run, tmp_path):
    _, run = colour_run
    code, _, err = cli(capsys, "explain", "dissect", str(run), "--out", str(tmp_path / "d"))
    assert code == 2 and "dissect a run trained with --data shapes" in err
    code, _, err = cli(capsys, "explain", "dissect", str(run), "--data", "digits",
                       "--out", str(tmp_path / "d"))  # fmt: skip
    assert code == 2 and "concept masks" in err and not (tmp_path / "d").exists()


def test_explain_dissect_on_a_shapes_run(capsys, tmp_path):
    from pixelab.apps.cnn import train_cnn
    from pixelab.train import CNNConfig

    run = tmp_path / "shapes"
    train_cnn(CNNConfig(data="shapes", size=16, limit=300, epochs=1, seed=0), run)
    code, stdout, err = cli(capsys, "explain", "dissect", str(run), "--images-per-class", "10",
                            "--out", str(tmp_path / "d"), "--json")  # fmt: skip
    assert code == 0, err
    m = json.loads(stdout)
    assert m["n_images"] == 60 and set(m["layers"]) == {"block1", "block2", "block3"}
    layer = m["layers"]["block3"]
    assert set(layer["best_iou"]) == set(m["concepts"]) and 0 <= layer["best_iou"]["star"] <= 1
    assert (tmp_path / "d" / "figures" / "dissect.png").is_file()
