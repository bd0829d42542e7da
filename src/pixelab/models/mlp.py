"""MLP: the "flatten, then dense layers" baseline.

Every pixel becomes one input number, so the first layer alone has
``in_channels * image_size**2 * hidden[0]`` weights, and the model knows nothing about which
pixels are neighbours: shift the image by one pixel and it sees a completely different vector.
The CNNs in this package fix both problems.

>>> import torch
>>> model = MLP(num_classes=10, hidden=(64,))
>>> model(torch.rand(2, 1, 28, 28)).shape
torch.Size([2, 10])
>>> model.num_parameters()  # 784*64 + 64 weights and biases, then 64*10 + 10
50890
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from pixelab.models.base import PixelabModel, check_dropout, check_sizes
from pixelab.models.registry import register_model

__all__ = ["MLP"]


@register_model("mlp", "flatten the pixels, then fully-connected layers (the dense baseline)")
class MLP(PixelabModel):
    """Flatten -> [Linear -> ReLU -> Dropout] per hidden layer -> Linear head.

    Inputs must be exactly ``image_size x image_size`` with ``in_channels`` channels.
    ``hidden`` gives the width of each hidden layer, named ``fc1``, ``fc2``, ...
    """

    fixed_size = True

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int = 1,
        image_size: int = 28,
        hidden: Sequence[int] = (256, 128),
        dropout: float = 0.0,
    ) -> None:
        super().__init__(num_classes=num_classes, in_channels=in_channels, image_size=image_size)
        self.hidden = check_sizes(hidden, name="hidden")
        self.dropout = check_dropout(dropout)

        width = in_channels * image_size * image_size  # one input per pixel and channel
        self.fcs = nn.ModuleDict()
        for i, out in enumerate(self.hidden, start=1):
            self.fcs[f"fc{i}"] = nn.Sequential(
                nn.Linear(width, out), nn.ReLU(inplace=True), nn.Dropout(self.dropout)
            )
            width = out
        self.head = nn.Linear(width, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.normalize(self.check_input(x))
        x = x.flatten(1)  # (B, C, H, W) -> (B, C*H*W): the spatial layout is thrown away
        for fc in self.fcs.values():
            x = fc(x)
        return x

    def forward_head(self, features: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        return features if pre_logits else self.head(features)

    def feature_layers(self) -> dict[str, nn.Module]:
        return dict(self.fcs.items())
