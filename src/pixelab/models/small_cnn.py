"""SmallCNN: a small, fast CNN for 28-64 px images on a CPU.

Each block is ``convs_per_block`` conv 3x3 -> batch norm -> ReLU layers; every block but the last
ends by halving the size with a 2x2 max-pool. The pool comes straight after the block's last
convolution, before batch norm and ReLU: max-pool commutes with the (monotonic) ReLU, so this
gives nearly the same network while batch norm and ReLU work on a quarter of the pixels -- the
cheapest ~10% of speed on a CPU.

The head flattens the last feature map (``head="flat"``: every position keeps its own weights, so
the classifier knows *where* a part was seen, which Fashion-MNIST rewards) or averages it over all
positions (``head="gap"``: fewer weights, blind to where). A flat head first averages feature maps
larger than ``grid x grid`` down to a grid of at most that size, so the same weights accept any
image size.

With the default ``widths=(32, 64, 128)`` a 28x28 image goes 28 -> 14 -> 7: the last feature map
is 128 x 7 x 7.

>>> import torch
>>> model = SmallCNN(num_classes=10)
>>> model.forward_features(torch.rand(2, 1, 28, 28)).shape
torch.Size([2, 128, 7, 7])
>>> model(torch.rand(2, 1, 40, 40)).shape  # any size works: larger maps are pooled to 7 x 7
torch.Size([2, 10])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pixelab._core.checks import check_choice, check_positive_int
from pixelab._core.errors import PixelabError
from pixelab.models.base import PixelabModel, check_dropout, check_sizes
from pixelab.models.registry import register_model

__all__ = ["SmallCNN"]


HEADS = ("flat", "gap")


@register_model("small_cnn", "small fast CNN: conv-BN-ReLU blocks, max-pool, flat linear head")
class SmallCNN(PixelabModel):
    """``len(widths)`` conv blocks named ``block1``, ``block2``, ...; a linear head.

    ``widths`` sets the channels of each block (and the depth), ``convs_per_block`` the number of
    conv-BN-ReLU layers in each (one number for all, or one per block, e.g. ``[1, 2, 2]``: a
    second convolution costs least in the small late blocks), ``head`` how the last map reaches the classifier ("flat" or
    "gap", see the module docstring), ``grid`` the flat head's map size and ``dropout`` the
    dropout before the classifier.
    """

    layout = 2  # 2: pool inside each block before BN + ReLU, flat head (1: pool between blocks)

    def __init__(
        self,
        *,
        num_classes: int,
        in_channels: int = 1,
        image_size: int = 28,
        widths: Sequence[int] = (32, 64, 128),
        convs_per_block: int | Sequence[int] = 1,
        head: str = "flat",
        grid: int = 7,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(num_classes=num_classes, in_channels=in_channels, image_size=image_size)
        self.widths = check_sizes(widths, name="widths")
        self.convs_per_block = _per_block(convs_per_block, len(self.widths))
        self.head_type = check_choice(head, HEADS, name="head")
        self.grid = check_positive_int(grid, name="grid")
        self.dropout = check_dropout(dropout)
        self._check_image_size()

        self.blocks = nn.ModuleDict()
        channels = in_channels
        n = len(self.widths)
        for i, width in enumerate(self.widths, start=1):
            layers: list[nn.Module] = []
            convs = self.convs_per_block[i - 1]
            for j in range(convs):
                layers.append(nn.Conv2d(channels, width, 3, padding=1, bias=False))
                if i < n and j == convs - 1:
                    layers.append(nn.MaxPool2d(2))  # before BN + ReLU: 4x less work for them
                layers += [nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
                channels = width
            self.blocks[f"block{i}"] = nn.Sequential(*layers)

        self._side = max(1, image_size // 2 ** (n - 1))  # the last map's side at image_size
        # The flat head's grid: the largest divisor of the map's side up to ``grid`` (7 x 7 maps
        # stay as they are, 16 x 16 ones are averaged in 4 x 4 cells), so pooling is exact.
        divisors = [d for d in range(1, min(self.grid, self._side) + 1) if self._side % d == 0]
        self._grid = divisors[-1] if self.head_type == "flat" else 1
        self.drop = nn.Dropout(self.dropout) if self.dropout > 0 else nn.Identity()
        self.head = nn.Linear(channels * self._grid**2, num_classes)

    # ``head`` is the classifier module; the constructor argument is read back from head_type.
    @property
    def config(self) -> dict[str, Any]:
        cfg = super().config
        cfg["head"] = self.head_type
        counts = set(self.convs_per_block)  # one number when all blocks have the same count
        cfg["convs_per_block"] = counts.pop() if len(counts) == 1 else list(self.convs_per_block)
        return cfg

    @property
    def min_input_size(self) -> int:
        return 2 ** (len(self.widths) - 1)  # every max-pool halves the size

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.normalize(self.check_input(x))
        for block in self.blocks.values():
            x = block(x)
        return x

    def forward_head(self, features: torch.Tensor, *, pre_logits: bool = False) -> torch.Tensor:
        g = self._grid
        # No work at the trained size; ONNX export traces at image_size, where the size is known.
        tracing = torch.jit.is_tracing()
        if (self._side != g) if tracing else (tuple(features.shape[-2:]) != (g, g)):
            features = F.adaptive_avg_pool2d(features, g)
        x = features.flatten(1)
        return x if pre_logits else self.head(self.drop(x))

    def feature_layers(self) -> dict[str, nn.Module]:
        return dict(self.blocks.items())


def _per_block(value: int | Sequence[int], blocks: int) -> tuple[int, ...]:
    """``convs_per_block`` as one positive count per block.

    >>> _per_block(2, 3), _per_block([1, 2, 2], 3)
    ((2, 2, 2), (1, 2, 2))
    """
    if isinstance(value, int):
        return (check_positive_int(value, name="convs_per_block"),) * blocks
    counts = check_sizes(value, name="convs_per_block")
    if len(counts) != blocks:
        raise PixelabError(
            f"convs_per_block has {len(counts)} entries for {blocks} blocks (widths)",
            hint="give one number for every block, or a single number for all",
        )
    return counts
