"""Shapes: a synthetic dataset with ground truth for the lecture's "why is vision hard?" list.

Each image shows one object (circle, square, triangle, star, cross, heart, crescent) and
each of the lecture's challenges is a knob with a *severity* in ``[0, 1]``: 0 is the
canonical, clean, centred object and 1 is the hardest setting.

============  ===========================================================================
knob          what a growing severity does
============  ===========================================================================
viewpoint     in-plane rotation (up to a full turn) and a perspective tilt that squashes it
deformation   a smooth non-rigid warp of the outline (waves and a bend)
occlusion     a wall, a fence or a blob hides a growing fraction of the object (up to ~85 %)
illumination  brightness and contrast change, a lighting gradient and a cast shadow
scale         a wider spread of sizes, down to objects a few pixels across
clutter       textured, partly object-coloured background; distractors like object parts
intra_class   aspect ratio, rounding, outline vs filled, colour, star points, arm widths...
position      translation range (up to partly leaving the frame)
noise         Gaussian pixel noise
============  ===========================================================================

Every image comes with its ground-truth mask: the pixels of the *visible* object (after
occlusion). All random choices of one image are drawn before the severities are applied, so
the same generator state rendered at growing severities shows the *same* instance getting
harder -- that is what :func:`challenge_examples` draws.

>>> ds = make_shapes(n_per_class=2, size=16, seed=0)
>>> ds.images.shape, ds.masks.shape, ds.classes[:3]
((12, 16, 16, 1), (12, 16, 16), ['circle', 'square', 'triangle'])
>>> image, mask = render_shape("star", size=32)  # all severities 0: the canonical star
>>> image.shape, image.dtype, int(mask.sum()) > 100
((32, 32, 1), dtype('uint8'), True)
"""

from __future__ import annotations

import colorsys
import dataclasses
import math
from functools import lru_cache
from numbers import Real
from typing import Any

import numpy as np

from pixelab._core.config import Config
from pixelab._core.errors import PixelabError
from pixelab._core.progress import ProgressFn, report
from pixelab._core.seeding import rng_from
from pixelab.data.imageset import ImageSet

#: Every shape that can be drawn, in the order used for class indices.
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "cross", "heart", "crescent")
#: The classes of the default dataset.
DEFAULT_CLASSES: tuple[str, ...] = SHAPES[:6]
#: The lecture's challenges, each a severity knob in [0, 1].
CHALLENGES: tuple[str, ...] = (
    "viewpoint",
    "deformation",
    "occlusion",
    "illumination",
    "scale",
    "clutter",
    "intra_class",
)
#: All severity knobs: the challenges plus translation and pixel noise.
KNOBS: tuple[str, ...] = (*CHALLENGES, "position", "noise")
#: Smallest image side that still shows a recognisable shape.
MIN_SIZE = 16

_BACKGROUND = np.array([0.12, 0.13, 0.16], np.float32)  # dark slate
_OBJECT_HSV = (0.095, 0.84, 0.95)  # warm orange
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_OCCLUDER_COLOURS = np.array(
    [[0.50, 0.50, 0.50], [0.45, 0.33, 0.22], [0.30, 0.45, 0.30], [0.35, 0.40, 0.52]], np.float32
)
_BASE_RADIUS = 0.36  # object radius as a fraction of the image side at scale 1
_N_DISTRACTORS = 8


@dataclasses.dataclass(frozen=True)
class ShapesConfig(Config):
    """Everything that defines a shapes dataset; the defaults give a varied but learnable set.

    Every challenge knob is a severity in ``[0, 1]`` (0 = canonical); see the module docstring.

    >>> ShapesConfig().replace(occlusion=0.8).occlusion
    0.8
    >>> ShapesConfig(clutter=2.0)
    Traceback (most recent call last):
    ...
    pixelab._core.errors.PixelabError: clutter must be a severity in [0, 1], got 2.0 (hint: 0 = canonical (no effect), 1 = hardest)
    """

    size: int = 32
    n_per_class: int = 500
    classes: tuple[str, ...] = DEFAULT_CLASSES
    color: bool = False
    viewpoint: float = 0.35
    deformation: float = 0.2
    occlusion: float = 0.15
    illumination: float = 0.3
    scale: float = 0.3
    clutter: float = 0.25
    intra_class: float = 0.4
    position: float = 0.3
    noise: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        _check_size(self.size)
        if (
            isinstance(self.n_per_class, bool)
            or not isinstance(self.n_per_class, (int, np.integer))
            or self.n_per_class < 1
        ):
            raise PixelabError(f"n_per_class must be an integer >= 1, got {self.n_per_class!r}")
        classes = (self.classes,) if isinstance(self.classes, str) else tuple(self.classes)
        for name in classes:
            _check_shape_name(name)
        if len(classes) < 2 or len(set(classes)) != len(classes):
            raise PixelabError(
                f"classes must name at least two different shapes, got {list(classes)}",
                hint=f"choose from: {', '.join(SHAPES)}",
            )
        object.__setattr__(self, "classes", classes)
        for knob in KNOBS:
            object.__setattr__(self, knob, _check_severity(knob, getattr(self, knob)))

    @property
    def severities(self) -> dict[str, float]:
        """The severity knobs as a dict, ready for ``render_shape(**config.severities)``."""
        return {knob: getattr(self, knob) for knob in KNOBS}


def render_shape(
    name: str,
    *,
    size: int = 32,
    color: bool = False,
    rng: np.random.Generator | int | None = None,
    **severities: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one ``name`` object; return ``(image uint8 (H, W, C), mask bool (H, W))``.

    ``severities`` are any of :data:`KNOBS` (default 0). With all of them 0 the result is the
    canonical object, whatever ``rng`` is. ``C`` is 3 when ``color`` else 1; the mask marks
    the visible object pixels (occluded pixels are excluded).

    >>> a, _ = render_shape("heart", rng=1)
    >>> b, _ = render_shape("heart", rng=2)
    >>> bool((a == b).all())  # canonical: no randomness used
    True
    >>> c, mask = render_shape("heart", rng=1, occlusion=1.0)
    >>> bool(mask.sum() < 0.5 * render_shape("heart")[1].sum())
    True
    """
    _check_shape_name(name)
    _check_size(size)
    sev = _check_severities(severities)
    params = _draw(rng_from(rng), name, size)
    return _render(name, params, sev, size, bool(color))


def make_shapes(
    config: ShapesConfig | None = None,
    *,
    progress: ProgressFn | None = None,
    **overrides: Any,
) -> ImageSet:
    """Generate a shapes :class:`ImageSet` (``name="shapes"``, masks filled, labels balanced).

    ``overrides`` replace fields of ``config`` (default :class:`ShapesConfig`), e.g.
    ``make_shapes(size=64, clutter=0.8)``. The same seed gives identical arrays; images are
    shuffled so classes are interleaved; ``paths`` are ``"shapes:<index>"``.

    >>> ds = make_shapes(n_per_class=3, size=16, classes=("star", "cross"), seed=1)
    >>> ds.class_counts(), ds.paths[0]
    ({'star': 3, 'cross': 3}, 'shapes:0')
    """
    ds, _ = _generate(config, overrides, progress, concepts=False)
    return ds


def _generate(
    config: ShapesConfig | None,
    overrides: dict[str, Any],
    progress: ProgressFn | None,
    *,
    concepts: bool,
) -> tuple[ImageSet, dict[str, np.ndarray]]:
    config = ShapesConfig() if config is None else config
    if not isinstance(config, ShapesConfig):
        raise PixelabError(
            f"config must be a ShapesConfig, got {type(config).__name__}",
            hint="build one with pixelab.data.shapes.ShapesConfig(...) or pass fields as keywords",
        )
    if overrides:
        config = ShapesConfig.from_dict({**config.to_dict(), **overrides})

    rng = rng_from(config.seed)
    n_classes = len(config.classes)
    total = n_classes * config.n_per_class
    labels = rng.permutation(np.repeat(np.arange(n_classes), config.n_per_class))
    seeds = rng.integers(0, 2**63 - 1, size=total)
    channels = 3 if config.color else 1
    images = np.empty((total, config.size, config.size, channels), np.uint8)
    masks = np.empty((total, config.size, config.size), bool)
    shape = (total, config.size, config.size)
    found = {k: np.zeros(shape, bool) for k in ("occluder", "distractor")} if concepts else {}
    sev = config.severities
    step = max(1, total // 50)
    report(progress, "shapes", 0, total)
    for i in range(total):
        name = config.classes[labels[i]]
        params = _draw(np.random.default_rng(int(seeds[i])), name, config.size)
        one: dict[str, np.ndarray] | None = {} if concepts else None
        images[i], masks[i] = _render(name, params, sev, config.size, config.color, one)
        if one is not None:
            for k, v in one.items():
                found[k][i] = v
        if (i + 1) % step == 0 or i + 1 == total:
            report(progress, "shapes", i + 1, total)
    if concepts:
        for c, name in enumerate(config.classes):
            found[name] = masks & (labels == c)[:, None, None]
        found["object"] = masks.copy()
        found["background"] = ~(masks | found["occluder"] | found["distractor"])
    knobs = ", ".join(f"{k}={v:g}" for k, v in sev.items())
    ds = ImageSet(
        images=images,
        labels=labels,
        classes=list(config.classes),
        paths=[f"shapes:{i}" for i in range(total)],
        name="shapes",
        masks=masks,
        notes=[f"synthetic shapes, {config.size}x{config.size}, seed={config.seed}: {knobs}"],
    )
    return ds, found


def shape_concepts(
    config: ShapesConfig | None = None, *, progress: ProgressFn | None = None, **overrides: Any
) -> tuple[ImageSet, dict[str, np.ndarray]]:
    """A shapes dataset (exactly what :func:`make_shapes` gives) and its concept masks, each
    bool (N, H, W): every shape class (its visible pixels, where the image shows that class),
    "object", "occluder", "distractor" (clutter shaped like object parts) and "background"
    (none of these) -- the ground truth that network dissection compares units with.

    >>> ds, masks = shape_concepts(n_per_class=2, size=16, seed=0, occlusion=0.8)
    >>> sorted(masks)[:3], bool((masks["object"] == ds.masks).all())
    (['background', 'circle', 'cross'], True)
    """
    ds, found = _generate(config, overrides, progress, concepts=True)
    return ds, found


def challenge_examples(
    challenge: str,
    *,
    shape: str = "star",
    severities: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0),
    n: int = 4,
    size: int = 64,
    color: bool = True,
    seed: int = 0,
) -> np.ndarray:
    """The same ``n`` instances of ``shape`` under growing severities of one ``challenge``.

    Returns ``uint8 (len(severities), n, H, W, C)``; row ``i`` uses ``severities[i]`` for
    ``challenge`` and 0 for every other knob, and column ``j`` reuses the same random draws in
    every row, so a severity of 0 gives the canonical image in every column.

    >>> grid = challenge_examples("occlusion", n=2, size=32)
    >>> grid.shape, bool((grid[0, 0] == grid[0, 1]).all())
    ((5, 2, 32, 32, 3), True)
    """
    if challenge not in KNOBS:
        raise PixelabError(
            f"unknown challenge {challenge!r}", hint=f"choose one of: {', '.join(KNOBS)}"
        )
    _check_shape_name(shape)
    _check_size(size)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise PixelabError(f"n must be an integer >= 1, got {n!r}")
    levels = [severities] if isinstance(severities, Real) else list(severities)
    levels = [_check_severity(challenge, s) for s in levels]
    if not levels:
        raise PixelabError("severities is empty", hint="pass e.g. severities=(0, 0.5, 1)")
    seeds = rng_from(seed).integers(0, 2**63 - 1, size=n)
    zero = dict.fromkeys(KNOBS, 0.0)
    out = np.empty((len(levels), n, size, size, 3 if color else 1), np.uint8)
    for j in range(n):
        params = _draw(np.random.default_rng(int(seeds[j])), shape, size)
        for i, level in enumerate(levels):
            out[i, j] = _render(shape, params, {**zero, challenge: level}, size, bool(color))[0]
    return out


# --------------------------------------------------------------------------- input checks


def _check_shape_name(name: Any) -> str:
    if name not in SHAPES:
        raise PixelabError(f"unknown shape {name!r}", hint=f"choose one of: {', '.join(SHAPES)}")
    return name


def _check_size(size: Any) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < MIN_SIZE:
        raise PixelabError(
            f"size must be an integer >= {MIN_SIZE}, got {size!r}",
            hint="shapes need at least 16x16 pixels; downsample afterwards for tinier images",
        )
    return int(size)


def _check_severity(name: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, Real)
        or not math.isfinite(value)
        or not 0 <= value <= 1
    ):
        raise PixelabError(
            f"{name} must be a severity in [0, 1], got {value!r}",
            hint="0 = canonical (no effect), 1 = hardest",
        )
    return float(value)


def _check_severities(severities: dict[str, Any]) -> dict[str, float]:
    unknown = sorted(set(severities) - set(KNOBS))
    if unknown:
        raise PixelabError(
            f"unknown severity knob(s): {', '.join(unknown)}",
            hint=f"choose from: {', '.join(KNOBS)}",
        )
    return {k: _check_severity(k, severities.get(k, 0.0)) for k in KNOBS}


# --------------------------------------------------------------------------- random draws


def _draw(rng: np.random.Generator, name: str, size: int) -> dict[str, Any]:
    """Draw every random choice of one instance, independent of the severities.

    Everything is a standard uniform/normal; :func:`_render` scales it by the severity, so one
    draw rendered at growing severities shows the same instance getting harder.
    """
    return {
        "intra": rng.random(8),
        "deform": rng.random((4, 4)),
        "view": rng.random(3),
        "scale": rng.random(),
        "position": rng.random(2),
        "occlusion": rng.random(7),
        "light": rng.random(9),
        "texture": [rng.standard_normal((g, g, 4)).astype(np.float32) for g in (3, 6, 12)],
        "distractors": rng.random((_N_DISTRACTORS, 10)),
        "noise": rng.standard_normal((size, size, 3)).astype(np.float32),
    }


# --------------------------------------------------------------------------- outlines


def _chaikin(points: np.ndarray, q: float, iterations: int = 3) -> np.ndarray:
    """Round the corners of a closed polygon by corner cutting (``q`` in (0, 0.25])."""
    for _ in range(iterations):
        edge = np.concatenate([points[1:], points[:1]]) - points
        out = np.empty((2 * len(points), 2))
        out[0::2] = points + q * edge
        out[1::2] = points + (1 - q) * edge
        points = out
    return points


def _densify(points: np.ndarray, step: float = 0.06) -> np.ndarray:
    """Split every edge of a closed polygon into equal pieces so a smooth warp bends them."""
    edge = np.concatenate([points[1:], points[:1]]) - points
    longest = float(np.abs(edge).max()) * 1.42
    pieces = min(12, math.ceil(longest / step), math.ceil(240 / len(points)))
    if pieces <= 1:
        return points
    w = np.arange(pieces) / pieces
    return (points[:, None, :] + w[None, :, None] * edge[:, None, :]).reshape(-1, 2)


def _circle_points(n: int, radius: float = 1.0, cx: float = 0.0) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + radius * np.cos(t), radius * np.sin(t)], axis=1)


def _outline(name: str, u: np.ndarray, t: float) -> np.ndarray:
    """Closed outline of ``name`` in unit coordinates (y up), varied by ``intra_class`` = t."""
    v = t * (2 * u - 1)  # signed variations in [-t, t]
    rounding = t * u[1] * 0.25
    if name == "circle":
        pts = _circle_points(96, 0.88)
    elif name == "square":
        pts = np.array([[-0.78, -0.78], [0.78, -0.78], [0.78, 0.78], [-0.78, 0.78]])
    elif name == "triangle":
        apex = 0.4 * v[6]
        pts = np.array([[-0.95, -0.62], [0.95, -0.62], [apex, 1.0]])
    elif name == "star":
        k = int(np.clip(5 + round(2.49 * v[6]), 4, 7))
        inner = 0.42 + 0.14 * v[7]
        angles = np.pi / 2 + np.arange(2 * k) * np.pi / k
        radii = np.where(np.arange(2 * k) % 2 == 0, 1.0, inner)
        pts = np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
    elif name == "cross":
        w, a = 0.28 + 0.1 * v[6], 0.92
        c = 0.3 * v[7]  # height of the cross bar (a Latin cross when it moves up)
        pts = np.array(
            [
                [w, a],
                [-w, a],
                [-w, c + w],
                [-a, c + w],
                [-a, c - w],
                [-w, c - w],
                [-w, -a],
                [w, -a],
                [w, c - w],
                [a, c - w],
                [a, c + w],
                [w, c + w],
            ]
        )
    elif name == "heart":
        s = np.linspace(0, 2 * np.pi, 96, endpoint=False)
        k = 5 + 2.5 * v[6]  # depth of the notch between the lobes
        x = 16 * np.sin(s) ** 3
        y = 13 * np.cos(s) - k * np.cos(2 * s) - 2 * np.cos(3 * s) - np.cos(4 * s)
        pts = np.stack([x, y + 2], axis=1) / 16.5
    else:  # crescent: a disc minus an overlapping disc, horns pointing right
        big, d = 0.95, 0.45 + 0.15 * v[6]
        small = 0.8 + 0.08 * v[7]
        x0 = (big**2 - small**2 + d**2) / (2 * d)
        y0 = math.sqrt(max(big**2 - x0**2, 1e-6))
        a0, b0 = math.atan2(y0, x0), math.atan2(y0, x0 - d)
        outer = np.linspace(a0, 2 * np.pi - a0, 48)
        inner = np.linspace(2 * np.pi - b0, b0, 40)[1:-1]
        pts = np.concatenate(
            [
                np.stack([big * np.cos(outer), big * np.sin(outer)], axis=1),
                np.stack([d + small * np.cos(inner), small * np.sin(inner)], axis=1),
            ]
        )
        pts[:, 0] += 0.2
    if rounding > 1e-3 and name in ("square", "triangle", "star", "cross", "crescent"):
        pts = _chaikin(pts, rounding)
    aspect = math.exp(0.35 * v[0])
    return pts * np.array([math.sqrt(aspect), 1 / math.sqrt(aspect)])


def _deform(pts: np.ndarray, u: np.ndarray, t: float) -> np.ndarray:
    """A smooth non-rigid warp: three sine waves of displacement plus a bend."""
    pts = _densify(pts)
    waves = u[:3]  # per wave: frequency, direction, phase, displacement direction
    freq, ang = 1.6 + 2.2 * waves[:, 0], 2 * np.pi * waves[:, 1]
    k = freq[:, None] * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    disp = 2 * np.pi * waves[:, 3]
    shift = np.sin(pts @ k.T + 6.3 * waves[:, 2]) @ np.stack([np.cos(disp), np.sin(disp)], axis=1)
    bend_u, axis_u, sign_u = u[3, :3]
    axis = np.pi * axis_u
    c, s = math.cos(axis), math.sin(axis)
    along = pts @ np.array([c, s])
    bend = 0.55 * t * (0.4 + 0.6 * bend_u) * (1 if sign_u < 0.5 else -1)
    return pts + 0.16 * t * shift + (bend * along**2)[:, None] * np.array([-s, c])


def _rotate(pts: np.ndarray, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return pts @ np.array([[c, s], [-s, c]])


def _viewpoint(pts: np.ndarray, u: np.ndarray, t: float) -> np.ndarray:
    """Tilt the object's plane away from the camera (perspective), then rotate it in-plane."""
    tilt = t * (0.3 + 0.7 * u[0]) * math.radians(68)
    axis = np.pi * u[1]
    q = _rotate(pts, -axis)
    depth = q[:, 1] * math.sin(tilt)
    k = 3.0 / (3.0 + depth)  # camera 3 radii away: the near side looks bigger
    q = np.stack([q[:, 0] * k, q[:, 1] * math.cos(tilt) * k], axis=1)
    return _rotate(_rotate(q, axis), t * (2 * u[2] - 1) * np.pi)


def _object_colour(u: np.ndarray, t: float) -> np.ndarray:
    h, s, v = _OBJECT_HSV
    h = (h + 0.5 * t * (2 * u[3] - 1)) % 1.0
    s = s - 0.5 * t * u[4]
    v = v - 0.35 * t * u[5]
    rgb = np.array(colorsys.hsv_to_rgb(h, s, v), np.float32)
    luma = float(rgb @ _LUMA)
    if luma < 0.42:  # keep the object visible in grey: lift dark hues towards white
        rgb += (0.42 - luma) / (1 - luma) * (1 - rgb)
    return rgb


# --------------------------------------------------------------------------- rendering


@lru_cache(maxsize=8)
def _grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates of a ``side`` x ``side`` canvas."""
    ax = np.arange(side, dtype=np.float32) + 0.5
    return np.meshgrid(ax, ax)


def _supersample(size: int) -> int:
    return max(2, min(4, 256 // size))


def _fixed(points: np.ndarray) -> np.ndarray:
    return np.round(points * 16).astype(np.int32).reshape(-1, 1, 2)


def _render(
    name: str,
    p: dict[str, Any],
    sev: dict[str, float],
    size: int,
    color: bool,
    concepts: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Image and visible-object mask; with ``concepts``, also fills its "occluder" and
    "distractor" masks (pixels at least half covered)."""
    import cv2

    ss = _supersample(size)
    hi = size * ss

    # ---- geometry (unit coordinates, y up) -> supersampled pixels (y down)
    pts = _outline(name, p["intra"], sev["intra_class"])
    if sev["deformation"] > 0:
        pts = _deform(pts, p["deform"], sev["deformation"])
    if sev["viewpoint"] > 0:
        pts = _viewpoint(pts, p["view"], sev["viewpoint"])
    t = sev["scale"]
    lo, high = math.log(1 - 0.8 * t), math.log(1 + 0.1 * t)
    radius = _BASE_RADIUS * size * ss * math.exp(high + (lo - high) * p["scale"])
    pts = pts * np.array([radius, -radius])
    pts -= (pts.min(axis=0) + pts.max(axis=0)) / 2  # centre the bounding box
    if sev["position"] > 0:
        half = (pts.max(axis=0) - pts.min(axis=0)) / 2
        room = np.maximum(0, hi / 2 - half) + 0.12 * hi
        pts += sev["position"] * room * (2 * p["position"] - 1)
    pts += hi / 2

    # ---- object coverage
    canvas = np.zeros((hi, hi), np.uint8)
    outline = p["intra"][2] < 0.35 * sev["intra_class"]
    if outline:
        width = max(1.3 * ss, 0.17 * radius)
        cv2.polylines(canvas, [_fixed(pts)], True, 255, max(1, round(width)), cv2.LINE_8, 4)
    else:
        cv2.fillPoly(canvas, [_fixed(pts)], 255, cv2.LINE_8, 4)
    alpha = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
    alpha = alpha.astype(np.float32) / 255
    obj_colour = _object_colour(p["intra"], sev["intra_class"])

    # ---- background and clutter
    image = np.empty((size, size, 3), np.float32)
    image[...] = _BACKGROUND
    if sev["clutter"] > 0:
        image = _clutter(image, p, sev["clutter"], obj_colour, size, 2, concepts)
    image = image * (1 - alpha[..., None]) + obj_colour * alpha[..., None]

    # ---- occlusion
    visible = alpha
    if sev["occlusion"] > 0:
        # occluders are placed on a 2x grid: anti-aliased enough, 4x cheaper than the canvas
        obj = (
            canvas if ss == 2 else cv2.resize(canvas, (2 * size,) * 2, interpolation=cv2.INTER_AREA)
        )
        beta, occ_colour = _occluder(obj >= 128, p["occlusion"], sev["occlusion"], size)
        if beta is not None:
            image = image * (1 - beta[..., None]) + occ_colour * beta[..., None]
            visible = alpha * (1 - beta)
            if concepts is not None:
                concepts["occluder"] = beta >= 0.5
    mask = visible >= 0.5
    if concepts is not None:
        concepts.setdefault("occluder", np.zeros((size, size), bool))
        concepts.setdefault("distractor", np.zeros((size, size), bool))
        concepts["distractor"] &= ~mask

    # ---- illumination, noise, quantisation
    if sev["illumination"] > 0:
        image = _illuminate(image, p["light"], sev["illumination"], size, color)
    if not color:
        image = (image @ _LUMA)[..., None]
    if sev["noise"] > 0:
        image = image + 0.2 * sev["noise"] * p["noise"][..., : image.shape[2]]
    image = np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)
    return image, mask


def _clutter(
    image: np.ndarray,
    p: dict[str, Any],
    t: float,
    obj_colour: np.ndarray,
    size: int,
    ss: int,
    concepts: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Textured background plus distractors shaped like object parts, behind the object."""
    import cv2

    coarse, mid, fine = p["texture"]  # 3x3, 6x6 and 12x12 random grids, summed at 12x12
    side = fine.shape[0]
    texture = 0.15 * fine
    for weight, grid in ((0.55, coarse), (0.3, mid)):
        texture += weight * cv2.resize(grid, (side, side), interpolation=cv2.INTER_CUBIC)
    texture = cv2.resize(texture, (size, size), interpolation=cv2.INTER_CUBIC)
    image = image + 0.3 * t * (0.7 * texture[..., :1] + 0.3 * texture[..., 1:])
    # camouflage: patches of the background take on the object's colour
    blend = 0.5 * t * np.clip(texture[..., 1:2] + texture[..., :1], 0, 1)
    image = image + blend * (obj_colour - image)

    count = math.ceil(t * _N_DISTRACTORS - 1e-9)
    if count == 0:
        return image
    hi = size * ss
    paint = np.zeros((hi, hi, 4), np.uint8)  # premultiplied colour + coverage
    for d in p["distractors"][:count]:
        kind, cx, cy, ang, length, mix, hue, width, bend, _ = d
        centre = np.array([cx, cy]) * hi
        length = (0.16 + 0.22 * length) * hi
        rand_colour = colorsys.hsv_to_rgb(hue, 0.7, 0.5 + 0.45 * bend)
        w = 0.35 + 0.65 * mix  # how much it resembles the object's colour
        colour = (*(255 * (w * obj_colour + (1 - w) * np.array(rand_colour))).tolist(), 255)
        thick = max(ss, round((0.035 + 0.04 * width) * hi))
        if kind < 0.3:  # a star point / triangle tip
            local = np.array([[-0.5, -0.17], [0.5, 0.0], [-0.5, 0.17]]) * [1, 1 + width]
            poly = [_fixed(centre + _rotate(local * length, 2 * np.pi * ang))]
            filled = True
        elif kind < 0.55:  # a square corner or cross arm end
            local = np.array([[0, 0], [0.6, 0], [0.6, 0.25], [0.25, 0.25], [0.25, 0.6], [0, 0.6]])
            poly = [_fixed(centre + _rotate((local - 0.3) * length, 2 * np.pi * ang))]
            filled = True
        elif kind < 0.8:  # an arc of a circle, heart lobe or crescent
            s = np.linspace(0, (0.4 + 0.5 * bend) * np.pi, 16) + 2 * np.pi * ang
            arc = np.stack([np.cos(s), np.sin(s)], axis=1) * length * 0.6
            poly = [_fixed(centre + arc)]
            filled = False
        else:  # a wobbly stroke
            s = np.linspace(-0.5, 0.5, 12)
            local = np.stack([s, 0.25 * (2 * bend - 1) * np.sin(np.pi * (s + 0.5) * 2)], axis=1)
            poly = [_fixed(centre + _rotate(local * length, 2 * np.pi * ang))]
            filled = False
        if filled:
            cv2.fillPoly(paint, poly, colour, cv2.LINE_8, 4)
        else:
            cv2.polylines(paint, poly, False, colour, thick, cv2.LINE_8, 4)
    small = cv2.resize(paint, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    if concepts is not None:
        concepts["distractor"] = small[..., 3] >= 0.5
    return image * (1 - small[..., 3:]) + small[..., :3]


def _occluder(
    obj: np.ndarray, u: np.ndarray, t: float, size: int
) -> tuple[np.ndarray | None, np.ndarray]:
    """A wall, fence or blob that hides a fraction of the object growing with ``t``."""
    import cv2

    colour = _OCCLUDER_COLOURS[int(u[6] * len(_OCCLUDER_COLOURS)) % len(_OCCLUDER_COLOURS)]
    xx, yy = _grid(obj.shape[0])
    inside = obj.ravel()
    if not inside.any():
        return None, colour
    fraction = t * (0.55 + 0.3 * u[1])
    ang = 2 * np.pi * u[2]
    c, s = math.cos(ang), math.sin(ang)
    if u[0] < 0.4:  # a wall from one side
        proj = xx * c + yy * s
        cover = proj >= _quantile(proj.ravel()[inside], 1 - fraction)
    elif u[0] < 0.7:  # a fence of parallel bars
        period = (0.28 + 0.2 * u[3]) * obj.shape[0]
        phase = np.mod((xx * c + yy * s) / period + u[4], 1.0)
        cover = phase < _quantile(phase.ravel()[inside], fraction)
    else:  # a blob in front of the object
        idx = np.flatnonzero(inside)
        centre = idx[int(u[4] * len(idx)) % len(idx)]
        cx, cy = xx.ravel()[centre], yy.ravel()[centre]
        dx, dy = xx - cx, yy - cy
        squash = 0.55 + 0.45 * u[3]
        dist = np.hypot(dx * c + dy * s, (dy * c - dx * s) / squash)
        cover = dist <= _quantile(dist.ravel()[inside], fraction)
    beta = cv2.resize(cover.astype(np.uint8) * 255, (size, size), interpolation=cv2.INTER_AREA)
    return beta.astype(np.float32) / 255, colour


def _quantile(values: np.ndarray, q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank; cheaper than np.quantile)."""
    k = min(len(values) - 1, max(0, round(q * len(values))))
    return float(np.partition(values, k)[k])


def _illuminate(image: np.ndarray, u: np.ndarray, t: float, size: int, color: bool) -> np.ndarray:
    """Brightness, contrast, a lighting gradient, a soft cast shadow and (RGB) a colour cast."""
    xx, yy = _grid(size)
    xx, yy = (xx - size / 2) / (size / 2), (yy - size / 2) / (size / 2)
    contrast = 1 - 0.45 * t * (0.3 + 0.7 * u[0])
    image = 0.5 + (image - 0.5) * contrast
    sign = 1.0 if u[1] < 0.5 else -1.0
    gain = math.exp(1.1 * t * sign * (0.45 + 0.55 * u[2]))
    ang = 2 * np.pi * u[3]
    ramp = xx * math.cos(ang) + yy * math.sin(ang)
    field = np.maximum(0.05, 1 + 0.9 * t * (0.5 + 0.5 * u[4]) * ramp)
    ang = 2 * np.pi * u[5]
    edge = (xx * math.cos(ang) + yy * math.sin(ang) - 0.6 * (2 * u[6] - 1)) / 0.12
    shadow = 1 - 0.7 * t * (0.5 + 0.5 * u[7]) / (1 + np.exp(-np.clip(edge, -30, 30)))
    image = image * (gain * field * shadow)[..., None]
    if color:
        cast = 0.3 * t * (2 * u[8] - 1)
        image = image * np.array([1 + cast, 1.0, 1 - cast], np.float32)
    return image


# --------------------------------------------------------------------------- attribute scenes

#: The attributes of :func:`make_attribute_shapes`, in the order a model is conditioned on them.
ATTRIBUTES: tuple[str, ...] = ("shape", "colour", "size", "position")
#: Object colours (RGB in [0, 1]) of attribute scenes: six hues far apart.
COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.92, 0.16, 0.14), "orange": (1.0, 0.56, 0.08), "yellow": (0.96, 0.92, 0.18),
    "green": (0.18, 0.78, 0.26), "blue": (0.22, 0.42, 0.98), "purple": (0.7, 0.3, 0.9),
}  # fmt: skip
#: Object radius per size, as a share of the image side.
SIZES: dict[str, float] = {"small": 0.19, "large": 0.33}
#: Positions on a 3x3 grid, row by row ("top" is the top middle, "centre" the middle).
POSITIONS: tuple[str, ...] = ("top left", "top", "top right", "left", "centre", "right",
                              "bottom left", "bottom", "bottom right")  # fmt: skip
_MARGIN = 1.0  # pixels kept free between an object and the border
#: The background of every scene (RGB in [0, 1]).
BACKGROUND_RGB = _BACKGROUND


def attribute_values(classes: tuple[str, ...] = DEFAULT_CLASSES) -> dict[str, list[str]]:
    """The values each attribute of an attribute scene can take (shape first)."""
    return {"shape": list(classes), "colour": list(COLOURS), "size": list(SIZES),
            "position": list(POSITIONS)}  # fmt: skip


def _cell_centre(position: int, radius: float, size: int) -> tuple[float, float]:
    """Pixel (x, y) of a grid position's centre for an object of ``radius`` pixels: the outer
    cells sit as far out as the object fits."""
    room = max(0.0, size / 2 - radius - _MARGIN)
    row, col = divmod(position, 3)
    return size / 2 + (col - 1) * room, size / 2 + (row - 1) * room


def render_attribute_shape(
    name: str, colour: str, size_name: str, position: str, *, size: int = 32,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:  # fmt: skip
    """One ``colour`` ``name`` of ``size_name`` at ``position`` on a dark background, RGB uint8
    (size, size, 3), with a little variation from ``rng``: a tilt of up to 12 degrees, the
    outline's proportions, a pixel of shift and a tenth of brightness."""
    import cv2

    _check_shape_name(name)
    _check_size(size)
    for value, known, what in ((colour, COLOURS, "colour"), (size_name, SIZES, "size"),
                               (position, POSITIONS, "position")):  # fmt: skip
        if value not in known:
            raise PixelabError(
                f"unknown {what} {value!r}", hint=f"choose one of: {', '.join(known)}"
            )
    rng = rng_from(rng)
    u = rng.random(8)
    ss = _supersample(size)
    radius = SIZES[size_name] * size
    pts = _rotate(_outline(name, rng.random(8), 0.15), math.radians(12) * (2 * u[0] - 1))
    pts = pts * np.array([radius, -radius]) * ss
    pts -= (pts.min(axis=0) + pts.max(axis=0)) / 2
    cx, cy = _cell_centre(POSITIONS.index(position), radius, size)
    pts += (np.array([cx, cy]) + (2 * u[1:3] - 1)) * ss
    canvas = np.zeros((size * ss, size * ss), np.uint8)
    cv2.fillPoly(canvas, [_fixed(pts)], 255, cv2.LINE_8, 4)
    alpha = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    rgb = np.asarray(COLOURS[colour], np.float32) * (0.9 + 0.1 * u[3])
    image = _BACKGROUND * (1 - alpha[..., None]) + rgb * alpha[..., None]
    return np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)


def make_attribute_shapes(
    n: int = 6000, *, size: int = 32, classes: tuple[str, ...] = DEFAULT_CLASSES, seed: int = 0,
    progress: ProgressFn | None = None,
) -> ImageSet:  # fmt: skip
    """``n`` RGB scenes of one object each whose shape, colour, size and position are drawn
    independently and recorded: labels are the shapes, ``attributes`` holds all four (what a
    model conditioned on several words learns from, ``name="shapes-attributes"``).

    >>> ds = make_attribute_shapes(12, size=16, seed=0)
    >>> ds.shape, sorted(ds.attributes), ds.attribute_values["size"]
    ((16, 16, 3), ['colour', 'position', 'shape', 'size'], ['small', 'large'])
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise PixelabError(f"n must be an integer >= 1, got {n!r}")
    classes = tuple(classes)
    for name in classes:
        _check_shape_name(name)
    _check_size(size)
    values = attribute_values(classes)
    rng = rng_from(seed)
    attrs = {a: rng.integers(0, len(v), size=n) for a, v in values.items()}
    seeds = rng.integers(0, 2**63 - 1, size=n)
    images = np.empty((n, size, size, 3), np.uint8)
    step = max(1, n // 50)
    report(progress, "shapes", 0, n)
    for i in range(n):
        picked = [values[a][int(attrs[a][i])] for a in ATTRIBUTES]
        images[i] = render_attribute_shape(
            *picked, size=size, rng=np.random.default_rng(int(seeds[i]))
        )
        if (i + 1) % step == 0 or i + 1 == n:
            report(progress, "shapes", i + 1, n)
    return ImageSet(
        images=images, labels=attrs["shape"], classes=list(classes),
        paths=[f"shapes-attributes:{i}" for i in range(n)], name="shapes-attributes",
        notes=[f"synthetic shapes with attributes, {size}x{size} RGB, seed={seed}"],
        attributes=attrs, attribute_values=values,
    )  # fmt: skip


def read_attributes(images: np.ndarray) -> dict[str, np.ndarray]:
    """Colour, size and position of the object in attribute scenes, read off the pixels (not
    learned): the object is what differs from the background (the median colour of the
    image's border), its colour the nearest hue of
    :data:`COLOURS`, its size and place from its bounding box. Indices per image as in
    :func:`attribute_values`; -1 where no object is found. The shape needs a classifier."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[3] != 3:
        raise PixelabError(f"attributes are read from RGB images (N, H, W, 3), got {images.shape}")
    x = images.astype(np.float32) / 255
    size = images.shape[1]
    # the background is the median of each image's border (generated ones may tint it)
    border = np.concatenate([x[:, 0], x[:, -1], x[:, :, 0], x[:, :, -1]], axis=1)
    background = np.median(border, axis=1)[:, None, None, :]
    obj = np.abs(x - background).max(axis=3) > 0.25
    palette = np.asarray(list(COLOURS.values()), np.float32)
    unit = palette / np.linalg.norm(palette, axis=1, keepdims=True)
    out = {a: np.full(len(images), -1, np.int64) for a in ("colour", "size", "position")}
    radii = np.array([SIZES[s] * size for s in SIZES])
    for i in range(len(images)):
        ys, xs = np.nonzero(obj[i])
        if len(ys) < 4:
            continue
        mean = x[i][obj[i]].mean(axis=0)
        out["colour"][i] = int(np.argmax(unit @ (mean / max(np.linalg.norm(mean), 1e-6))))
        extent = max(xs.max() - xs.min(), ys.max() - ys.min()) + 1
        k = int(extent > 2 * np.sqrt(radii[0] * radii[1]))  # between the two sizes' diameters
        out["size"][i] = k
        cx, cy = (xs.min() + xs.max() + 1) / 2, (ys.min() + ys.max() + 1) / 2
        centres = np.array([_cell_centre(p, radii[k], size) for p in range(len(POSITIONS))])
        out["position"][i] = int(np.argmin(((centres - [cx, cy]) ** 2).sum(axis=1)))
    return out
