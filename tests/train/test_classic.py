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


# ---- a fitted pipeline saved as safetensors + JSON -------------------------------------------


@pytest.mark.parametrize(
    ("features", "classifier", "pca"),
    [("hog", "logreg", 96), ("hog+pixels", "svm", 20), ("pixels", "linear_svm", None),
     ("color", "logreg", 0)],
)  # fmt: skip
def test_a_saved_pipeline_predicts_exactly_as_the_fitted_one(
    digits, tmp_path, features, classifier, pca
):
    from pixelab.train.classic import load_pipeline, pipeline_probabilities, save_pipeline

    train, test = digits
    images = np.repeat(train.images, 3, axis=-1) if features == "color" else train.images
    tests = np.repeat(test.images, 3, axis=-1) if features == "color" else test.images
    pipe = classic_pipeline(features, classifier, pca=pca).fit(images[:400], train.labels[:400])
    save_pipeline(pipe, tmp_path, meta={"classes": train.classes})
    assert not list(tmp_path.glob("*.pkl")) and (tmp_path / "pipeline.safetensors").is_file()
    loaded, meta = load_pipeline(tmp_path)
    assert meta == {"classes": train.classes}
    assert [n for n, _ in loaded.steps] == [n for n, _ in pipe.steps]
    np.testing.assert_array_equal(loaded.predict(tests), pipe.predict(tests))
    got, own = pipeline_probabilities(loaded, tests[:5], 10)
    want, _ = pipeline_probabilities(pipe, tests[:5], 10)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)  # arrays saved C-ordered
    assert own == (classifier == "logreg") and got.shape == (5, 10)
    np.testing.assert_allclose(got.sum(1), 1, rtol=1e-5)


def test_classifiers_kept_in_objects_are_not_saved_and_other_classes_not_loaded(digits, tmp_path):
    import json

    from pixelab.train.classic import load_pipeline, pipeline_saveable, save_pipeline

    train, _ = digits
    forest = classic_pipeline("pixels", "rf", classifier_kwargs={"n_estimators": 3})
    forest.fit(train.images[:100], train.labels[:100])
    assert "RandomForestClassifier" in pipeline_saveable(forest)
    with pytest.raises(PixelabError, match="is not one pixelab saves"):
        save_pipeline(forest, tmp_path, meta={})
    pipe = classic_pipeline("pixels", "logreg").fit(train.images[:100], train.labels[:100])
    save_pipeline(pipe, tmp_path, meta={})
    saved = json.loads((tmp_path / "pipeline.json").read_text())
    saved["steps"][0]["__step__"] = "os.system"  # a hand-edited file cannot name other code
    (tmp_path / "pipeline.json").write_text(json.dumps(saved))
    with pytest.raises(PixelabError, match=r"'os\.system', which pixelab does not load"):
        load_pipeline(tmp_path)
    saved["sklearn"] = "0.1"
    (tmp_path / "pipeline.json").write_text(json.dumps(saved))
    with pytest.raises(PixelabError, match=r"saved with scikit-learn 0\.1"):
        load_pipeline(tmp_path)
    (tmp_path / "pipeline.safetensors").write_bytes(b"garbage")
    with pytest.raises(PixelabError, match="cannot read the saved pipeline"):
        load_pipeline(tmp_path)
