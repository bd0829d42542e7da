from __future__ import annotations

import json

import numpy as np
import pytest

from pixelab import PixelabError
from pixelab.report import HtmlReport, RunDir
from pixelab.report import figures as F


def test_rundir_writes_json_and_png(tmp_path):
    run = RunDir(tmp_path / "r")
    run.write_config({"a": 1}, kind="test")
    run.write_metrics({"accuracy": np.float32(0.5), "nan": float("nan")})
    ax = F.plot_confusion([[3, 1], [0, 4]], ["x", "y"])
    path = run.save_figure(ax.figure, "cm")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics == {"accuracy": 0.5, "nan": None}
    assert json.loads((tmp_path / "r" / "config.json").read_text())["kind"] == "test"
    assert not list((tmp_path / "r").glob(".*.tmp"))  # no temporary files left behind


def test_rundir_on_a_file_and_missing_metrics(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(PixelabError, match="not a folder"):
        RunDir.create(tmp_path / "f", kind="test")
    with pytest.raises(PixelabError, match=r"metrics\.json not found"):
        RunDir(tmp_path / "new").read_metrics()


def test_html_report_is_self_contained(tmp_path):
    run = RunDir(tmp_path)
    fig = F.image_grid(np.zeros((3, 8, 8, 1), np.uint8), titles=["a", "b", "c"], ncols=2)
    png = run.save_figure(fig, "grid")
    rep = HtmlReport("Title <x>", lede="hello")
    rep.chapter("One").text("uses `code` & <b>").figure(png, "a grid").table(
        ["k", "v"], [["a", 1.5], ["b", 2]]
    )
    html = rep.render()
    assert "data:image/png;base64," in html and 'src="figures' not in html
    assert "Title &lt;x&gt;" in html and "<code>code</code> &amp; &lt;b&gt;" in html
    assert '<td class="num">1.500</td>' in html
    rep.write(tmp_path / "report.html")
    assert (tmp_path / "report.html").read_text() == html


def test_plot_functions_return_axes_and_draw_on_given_axes():
    fig = F.new_figure()
    ax = fig.add_subplot()
    assert F.plot_bars(["a", "b"], [0.5, 0.9], ax=ax) is ax
    assert len(ax.patches) == 2
    emb = F.plot_embedding(
        np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2, ["a", "b"]
    )
    assert len(emb.collections) == 2
