"""Network dissection (Bau et al. 2017), small and local: which units detect which concept.

Each unit's feature map is upsampled to the image, thresholded at its top quantile over the
whole dataset, and compared with every concept's ground-truth masks by intersection over union,
summed over the dataset. A unit whose IoU with a concept reaches 0.2 counts as a detector of it.

NetDissect keeps each unit's 0.5 % strongest responses, sized for its Broden concepts; here a
shape covers about 3 % of the pixels, and a unit "on" for 0.5 % of them could never reach an IoU
of 0.2 with it, so the default keeps the top 3 %.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pixelab._core.checks import check_images
from pixelab._core.errors import PixelabError
from pixelab.explain.hooks import check_layers

#: The share of a unit's responses (over the dataset) that count as "on": its top 3 %.
TOP_QUANTILE = 0.97
#: Best IoU from which a unit counts as a detector of its concept.
DETECTOR_IOU = 0.2


def dissect(
    model: Any,
    images: np.ndarray,
    concepts: dict[str, np.ndarray],
    *,
    layers: list[str] | None = None,
    quantile: float = TOP_QUANTILE,
    batch_size: int = 128,
) -> dict[str, Any]:
    """For every unit of ``layers`` (default: all): IoU with each concept, its best concept,
    and per layer how many units detect each concept."""
    import torch
    import torch.nn.functional as F

    from pixelab.explain.hooks import capture

    x_all = check_images(images)
    names = check_layers(model, layers)
    n, h, w = len(x_all), x_all.shape[1], x_all.shape[2]
    keys = list(concepts)
    masks = torch.from_numpy(np.stack([np.asarray(concepts[k], bool) for k in keys], 1))
    if masks.shape != (n, len(keys), h, w):
        raise PixelabError(f"concept masks must be shaped ({n}, {h}, {w}) each")
    dev = next(model.parameters()).device

    def maps(layer: str, sl: slice) -> Any:
        x = torch.from_numpy(x_all[sl].transpose(0, 3, 1, 2).copy()).float().div(255).to(dev)
        out = capture(model, x, [layer])[layer].float().cpu()
        if out.ndim != 4:
            raise PixelabError(f"layer {layer!r} outputs vectors, not maps: nothing to dissect")
        return F.interpolate(out, size=(h, w), mode="bilinear", align_corners=False)

    batches = [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
    result: dict[str, Any] = {"concepts": keys, "threshold_iou": DETECTOR_IOU,
                              "top_quantile": quantile, "layers": {}}  # fmt: skip
    for layer in names:
        # pass 1: each unit's threshold (its top quantile over every pixel of every image)
        values = torch.cat([maps(layer, sl).transpose(0, 1).flatten(1) for sl in batches], 1)
        k = max(1, round(quantile * values.shape[1]))
        thresholds = values.kthvalue(k, dim=1).values  # (units,)
        del values
        units = len(thresholds)
        inter = torch.zeros(units, len(keys))
        union = torch.zeros(units, len(keys))
        for sl in batches:  # pass 2: intersections and unions, summed over the dataset
            on = maps(layer, sl) > thresholds[None, :, None, None]  # (b, units, h, w)
            m = masks[sl]
            on_f, m_f = on.flatten(2).float(), m.flatten(2).float()
            both = torch.einsum("bup,bcp->uc", on_f, m_f)
            inter += both
            union += on_f.sum((0, 2))[:, None] + m_f.sum((0, 2))[None, :] - both
        iou = (inter / union.clamp(min=1)).numpy()
        best = iou.argmax(1)
        rows = [{"unit": u, "concept": keys[int(best[u])], "iou": round(float(iou[u, best[u]]), 4)}
                for u in range(units)]  # fmt: skip
        result["layers"][layer] = {
            "units": units,
            # a unit may detect several concepts (a heart unit also covers "object")
            "detectors": {c: int((iou[:, j] >= DETECTOR_IOU).sum()) for j, c in enumerate(keys)},
            "best_iou": {c: round(float(iou[:, j].max()), 4) for j, c in enumerate(keys)},
            "best_unit": {c: int(iou[:, j].argmax()) for j, c in enumerate(keys)},
            "top": sorted(rows, key=lambda r: -r["iou"])[:10],
            "iou": iou,
        }
    return result
