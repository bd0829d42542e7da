from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pixelab import PixelabError
from pixelab.data import check_folder, load_folder, read_image


def test_load_folder_smoke_shape_and_labels(make_folder):
    ds = load_folder(make_folder(classes=3, per_class=4))
    assert ds.images.shape == (12, 24, 24, 3) and ds.images.dtype == np.uint8
    assert ds.classes == ["class0", "class1", "class2"]
    assert ds.class_counts() == {"class0": 4, "class1": 4, "class2": 4}
    assert ds.skipped == []


def test_mixed_sizes_are_resized_with_a_note(make_folder):
    ds = load_folder(make_folder(size=(20, 30, 40)))
    assert ds.shape == (64, 64, 3)
    assert any("different sizes" in n for n in ds.notes)
    ds = load_folder(make_folder(size=(20, 30, 40)), size=16)
    assert ds.shape == (16, 16, 3)


def test_gray_folder_stays_gray_and_gray_flag(tmp_path):
    for k in range(2):
        (tmp_path / f"c{k}").mkdir()
        for i in range(3):
            Image.fromarray(np.full((16, 16), 40 * (k + i), np.uint8)).save(
                tmp_path / f"c{k}/{i}.png"
            )
    assert load_folder(tmp_path).channels == 1
    assert load_folder(tmp_path, gray=False).channels == 3


def test_exif_orientation_is_honoured(tmp_path):
    img = Image.fromarray(np.zeros((10, 30, 3), np.uint8))  # 30 wide, 10 high
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    img.save(tmp_path / "r.jpg", exif=exif)
    assert read_image(tmp_path / "r.jpg").shape == (30, 10, 3)


@pytest.mark.parametrize(
    ("writer", "reason"),
    [
        (lambda p: p.write_bytes(b""), "empty file"),
        (lambda p: p.write_text("hello, I am text"), "not an image"),
        (lambda p: p.write_bytes(_png_bytes()[:60]), "truncated"),
        (lambda p: Image.new("RGB", (1, 1)).save(p), "too small"),
    ],
    ids=["zero-byte", "text-as-png", "truncated", "1x1"],
)
def test_bad_files_are_named_with_reason(tmp_path, writer, reason):
    path = tmp_path / "bad.png"
    writer(path)
    with pytest.raises(PixelabError, match=reason):
        read_image(path)


def _png_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), np.uint8)).save(
        buf, "PNG"
    )
    return buf.getvalue()


def test_huge_image_is_refused_before_decoding(tmp_path):
    path = tmp_path / "huge.png"
    Image.new("1", (17000, 16000)).save(path)  # 272 M pixels, a tiny file
    with pytest.raises(PixelabError, match="too large"):
        read_image(path)


@pytest.mark.parametrize(
    ("name", "shape", "check"),
    [
        ("cmyk.jpg", (16, 16, 3), lambda a: a[0, 0, 0] == 255 and a[0, 0, 1] < 5),
        ("deep.png", (16, 16, 1), lambda a: a.max() == 255),
        ("palette.png", (16, 16, 3), lambda a: (a[0, 0] == 255).all()),
    ],
    ids=["cmyk", "16-bit", "palette-alpha"],
)
def test_unusual_modes_are_normalised(tmp_path, name, shape, check):
    images = {
        "cmyk.jpg": lambda: Image.new("CMYK", (16, 16), (0, 255, 255, 0)),  # pure red in ink
        "deep.png": lambda: Image.fromarray(np.full((16, 16), 65535, np.uint16)),
        "palette.png": _palette_with_alpha,
    }
    images[name]().save(tmp_path / name)
    arr = read_image(tmp_path / name)
    assert arr.shape == shape and arr.dtype == np.uint8
    assert check(arr)


def _palette_with_alpha() -> Image.Image:
    img = Image.new("P", (16, 16), 0)
    img.putpalette([0, 0, 0, 200, 10, 10] + [0] * 762)
    img.info["transparency"] = 0  # index 0 (black) is fully transparent -> white
    return img


def test_unreadable_files_are_skipped_and_counted(make_folder):
    root = make_folder()
    (root / "class0" / "broken.png").write_bytes(b"")
    (root / "class1" / "notes.txt").write_text("ignored")
    ds = load_folder(root)
    assert len(ds) == 12
    assert [p.split("/")[-1] for p, _ in ds.skipped] == ["broken.png"]
    assert any("skipped 1" in n for n in ds.notes)


def test_check_folder_lists_every_problem(make_folder):
    root = make_folder()
    (root / "class0" / "broken.png").write_bytes(b"")
    (root / "class1" / "fake.jpg").write_text("text")
    (root / "class2").mkdir()
    result = check_folder(root)
    assert not result.ok
    reasons = {p.path.split("/")[-1]: p.reason for p in result.problems}
    assert "empty file" in reasons["broken.png"]
    assert "not an image" in reasons["fake.jpg"]
    assert "no readable images" in reasons["class2"]
    assert result.class_files == {"class0": 6, "class1": 6, "class2": 0}


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda r: None, "no such folder"),
        (lambda r: r.mkdir(), "no class subfolders"),
        (lambda r: (r / "a").mkdir(parents=True), "no image files"),
    ],
    ids=["missing", "empty", "no-images"],
)
def test_folder_level_errors(tmp_path, setup, message):
    root = tmp_path / "root"
    setup(root)
    with pytest.raises(PixelabError, match=message):
        load_folder(root)


def test_single_class_and_empty_class_are_refused(make_folder, tmp_path):
    with pytest.raises(PixelabError, match="single class"):
        load_folder(make_folder(classes=1))
    root = make_folder(classes=2)
    (root / "zz_empty").mkdir()
    with pytest.raises(PixelabError, match="zz_empty"):
        load_folder(root)


def test_a_file_instead_of_a_folder(tmp_path):
    f = tmp_path / "x.png"
    f.write_text("x")
    with pytest.raises(PixelabError, match="not a folder"):
        load_folder(f)
