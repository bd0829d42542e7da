"""Registry, constructor options and input checks: smoke, known answers and exceptions."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pixelab import PixelabError
from pixelab.models import (
    MLP,
    LeNet,
    PixelabModel,
    ResNet,
    SmallCNN,
    create_model,
    list_models,
    register_model,
    registry,
)


def test_list_models_in_teaching_order():
    models = list_models()
    assert list(models) == ["mlp", "lenet", "small_cnn", "resnet", "efficientnet_lite0"]
    assert all(isinstance(d, str) and d for d in models.values())


@pytest.mark.parametrize(
    "name, cls", [("mlp", MLP), ("lenet", LeNet), ("small_cnn", SmallCNN), ("resnet", ResNet)]
)
def test_create_model_returns_the_class(name, cls):
    model = create_model(name, num_classes=3)
    assert type(model) is cls and model.model_name == name


def test_known_parameter_counts():
    # mlp: (784*256 + 256) + (256*128 + 128) + (128*10 + 10)
    assert create_model("mlp", num_classes=10).num_parameters() == 235_146
    assert create_model("lenet", num_classes=10).num_parameters() == 61_706  # LeNet-5 on MNIST
    assert create_model("mlp", num_classes=2, image_size=8, hidden=(4,)).num_parameters() == (
        64 * 4 + 4 + 4 * 2 + 2
    )


def test_kwargs_shape_the_model():
    model = create_model("small_cnn", num_classes=4, widths=(8, 16), convs_per_block=2)
    assert list(model.feature_layers()) == ["block1", "block2"]
    assert model.forward_features(torch.rand(2, 1, 28, 28)).shape == (2, 16, 14, 14)
    assert model.get_classifier().in_features == 16 * 7 * 7  # flat head, 14 x 14 pooled to 7 x 7
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 4)
    model = create_model("small_cnn", num_classes=4, widths=(8, 16), convs_per_block=[1, 3])
    convs = [
        sum(isinstance(m, torch.nn.Conv2d) for m in b.modules()) for b in model.blocks.values()
    ]
    assert convs == [1, 3]
    assert model.config["convs_per_block"] == [1, 3]  # saved as given: the model rebuilds
    assert create_model(**model.config).config == model.config
    model = create_model("small_cnn", num_classes=4, widths=(8, 16), head="gap")
    assert model.get_classifier().in_features == 16
    assert model(torch.rand(2, 1, 40, 36)).shape == (2, 4)
    model = create_model("resnet", num_classes=4, widths=(8, 16), depths=(2, 1))
    assert list(model.feature_layers()) == ["stem", "stage1", "stage2"]
    assert len(model.stages["stage1"]) == 2
    model = create_model("mlp", num_classes=4, hidden=(32, 16, 8))
    assert list(model.feature_layers()) == ["fc1", "fc2", "fc3"]
    assert model.forward_features(torch.rand(2, 1, 28, 28)).shape == (2, 8)


def test_normalisation_is_inside_the_model():
    model = create_model("mlp", num_classes=2, image_size=4, hidden=(3,))
    x = torch.rand(1, 1, 4, 4)
    torch.testing.assert_close(model.normalize(x), (x - 0.5) / 0.5)


def test_trainable_parameter_count():
    model = create_model("small_cnn", num_classes=3)
    for p in model.parameters():
        p.requires_grad_(False)
    model.reset_classifier(5)
    assert model.num_parameters(trainable_only=True) == 128 * 7 * 7 * 5 + 5  # flat head


# ---- exceptions ----------------------------------------------------------------------------


def test_unknown_model_lists_the_valid_names():
    with pytest.raises(PixelabError, match=r"unknown model 'vgg'.*mlp, lenet, small_cnn, resnet"):
        create_model("vgg", num_classes=2)


def test_unknown_option_lists_the_valid_ones():
    with pytest.raises(PixelabError, match=r"unknown option\(s\) for model 'mlp': depth.*hidden"):
        create_model("mlp", num_classes=2, depth=3)


@pytest.mark.parametrize(
    "name, kwargs, match",
    [
        ("mlp", {"num_classes": 0}, "num_classes must be an integer >= 1"),
        ("mlp", {"num_classes": 2.5}, "num_classes must be an integer"),
        ("small_cnn", {"num_classes": 2, "in_channels": 0}, "in_channels must be"),
        ("small_cnn", {"num_classes": 2, "widths": ()}, "widths must not be empty"),
        ("small_cnn", {"num_classes": 2, "widths": "abc"}, "widths must be a sequence"),
        ("small_cnn", {"num_classes": 2, "widths": (8, -1)}, "each entry of widths"),
        ("small_cnn", {"num_classes": 2, "dropout": 1.0}, r"dropout must be a number in \[0, 1\)"),
        ("small_cnn", {"num_classes": 2, "convs_per_block": 0}, "convs_per_block must be"),
        ("small_cnn", {"num_classes": 2, "convs_per_block": [1, 2]}, "2 entries for 3 blocks"),
        ("small_cnn", {"num_classes": 2, "convs_per_block": [1, 0, 1]}, "each entry of convs"),
        ("small_cnn", {"num_classes": 2, "head": "avg"}, "unknown head 'avg'"),
        ("resnet", {"num_classes": 2, "depths": (1, 1)}, "one depth per stage"),
        ("mlp", {"num_classes": 2, "hidden": [0]}, "each entry of hidden"),
        ("lenet", {"num_classes": 2, "image_size": 8}, "lenet needs image_size >= 12, got 8"),
        ("small_cnn", {"num_classes": 2, "image_size": 3}, "small_cnn needs image_size >= 4"),
    ],
)
def test_invalid_options(name, kwargs, match):
    with pytest.raises(PixelabError, match=match):
        create_model(name, **kwargs)


@pytest.mark.parametrize("name", list(list_models()))
def test_wrong_channel_count_says_what_the_model_expects(name):
    model = create_model(name, num_classes=2)
    with pytest.raises(
        PixelabError, match=rf"{name} was built for 1-channel images, got 3 channels"
    ):
        model(torch.rand(2, 3, 28, 28))


@pytest.mark.parametrize("name", ["mlp", "lenet"])
def test_fixed_size_models_say_their_size(name):
    model = create_model(name, num_classes=2, image_size=28)
    with pytest.raises(PixelabError, match=rf"{name} was built for 28x28 images, got 32x32"):
        model(torch.rand(2, 1, 32, 32))


@pytest.mark.parametrize("name", ["small_cnn", "resnet"])
def test_too_small_images(name):
    model = create_model(name, num_classes=2)
    with pytest.raises(PixelabError, match=rf"{name} needs images of at least 4x4 pixels, got 2x2"):
        model(torch.rand(2, 1, 2, 2))


@pytest.mark.parametrize(
    "x, match",
    [
        (torch.zeros(2, 1, 28, 28, dtype=torch.uint8), r"expects float images in \[0, 1\]"),
        (torch.rand(1, 28, 28), r"expects a batch shaped \(B, C, H, W\), got shape \(1, 28, 28\)"),
        ([[0.0]], "expects a torch.Tensor, got list"),
    ],
)
def test_bad_input_tensors(x, match):
    model = create_model("small_cnn", num_classes=2)
    with pytest.raises(PixelabError, match=match):
        model(x)
    with pytest.raises(PixelabError, match=match):
        model.forward_features(x)


def test_reset_classifier_rejects_zero_classes():
    with pytest.raises(PixelabError, match="num_classes must be an integer >= 1"):
        create_model("resnet", num_classes=2).reset_classifier(0)


# ---- registering new models -----------------------------------------------------------------


@pytest.fixture
def scratch_registry(monkeypatch):
    """Register into a copy so that test models do not leak into list_models()."""
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))


def test_register_a_new_model(scratch_registry):
    @register_model("tiny", "one linear layer on the mean colour")
    class Tiny(PixelabModel):
        def __init__(self, *, num_classes, in_channels=1, image_size=28, scale: float = 1.0):
            super().__init__(
                num_classes=num_classes, in_channels=in_channels, image_size=image_size
            )
            self.scale = scale
            self.body = nn.Identity()
            self.head = nn.Linear(in_channels, num_classes)

        def forward_features(self, x):
            return self.body(self.normalize(self.check_input(x)).mean((2, 3)) * self.scale)

        def forward_head(self, features, *, pre_logits=False):
            return features if pre_logits else self.head(features)

        def feature_layers(self):
            return {"body": self.body}

    assert list_models()["tiny"] == "one linear layer on the mean colour"
    model = create_model("tiny", num_classes=3, in_channels=3, scale=2.0)
    assert model.config == {
        "name": "tiny",
        "num_classes": 3,
        "in_channels": 3,
        "image_size": 28,
        "scale": 2.0,
    }
    assert model(torch.rand(2, 3, 9, 9)).shape == (2, 3)


def test_register_rejects_a_taken_name(scratch_registry):
    with pytest.raises(PixelabError, match="model name 'mlp' is already taken"):

        @register_model("mlp", "another one")
        class Other(MLP):
            pass


def test_register_rejects_non_models(scratch_registry):
    with pytest.raises(PixelabError, match="decorates PixelabModel subclasses"):
        register_model("linear", "not a PixelabModel")(nn.Linear)
