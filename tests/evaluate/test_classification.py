from __future__ import annotations

import numpy as np
import pytest

from pixelab import PixelabError
from pixelab.evaluate import classification, confusion_matrix


def test_known_answer():
    r = classification([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], classes=["a", "b", "c"])
    assert r["accuracy"] == 0.6
    assert r["per_class"]["b"] == {"precision": 0.6667, "recall": 1.0, "f1": 0.8, "support": 2}
    assert r["per_class"]["c"]["recall"] == 0.0
    assert r["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert r["most_confused"]["count"] == 1


def test_matches_sklearn_on_random_labels():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    r = classification(t, p, classes=list("abcd"))
    assert r["macro_f1"] == pytest.approx(f1_score(t, p, average="macro"), abs=1e-4)
    assert np.array(r["confusion"]).sum() == 200
    assert (confusion_matrix(t, p, 4).diagonal().sum() / 200) == pytest.approx(
        r["accuracy"], abs=1e-4
    )


def test_bad_inputs():
    with pytest.raises(PixelabError, match="predictions"):
        classification([0, 1], [0], classes=["a", "b"])
    with pytest.raises(PixelabError, match=r"labels must lie"):
        classification([0, 5], [0, 1], classes=["a", "b"])
    with pytest.raises(PixelabError, match="no predictions"):
        classification([], [], classes=["a", "b"])


def test_most_confused_is_none_when_nothing_was_misclassified():
    r = classification([0, 1, 1], [0, 1, 1], classes=["cat", "dog"])
    assert r["accuracy"] == 1.0 and r["most_confused"] is None
    r = classification([0, 1, 1], [0, 0, 1], classes=["cat", "dog"])
    assert r["most_confused"] == {"true": "dog", "predicted": "cat", "count": 1}
