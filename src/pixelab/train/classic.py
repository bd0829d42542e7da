"""The "old days" pipeline: hand-made features -> scaler -> a classic classifier.

>>> import pixelab as px
>>> ds = px.data.load("digits")
>>> clf = classic_pipeline(features="pixels", classifier="logreg").fit(ds.images, ds.labels)
>>> float((clf.predict(ds.images) == ds.labels).mean()) > 0.95
True
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from pixelab._core.checks import check_choice
from pixelab._core.errors import PixelabError
from pixelab._core.progress import ProgressFn, report
from pixelab.data.imageset import ImageSet
from pixelab.train.config import CLASSIFIERS as CLASSIFIERS
from pixelab.train.config import ClassicConfig as ClassicConfig


def make_classifier(name: str, *, seed: int = 0, **kwargs: Any):
    """A fresh scikit-learn classifier by name, with CPU-friendly defaults."""
    check_choice(name, tuple(CLASSIFIERS), name="classifier")
    if name == "logreg":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(
            **{"max_iter": 500, "C": 0.05, "tol": 1e-3, "random_state": seed, **kwargs}
        )
    if name == "linear_svm":
        from sklearn.svm import LinearSVC

        return LinearSVC(**{"C": 0.01, "random_state": seed, **kwargs})
    if name == "svm":
        from sklearn.svm import SVC

        return SVC(
            **{"C": 10.0, "gamma": "scale", "cache_size": 2000, "random_state": seed, **kwargs}
        )
    if name == "rf":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(
            **{"n_estimators": 200, "n_jobs": -1, "random_state": seed, **kwargs}
        )
    if name == "knn":
        from sklearn.neighbors import KNeighborsClassifier

        return KNeighborsClassifier(**{"n_neighbors": 5, "n_jobs": -1, **kwargs})
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        **{
            "hidden_layer_sizes": (256,),
            "early_stopping": True,
            "max_iter": 60,
            "random_state": seed,
            **kwargs,
        }
    )


def classic_pipeline(
    features: str = "hog+pixels",
    classifier: str = "svm",
    *,
    seed: int = 0,
    pca: int | None = 96,
    feature_kwargs: dict[str, Any] | None = None,
    classifier_kwargs: dict[str, Any] | None = None,
):
    """A scikit-learn Pipeline ``features -> StandardScaler -> [PCA] -> classifier``.

    It takes uint8 image batches (N, H, W, C) in ``fit``/``predict``. ``pca`` keeps that many
    principal components (None or 0: no PCA step; features that are already no more than
    ``pca`` numbers pass through). The defaults -- HOG at two cell sizes plus raw pixels, PCA
    to 96 numbers, an RBF SVM -- reach about 0.93 test accuracy on Fashion-MNIST in 1.5 to 2.2
    minutes on two CPU cores (see BENCHMARKS.md).
    """
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from pixelab.features import make_features
    from pixelab.train._pca import CappedPCA

    steps: list[tuple[str, Any]] = [
        ("features", make_features(features, **(feature_kwargs or {}))),
        ("scale", StandardScaler()),
    ]
    if pca:
        steps.append(("pca", CappedPCA(n_components=pca, whiten=False, random_state=seed)))
    steps.append(
        ("classifier", make_classifier(classifier, seed=seed, **(classifier_kwargs or {})))
    )
    return Pipeline(steps)


def fit_classic(
    config: ClassicConfig,
    train: ImageSet,
    test: ImageSet,
    *,
    progress: ProgressFn | None = None,
) -> tuple[Any, dict[str, Any], np.ndarray]:
    """Fit the configured pipeline on ``train`` and evaluate on ``test``.

    Returns ``(pipeline, metrics, test_predictions)``; metrics use the shared keys
    (accuracy, train_seconds, predict_seconds, n_train, n_test, ...).
    """
    from pixelab.evaluate import classification

    if train.shape != test.shape:
        raise PixelabError(f"train images are {train.shape} but test images are {test.shape}")
    if len(np.unique(train.labels)) < 2:
        raise PixelabError("the training split holds a single class; need at least two")
    pipe = classic_pipeline(config.features, config.classifier, seed=config.seed, pca=config.pca)
    report(progress, f"fitting {config.features} + {config.classifier}", 0, 2)
    t0 = time.perf_counter()
    pipe.fit(train.images, train.labels)
    train_seconds = time.perf_counter() - t0
    report(progress, f"predicting {len(test)} test images", 1, 2)
    t0 = time.perf_counter()
    pred = pipe.predict(test.images)
    predict_seconds = time.perf_counter() - t0
    report(progress, "done", 2, 2)
    scores = classification(test.labels, pred, classes=train.classes)
    n_features = int(pipe.named_steps["scale"].n_features_in_)
    metrics = {
        "accuracy": scores["accuracy"],
        "train_seconds": round(train_seconds, 3),
        "predict_seconds": round(predict_seconds, 3),
        "n_train": len(train),
        "n_test": len(test),
        "num_parameters": _num_parameters(pipe.named_steps["classifier"]),
        "n_features": n_features,
        "skipped_files": len(train.skipped),
        **{k: v for k, v in scores.items() if k != "accuracy"},
    }
    return pipe, metrics, pred


def _num_parameters(clf: Any) -> int | None:
    """Learned numbers in a fitted classifier (weights, support vectors, tree nodes)."""
    if hasattr(clf, "coef_"):
        return int(clf.coef_.size + np.size(getattr(clf, "intercept_", 0)))
    if hasattr(clf, "support_vectors_"):
        return int(clf.support_vectors_.size + clf.dual_coef_.size)
    if hasattr(clf, "estimators_"):
        return int(sum(e.tree_.node_count for e in clf.estimators_))
    if hasattr(clf, "coefs_"):
        return int(sum(w.size for w in clf.coefs_) + sum(b.size for b in clf.intercepts_))
    if hasattr(clf, "_fit_X"):  # k-NN stores the training set itself
        return int(clf._fit_X.size)
    return None


# ---- a fitted pipeline on disk: safetensors + JSON, never a pickle ----------------------------

#: The files a saved pipeline is written to: its arrays, and the JSON that says how to rebuild it.
PIPELINE_ARRAYS, PIPELINE_JSON = "pipeline.safetensors", "pipeline.json"
#: The steps whose fitted state is arrays, numbers and names, so they are written without a
#: pickle and rebuilt only from this list (a JSON that names another class is refused). The
#: other classifiers (rf, knn, mlp) keep trees, search structures or optimiser objects: their
#: runs are not saved, and cannot predict new images.
SAVED_STEPS = (
    "pixelab.features._transformers.PixelFeatures",
    "pixelab.features._transformers.HOGFeatures",
    "pixelab.features._transformers.HOGPixelFeatures",
    "pixelab.features._transformers.ColorHistogramFeatures",
    "sklearn.preprocessing._data.StandardScaler",
    "pixelab.train._pca.CappedPCA",
    "sklearn.decomposition._pca.PCA",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.svm._classes.LinearSVC",
    "sklearn.svm._classes.SVC",
)


def _qualname(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _encode(value: Any, arrays: dict[str, np.ndarray], key: str) -> Any:
    """``value`` as JSON, its arrays moved to ``arrays`` under keys that start with ``key``."""
    import math

    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise PixelabError(f"{key} is an array of Python objects, which is not saved")
        arrays[key] = np.ascontiguousarray(value)
        return {"__array__": key}
    if isinstance(value, np.generic):
        return {"__scalar__": value.dtype.str, "value": _encode(value.item(), arrays, key)}
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        items = [_encode(v, arrays, f"{key}.{i}") for i, v in enumerate(value)]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, arrays, f"{key}.{k}") for k, v in value.items()}}
    if _qualname(value) in SAVED_STEPS:
        return {"__step__": _qualname(value), "state": _encode(vars(value), arrays, key)}
    raise PixelabError(f"{key} holds a {type(value).__name__}, which pixelab does not save")


def _decode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The inverse of :func:`_encode`; only the classes of :data:`SAVED_STEPS` are built."""
    import importlib

    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        return arrays[value["__array__"]]
    if "__scalar__" in value:
        return np.dtype(value["__scalar__"]).type(_decode(value["value"], arrays))
    if "__float__" in value:
        return float(value["__float__"])
    if "__tuple__" in value:
        return tuple(_decode(v, arrays) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: _decode(v, arrays) for k, v in value["__dict__"].items()}
    name = value.get("__step__")
    if name not in SAVED_STEPS:
        raise PixelabError(f"a saved pipeline names the step {name!r}, which pixelab does not load")
    module, _, cls_name = name.rpartition(".")
    cls = getattr(importlib.import_module(module), cls_name)
    step = cls.__new__(cls)
    step.__dict__.update(_decode(value["state"], arrays))
    return step


def pipeline_saveable(pipe: Any) -> str | None:
    """None when :func:`save_pipeline` can write the fitted ``pipe``, else why not."""
    for name, step in pipe.steps:
        if _qualname(step) not in SAVED_STEPS:
            return f"its {name} step ({type(step).__name__}) is not one pixelab saves"
    return None


def save_pipeline(pipe: Any, folder: str | os.PathLike[str], *, meta: dict[str, Any]) -> Path:
    """Write a fitted classic pipeline to ``folder`` as :data:`PIPELINE_ARRAYS` +
    :data:`PIPELINE_JSON` (``meta``, e.g. class names and preprocessing, goes into the JSON);
    the arrays first, then the JSON that points at them, each atomically. A step outside
    :data:`SAVED_STEPS` is an error (:func:`pipeline_saveable` says so beforehand)."""
    import sklearn
    from safetensors.numpy import save_file

    from pixelab._core.io import atomic_write, write_json

    why = pipeline_saveable(pipe)
    if why is not None:
        raise PixelabError(f"cannot save this pipeline: {why}")
    arrays: dict[str, np.ndarray] = {}
    steps = [{"name": name, **_encode(step, arrays, name)} for name, step in pipe.steps]
    folder = Path(folder)
    atomic_write(folder / PIPELINE_ARRAYS, lambda p: save_file(arrays, str(p)))
    write_json(folder / PIPELINE_JSON, {"format_version": 1, "sklearn": sklearn.__version__,
                                        "steps": steps, **meta})  # fmt: skip
    return folder


def load_pipeline(folder: str | os.PathLike[str]) -> tuple[Any, dict[str, Any]]:
    """The fitted pipeline :func:`save_pipeline` wrote to ``folder``, and its ``meta``.

    Only the step classes of :data:`SAVED_STEPS` are built, from arrays and JSON values (no
    code is run from the files). A pipeline saved by another scikit-learn version is refused:
    the fitted state of its steps may mean something else there."""
    import json

    import sklearn
    from safetensors import SafetensorError
    from safetensors.numpy import load_file
    from sklearn.pipeline import Pipeline

    folder = Path(folder)
    try:
        saved = json.loads((folder / PIPELINE_JSON).read_text(encoding="utf-8"))
        arrays = load_file(str(folder / PIPELINE_ARRAYS))
    except (OSError, ValueError, SafetensorError) as err:
        raise PixelabError(f"cannot read the saved pipeline in {folder} ({err})") from err
    if saved.get("sklearn") != sklearn.__version__:
        raise PixelabError(
            f"{folder} was saved with scikit-learn {saved.get('sklearn')}, this is "
            f"{sklearn.__version__}",
            hint="train the classic run again with this version",
        )
    try:
        steps = [(s["name"], _decode({k: v for k, v in s.items() if k != "name"}, arrays))
                 for s in saved["steps"]]  # fmt: skip
    except (KeyError, TypeError, AttributeError) as err:
        raise PixelabError(f"{folder / PIPELINE_JSON} is damaged ({err!r})") from None
    meta = {k: v for k, v in saved.items() if k not in ("format_version", "sklearn", "steps")}
    return Pipeline(steps), meta


def pipeline_probabilities(
    pipe: Any, images: np.ndarray, n_classes: int, *, predicted: np.ndarray | None = None
) -> tuple[np.ndarray, bool]:
    """Per image (N, H, W, C uint8) a probability for each of the ``n_classes`` labels (N, K),
    and whether they are the classifier's own: logistic regression gives them; an SVM gives
    only a class, which then gets 1 and the others 0 (``predicted``, the classes already
    predicted for ``images``, saves predicting them again)."""
    classifier = pipe.steps[-1][1]
    labels = [int(c) for c in classifier.classes_]  # the labels it saw in training
    out = np.zeros((len(images), n_classes))
    try:
        out[:, labels] = pipe.predict_proba(images)
        return out, True
    except AttributeError:  # no predict_proba (LinearSVC; SVC without probability=True)
        pass
    pred = pipe.predict(images) if predicted is None else predicted
    out[np.arange(len(images)), np.asarray(pred, int)] = 1.0
    return out, False
