"""The numbers for generated images: they agree with torchmetrics on the same features and
behave as distances should."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pixelab import PixelabError
from pixelab.generate import (
    class_coverage,
    class_diversity,
    diversity,
    frechet_distance,
    kernel_distance,
    nearest_training,
)


class _Features(torch.nn.Module):
    """torchmetrics' feature extractor, given features already: the identity."""

    num_features = 12

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _sets(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(300, 12)), rng.normal(size=(250, 12)) * 1.4 + 0.3


@pytest.mark.filterwarnings("ignore:Metric `Kernel Inception Distance` will save")
def test_frechet_distance_and_kid_equal_torchmetrics_on_the_same_features():
    fid_cls = pytest.importorskip("torchmetrics.image.fid").FrechetInceptionDistance
    kid_cls = pytest.importorskip("torchmetrics.image.kid").KernelInceptionDistance
    real, fake = _sets()
    fid = fid_cls(feature=_Features())
    fid.update(torch.tensor(real), real=True)
    fid.update(torch.tensor(fake), real=False)
    ours = frechet_distance(real, fake)
    assert abs(ours - float(fid.compute())) <= 1e-3 * abs(ours)
    kid = kid_cls(feature=_Features(), subsets=1, subset_size=250)
    kid.update(torch.tensor(real[:250]), real=True)
    kid.update(torch.tensor(fake), real=False)
    mean, std = kernel_distance(real[:250], fake, subsets=1, subset_size=250)
    assert abs(mean - float(kid.compute()[0])) <= 1e-3 * abs(mean) and std == 0


def test_distances_behave_as_distances():
    real, fake = _sets()
    assert abs(frechet_distance(real, real)) < 1e-6
    shifted = real + 2.0  # a mean shift of 2 in 12 dimensions adds 4 * 12
    assert frechet_distance(real, shifted) == pytest.approx(48.0, rel=1e-6)
    assert frechet_distance(real, fake) > frechet_distance(real, _sets(1)[0])
    same, _ = kernel_distance(real, _sets(2)[0], subsets=20, subset_size=100)
    other, _ = kernel_distance(real, fake, subsets=20, subset_size=100)
    assert abs(same) < other
    with pytest.raises(PixelabError, match="feature sizes differ"):
        frechet_distance(real, fake[:, :5])
    with pytest.raises(PixelabError, match="at least 2 feature vectors"):
        frechet_distance(real[:1], fake)
    with pytest.raises(PixelabError, match="subset_size"):
        kernel_distance(real, fake, subset_size=1)


def test_diversity_coverage_and_nearest_images_see_a_collapse():
    real, _ = _sets()
    assert diversity(np.repeat(real[:1], 300, axis=0)) == 0  # one output only
    three = np.repeat(real[:3], 100, axis=0)  # three outputs: a third of the pairs are twins
    assert diversity(three) < 0.7 * diversity(real)
    # one image per class: varied over all classes, nothing within each
    per_class = np.repeat(real[:3], 100, axis=0)
    assert class_diversity(per_class, np.repeat([0, 1, 2], 100)) == 0
    assert class_diversity(real, np.arange(300) % 3) > 0.9 * diversity(real)
    even = class_coverage(np.arange(100) % 4, 4)
    assert even["entropy"] == 1.0 and even["missing"] == [] and even["shares"] == [0.25] * 4
    one = class_coverage(np.zeros(100, int), 4)
    assert one["entropy"] == 0.0 and one["missing"] == [1, 2, 3]
    with pytest.raises(PixelabError, match=r"must lie in 0\.\.3"):
        class_coverage(np.array([5]), 4)
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (50, 8, 8, 1), dtype=np.uint8)
    near = nearest_training(train[[7, 3]], train)  # copies of training images: distance 0
    assert near["index"].tolist() == [7, 3] and np.allclose(near["rms"], 0, atol=1e-2)
