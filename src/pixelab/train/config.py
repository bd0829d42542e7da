"""The options of a training run as frozen dataclasses, apart from the code that trains, so that
the command line can show their defaults without importing numpy or torch (``pixelab --help``
stays fast). :mod:`pixelab.train.loop` and :mod:`pixelab.train.classic` re-export them."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from pixelab._core.checks import check_choice, check_positive_int
from pixelab._core.config import Config, flag
from pixelab._core.errors import PixelabError

#: Classifier names and what they are, in the words of the lecture.
CLASSIFIERS: dict[str, str] = {
    "logreg": "logistic regression: one linear score per class",
    "linear_svm": "linear support-vector machine",
    "svm": "support-vector machine with an RBF kernel (a curved decision boundary)",
    "rf": "random forest: many decision trees voting",
    "knn": "k-nearest neighbours: the label of the most similar training images",
    "mlp": "a small fully-connected neural network",
}


OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("onecycle", "cosine", "constant")
#: The augmentations fit has always had (kept exactly as they were, so old runs resume as they
#: trained); any other value is a policy of :mod:`pixelab.augment` (basic, strong, or a string
#: such as "rotate:30,erase:0.25,mixup:0.2").
AUGMENTS = ("auto", "none", "shift", "shift+flip")


def augment_policy(augment: str) -> Any:
    """The :class:`pixelab.augment.Policy` of an ``augment`` option that is not one of
    :data:`AUGMENTS`; the error for an unknown one names the choices."""
    from pixelab.augment import parse_policy

    try:
        return parse_policy(augment)
    except PixelabError as err:
        raise PixelabError(
            f"{flag('augment')} {augment!r}: {err.message}",
            hint=f"{', '.join(AUGMENTS)}, basic, strong, or ops such as 'rotate:30,erase:0.25' "
            "('pixelab augment list' names them)",
        ) from None


@dataclasses.dataclass(frozen=True)
class TrainConfig(Config):
    """How to train: CPU-minute defaults that beat the classic pipelines on Fashion-MNIST."""

    epochs: int = 10
    #: Optimizer steps in all, when set (the last epoch is cut short there); else epochs' worth.
    steps: int | None = None
    #: Training seconds to plan for: fit times a few steps and sets ``steps`` to fill them.
    budget_s: float | None = None
    batch_size: int = 64
    optimizer: str = "adamw"
    lr: float = 2e-3
    weight_decay: float = 5e-4
    momentum: float = 0.9
    schedule: str = "onecycle"
    label_smoothing: float = 0.1
    average: float = 0.998
    augment: str = "auto"
    shift: int = 1
    patience: int | None = None
    bf16: bool | None = None  # None: chosen per machine (choose_precision)
    channels_last: bool = True
    threads: int | None = None
    device: str = "auto"
    seed: int = 0

    def check(self) -> TrainConfig:
        """Raise PixelabError for impossible values, naming the flag and the value; return self."""
        self.check_types()
        check_choice(self.optimizer, OPTIMIZERS, name=flag("optimizer"))
        check_choice(self.schedule, SCHEDULES, name=flag("schedule"))
        from pixelab.train.attacks import adversarial_eps

        if self.augment not in AUGMENTS and adversarial_eps(self.augment) is None:
            augment_policy(self.augment)  # an unknown op or strength: one clear error
        check_choice(self.device, ("auto", "cpu", "cuda"), name=flag("device"))
        check_positive_int(self.epochs, name=flag("epochs"))
        if self.steps is not None:
            check_positive_int(self.steps, name=flag("steps"))
        if self.budget_s is not None and not (self.budget_s > 0 and math.isfinite(self.budget_s)):
            raise PixelabError(
                f"{flag('budget_s')} must be a positive number of seconds, got {self.budget_s}",
                hint="e.g. 120 trains for about two minutes",
            )
        check_positive_int(self.batch_size, name=flag("batch_size"))
        check_positive_int(self.seed, name=flag("seed"), minimum=0)
        if self.patience is not None:
            check_positive_int(self.patience, name=flag("patience"))
        if self.threads is not None:
            check_positive_int(self.threads, name='"threads" (a --config option)')
        check_positive_int(self.shift, name='"shift" (a --config option)', minimum=0)
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise PixelabError(f"{flag('lr')} must be a positive number, got {self.lr}")
        if not 0.0 <= self.average < 1.0:
            raise PixelabError(
                f"{flag('average')} (the weight-average decay) must lie in [0, 1), "
                f"got {self.average}",
                hint="0 turns averaging off; 0.998 averages over about the last 500 steps",
            )
        if not 0.0 <= self.label_smoothing < 1.0:
            raise PixelabError(
                f"{flag('label_smoothing')} must lie in [0, 1), got {self.label_smoothing}",
                hint="0 turns it off; 0.1 is usual",
            )
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise PixelabError(
                f'"weight_decay" (a --config option) must be a number >= 0, got {self.weight_decay}'
            )
        if not 0.0 <= self.momentum < 1.0:
            raise PixelabError(
                f'"momentum" (a --config option) must lie in [0, 1), got {self.momentum}'
            )
        return self


@dataclasses.dataclass(frozen=True)
class ClassicConfig(Config):
    """Options of a classic run: which data, features and classifier, and how much data.

    The defaults are the best pipeline measured on Fashion-MNIST (BENCHMARKS.md).
    """

    data: str = "fashion-mnist"
    features: str = "hog+pixels"
    classifier: str = "svm"
    size: int | None = None
    gray: bool | None = None
    limit: int | None = None
    test_size: float = 0.2
    pca: int | None = 96
    seed: int = 0

    def check(self) -> ClassicConfig:
        """Raise PixelabError for impossible values, naming the flag and the value; return self.

        Only what can be told without the data: names, counts and shares.
        """
        from pixelab.features import FEATURES

        self.check_types()
        if not self.data.strip():
            raise PixelabError(f"{flag('data')} is empty", hint="give a dataset name or a folder")
        check_choice(self.features, FEATURES, name=flag("features"))
        check_choice(self.classifier, tuple(CLASSIFIERS), name=flag("classifier"))
        if self.size is not None:
            check_positive_int(self.size, name=flag("size"))
        if self.limit is not None:
            check_positive_int(self.limit, name=flag("limit"))
        if self.pca is not None:
            check_positive_int(self.pca, name=flag("pca"), minimum=0)
        check_positive_int(self.seed, name=flag("seed"), minimum=0)
        if not 0.0 < self.test_size < 1.0:
            raise PixelabError(
                f"{flag('test_size')} must lie between 0 and 1 (a share), got {self.test_size}",
                hint="0.2 holds out a fifth of the images for testing",
            )
        return self


@dataclasses.dataclass(frozen=True)
class CNNConfig(TrainConfig):
    """A whole neural-network run: which data and model, plus every training option."""

    data: str = "fashion-mnist"
    model: str = "small_cnn"
    size: int | None = None
    gray: bool | None = None
    limit: int | None = None
    test_size: float = 0.2
    val_fraction: float = 0.0
    #: Constructor options of the model (``--model-option head=gap``), checked by the registry.
    model_options: dict[str, Any] = dataclasses.field(default_factory=dict)

    def check(self) -> CNNConfig:
        """Raise PixelabError for impossible values, naming the flag and the value; return self."""
        from pixelab.models import list_models

        super().check()
        if not self.data.strip():
            raise PixelabError(f"{flag('data')} is empty", hint="give a dataset name or a folder")
        check_choice(self.model, tuple(list_models()), name=flag("model"))
        if not isinstance(self.model_options, dict):
            raise PixelabError(f"model_options must be an object, got {self.model_options!r}")
        from pixelab.models.registry import model_options

        reserved = {"num_classes", "in_channels", "image_size", "seed"}
        valid = [o for o in model_options(self.model) if o not in reserved]
        unknown = sorted(set(self.model_options) - set(valid))
        if unknown:
            raise PixelabError(
                f"--model-option {', '.join(unknown)}: not an option of {self.model}",
                hint=f"its options: {', '.join(valid) or 'none'}",
            )
        if self.size is not None:
            check_positive_int(self.size, name=flag("size"))
        if self.limit is not None:
            check_positive_int(self.limit, name=flag("limit"))
        if not 0.0 < self.test_size < 1.0:
            raise PixelabError(
                f"{flag('test_size')} must lie between 0 and 1 (a share), got {self.test_size}",
                hint="0.2 holds out a fifth of the images for testing",
            )
        if not 0.0 <= self.val_fraction < 1.0:
            raise PixelabError(
                f"{flag('val_fraction')} must lie in [0, 1) (a share), got {self.val_fraction}",
                hint="0 trains without validation; 0.1 holds out a tenth",
            )
        return self

    def train_config(self) -> TrainConfig:
        """Just the training options."""
        names = {f.name for f in dataclasses.fields(TrainConfig)}
        return TrainConfig(**{k: v for k, v in self.to_dict().items() if k in names})
