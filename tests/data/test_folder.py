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


def _refuse_decoding(monkeypatch) -> None:
    from PIL import ImageFile

    def load(self):
        raise AssertionError("decoded an image that should have been refused")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def test_huge_image_is_refused_before_decoding_and_read_when_allowed(tmp_path, monkeypatch):
    from pixelab.data.folder import MAX_PIXELS

    # the default lets big photos through, and pixelab's limit, not Pillow's, decides
    assert 50_000_000 < MAX_PIXELS < 2 * Image.MAX_IMAGE_PIXELS
    w = 12_000
    h = MAX_PIXELS // w + 100  # just over the limit, and over Pillow's warning threshold
    assert w * h > MAX_PIXELS and w * h > Image.MAX_IMAGE_PIXELS
    path = tmp_path / "huge.png"
    Image.new("1", (w, h)).save(path)  # 1 bit a pixel: a tiny file
    pillow_limit = Image.MAX_IMAGE_PIXELS
    with monkeypatch.context() as m:
        _refuse_decoding(m)
        with pytest.raises(PixelabError) as info:
            read_image(path)
    assert info.value.message == (
        f"{path}: image too large ({w}x{h} = {w * h:,} pixels, limit {MAX_PIXELS:,})"
    )
    assert "raise max_pixels" in info.value.hint
    assert pillow_limit == Image.MAX_IMAGE_PIXELS  # Pillow's global is left as it was
    # the hint works: a caller who trusts the file raises max_pixels and gets it
    arr = read_image(path, max_pixels=w * h)
    assert arr.shape == (h, w, 1) and arr.dtype == np.uint8 and not arr.any()
    del arr
    assert pillow_limit == Image.MAX_IMAGE_PIXELS


@pytest.mark.parametrize("max_pixels", [100, 1000])
def test_a_small_max_pixels_refuses_a_small_image(tmp_path, monkeypatch, max_pixels):
    path = tmp_path / "small.png"
    Image.new("L", (32, 32), 7).save(path)
    pillow_limit = Image.MAX_IMAGE_PIXELS
    with monkeypatch.context() as m:
        _refuse_decoding(m)
        with pytest.raises(PixelabError) as info:
            read_image(path, max_pixels=max_pixels)
    assert info.value.message == (
        f"{path}: image too large (32x32 = 1,024 pixels, limit {max_pixels:,})"
    )
    assert "raise max_pixels" in info.value.hint
    assert pillow_limit == Image.MAX_IMAGE_PIXELS
    assert read_image(path, max_pixels=1024).shape == (32, 32, 1)  # exactly at the limit


def test_pillows_global_limit_does_not_decide(tmp_path, monkeypatch):
    path = tmp_path / "img.png"
    Image.new("L", (64, 64), 9).save(path)  # 4,096 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow alone would refuse it
    assert (read_image(path) == 9).all()  # pixelab's default limit allows it
    assert (read_image(path, max_pixels=4096) == 9).all()
    assert Image.MAX_IMAGE_PIXELS == 100  # put back after each call
    with pytest.raises(PixelabError) as info:
        read_image(path, max_pixels=4095)
    assert info.value.message == f"{path}: image too large (64x64 = 4,096 pixels, limit 4,095)"
    # over twice both limits, Image.open refuses before the size is known
    with pytest.raises(PixelabError) as info:
        read_image(path, max_pixels=1000)
    assert info.value.message == f"{path}: image too large (over the limit of 1,000 pixels)"
    assert "raise max_pixels" in info.value.hint
    assert Image.MAX_IMAGE_PIXELS == 100
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # Pillow's guard turned off
    with pytest.raises(PixelabError, match=r"\(64x64 = 4,096 pixels, limit 4,095\)"):
        read_image(path, max_pixels=4095)  # pixelab's still holds
    assert (read_image(path) == 9).all()
    assert Image.MAX_IMAGE_PIXELS is None


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
