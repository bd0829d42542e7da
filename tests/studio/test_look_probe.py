"""Look under the hood and probe it, through the test client: confusion cells opened image by
image, why a prediction (saliency and feature maps), sliders, and the challenge suite as a job."""

from __future__ import annotations

import base64
import io
import json
import shutil
import threading

import numpy as np
import pytest
from PIL import Image

from tests.studio.helpers import COLOURS, colour_classes, make_client, png, wait_for


def decode(url: str) -> np.ndarray:
    """A PNG data URL as an array."""
    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


@pytest.fixture(scope="module")
def runs(tmp_path_factory, _private_cache):
    """A project of two classes with a transfer run (probe at 64 px) and a CNN run (32 px),
    both trained through the API: (client, project folder, {"transfer": run, "cnn": run})."""
    root = tmp_path_factory.mktemp("look") / "project"
    with make_client(root) as c:
        colour_classes(c)
        made = {}
        for kind, body in (("transfer", {"size": 64}), ("cnn", {"kind": "cnn", "size": 32,
                                                                "epochs": 3})):  # fmt: skip
            job = c.post("/api/jobs", json={**body, "test_size": 0.25}).json()
            state = wait_for(c, job["id"], lambda s: False)
            assert state["status"] == "done", state
            made[kind] = state["run"]
        yield c, root, made
        c.app.state.studio.jobs.wait(60)


# ---- confusion cells -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["transfer", "cnn"])
def test_a_confusion_cell_lists_its_test_images_with_their_confidence(runs, kind):
    c, _, made = runs
    run = made[kind]
    summary = c.get(f"/api/runs/{run}").json()
    assert summary["has_predictions"] and summary["size"] == (64 if kind == "transfer" else 32)
    everything = c.get(f"/api/runs/{run}/predictions").json()
    assert everything["total"] == everything["count"] == summary["n_test"] == 4
    classes = summary["classes"]
    for i, true in enumerate(classes):
        for j, predicted in enumerate(classes):
            cell = c.get(f"/api/runs/{run}/predictions",
                         params={"true": true, "predicted": predicted}).json()  # fmt: skip
            assert cell["count"] == summary["confusion"][i][j], (true, predicted)
            probs = [im["probability"] for im in cell["images"]]
            assert probs == sorted(probs) and all(0.5 <= p <= 1 for p in probs)
            for im in cell["images"]:
                assert im["in_project"] and im["class"] == true == im["true"]
                assert im["file"] == f"{true}/{im['name']}"
                thumb = c.get(f"/api/classes/{im['class']}/images/{im['name']}/thumbnail")
                assert thumb.status_code == 200


def test_a_hand_edited_list_cannot_make_the_studio_serve_other_files(runs):
    c, root, made = runs
    edited = root / "runs" / "edited"
    shutil.copytree(root / "runs" / made["transfer"], edited)
    rows = ["file,true,predicted,probability", "red/red0.png,red,red,0.9",
            "../../studio.sqlite,red,red,0.9", "red/../../studio.sqlite,red,red,0.9",
            "/etc/passwd,red,blue,0.8", "blue/gone.png,blue,blue,0.7", "a/b/c.png,blue,blue,0.7",
            "red/.hidden.png,red,red,0.6"]  # fmt: skip
    (edited / "predictions.csv").write_text("\n".join(rows) + "\n")
    try:
        listed = c.get("/api/runs/edited/predictions").json()["images"]
        shown = {im["file"]: im for im in listed}
        assert shown["red/red0.png"]["in_project"] and shown["red/red0.png"]["name"] == "red0.png"
        for bad in rows[2:]:
            im = shown[bad.split(",")[0]]
            assert not im["in_project"] and im["class"] is None and im["name"] is None, im
        (edited / "predictions.csv").write_text("file,true\nx,y\n")
        r = c.get("/api/runs/edited/predictions")
        assert r.status_code == 400 and "lacks the columns" in r.json()["error"]
        assert r.json()["error"].startswith("runs/edited/predictions.csv")
    finally:
        shutil.rmtree(edited)


def test_a_run_without_predictions_says_so(runs):
    c, root, made = runs
    old = root / "runs" / "old"
    shutil.copytree(root / "runs" / made["cnn"], old)
    (old / "predictions.csv").unlink()
    try:
        assert c.get("/api/runs/old").json()["has_predictions"] is False
        r = c.get("/api/runs/old/predictions")
        assert r.status_code == 404 and "no per-image predictions" in r.json()["error"]
        assert "train it again" in r.json()["hint"]
    finally:
        shutil.rmtree(old)
    assert c.get("/api/runs/nope/predictions").status_code == 404
    assert c.get("/api/runs/%2E%2E/predictions").status_code == 400


# ---- why this prediction -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["transfer", "cnn"])
def test_why_shows_a_saliency_map_of_the_image_size_and_feature_maps(runs, kind):
    c, _, made = runs
    run, side = made[kind], 64 if kind == "transfer" else 32
    r = c.get(f"/api/runs/{run}/explain/red/red0.png")
    assert r.status_code == 200, r.text
    why = r.json()
    assert why["method"] == "gradcam" and why["layer"] and why["predicted"] == "red"
    assert why["target"] == "red" and why["size"] == [side, side]
    assert sum(p["probability"] for p in why["predictions"]) == pytest.approx(1, abs=1e-3)
    saliency = decode(why["saliency"])
    assert saliency.shape == (side, side) and saliency.max() > saliency.min()  # not constant
    assert decode(why["input"]).shape == decode(why["overlay"]).shape == (side, side, 3)
    assert len(why["layers"]) == 3
    for layer in why["layers"]:
        assert 1 <= len(layer["maps"]) <= 6 and layer["shape"][0] >= len(layer["maps"])
        assert decode(layer["maps"][0]["image"]).shape == (*layer["shape"][1:], 3)
    # another class's reasons, and another image's, are other maps
    blue = c.get(f"/api/runs/{run}/explain/red/red0.png", params={"target": "blue"}).json()
    assert blue["target"] == "blue" and blue["predicted"] == "red"
    assert not np.array_equal(decode(blue["saliency"]), saliency)
    other = c.get(f"/api/runs/{run}/explain/blue/blue0.png").json()
    assert other["predicted"] == "blue" and not np.array_equal(decode(other["saliency"]), saliency)
    occlusion = c.get(f"/api/runs/{run}/explain/red/red0.png", params={"method": "occlusion"})
    assert occlusion.status_code == 200 and occlusion.json()["layer"] is None


def test_why_for_a_dropped_image_and_bad_requests(runs, tmp_path):
    c, root, made = runs
    run = made["cnn"]
    url = f"/api/runs/{run}/explain"
    r = c.post(url, files={"file": ("new.png", png(COLOURS["blue"], seed=5), "image/png")},
               params={"method": "gradients"})  # fmt: skip
    assert r.status_code == 200 and r.json()["method"] == "gradients", r.text
    assert decode(r.json()["saliency"]).shape == (32, 32)
    bad = c.post(url, files={"file": ("x.png", b"not an image", "image/png")})
    assert bad.status_code == 415
    two = [("file", ("a.png", png(COLOURS["red"]), "image/png"))] * 2
    assert "one image" in c.post(url, files=two).json()["error"]
    assert list((root / ".studio" / "tmp").iterdir()) == []
    assert c.get(f"{url}/red/red0.png", params={"method": "lime"}).status_code == 422
    unknown = c.get(f"{url}/red/red0.png", params={"target": "green"})
    assert unknown.status_code == 400 and "unknown class 'green'" in unknown.json()["error"]
    assert c.get(f"{url}/red/nope.png").status_code == 404
    assert c.get(f"{url}/%2E%2E/red0.png").status_code == 400  # a decoded '..': refused
    assert c.get(f"{url}/red/..%2F..%2Fstudio.sqlite").status_code == 404  # '/': no route
    assert c.get("/api/runs/nope/explain/red/red0.png").status_code == 404
    junk = root / "images" / "red" / "junk.png"
    junk.write_bytes(b"put there by hand")
    try:
        r = c.get(f"{url}/red/junk.png")
        assert r.status_code == 415 and "junk.png" in r.json()["error"]
        assert str(root) not in r.json()["error"]
    finally:
        junk.unlink()


def test_a_model_without_feature_maps_says_so(runs):
    from pixelab.apps.cnn import train_cnn
    from pixelab.train import CNNConfig

    c, root, _ = runs
    out = root / "runs" / "mlp"
    train_cnn(CNNConfig(data=str(root / "images"), model="mlp", size=16, epochs=1), out)
    try:
        r = c.get("/api/runs/mlp/explain/red/red0.png")
        assert r.status_code == 400 and "no feature maps" in r.json()["error"], r.json()
        assert "gradients" in r.json()["hint"]
        r = c.get("/api/runs/mlp/explain/red/red0.png", params={"method": "gradients"})
        assert r.status_code == 200 and r.json()["layers"] == []
    finally:
        shutil.rmtree(out)


# ---- probe: sliders ----------------------------------------------------------------------------


def _model_input(root, run, image):
    from pixelab.apps.cnn import load_run_model, run_preprocess

    _, meta = load_run_model(root / "runs" / run)
    return run_preprocess(meta).read(image)


@pytest.mark.parametrize("kind", ["transfer", "cnn"])
def test_the_sliders_change_the_image_as_robust_does(runs, kind):
    from pixelab.augment import to_uint8
    from pixelab.robust import change, corrupt

    c, root, made = runs
    run = made[kind]
    image = root / "images" / "red" / "red1.png"
    url = f"/api/runs/{run}/probe/red/red1.png"
    plain = c.post(f"/api/runs/{run}/predict",
                   files={"file": ("red1.png", image.read_bytes(), "image/png")}).json()  # fmt: skip
    for neutral in ({}, {"rotate": 0, "shift_x": 0, "scale": 1, "brightness": 1, "occlude": 0}):
        r = c.post(url, json=neutral)
        assert r.status_code == 200, r.text
        assert r.json()["predictions"] == plain["predictions"]  # turning by 0: the plain answer
    x = _model_input(root, run, image)
    assert np.array_equal(decode(c.post(url, json={}).json()["input"]), x)
    turned = c.post(url, json={"rotate": 90}).json()
    assert np.array_equal(decode(turned["input"]), to_uint8(corrupt(x[None], "rotate", 90))[0])
    sliders = {"rotate": -30, "shift_x": 3, "shift_y": -2, "scale": 1.2, "brightness": 0.3,
               "occlude": 0.2, "occlude_x": 0.3, "occlude_y": 0.7}  # fmt: skip
    moved = c.post(url, json=sliders).json()
    expected = change(x[None], rotate=-30, shift=(3, -2), scale=1.2, brightness=0.3,
                      occlude=0.2, occlude_at=(0.3, 0.7))  # fmt: skip
    assert np.array_equal(decode(moved["input"]), to_uint8(expected)[0])
    assert moved["changes"] == {**sliders}
    assert moved["predictions"] != plain["predictions"]  # the prediction moved
    dark = c.post(url, json={"brightness": 0.0}).json()
    assert decode(dark["input"]).max() == 0


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"rotate": 500}, 422, "rotate: Input should be less than or equal to 180"),
        ({"scale": 0}, 422, "scale: Input should be greater than or equal to 0.1"),
        ({"brightness": -1}, 422, "brightness: Input should be greater than or equal to 0"),
        ({"occlude": 1}, 422, "occlude: Input should be less than or equal to 0.9"),
        ({"occlude_x": 2}, 422, "occlude_x: Input should be less than or equal to 1"),
        ({"spin": 3}, 422, "spin: Extra inputs are not permitted"),
        ({"rotate": "left"}, 422, "rotate: Input should be a valid number"),
        ({"shift_x": 40}, 400, "translate 40 (pixels) is more than these 32-pixel images"),
    ],
)  # fmt: skip
def test_slider_values_out_of_range_are_refused(runs, body, status, words):
    c, _, made = runs
    r = c.post(f"/api/runs/{made['cnn']}/probe/red/red1.png", json=body)
    assert r.status_code == status and words in r.json()["error"], r.json()


def test_probe_refuses_what_is_not_a_project_image(runs):
    c, root, made = runs
    run = made["cnn"]
    assert c.post(f"/api/runs/{run}/probe/red/nope.png", json={}).status_code == 404
    assert c.post(f"/api/runs/{run}/probe/%2E%2E/red1.png", json={}).status_code == 400
    assert c.post(f"/api/runs/{run}/probe/red/%2E%2E", json={}).status_code == 400
    assert c.post(f"/api/runs/{run}/probe/red/..%2Fblue%2Fblue0.png", json={}).status_code == 404
    assert c.post("/api/runs/nope/probe/red/red1.png", json={}).status_code == 404
    junk = root / "images" / "red" / "junk.png"
    junk.write_bytes(b"not an image")
    try:
        assert c.post(f"/api/runs/{run}/probe/red/junk.png", json={}).status_code == 415
    finally:
        junk.unlink()


# ---- probe: the challenge suite ------------------------------------------------------------------


def test_the_challenge_suite_runs_as_a_job_on_the_test_images(runs):
    c, root, made = runs
    run = made["transfer"]
    assert c.get(f"/api/runs/{run}/challenges").status_code == 404  # none yet
    assert c.get(f"/api/runs/{run}/challenges/figure").status_code == 404
    r = c.post(f"/api/runs/{run}/challenges", json={"families": ["noise", "blur"]})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["kind"] == "challenges" and job["run"] == run
    with c.stream("GET", f"/api/jobs/{job['id']}/events") as stream:
        text = "".join(stream.iter_text())
    end = json.loads(text.strip().split("\n\n")[-1].split("data: ", 1)[1])
    assert end["status"] == "done", end
    result = end["result"]
    assert set(result["families"]) == {"noise", "blur"}
    assert all(len(f["accuracy"]) == 5 for f in result["families"].values())
    assert result["n_images"] == 4 and result["held_out"]  # the run's test images only
    assert c.get(f"/api/runs/{run}/challenges").json() == result
    figure = c.get(f"/api/runs/{run}/challenges/figure")
    assert figure.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(figure.content)).size[0] > 100
    saved = json.loads((root / "runs" / run / "challenges" / "metrics.json").read_text())
    assert saved["families"]["noise"]["accuracy"] == result["families"]["noise"]["accuracy"]
    # the run itself is unchanged and still the one model in the history
    assert {r["name"] for r in c.get("/api/runs").json()} == set(made.values())


def test_one_job_at_a_time_and_the_suite_can_be_cancelled(runs, monkeypatch):
    import pixelab.apps.robust as robust

    c, _, made = runs
    started, release = threading.Event(), threading.Event()
    real = robust.robust_challenges

    def held(*args, progress=None, **kw):  # waits until the test has tried a second job
        started.set()
        release.wait(30)
        return real(*args, progress=progress, **kw)

    monkeypatch.setattr(robust, "robust_challenges", held)
    job = c.post(f"/api/runs/{made['cnn']}/challenges").json()
    assert started.wait(30)
    for url, body in ((f"/api/runs/{made['transfer']}/challenges", {}), ("/api/jobs", {})):
        second = c.post(url, json=body)
        assert second.status_code == 409 and "already running" in second.json()["error"]
    assert "challenge suite is already running" in second.json()["error"]
    assert c.post(f"/api/jobs/{job['id']}/cancel").status_code == 200
    release.set()
    state = wait_for(c, job["id"], lambda s: False)
    assert state["status"] == "cancelled" and state["message"].startswith("cancelled"), state
    assert c.get("/api/jobs").json()["current"] is None


def test_bad_challenge_requests_are_refused(runs):
    c, root, made = runs
    run = made["cnn"]
    r = c.post(f"/api/runs/{run}/challenges", json={"families": ["rain"]})
    assert r.status_code == 422 and "unknown challenge 'rain'" in r.json()["error"]
    assert c.post(f"/api/runs/{run}/challenges", json={"limit": 0}).status_code == 422
    assert c.post(f"/api/runs/{run}/challenges", json={"bogus": 1}).status_code == 422
    assert c.post("/api/runs/nope/challenges", json={}).status_code == 404
    (root / "runs" / "half").mkdir()
    (root / "runs" / "half" / "config.json").write_text('{"kind": "transfer"}')
    try:
        r = c.post("/api/runs/half/challenges", json={})
        assert r.status_code == 400 and "no trained model" in r.json()["error"]
    finally:
        shutil.rmtree(root / "runs" / "half")
    assert c.get("/api/jobs").json()["current"] is None
