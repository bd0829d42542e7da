"""A small U-Net that predicts the noise in an image, sized for a CPU.

The network sees a noisy image, the step t (how noisy it is) and, optionally, a class. It
halves the image twice on the way down and doubles it twice on the way up, and each level of
the way up also gets the matching level of the way down (the U's skip connections), so fine
detail need not squeeze through the bottom. The step and the class become one vector that every
residual block adds to its feature maps; one self-attention block at the smallest size lets
every place in the image see every other. Class index ``n_classes`` is the "no class" token:
training shows it for a share of the images, so the same network also predicts without a class,
which is what classifier-free guidance needs. A network can be conditioned on more than the
class (``attributes``: the number of values of each, e.g. colour, size, position): each gets
its own embedding and "unknown" token, and the vectors are added, so that words seen apart in
training can be combined in a prompt.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from pixelab._core.errors import PixelabError


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sines and cosines of the step at geometric frequencies (as in the Transformer): (N, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([args.sin(), args.cos()], 1)


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels), channels)


class ResBlock(nn.Module):
    """Two 3x3 convolutions with the step/class vector added between them, plus a shortcut."""

    def __init__(self, c_in: int, c_out: int, emb: int):
        super().__init__()
        self.block1 = nn.Sequential(_norm(c_in), nn.SiLU(), nn.Conv2d(c_in, c_out, 3, padding=1))
        self.emb = nn.Sequential(nn.SiLU(), nn.Linear(emb, c_out))
        self.block2 = nn.Sequential(_norm(c_out), nn.SiLU(), nn.Conv2d(c_out, c_out, 3, padding=1))
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        h = self.block1(x) + self.emb(e)[:, :, None, None]
        return self.block2(h) + self.skip(x)


class Attention(nn.Module):
    """Self-attention over the positions of a small feature map, one head per 32 channels."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = _norm(channels)
        self.attn = nn.MultiheadAttention(channels, max(1, channels // 32), batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        seq = self.norm(x).flatten(2).transpose(1, 2)
        out, _ = self.attn(seq, seq, seq, need_weights=False)
        return x + out.transpose(1, 2).reshape(n, c, h, w)


class UNet(nn.Module):
    """Noisy images (N, C, H, W) in [-1, 1], steps (N,) and classes (N,) or None -> the
    predicted noise (N, C, H, W). ``width`` channels at full size, twice that below; any side
    of 4 or more (an odd one, like a 7x7 code grid, is matched on the way up). With
    ``attributes`` the labels may be (N, 1 + len(attributes)): the class, then one index per
    attribute, its value count meaning "unknown" (a class alone leaves them all unknown);
    ``coords`` adds each pixel's place as two more input channels."""

    def __init__(self, channels: int, size: int, n_classes: int = 0, width: int = 32,
                 attributes: tuple[int, ...] = (), coords: bool = False):  # fmt: skip
        super().__init__()
        if size < 4:
            raise PixelabError(f"the U-Net takes square images (or code grids) with a side of "
                               f"4 or more, got {size}", hint="use --size 28 or 32")  # fmt: skip
        self.channels, self.size, self.n_classes, self.width = channels, size, n_classes, width
        emb = 4 * width
        self.time = nn.Sequential(nn.Linear(width, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.label = nn.Embedding(n_classes + 1, emb) if n_classes else None
        if attributes and not n_classes:
            raise PixelabError("a network conditioned on attributes needs classes too")
        self.attributes = tuple(int(k) for k in attributes)
        self.extra = nn.ModuleList(nn.Embedding(k + 1, emb) for k in self.attributes)
        c1, c2 = width, 2 * width
        # with coords the stem also sees where each pixel is (two ramps, CoordConv): a place
        # asked for in words is then easy to find
        self.coords = bool(coords)
        self.stem = nn.Conv2d(channels + 2 * self.coords, c1, 3, padding=1)
        self.down1 = ResBlock(c1, c1, emb)
        self.pool1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.down2 = ResBlock(c1, c2, emb)
        self.pool2 = nn.Conv2d(c2, c2, 3, stride=2, padding=1)
        self.mid1 = ResBlock(c2, c2, emb)
        self.attn = Attention(c2)
        self.mid2 = ResBlock(c2, c2, emb)
        self.up2 = ResBlock(c2 + c2, c2, emb)
        self.up1 = ResBlock(c2 + c1, c1, emb)
        self.out = nn.Sequential(_norm(c1), nn.SiLU(), nn.Conv2d(c1, channels, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)  # starts by predicting no noise at all
        nn.init.zeros_(self.out[-1].bias)

    def null_class(self, n: int, device: torch.device | str = "cpu") -> torch.Tensor | None:
        """``n`` "no class" labels (None for an unconditional network); with attributes, rows
        of "unknown" for the class and every attribute."""
        if self.label is None:
            return None
        if not self.attributes:
            return torch.full((n,), self.n_classes, dtype=torch.long, device=device)
        return self.unknown.to(device).expand(n, -1).clone()

    @property
    def unknown(self) -> torch.Tensor:
        """The "unknown" index of the class and of each attribute: (1 + len(attributes),)."""
        return torch.tensor([self.n_classes, *self.attributes], dtype=torch.long)

    def full_labels(self, y: torch.Tensor) -> torch.Tensor:
        """Labels as the network takes them: classes (N,) stay as they are without attributes,
        and become rows of the class and "unknown" for every attribute with them."""
        if not self.attributes or y.ndim == 2:
            return y
        rest = self.unknown[1:].to(y.device).expand(len(y), -1)
        return torch.cat([y[:, None], rest], 1)

    def _condition(self, y: torch.Tensor) -> torch.Tensor:
        y = self.full_labels(y)
        if y.ndim == 1:
            return self.label(y)
        if y.shape[1] != 1 + len(self.attributes):
            raise PixelabError(f"labels of shape {tuple(y.shape)} for a network that knows the "
                               f"class and {len(self.attributes)} attribute(s)")  # fmt: skip
        e = self.label(y[:, 0])
        for j, emb in enumerate(self.extra):
            e = e + emb(y[:, j + 1])
        return e

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None
    ) -> torch.Tensor:
        e = self.time(time_embedding(t, self.width))
        if self.label is not None:
            e = e + self._condition(self.null_class(len(x), x.device) if y is None else y)
        if self.coords:
            n, _, h, w = x.shape
            ys = torch.linspace(-1, 1, h, device=x.device).view(1, 1, h, 1).expand(n, 1, h, w)
            xs = torch.linspace(-1, 1, w, device=x.device).view(1, 1, 1, w).expand(n, 1, h, w)
            x = torch.cat([x, ys, xs], 1)
        h0 = self.stem(x)
        h1 = self.down1(h0, e)
        h2 = self.down2(self.pool1(h1), e)
        h = self.mid2(self.attn(self.mid1(self.pool2(h2), e)), e)
        up = nn.functional.interpolate
        h = self.up2(torch.cat([up(h, size=h2.shape[2:], mode="nearest"), h2], 1), e)
        h = self.up1(torch.cat([up(h, size=h1.shape[2:], mode="nearest"), h1], 1), e)
        return self.out(h)
