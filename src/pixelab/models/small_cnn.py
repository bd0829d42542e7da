"""SmallCNN: a small, fast CNN for 28-64 px images on a CPU.

Each block is conv 3x3 -> batch norm -> ReLU (``convs_per_block`` times); between blocks a
2x2 max-pool halves the size. The head averages each of the last maps over all positions
(global average pooling), so the same weights work for any image size, then applies dropout
and one linear layer.

With the default ``widths=(32, 64, 128)`` a 28x28 image goes 28 -> 14 -> 7: the last feature map
is 128 x 7 x 7.

>>> import torch
>>> model = SmallCNN(num_classes=10)
>>> model.forward_features(torch.rand(2, 1, 28, 28)).shape
torch.Size([2, 128, 7, 7])
>>> model(torch.rand(2, 1, 40, 40)).shape  # global pooling: any size works
torch.Size([2, 10])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from pixelab._core.checks import check_positive_int
from pixelab.models.base import PixelabModel, check_dropout, check_sizes
from pixelab.models.registry import register_model

__all__ = ["SmallCNN"]


def conv_bn_relu(in_channels: int, out_channels: int) -> list[nn.Module]:
    """3x3 convolution (same size) -> batch norm -> ReLU; the conv needs no bias before BN."""
    return [
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]


@register_model("small_cnn", "small fast CNN: conv-BN-ReLU blocks, max-pool, global pool, linear")
class SmallCNN(PixelabModel):
    """``len(widths)`` conv blocks named ``block1``, ``block2``, ...; global pool; linear head.

    ``widths`` sets the channels of each block (and the depth), ``convs_per_block`` the number of
    conv-BN-ReLU layers in each, ``dropout`` the dropout before the classifier.
    """

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int = 1,
        image_size: int = 28,
        widths: Sequence[int] = (32, 64, 128),
        convs_per_block: int = 1,
        dropout: float = 0.2,
    ) -> None:
        super().__init__(num_classes=num_classes, in_channels=in_channels, image_size=image_size)
        self.widths = check_sizes(widths, name="widths")
        self.convs_per_block = check_positive_int(convs_per_block, name="convs_per_block")
        self.dropout = check_dropout(dropout)
        self._check_image_size()

        self.blocks = nn.ModuleDict()
        channels = in_channels
        for i, width in enumerate(self.widths, start=1):
            layers: list[nn.Module] = [nn.MaxPool2d(2)] if i > 1 else []  # halve between blocks
            for _ in range(self.convs_per_block):
                layers += conv_bn_relu(channels, width)
                channels = width
            self.blocks[f"block{i}"] = nn.Sequential(*layers)

        self.pool = nn.AdaptiveAvgPool2d(1)  # (B, C, h, w) -> (B, C, 1, 1)
        self.drop = nn.Dropout(self.dropout)
        self.head = nn.Linear(channels, num_classes)

    @property
    def min_input_size(self) -> int:
        return 2 ** (len(self.widths) - 1)  # every max-pool halves the size

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.normalize(self.check_input(x))
        for block in self.blocks.values():
            x = block(x)
        return x

    def forward_head(self, features: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        x = self.pool(features).flatten(1)
        return x if pre_logits else self.head(self.drop(x))

    def feature_layers(self) -> dict[str, nn.Module]:
        return dict(self.blocks.items())
