"""Classic pipelines on Fashion-MNIST (official 60,000 / 10,000 split): by hand vs pixelab.

    .venv/bin/python benchmarks/bench_classic.py [--out .bench/classic.json] [--only NAME ...]
                                                 [--limit N] [--linear-svc-max-iter N]

Fits each pipeline on the 60,000 training images and predicts the 10,000 test images, timing
the whole pipeline: ``fit`` includes making the training features, ``predict`` making the test
features. Prints a table and writes the numbers as JSON.

By hand (what a user writes with scikit-learn and scikit-image alone):

* ``hand-rf-pixels``: ``RandomForestClassifier(n_estimators=100, n_jobs=-1)`` on raw pixels;
* ``hand-hog-linearsvc``: a Python loop of ``skimage.feature.hog`` (9 orientations, 4x4-pixel
  cells, 2x2 blocks, L2-Hys) + ``LinearSVC()`` with its defaults.

pixelab (``pixelab.train.classic_pipeline``: features -> StandardScaler -> [PCA] -> classifier):

* ``pixelab-default``: the defaults -- ``hog+pixels`` features, PCA to 96, RBF SVM
  (what ``pixelab classic train --data fashion-mnist`` runs);
* ``pixelab-hog-svm``: the same with plain ``hog`` features (28 px, 4 px cells);
* ``pixelab-pixels-rf``: raw pixels, no PCA, pixelab's random forest (200 trees).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import sklearn
from _common import machine

from pixelab._core.io import write_json
from pixelab.data import load_train_test

SEED = 0
HOG = {"orientations": 9, "pixels_per_cell": (4, 4), "cells_per_block": (2, 2)}


def skimage_hog_loop(images: np.ndarray) -> np.ndarray:
    from skimage.feature import hog

    first = hog(images[0, :, :, 0] / 255, block_norm="L2-Hys", **HOG)
    out = np.empty((len(images), first.size), np.float64)
    for i, img in enumerate(images[:, :, :, 0]):
        out[i] = hog(img / 255, block_norm="L2-Hys", **HOG)
    return out


class HandRandomForest:
    """Raw pixels, flattened, into a random forest."""

    def __init__(self) -> None:
        from sklearn.ensemble import RandomForestClassifier

        self.clf = RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=SEED)

    def fit(self, images: np.ndarray, labels: np.ndarray) -> HandRandomForest:
        self.clf.fit(images.reshape(len(images), -1), labels)
        return self

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.clf.predict(images.reshape(len(images), -1))

    def details(self) -> dict[str, Any]:
        return {"n_estimators": 100}


class HandHogLinearSVC:
    """A skimage.feature.hog loop, then LinearSVC with its defaults (C=1)."""

    def __init__(self, max_iter: int) -> None:
        from sklearn.svm import LinearSVC

        self.clf = LinearSVC(max_iter=max_iter, random_state=SEED)
        self.warnings: list[str] = []

    def fit(self, images: np.ndarray, labels: np.ndarray) -> HandHogLinearSVC:
        start = time.perf_counter()
        features = skimage_hog_loop(images)
        self.hog_fit_seconds = time.perf_counter() - start
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.clf.fit(features, labels)
        self.warnings = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
        return self

    def predict(self, images: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        features = skimage_hog_loop(images)
        self.hog_predict_seconds = time.perf_counter() - start
        return self.clf.predict(features)

    def details(self) -> dict[str, Any]:
        return {
            "hog_fit_seconds": round(self.hog_fit_seconds, 2),
            "hog_predict_seconds": round(self.hog_predict_seconds, 2),
            "max_iter": self.clf.max_iter,
            "n_iter": int(np.max(self.clf.n_iter_)),
            "warnings": self.warnings,
        }


class Pixelab:
    """A pixelab classic_pipeline."""

    def __init__(self, **kwargs: Any) -> None:
        from pixelab.train import classic_pipeline

        self.kwargs = kwargs
        self.pipe = classic_pipeline(seed=SEED, **kwargs)

    def fit(self, images: np.ndarray, labels: np.ndarray) -> Pixelab:
        self.pipe.fit(images, labels)
        return self

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.pipe.predict(images)

    def details(self) -> dict[str, Any]:
        from pixelab.train.classic import _num_parameters

        steps = self.pipe.named_steps
        out: dict[str, Any] = {
            "pipeline": " -> ".join(type(s).__name__ for _, s in self.pipe.steps),
            "n_features": int(steps["scale"].n_features_in_),
            "num_parameters": _num_parameters(steps["classifier"]),
        }
        if "pca" in steps:
            out["pca_components"] = int(steps["pca"].n_components_)
        if hasattr(steps["classifier"], "n_support_"):
            out["support_vectors"] = int(steps["classifier"].n_support_.sum())
        return out


def candidates(max_iter: int) -> dict[str, tuple[str, Callable[[], Any]]]:
    """name -> (description, factory), in the order they run."""
    return {
        "hand-rf-pixels": (
            "by hand: raw pixels + RandomForest(100 trees)",
            HandRandomForest,
        ),
        "hand-hog-linearsvc": (
            "by hand: skimage hog loop + LinearSVC"
            + ("" if max_iter == 1000 else f" (max_iter={max_iter})"),
            lambda: HandHogLinearSVC(max_iter),
        ),
        "pixelab-default": (
            "pixelab default: hog+pixels -> PCA 96 -> RBF SVM",
            Pixelab,
        ),
        "pixelab-hog-svm": (
            "pixelab: hog -> PCA 96 -> RBF SVM",
            lambda: Pixelab(features="hog"),
        ),
        "pixelab-pixels-rf": (
            "pixelab: pixels -> RandomForest(200 trees)",
            lambda: Pixelab(features="pixels", classifier="rf", pca=None),
        ),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=".bench/classic.json", help="where to write the JSON")
    parser.add_argument("--only", nargs="+", help="run only these pipelines (names above)")
    parser.add_argument("--limit", type=int, default=0, help="train on the first N images only")
    parser.add_argument(
        "--linear-svc-max-iter",
        type=int,
        default=1000,
        help="cap LinearSVC's iterations (1000 is scikit-learn's default)",
    )
    args = parser.parse_args(argv)

    table = candidates(args.linear_svc_max_iter)
    names = args.only or list(table)
    unknown = sorted(set(names) - set(table))
    if unknown:
        parser.error(f"unknown pipeline(s) {unknown}; choose from {list(table)}")

    train, test = load_train_test("fashion-mnist")
    x_train, y_train = train.images, train.labels
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
    print(f"Fashion-MNIST: {len(x_train)} train / {len(test)} test images", flush=True)

    load_before = os.getloadavg()
    results = []
    for name in names:
        description, factory = table[name]
        print(f"{name}: {description} ...", flush=True)
        model = factory()
        start = time.perf_counter()
        model.fit(x_train, y_train)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        pred = model.predict(test.images)
        predict_s = time.perf_counter() - start
        row = {
            "name": name,
            "description": description,
            "accuracy": float((pred == test.labels).mean()),
            "fit_seconds": round(fit_s, 2),
            "predict_seconds": round(predict_s, 2),
            "total_seconds": round(fit_s + predict_s, 2),
            **model.details(),
        }
        results.append(row)
        print(
            f"  accuracy {row['accuracy']:.4f}  fit {fit_s:.1f} s  predict {predict_s:.1f} s  "
            f"total {fit_s + predict_s:.1f} s  load {os.getloadavg()[0]:.1f}",
            flush=True,
        )

    command = ".venv/bin/python benchmarks/bench_classic.py" + (
        " " + " ".join(argv if argv is not None else sys.argv[1:])
        if (argv if argv is not None else sys.argv[1:])
        else ""
    )
    result = {
        "benchmark": "classic",
        "command": command,
        "data": "fashion-mnist",
        "n_train": len(x_train),
        "n_test": len(test),
        "results": results,
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(numpy=np.__version__, **{"scikit-learn": sklearn.__version__}),
    }
    print()
    print(f"{'pipeline':<52} {'accuracy':>8} {'fit s':>8} {'predict s':>9} {'total s':>8}")
    for r in results:
        print(
            f"{r['description']:<52} {r['accuracy']:>8.4f} {r['fit_seconds']:>8.1f} "
            f"{r['predict_seconds']:>9.1f} {r['total_seconds']:>8.1f}"
        )
    write_json(args.out, result)
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
