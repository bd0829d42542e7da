"""Shared fixtures: small image folders (good and bad) made on the fly."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _share_the_cores() -> None:
    """Under ``pytest -n N`` each worker gets its share of the cores: N workers each running
    torch and BLAS on every core oversubscribe the machine and all run slower."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        threads = max(1, (os.cpu_count() or 1) // workers)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ.setdefault(var, str(threads))
        import torch

        torch.set_num_threads(threads)


_share_the_cores()


def _blob(rng: np.random.Generator, cls: int, size: int) -> np.ndarray:
    """A colour image whose class shows in its layout: a bright square in a class-set corner."""
    img = rng.integers(0, 60, size=(size, size, 3), dtype=np.uint8)
    h = size // 2
    r, c = divmod(cls, 2)
    img[r * h : (r + 1) * h, c * h : (c + 1) * h] += 150
    return img


@pytest.fixture
def make_folder(tmp_path: Path):
    """Return ``make(classes=2, per_class=6, size=24, ext=".png")`` -> root of a class folder."""

    def make(
        classes: int = 2, per_class: int = 6, size: int | tuple[int, int] = 24, ext: str = ".png"
    ) -> Path:
        root = tmp_path / f"imgs{classes}_{per_class}"
        rng = np.random.default_rng(0)
        for k in range(classes):
            (root / f"class{k}").mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                s = size if isinstance(size, int) else size[i % len(size)]
                Image.fromarray(_blob(rng, k, s)).save(root / f"class{k}" / f"img{i}{ext}")
        return root

    return make
