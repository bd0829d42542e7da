"""ResNet: a compact residual network (He et al., 2016) for 28-64 px images.

A residual block adds its input back to its output, ``relu(x + f(x))``: the block only has to
learn a correction ``f``, and gradients reach early layers through the identity path, which is
what lets deep networks train. Here: a 3x3 stem, then three stages of basic blocks; the first
block of stages 2 and 3 halves the size with stride 2 (and a 1x1 "projection" shortcut matches
the shapes). Global average pooling and a linear layer make the head.

With the defaults a 28x28 image goes 28 -> 28 -> 14 -> 7: the last feature map is 128 x 7 x 7.

>>> import torch
>>> model = ResNet(num_classes=10)
>>> model.forward_features(torch.rand(2, 1, 32, 32)).shape
torch.Size([2, 128, 8, 8])
>>> list(model.feature_layers())
['stem', 'stage1', 'stage2', 'stage3']
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from pixelab._core.errors import PixelabError
from pixelab.models.base import PixelabModel, check_dropout, check_sizes
from pixelab.models.registry import register_model

__all__ = ["BasicBlock", "ResNet"]


class BasicBlock(nn.Module):
    """``relu(shortcut(x) + bn(conv(relu(bn(conv(x))))))`` with 3x3 convolutions."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:  # shapes differ: project with a 1x1 conv
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


@register_model("resnet", "compact ResNet: 3x3 stem, 3 stages of residual blocks, global pool")
class ResNet(PixelabModel):
    """A stem and one stage per entry of ``widths`` (``stage1``, ``stage2``, ...).

    ``depths`` gives the number of basic blocks per stage (same length as ``widths``); every stage
    after the first halves the size. ``dropout`` is applied before the classifier.
    """

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int = 1,
        image_size: int = 28,
        widths: Sequence[int] = (32, 64, 128),
        depths: Sequence[int] = (1, 1, 1),
        dropout: float = 0.0,
    ) -> None:
        super().__init__(num_classes=num_classes, in_channels=in_channels, image_size=image_size)
        self.widths = check_sizes(widths, name="widths")
        self.depths = check_sizes(depths, name="depths")
        self.dropout = check_dropout(dropout)
        if len(self.depths) != len(self.widths):
            raise PixelabError(
                f"resnet needs one depth per stage: widths has {len(self.widths)} entries, "
                f"depths has {len(self.depths)}",
                hint="e.g. widths=(32, 64, 128), depths=(1, 1, 1)",
            )
        self._check_image_size()

        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, self.widths[0], 3, padding=1, bias=False),
            nn.BatchNorm2d(self.widths[0]),
            nn.ReLU(inplace=True),
        )
        self.stages = nn.ModuleDict()
        channels = self.widths[0]
        for i, (width, depth) in enumerate(zip(self.widths, self.depths, strict=True), start=1):
            blocks = []
            for j in range(depth):
                stride = 2 if i > 1 and j == 0 else 1
                blocks.append(BasicBlock(channels, width, stride))
                channels = width
            self.stages[f"stage{i}"] = nn.Sequential(*blocks)

        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(self.dropout)
        self.head = nn.Linear(channels, num_classes)

    @property
    def min_input_size(self) -> int:
        return 2 ** (len(self.widths) - 1)  # a stride-2 stage still leaves >= 1 pixel

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(self.normalize(self.check_input(x)))
        for stage in self.stages.values():
            x = stage(x)
        return x

    def forward_head(self, features: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        x = self.pool(features).flatten(1)
        return x if pre_logits else self.head(self.drop(x))

    def feature_layers(self) -> dict[str, nn.Module]:
        return {"stem": self.stem, **self.stages}
