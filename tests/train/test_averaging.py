from __future__ import annotations

import pytest
import torch
from torch import nn

from pixelab import PixelabError
from pixelab.train.averaging import WeightAverage


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 36, 3))


def test_average_trails_weights_and_batch_norm_statistics():
    net = _net()
    avg = WeightAverage(net, decay=0.9)
    w0 = net[0].weight.detach().clone()
    net.train()
    net(torch.randn(16, 1, 8, 8) + 3.0)  # moves the BN running mean and counts a batch
    with torch.no_grad():
        net[0].weight.add_(1.0)
    avg.update(step=10_000)  # past the warm-up: decay 0.9
    torch.testing.assert_close(avg.module[0].weight, w0 + 0.1)
    bn, abn = net[1], avg.module[1]
    torch.testing.assert_close(abn.running_mean, 0.1 * bn.running_mean)  # started at 0
    assert int(abn.num_batches_tracked) == 1  # counters are copied, not averaged
    assert not any(p.requires_grad for p in avg.module.parameters())
    assert not avg.module.training


def test_warm_up_follows_the_weights_closely_at_first():
    net = _net()
    avg = WeightAverage(net, decay=0.999)
    with torch.no_grad():
        net[3].bias.fill_(1.0)
    avg.update(step=1)  # decay (1 + 1) / (10 + 1) = 0.18, not 0.999
    start = avg.module[3].bias.detach()
    assert torch.all(start > 0.8)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, 1.5])
def test_decay_outside_zero_one_is_refused(decay):
    with pytest.raises(PixelabError, match="decay must lie in"):
        WeightAverage(_net(), decay=decay)
