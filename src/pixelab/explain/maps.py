"""Feature maps layer by layer: where in the image each learned filter responds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from pixelab._core.checks import check_image
from pixelab._core.errors import PixelabError
from pixelab.explain.hooks import capture


def feature_maps(
    model: Any, image: np.ndarray, *, layers: Iterable[str] | None = None
) -> dict[str, np.ndarray]:
    """The outputs of ``layers`` (default: all feature layers) for one uint8 image (H, W, C).

    The image must already be what the model takes (see the run's ``ImagePreprocess``); each
    map comes back as float32 (channels, h, w). A layer whose output is not a map (an MLP's
    dense layers) is an error that says so.
    """
    import torch

    x = check_image(image)
    param = next(model.parameters())
    t = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))).float().div(255)[None]
    out = capture(model, t.to(param.device), layers)
    maps = {}
    for name, y in out.items():
        if y.ndim != 4:
            raise PixelabError(
                f"layer {name!r} of {model.model_name or 'this model'} outputs a vector "
                f"{tuple(y.shape[1:])}, not a feature map",
                hint="feature maps need a convolutional model (small_cnn, lenet, resnet)",
            )
        maps[name] = y[0].float().cpu().numpy()
    return maps
