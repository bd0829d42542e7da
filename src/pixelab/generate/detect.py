""" "Which image is real?" as a measurement: detectors of generated images and how well they do.

Two detectors. The GAN's own discriminator, which spent training telling real from generated
(its score is above 0 for "real" with both of pixelab's losses). And a small CNN trained
afterwards on real images against fresh generated ones: the discriminator had to keep up with a
moving generator, while the CNN studies a fixed one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


@torch.no_grad()
def discriminator_scores(
    discriminator: Any, images: np.ndarray, labels: np.ndarray | None = None, *, batch: int = 500
) -> np.ndarray:
    """The discriminator's score of uint8 ``images`` (N, H, W, C) (and their classes, for a
    conditional one): above 0 means "real"."""
    from pixelab.data.tensors import to_signed, to_tensor_uint8

    discriminator.eval()
    dev = next(discriminator.parameters()).device
    x_all = to_tensor_uint8(images)
    out = []
    for i in range(0, len(images), batch):
        x = to_signed(x_all[i : i + batch].to(dev))
        y = None if labels is None else torch.as_tensor(labels[i : i + batch]).to(dev)
        out.append(discriminator(x, y).float().cpu())
    return torch.cat(out).numpy()


def detection_scores(real: np.ndarray, fake: np.ndarray, *, threshold: float) -> dict[str, Any]:
    """How well a score ("higher: more real") tells ``real`` images' scores from ``fake`` ones':
    accuracy on each side at ``threshold``, their mean (balanced accuracy: 0.5 is a coin), and
    the ROC AUC (threshold-free: the chance that a random real image scores above a random
    generated one)."""
    from sklearn.metrics import roc_auc_score

    real, fake = np.asarray(real, float), np.asarray(fake, float)
    real_ok, fake_ok = float((real > threshold).mean()), float((fake <= threshold).mean())
    truth = np.r_[np.ones(len(real)), np.zeros(len(fake))]
    auc = float(roc_auc_score(truth, np.r_[real, fake]))
    return {"accuracy": round((real_ok + fake_ok) / 2, 4), "real_called_real": round(real_ok, 4),
            "generated_called_generated": round(fake_ok, 4), "auc": round(auc, 4)}  # fmt: skip


def train_detector(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    epochs: int = 3,
    seed: int = 0,
    device: str = "cpu",
    progress: Any = None,
) -> Any:
    """A small_cnn trained to tell uint8 ``real`` images (class "real") from ``fake`` ones
    ("generated"), without augmentation (a flip or shift must not hide what gives a fake
    away)."""
    from pixelab.data import ImageSet
    from pixelab.models import create_model
    from pixelab.train import TrainConfig, fit

    data = ImageSet(np.concatenate([real, fake]), np.r_[np.zeros(len(real)), np.ones(len(fake))],
                    ["real", "generated"], name="real-vs-generated")  # fmt: skip
    model = create_model("small_cnn", num_classes=2, in_channels=real.shape[3],
                         image_size=real.shape[1], seed=seed)  # fmt: skip
    cfg = TrainConfig(epochs=epochs, augment="none", seed=seed, device=device)
    fit(model, data, config=cfg, progress=progress)
    return model.eval()


def detector_real_scores(model: Any, images: np.ndarray) -> np.ndarray:
    """The trained detector's log-odds that each image is real (above 0: "real")."""
    from pixelab.train.loop import predict_logits

    logits = predict_logits(model, images, device=str(next(model.parameters()).device))
    return logits[:, 0] - logits[:, 1]
