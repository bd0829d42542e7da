"""LeNet-5 (LeCun et al., 1998), in its modern form: ReLU and max-pooling.

conv 5x5 (6 maps) -> pool -> conv 5x5 (16 maps) -> pool -> fc 120 -> fc 84 -> classes.

The first convolution pads by 2, so a 28x28 digit gives the 5x5x16 = 400 features of the
original 32x32 network. Because the dense layers come after a flatten, the model is built for one
image size: at 64 px the flattened map is 14x14x16 = 3136 numbers and ``fc1`` grows to match.

>>> import torch
>>> model = LeNet(num_classes=10)
>>> model.forward_features(torch.rand(2, 1, 28, 28)).shape
torch.Size([2, 16, 5, 5])
>>> model.num_parameters()
61706
"""

from __future__ import annotations

import torch
from torch import nn

from pixelab.models.base import PixelabModel
from pixelab.models.registry import register_model

__all__ = ["LeNet"]


@register_model("lenet", "LeNet-5: conv5-pool-conv5-pool-fc120-fc84 (the classic digit CNN)")
class LeNet(PixelabModel):
    """LeNet-5 for ``image_size x image_size`` inputs (at least 12 px)."""

    fixed_size = True

    def __init__(self, *, num_classes: int, in_channels: int = 1, image_size: int = 28) -> None:
        super().__init__(num_classes=num_classes, in_channels=in_channels, image_size=image_size)
        self._check_image_size()
        self.conv1 = nn.Sequential(nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(inplace=True))
        self.pool1 = nn.MaxPool2d(2)  # 28 -> 14
        self.conv2 = nn.Sequential(nn.Conv2d(6, 16, 5), nn.ReLU(inplace=True))  # 14 -> 10
        self.pool2 = nn.MaxPool2d(2)  # 10 -> 5

        side = (image_size // 2 - 4) // 2  # the side of the last feature map
        self.fc1 = nn.Sequential(nn.Linear(16 * side * side, 120), nn.ReLU(inplace=True))
        self.fc2 = nn.Sequential(nn.Linear(120, 84), nn.ReLU(inplace=True))
        self.head = nn.Linear(84, num_classes)

    @property
    def min_input_size(self) -> int:
        return 12  # 12 -> pool 6 -> conv 2 -> pool 1: the smallest size that leaves a pixel

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.normalize(self.check_input(x))
        x = self.pool1(self.conv1(x))
        return self.pool2(self.conv2(x))

    def forward_head(self, features: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        x = self.fc2(self.fc1(features.flatten(1)))
        return x if pre_logits else self.head(x)

    def feature_layers(self) -> dict[str, nn.Module]:
        return {"conv1": self.conv1, "pool1": self.pool1, "conv2": self.conv2, "pool2": self.pool2}
