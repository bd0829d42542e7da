"""The judge: a classifier trained on the real images, whose features measure generated ones.

FID uses an ImageNet Inception network; none can be had here, and on 28-pixel clothes an
ImageNet network would judge the wrong things anyway. pixelab's judge is a CNN run trained on
the same data (its own, cached, or the user's ``--judge RUN``). Its features are the last
convolution's maps averaged over the image (one vector per image, like Inception's pool3), and
its predictions say which class a sample looks like.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from pixelab.data.tensors import to_float_tensor


@torch.inference_mode()
def judge(model: Any, images: np.ndarray, *, batch: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, D), predicted classes (N,)) of uint8 images (N, H, W, C)."""
    model.eval()
    dev = next(model.parameters()).device
    feats, preds = [], []
    for i in range(0, len(images), batch):
        x = to_float_tensor(images[i : i + batch]).to(dev)
        maps = model.forward_features(x)
        feats.append((maps.mean((2, 3)) if maps.ndim == 4 else maps.flatten(1)).float().cpu())
        preds.append(model.forward_head(maps).argmax(1).cpu())
    return torch.cat(feats).numpy(), torch.cat(preds).numpy()
