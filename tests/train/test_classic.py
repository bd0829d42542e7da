from __future__ import annotations

import numpy as np
import pytest

from pixelab import PixelabError
from pixelab.data import load_digits, split
from pixelab.train import CLASSIFIERS, ClassicConfig, classic_pipeline, fit_classic, make_classifier


@pytest.fixture(scope="module")
def digits():
    return split(load_digits(), test_size=0.25, seed=0)


@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_every_classifier_beats_chance_by_far_on_digits(digits, name):
    train, test = digits
    kwargs = {"max_iter": 200} if name == "mlp" else {}
    pipe = classic_pipeline("pixels", name, seed=0, classifier_kwargs=kwargs)
    acc = (pipe.fit(train.images, train.labels).predict(test.images) == test.labels).mean()
    assert acc > 0.85, (name, acc)


def test_pipeline_steps_and_pca(digits):
    train, _ = digits
    pipe = classic_pipeline("hog", "logreg", pca=20)
    assert [n for n, _ in pipe.steps] == ["features", "scale", "pca", "classifier"]
    pipe.fit(train.images, train.labels)
    assert pipe.named_steps["classifier"].coef_.shape == (10, 20)


def test_fit_classic_metrics(digits):
    train, test = digits
    cfg = ClassicConfig(data="digits", features="pixels", classifier="logreg")
    _, m, pred = fit_classic(cfg, train, test)
    assert pred.shape == (len(test),)
    assert m["n_train"] == len(train) and m["n_test"] == len(test)
    assert m["num_parameters"] == 64 * 10 + 10  # weights + biases of a linear model
    assert m["accuracy"] == pytest.approx(float((pred == test.labels).mean()), abs=1e-4)
    assert m["n_features"] == 64


def test_fit_classic_refuses_mismatched_and_single_class_data(digits):
    train, test = digits
    cfg = ClassicConfig(features="pixels", classifier="logreg")
    bigger = test.with_images(np.zeros((len(test), 9, 9, 1), np.uint8))
    with pytest.raises(PixelabError, match="train images are"):
        fit_classic(cfg, train, bigger)
    with pytest.raises(PixelabError, match="single class"):
        fit_classic(cfg, train.subset(train.labels == 1), test)


def test_unknown_classifier_lists_choices():
    with pytest.raises(PixelabError, match="choose one of: logreg"):
        make_classifier("boosted-magic")


def test_same_seed_same_predictions(digits):
    train, test = digits
    preds = [
        classic_pipeline("pixels", "rf", seed=3)
        .fit(train.images, train.labels)
        .predict(test.images)
        for _ in range(2)
    ]
    assert (preds[0] == preds[1]).all()
