"""An exponential moving average of a model's weights: a calmer model, good at any moment.

While the learning rate is high the weights jump around the bottom of the loss valley; their
running average sits nearer its middle. Evaluated mid-run, the average is about a point more
accurate than the raw weights (Fashion-MNIST, see BENCHMARKS.md), so a run is worth stopping at
any epoch; at the end, when the learning rate has decayed, the two agree.

Batch-norm statistics are averaged the same way, so the average model needs no extra pass over
the data. Early on the decay is lowered (``(1 + t) / (10 + t)`` at step ``t``, as in
TensorFlow's ``ExponentialMovingAverage``) so the average does not remember the random start.

>>> import torch
>>> net = torch.nn.Linear(2, 1)
>>> avg = WeightAverage(net, decay=0.9)
>>> with torch.no_grad():
...     _ = net.weight.add_(1.0)
>>> avg.update(step=1000)  # decay 0.9: the average moves a tenth of the way
>>> bool(torch.allclose(avg.module.weight, net.weight - 0.9))
True
"""

from __future__ import annotations

import copy
from typing import Any

from pixelab._core.errors import PixelabError

__all__ = ["WeightAverage"]


class WeightAverage:
    """Keeps ``module``, a copy of ``model`` whose weights and BN statistics trail the model's.

    The model must keep its tensors (train it in place, load checkpoints with
    ``load_state_dict``): the pairs of tensors to average are found once, here.
    """

    def __init__(self, model: Any, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise PixelabError(f"the weight-average decay must lie in (0, 1), got {decay}")
        self.decay = decay
        self.module = copy.deepcopy(model)
        self.module.eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self._pairs = list(
            zip(self.module.state_dict().values(), model.state_dict().values(), strict=True)
        )

    def update(self, step: int) -> None:
        """Move the average towards the model after optimisation step ``step`` (1, 2, ...)."""
        import torch

        d = min(self.decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for avg, new in self._pairs:
                if avg.dtype.is_floating_point:
                    avg.lerp_(new, 1.0 - d)
                else:
                    avg.copy_(new)  # counters such as num_batches_tracked
