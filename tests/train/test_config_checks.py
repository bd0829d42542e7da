"""TrainConfig, CNNConfig and ClassicConfig check their options and name the flags in errors."""

from __future__ import annotations

import pytest

from pixelab import PixelabError
from pixelab.train import ClassicConfig, CNNConfig, TrainConfig


def test_the_defaults_pass():
    assert TrainConfig().check() == TrainConfig()
    assert CNNConfig().check() == CNNConfig()
    assert ClassicConfig().check() == ClassicConfig()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"epochs": 0}, "--epochs must be an integer >= 1, got 0"),
        ({"batch_size": 0}, "--batch-size must be an integer >= 1, got 0"),
        ({"lr": 0.0}, "--lr must be a positive number, got 0.0"),
        ({"lr": float("nan")}, "--lr must be a positive number, got nan"),
        ({"average": 1.0}, "--average (the weight-average decay) must lie in [0, 1), got 1.0"),
        ({"label_smoothing": 1.0}, "--label-smoothing must lie in [0, 1), got 1.0"),
        ({"patience": 0}, "--patience must be an integer >= 1, got 0"),
        ({"seed": -1}, "--seed must be an integer >= 0, got -1"),
        ({"optimizer": "adam"}, "unknown --optimizer 'adam'"),
        ({"schedule": "step"}, "unknown --schedule 'step'"),
        ({"augment": "spin"}, "--augment 'spin': unknown augmentation 'spin'"),
        ({"device": "gpu"}, "unknown --device 'gpu'"),
        ({"epochs": "2"}, '--epochs must be an integer, got "2"'),
        ({"weight_decay": -1.0}, '"weight_decay" (a --config option) must be a number >= 0'),
        ({"momentum": 1.0}, '"momentum" (a --config option) must lie in [0, 1)'),
        ({"shift": -1}, '"shift" (a --config option) must be an integer >= 0, got -1'),
        ({"threads": 0}, '"threads" (a --config option) must be an integer >= 1, got 0'),
    ],
)
def test_train_config_names_the_flag_and_the_value(changes, message):
    for cls in (TrainConfig, CNNConfig):  # CNNConfig.check runs TrainConfig's checks too
        with pytest.raises(PixelabError) as err:
            cls(**changes).check()
        assert str(err.value).startswith(message), str(err.value)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"model": "vgg"}, "unknown --model 'vgg'"),
        ({"size": 0}, "--size must be an integer >= 1, got 0"),
        ({"limit": 0}, "--limit must be an integer >= 1, got 0"),
        ({"test_size": 0.0}, "--test-size must lie between 0 and 1 (a share), got 0.0"),
        ({"test_size": 1.0}, "--test-size must lie between 0 and 1 (a share), got 1.0"),
        ({"val_fraction": 1.0}, "--val must lie in [0, 1) (a share), got 1.0"),
        ({"val_fraction": -0.1}, "--val must lie in [0, 1) (a share), got -0.1"),
        ({"data": " "}, "--data is empty"),
        ({"gray": "yes"}, '--gray must be true, false or null, got "yes"'),
    ],
)
def test_cnn_config_checks_its_own_options(changes, message):
    with pytest.raises(PixelabError) as err:
        CNNConfig(**changes).check()
    assert str(err.value).startswith(message), str(err.value)


def test_cnn_config_accepts_every_registered_model_and_open_options():
    from pixelab.models import list_models

    for name in list_models():
        CNNConfig(model=name).check()
    CNNConfig(size=1, limit=1, val_fraction=0.0, patience=1, test_size=0.5).check()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"features": "hogg"}, "unknown --features 'hogg'"),
        ({"classifier": "tree"}, "unknown --classifier 'tree'"),
        ({"size": 0}, "--size must be an integer >= 1, got 0"),
        ({"limit": -5}, "--limit must be an integer >= 1, got -5"),
        ({"pca": -1}, "--pca must be an integer >= 0, got -1"),
        ({"test_size": 1.5}, "--test-size must lie between 0 and 1 (a share), got 1.5"),
        ({"seed": -1}, "--seed must be an integer >= 0, got -1"),
        ({"data": ""}, "--data is empty"),
        ({"pca": 9.5}, "--pca must be an integer or null, got 9.5"),
    ],
)
def test_classic_config_checks_what_needs_no_data(changes, message):
    with pytest.raises(PixelabError) as err:
        ClassicConfig(**changes).check()
    assert str(err.value).startswith(message), str(err.value)


def test_classic_config_accepts_open_options():
    for features in ("pixels", "hog", "hog+pixels", "sift", "color"):
        ClassicConfig(features=features, pca=0).check()
    ClassicConfig(pca=None, size=8, limit=10, gray=True).check()
