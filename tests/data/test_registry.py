from __future__ import annotations

import gzip

import numpy as np
import pytest

from pixelab import PixelabError
from pixelab.data import (
    dimensionality,
    limit_per_class,
    list_datasets,
    load,
    load_digits,
    load_train_test,
    photo,
    split,
)
from pixelab.data.fashion_mnist import load_fashion_mnist, read_idx


def test_digits_scaled_to_uint8():
    ds = load_digits()
    assert ds.images.shape == (1797, 8, 8, 1) and ds.images.dtype == np.uint8
    assert ds.images.max() == 255 and len(ds.classes) == 10


def test_load_by_name_with_size_and_gray():
    ds = load("digits", size=16, gray=False)
    assert ds.shape == (16, 16, 3)


def test_unknown_dataset_lists_the_names():
    with pytest.raises(PixelabError, match=r"unknown dataset 'nope'.*fashion-mnist"):
        load("nope")


def test_list_datasets_names():
    assert {"digits", "fashion-mnist", "shapes", "photos"} <= set(list_datasets())


def test_split_is_stratified_deterministic_and_disjoint():
    ds = load_digits()
    a_tr, a_te = split(ds, test_size=0.2, seed=1)
    _, b_te = split(ds, test_size=0.2, seed=1)
    assert a_te.paths == b_te.paths
    assert not set(a_tr.paths) & set(a_te.paths)
    assert len(a_tr) + len(a_te) == len(ds)
    for c in range(10):
        share = (a_te.labels == c).sum() / (ds.labels == c).sum()
        assert 0.15 < share < 0.25
    assert split(ds, seed=2)[1].paths != a_te.paths


def test_split_refuses_one_class_and_tiny_classes():
    ds = load_digits()
    with pytest.raises(PixelabError, match="at least two"):
        split(ds.subset(ds.labels == 3))
    tiny = ds.subset(
        np.concatenate([np.flatnonzero(ds.labels == 0), np.flatnonzero(ds.labels == 1)[:1]])
    )
    with pytest.raises(PixelabError, match="too few"):
        split(tiny)


def test_limit_per_class_is_balanced():
    small = limit_per_class(load_digits(), 50, seed=0)
    assert len(small) == 50
    assert set(small.class_counts().values()) == {5}


def test_fashion_mnist_idx_reader_and_missing_files(tmp_path, monkeypatch):
    images = np.arange(2 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(2, 28, 28)
    header = bytes([0, 0, 8, 3]) + b"".join(int(d).to_bytes(4, "big") for d in images.shape)
    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(header + images.tobytes())
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (2).to_bytes(4, "big") + bytes([3, 7]))
    ds = load_fashion_mnist("test", root=tmp_path)
    assert ds.images.shape == (2, 28, 28, 1) and ds.labels.tolist() == [3, 7]
    assert (ds.images[..., 0] == images).all()
    # missing training files: the message says how to get them
    monkeypatch.setattr("pixelab.data.fashion_mnist.candidate_dirs", lambda root=None: [tmp_path])
    with pytest.raises(PixelabError, match="apt-get install dataset-fashion-mnist") as err:
        load_fashion_mnist("train")
    # the hint offers only what exists: PIXELAB_DATA, and download=True in Python (no CLI flag)
    assert "PIXELAB_DATA" in str(err.value) and "download=True" in str(err.value)
    assert "--download" not in str(err.value)


def test_truncated_idx_file(tmp_path):
    with gzip.open(tmp_path / "x.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + bytes(3))
    with pytest.raises(PixelabError, match="truncated"):
        read_idx(tmp_path / "x.gz")


def test_load_train_test_on_a_folder_with_limit(make_folder):
    train, test = load_train_test(make_folder(classes=2, per_class=10), test_size=0.3, seed=0)
    assert (len(train), len(test)) == (14, 6)
    train, test = load_train_test(make_folder(classes=2, per_class=10), limit=4, seed=0)
    assert len(train) == 4 and set(train.class_counts().values()) == {2}


def test_dimensionality_known_answer():
    info = dimensionality(load("digits", size=8), sizes=(4,), dense_width=10)
    orig, grey, small = info["steps"]
    assert (orig["d"], grey["d"], small["d"]) == (64, 64, 16)
    assert orig["linear_params"] == 64 * 10 + 10
    assert small["dense_params"] == 16 * 10 + 10
    assert info["reference"]["d"] == 1024 * 768 * 3


def test_sample_photos_offline():
    img = photo("coffee")
    assert img.dtype == np.uint8 and img.shape == (400, 600, 3)
    with pytest.raises(PixelabError, match="unknown photo"):
        photo("nope")
    ds = load("photos")
    assert ds.shape == (128, 128, 3) and len(ds.classes) == len(ds)
