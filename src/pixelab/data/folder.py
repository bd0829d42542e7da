"""Reading image files and folders of class subfolders, with every problem named."""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from pixelab._core.errors import PixelabError
from pixelab._core.progress import ProgressFn, report
from pixelab.data.imageset import ImageSet
from pixelab.data.preprocess import ImagePreprocess

#: File endings read as images (lower case).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
#: Images with more pixels than this are refused before decoding (decompression-bomb guard,
#: ~11k x 11k; 360 MB as RGB). It lets through 100-megapixel photos (11648x8736 = 101.8 M) and
#: stays below the size Pillow refuses by default (2 * Image.MAX_IMAGE_PIXELS, about 179 M).
#: ``read_image`` checks it (or the caller's ``max_pixels``) itself and lifts Pillow's own guard
#: to it while reading, so pixelab's limit is the one that decides.
MAX_PIXELS = 120_000_000
#: Images smaller than this on either side carry too little to learn from.
MIN_SIDE = 8
#: Folder images of mixed sizes are resized to this square side when no size is given.
DEFAULT_FOLDER_SIZE = 64


@dataclasses.dataclass(frozen=True)
class Problem:
    """One file that cannot be used, and why (in plain words)."""

    path: str
    reason: str


def _to_mode(img, mode: str):  # PIL.Image -> PIL.Image in "L" or "RGB"
    from PIL import Image

    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(np.round(arr * 255.0 / top), 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        scaled = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
        img = Image.fromarray(np.round(scaled * 255).astype(np.uint8), "L")
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if has_alpha:
        # composite on white: transparent areas of icons and cut-outs become background
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert(mode)


_GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def natural_mode(path: str | os.PathLike[str]) -> str:
    """Return "L" for a file that stores grey pixels and "RGB" otherwise (reads only the header)."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # read_image decides
        with Image.open(path) as img:
            return "L" if img.mode in _GREY_MODES else "RGB"


def read_image(
    path: str | os.PathLike[str],
    *,
    mode: str | None = None,
    max_pixels: int = MAX_PIXELS,
    min_side: int = MIN_SIDE,
) -> np.ndarray:
    """Read one image file into uint8 (H, W, C), honouring EXIF orientation.

    ``mode`` is "L" (grey, C=1), "RGB" (C=3) or None (grey files stay grey). 16-bit
    images are scaled to 8 bits, CMYK and palettes become RGB, transparency is put on
    white. Images over ``max_pixels`` pixels are refused from their header, before
    decoding; a larger ``max_pixels`` reads them (Pillow's own limit is lifted to match).
    Raises PixelabError naming the file and the problem for anything unreadable.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if mode not in (None, "L", "RGB"):
        raise PixelabError(f"mode must be 'L', 'RGB' or None, got {mode!r}")
    if not path.is_file():
        raise PixelabError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise PixelabError(f"{path}: empty file (0 bytes)")
    hint = "downscale it first, or raise max_pixels if you trust the file"
    # Pillow's decompression-bomb guard is a global that fires inside Image.open, before the
    # size can be looked at here: it warns above Image.MAX_IMAGE_PIXELS and refuses above twice
    # that. For this call it is raised to max_pixels where lower, so that it never refuses what
    # the caller allows; what is over max_pixels is refused below, from the header. Restored
    # afterwards (it is process-wide: concurrent calls from threads could leave it raised).
    pillow_limit = Image.MAX_IMAGE_PIXELS
    if pillow_limit is not None:  # None: the caller turned Pillow's guard off
        Image.MAX_IMAGE_PIXELS = max(pillow_limit, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked below
            img = Image.open(path)
        with img:
            w, h = img.size
            if w * h > max_pixels:
                raise PixelabError(
                    f"{path}: image too large ({w}x{h} = {w * h:,} pixels, limit {max_pixels:,})",
                    hint=hint,
                )
            if min(w, h) < min_side:
                raise PixelabError(
                    f"{path}: image too small ({w}x{h}; need at least {min_side}x{min_side})"
                )
            target = mode or ("L" if img.mode in _GREY_MODES else "RGB")
            with warnings.catch_warnings():
                # a frame or tile over the limit, found while decoding: refuse it too
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img.load()
            img = ImageOps.exif_transpose(img)
            arr = np.asarray(_to_mode(img, target), dtype=np.uint8)
    except PixelabError:
        raise
    except UnidentifiedImageError as err:
        raise PixelabError(f"{path}: not an image file (or a format PIL cannot read)") from err
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        # Pillow's guard, never below max_pixels: Image.open refuses over twice it before the
        # size reaches the check above, and decoding refuses a frame or tile over it
        raise PixelabError(
            f"{path}: image too large (over the limit of {max_pixels:,} pixels)", hint=hint
        ) from err
    except (OSError, SyntaxError, ValueError) as err:
        raise PixelabError(f"{path}: unreadable or truncated image ({err})") from err
    finally:
        Image.MAX_IMAGE_PIXELS = pillow_limit
    return arr[:, :, None] if arr.ndim == 2 else arr


def _list_class_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _list_images(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
    )


@dataclasses.dataclass
class FolderCheck:
    """What ``check_folder`` found: classes with their file counts, and every problem."""

    root: str
    class_files: dict[str, int]
    problems: list[Problem]
    other_files: list[str]
    sizes: dict[str, int]
    modes: dict[str, int]

    @property
    def ok(self) -> bool:
        """True when no file is unreadable and there are two or more non-empty classes."""
        return not self.problems and len([c for c, n in self.class_files.items() if n]) >= 2

    def to_dict(self) -> dict:
        """JSON-ready summary."""
        return {
            "root": self.root,
            "ok": self.ok,
            "class_files": self.class_files,
            "problems": [dataclasses.asdict(p) for p in self.problems],
            "other_files": self.other_files,
            "sizes": self.sizes,
            "modes": self.modes,
        }


def _check_root(root: str | os.PathLike[str], *, min_classes: int = 2) -> tuple[Path, list[Path]]:
    """The root and its class folders; with ``min_classes`` 1 a folder of loose images is
    its own single class."""
    root = Path(root)
    if not root.exists():
        raise PixelabError(f"{root}: no such folder")
    if not root.is_dir():
        raise PixelabError(
            f"{root} is a file, not a folder",
            hint="pass a folder with one subfolder per class, e.g. photos/cats/*.jpg",
        )
    class_dirs = _list_class_dirs(root)
    if not class_dirs:
        loose = _list_images(root)
        if loose and min_classes <= 1:
            return root, [root]
        raise PixelabError(
            f"{root} has no class subfolders"
            + (f" ({len(loose)} images lie directly in it)" if loose else ""),
            hint="put the images of each class in its own subfolder: root/cat/*.jpg, root/dog/*.jpg",
        )
    return root, class_dirs


def check_folder(
    root: str | os.PathLike[str], *, progress: ProgressFn | None = None
) -> FolderCheck:
    """Open every image under ``root``'s class subfolders and list all problems found."""
    from PIL import Image

    root, class_dirs = _check_root(root)
    class_files: dict[str, int] = {}
    problems: list[Problem] = []
    sizes: dict[str, int] = {}
    modes: dict[str, int] = {}
    other = sorted(
        str(p.relative_to(root))
        for d in class_dirs
        for p in d.rglob("*")
        if p.is_file() and p.suffix.lower() not in IMAGE_EXTENSIONS and not p.name.startswith(".")
    )
    files = [(d.name, f) for d in class_dirs for f in _list_images(d)]
    for d in class_dirs:
        class_files[d.name] = 0
    for i, (cls, f) in enumerate(files):
        try:
            arr = read_image(f)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # read: fine
                with Image.open(f) as img:
                    modes[img.mode] = modes.get(img.mode, 0) + 1
            key = f"{arr.shape[1]}x{arr.shape[0]}"
            sizes[key] = sizes.get(key, 0) + 1
            class_files[cls] += 1
        except PixelabError as err:
            problems.append(Problem(str(f), err.message.split(": ", 1)[-1]))
        report(progress, "checking images", i + 1, len(files))
    for cls, n in class_files.items():
        if n == 0:
            problems.append(Problem(str(root / cls), "class folder has no readable images"))
    return FolderCheck(str(root), class_files, problems, other, sizes, modes)


def list_folder(
    root: str | os.PathLike[str], *, min_classes: int = 2
) -> tuple[Path, list[str], list[tuple[int, Path]]]:
    """The root, class names and ``(label, file)`` pairs of a folder of class subfolders,
    without reading any image (for jobs that stream files batch by batch)."""
    root, class_dirs = _check_root(root, min_classes=min_classes)
    files = [(i, f) for i, d in enumerate(class_dirs) for f in _list_images(d)]
    if not files:
        raise PixelabError(
            f"{root} has no image files in its class subfolders",
            hint=f"supported endings: {' '.join(IMAGE_EXTENSIONS)}",
        )
    return root, [d.name for d in class_dirs], files


def load_folder(
    root: str | os.PathLike[str],
    *,
    size: int | None = None,
    gray: bool | None = None,
    max_pixels: int = MAX_PIXELS,
    preprocess: ImagePreprocess | None = None,
    min_classes: int = 2,
    progress: ProgressFn | None = None,
) -> ImageSet:
    """Load a folder of class subfolders (``root/<class>/*.jpg``) into an ImageSet.

    Unreadable files are skipped and listed in ``skipped``; images are centre-cropped
    to squares and resized to ``size`` (needed when sizes differ; default 64 then).
    ``gray=None`` keeps grey folders grey and makes everything else RGB. Raises
    PixelabError for a missing folder, no images, empty or fewer than ``min_classes`` classes
    (1: for jobs that need no classes, such as autoencoders; loose images are then one class).
    ``preprocess`` (a run's recorded preprocessing) replaces ``size`` and ``gray``.
    """
    root, classes, files = list_folder(root, min_classes=min_classes)
    if preprocess is not None:
        size, gray = preprocess.size, preprocess.channels == 1
    if gray is None:
        modes = set()
        for _, f in files:
            try:
                modes.add(natural_mode(f))
            except Exception:  # unreadable files are reported below
                continue
        mode = "L" if modes == {"L"} else "RGB"
    else:
        mode = "L" if gray else "RGB"
    arrays: list[np.ndarray] = []
    labels: list[int] = []
    paths: list[str] = []
    skipped: list[tuple[str, str]] = []
    for n, (label, f) in enumerate(files):
        try:
            image = read_image(f, mode=mode, max_pixels=max_pixels)
            arrays.append(image if preprocess is None else preprocess.apply(image))
            labels.append(label)
            paths.append(str(f))
        except PixelabError as err:
            skipped.append((str(f), err.message.split(": ", 1)[-1]))
        report(progress, "reading images", n + 1, len(files))
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(classes))
    empty = [c for c, k in zip(classes, counts, strict=True) if k == 0]
    if not arrays:
        raise PixelabError(
            f"none of the {len(files)} image files under {root} could be read",
            hint=f"run 'pixelab data check {root}' to see why",
        )
    if empty:
        raise PixelabError(
            f"class folder(s) with no readable images: {', '.join(empty)}",
            hint=f"add images, or remove the folder(s); 'pixelab data check {root}' lists problems",
        )
    if len(classes) < min_classes:
        raise PixelabError(
            f"{root} has a single class ({classes[0]!r}); classification needs two or more",
            hint="add a second class subfolder",
        )
    notes: list[str] = []
    shapes = {a.shape[:2] for a in arrays}
    if size is None and len(shapes) > 1:
        size = DEFAULT_FOLDER_SIZE
        notes.append(
            f"images have {len(shapes)} different sizes; all were centre-cropped and resized "
            f"to {size}x{size} (choose with size=N / --size N)"
        )
    elif size is None and arrays[0].shape[0] != arrays[0].shape[1]:
        # one size, not square (e.g. all 4:3 photos): models take squares, and predict must
        # be able to do to any image what was done here, so crop the centre square
        size = min(arrays[0].shape[:2])
        h, w = arrays[0].shape[:2]
        notes.append(
            f"images are {w}x{h}; the centre {size}x{size} square of each was used "
            "(choose another size with size=N / --size N)"
        )
    if preprocess is None and size is not None:  # what a model trained on this records
        pre = ImagePreprocess(size=size, channels=1 if mode == "L" else 3)
        arrays = [pre.apply(a) for a in arrays]
    if skipped:
        notes.append(f"skipped {len(skipped)} unreadable file(s)")
    return ImageSet(
        images=np.stack(arrays),
        labels=np.asarray(labels, dtype=np.int64),
        classes=classes,
        paths=paths,
        name=root.name,
        skipped=skipped,
        notes=notes,
    )


def iter_image_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand files and folders into a sorted list of image files."""
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(_list_images(p) if p.is_dir() else [p])
    return out
