"""Attribute scenes: one shape whose shape, colour, size and position are labelled, and a
reader that gets colour, size and position back from the pixels alone."""

from __future__ import annotations

import numpy as np
import pytest

from pixelab import PixelabError
from pixelab.data import ImageSet, load
from pixelab.data.shapes import (
    BACKGROUND_RGB,
    COLOURS,
    POSITIONS,
    attribute_values,
    make_attribute_shapes,
    read_attributes,
    render_attribute_shape,
)


def test_attribute_scenes_are_seeded_labelled_and_cover_every_value():
    a = make_attribute_shapes(400, seed=3)
    b = make_attribute_shapes(400, seed=3)
    assert np.array_equal(a.images, b.images) and a.images.shape == (400, 32, 32, 3)
    assert a.name == "shapes-attributes" and np.array_equal(a.labels, a.attributes["shape"])
    assert list(a.attributes) == ["shape", "colour", "size", "position"]
    for name, values in a.attribute_values.items():
        assert set(a.attributes[name].tolist()) == set(range(len(values))), name
    assert not np.array_equal(a.images, make_attribute_shapes(400, seed=4).images)
    part = a.subset([5, 1])  # attributes follow a subset
    assert part.attributes["colour"].tolist() == a.attributes["colour"][[5, 1]].tolist()
    assert part.attribute_values == a.attribute_values


def test_the_reader_gets_colour_size_and_position_back_from_the_pixels():
    ds = make_attribute_shapes(600, seed=1)
    read = read_attributes(ds.images)
    for name in ("colour", "size", "position"):
        assert (read[name] == ds.attributes[name]).mean() >= 0.99, name
    blank = np.broadcast_to(np.rint(BACKGROUND_RGB * 255).astype(np.uint8), (1, 32, 32, 3))
    assert all(v.tolist() == [-1] for v in read_attributes(blank).values())  # nothing there


def test_one_scene_is_drawn_where_and_how_it_was_asked():
    image = render_attribute_shape("star", "blue", "small", "top left", rng=0)
    read = read_attributes(image[None])
    assert POSITIONS[read["position"][0]] == "top left"
    assert list(COLOURS)[read["colour"][0]] == "blue" and read["size"][0] == 0
    ys, xs = np.nonzero(np.abs(image.astype(int) - image[-1, -1].astype(int)).max(2) > 60)
    assert xs.mean() < 14 and ys.mean() < 14  # in the top left quarter


def test_bad_attribute_input_is_one_clear_line():
    for args, msg in [(("star", "pink", "small", "top"), "unknown colour 'pink'"),
                      (("star", "red", "medium", "top"), "unknown size 'medium'"),
                      (("star", "red", "small", "up"), "unknown position 'up'"),
                      (("blob", "red", "small", "top"), "unknown shape 'blob'")]:  # fmt: skip
        with pytest.raises(PixelabError, match=msg):
            render_attribute_shape(*args)
    with pytest.raises(PixelabError, match="n must be an integer"):
        make_attribute_shapes(0)
    with pytest.raises(PixelabError, match="RGB images"):
        read_attributes(np.zeros((2, 32, 32, 1), np.uint8))
    images = np.zeros((2, 8, 8, 1), np.uint8)
    with pytest.raises(PixelabError, match="one index in"):
        ImageSet(images, [0, 1], ["a", "b"], attributes={"size": [0, 5]},
                 attribute_values={"size": ["small", "large"]})  # fmt: skip
    with pytest.raises(PixelabError, match="come together"):
        ImageSet(images, [0, 1], ["a", "b"], attributes={"size": [0, 1]})


def test_the_registry_loads_attribute_scenes_by_name():
    ds = load("shapes-attributes", size=16)
    assert len(ds) == 6000 and ds.shape == (16, 16, 3)
    assert ds.attribute_values == attribute_values()
