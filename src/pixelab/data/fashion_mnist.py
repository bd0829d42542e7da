"""Fashion-MNIST from its idx files: 70,000 grey 28x28 clothing images in 10 classes."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from pixelab._core.errors import PixelabError
from pixelab.data.imageset import ImageSet

CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def candidate_dirs(root: str | os.PathLike[str] | None = None) -> list[Path]:
    """Folders searched for the idx files, in order: ``root``, $PIXELAB_DATA, system, cache."""
    dirs: list[Path] = []
    if root is not None:
        dirs.append(Path(root))
    env = os.environ.get("PIXELAB_DATA")
    if env:
        dirs += [Path(env) / "fashion-mnist", Path(env)]
    dirs.append(SYSTEM_DIR)
    dirs.append(Path.home() / ".cache" / "pixelab" / "fashion-mnist")
    # torchvision's download layout, so a copy fetched with download=True is found again
    dirs.append(Path.home() / ".cache" / "pixelab" / "FashionMNIST" / "raw")
    return dirs


def _find(stem: str, dirs: list[Path]) -> Path | None:
    for d in dirs:
        for name in (stem + ".gz", stem):
            if (d / name).is_file():
                return d / name
    return None


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an idx file (optionally gzipped) into a uint8 array of the stored shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as err:
        raise PixelabError(f"cannot read {path}: {err}", hint="the file may be truncated") from err
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise PixelabError(f"{path} is not an unsigned-byte idx file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(data) - offset != expected:
        raise PixelabError(
            f"{path} holds {len(data) - offset} bytes of data, expected {expected}",
            hint="the file is truncated or corrupt; reinstall it",
        )
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def _download(dest: Path) -> None:
    """Fetch the files with torchvision (only when the caller asked for it)."""
    try:
        from torchvision.datasets import FashionMNIST
    except ImportError as err:  # pragma: no cover - torchvision is a dependency
        raise PixelabError("download needs torchvision", hint="pip install torchvision") from err
    try:
        FashionMNIST(str(dest.parent), train=True, download=True)
        FashionMNIST(str(dest.parent), train=False, download=True)
    except Exception as err:  # network errors come in many types
        raise PixelabError(f"downloading Fashion-MNIST failed: {err}") from err


def load_fashion_mnist(
    subset: str = "train",
    *,
    root: str | os.PathLike[str] | None = None,
    download: bool = False,
) -> ImageSet:
    """Load the ``"train"`` (60,000) or ``"test"`` (10,000) split of Fashion-MNIST.

    Looks in ``root``, ``$PIXELAB_DATA``, ``/usr/share/datasets/fashion-mnist`` and
    ``~/.cache/pixelab``; downloads only when ``download=True`` and nothing was found.
    """
    if subset not in _FILES:
        raise PixelabError(f"unknown Fashion-MNIST subset {subset!r}", hint="use 'train' or 'test'")
    dirs = candidate_dirs(root)
    img_stem, lab_stem = _FILES[subset]
    img_path, lab_path = _find(img_stem, dirs), _find(lab_stem, dirs)
    if (img_path is None or lab_path is None) and download:
        _download(Path.home() / ".cache" / "pixelab" / "FashionMNIST")
        img_path, lab_path = _find(img_stem, dirs), _find(lab_stem, dirs)
    if img_path is None or lab_path is None:
        missing = img_stem if img_path is None else lab_stem
        raise PixelabError(
            f"Fashion-MNIST file {missing}[.gz] not found in " + ", ".join(str(d) for d in dirs),
            hint="run 'sudo apt-get install dataset-fashion-mnist', or set PIXELAB_DATA to a "
            "folder holding the four idx .gz files; from Python, "
            "pixelab.data.load('fashion-mnist', download=True) fetches them when online",
        )
    images = read_idx(img_path)
    labels = read_idx(lab_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise PixelabError(
            f"{img_path} and {lab_path} do not match (shapes {images.shape}, {labels.shape})"
        )
    return ImageSet(
        images=images[..., None],
        labels=labels.astype(np.int64),
        classes=list(CLASSES),
        name="fashion-mnist",
        paths=[f"fashion-mnist/{subset}:{i}" for i in range(len(images))],
    )
