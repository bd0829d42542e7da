"""The studio's JSON API through FastAPI's test client: every endpoint and every refusal."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3

import pytest
from PIL import Image

from pixelab.studio.project import Limits, Project
from pixelab.train.checkpoint import STATE
from tests.studio.helpers import (
    COLOURS,
    PORT,
    TOKEN,
    class_images,
    colour_classes,
    make_client,
    past_epoch,
    png,
    upload,
    wait_for,
)

# ---- the one security check ------------------------------------------------------------------


def test_the_page_needs_the_token_and_carries_it_to_its_files(client):
    assert client.get("/", headers={"X-Pixelab-Token": ""}).status_code == 403
    wrong = client.get("/?token=nope", headers={"X-Pixelab-Token": ""})
    assert wrong.status_code == 403 and wrong.json()["error"] == "wrong start token"
    page = client.get(f"/?token={TOKEN}", headers={"X-Pixelab-Token": ""})
    assert page.status_code == 200 and "pixelab studio" in page.text
    assert f"static/app.js?token={TOKEN}" in page.text and "__TOKEN__" not in page.text
    assert "http" not in page.text.split("<body>")[1]  # nothing loaded from elsewhere
    js = client.get(f"/static/app.js?token={TOKEN}", headers={"X-Pixelab-Token": ""})
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert client.get("/static/style.css", headers={"X-Pixelab-Token": ""}).status_code == 403
    assert client.get("/static/../app.py").status_code == 404


def test_token_by_header_or_query_and_nothing_without(client):
    assert client.get("/api/project").status_code == 200
    bare = {"X-Pixelab-Token": ""}
    assert client.get(f"/api/project?token={TOKEN}", headers=bare).status_code == 200
    missing = client.get("/api/project", headers=bare)
    assert missing.status_code == 403 and "token is missing" in missing.json()["error"]
    assert client.get("/api/project", headers={"X-Pixelab-Token": TOKEN + "x"}).status_code == 403


@pytest.mark.parametrize("host", ["evil.example", f"evil.example:{PORT}", "127.0.0.1:1",
                                  f"127.0.0.2:{PORT}", ""])  # fmt: skip
def test_a_foreign_host_header_is_refused_dns_rebinding(client, host):
    r = client.get("/api/project", headers={"Host": host})
    assert r.status_code == 400 and "answers only on" in r.json()["error"]


def test_localhost_is_answered_too(client):
    assert client.get("/api/project", headers={"Host": f"localhost:{PORT}"}).status_code == 200


def test_every_route_checks_the_token(client):
    from pixelab.studio.api import history, images, jobs, look, page, probe, projects, runs

    modules = (page, projects, images, jobs, runs, look, probe, history)
    routes = [r for m in modules for r in m.router.routes]
    assert len(routes) >= 26
    for route in routes:
        path = route.path.replace("{", "").replace("}", "")  # each parameter: its own name
        for method in route.methods:
            r = client.request(method, path, headers={"X-Pixelab-Token": ""})
            assert r.status_code == 403, (method, route.path, r.status_code)


def test_openapi_description_lists_the_endpoints(client):
    described = client.get("/api/openapi.json").json()
    paths = described["paths"]
    for p in ("/api/project", "/api/classes", "/api/classes/{name}/images", "/api/jobs",
              "/api/jobs/{job_id}/cancel", "/api/jobs/{job_id}/events", "/api/runs",
              "/api/runs/{run}/predict", "/api/runs/{run}/predictions",
              "/api/runs/{run}/explain/{name}/{file}", "/api/runs/{run}/explain",
              "/api/runs/{run}/probe/{name}/{file}", "/api/runs/{run}/challenges",
              "/api/runs/{run}/challenges/figure", "/api/compare", "/api/runs/{run}/export",
              "/api/runs/{run}/model.onnx", "/api/runs/{run}/resume"):  # fmt: skip
        assert p in paths
    assert (
        "multipart/form-data" in paths["/api/runs/{run}/explain"]["post"]["requestBody"]["content"]
    )
    assert "sliders" in paths["/api/runs/{run}/probe/{name}/{file}"]["post"]["description"]
    sliders = described["components"]["schemas"]["ProbeRequest"]["properties"]
    assert sliders["rotate"]["maximum"] == 180 and sliders["occlude"]["maximum"] == 0.9
    assert (
        "multipart/form-data"
        in paths["/api/classes/{name}/images"]["post"]["requestBody"]["content"]
    )


# ---- gather ----------------------------------------------------------------------------------


def test_classes_are_folders_and_bad_names_are_refused(client, tmp_path):
    project = tmp_path / "project"
    r = client.post("/api/classes", json={"name": "cats"})
    assert r.status_code == 201 and (project / "images" / "cats").is_dir()
    again = client.post("/api/classes", json={"name": "cats"})
    assert again.status_code == 409 and "exists already" in again.json()["error"]
    for bad, words in [("", "empty"), ("   ", "empty"), ("../evil", "may not contain"),
                       ("a/b", "may not contain"), ("a\\b", "may not contain"),
                       ("..", "may not contain"), (".hidden", "dot"), ("x" * 101, "longer")]:  # fmt: skip
        r = client.post("/api/classes", json={"name": bad})
        assert r.status_code == 400 and words in r.json()["error"], (bad, r.json())
    assert not (tmp_path / "evil").exists() and not (project / "evil").exists()
    assert client.post("/api/classes", json={}).status_code == 422
    assert [c["name"] for c in client.get("/api/classes").json()] == ["cats"]


def test_upload_many_at_once_list_thumbnail_and_original(client, tmp_path):
    client.post("/api/classes", json={"name": "red"})
    r = upload(client, "red", class_images("red"))
    assert r.status_code == 201 and r.json()["count"] == 8
    assert sorted(r.json()["stored"]) == sorted(f for f, _ in class_images("red"))
    listing = client.get("/api/classes/red/images").json()["images"]
    assert len(listing) == 8 and all(i["bytes"] > 100 for i in listing)
    project = client.get("/api/project").json()
    assert project["classes"] == [{"name": "red", "count": 8}]
    thumb = client.get("/api/classes/red/images/red0.png/thumbnail?size=16")
    assert thumb.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(thumb.content)).size == (16, 16)
    assert client.get("/api/classes/red/images/red0.png").content == class_images("red")[0][1]
    assert client.get("/api/classes/red/images/red0.png/thumbnail?size=5000").status_code == 400
    # the same name again: kept beside, never overwritten
    again = upload(client, "red", class_images("red", 1))
    assert again.json()["stored"] == ["red0-1.png"]
    assert (tmp_path / "project" / "images" / "red" / "red0-1.png").is_file()


def _nothing_kept(tmp_path, name="red"):
    project = tmp_path / "project"
    assert list((project / "images" / name).iterdir()) == []
    assert list((project / ".studio" / "tmp").iterdir()) == []


def test_a_batch_with_a_non_image_keeps_none_of_it(client, tmp_path):
    client.post("/api/classes", json={"name": "red"})
    files = [*class_images("red", 3), ("notes.png", b"these are words, not pixels")]
    r = upload(client, "red", files)
    assert r.status_code == 415 and r.json()["error"].startswith("notes.png: not an image")
    _nothing_kept(tmp_path)


def test_a_truncated_image_is_refused(client, tmp_path):
    client.post("/api/classes", json={"name": "red"})
    data = png(COLOURS["red"], size=64)
    r = upload(client, "red", [("cut.png", data[: len(data) // 2])])
    assert r.status_code == 415 and "truncated" in r.json()["error"]
    _nothing_kept(tmp_path)


def test_names_that_leave_the_folder_are_refused(client, tmp_path):
    client.post("/api/classes", json={"name": "red"})
    good = png(COLOURS["red"])
    for name in ("../evil.png", "../../evil.png", "sub/evil.png", "..\\evil.png", ".x.png", ""):
        r = upload(client, "red", [(name, good)])
        assert r.status_code in (400, 422), (name, r.status_code)
        if r.status_code == 400:
            assert r.json()["error"], name
    assert not list(tmp_path.rglob("evil.png"))
    _nothing_kept(tmp_path)
    text = upload(client, "red", [("notes.txt", good)])
    assert text.status_code == 415 and "not an image file name" in text.json()["error"]
    # in the URL: a decoded '..' is refused, a decoded '/' matches no route
    assert client.get("/api/classes/%2E%2E/images").status_code == 400
    assert client.get("/api/classes/..%2F..%2Fetc/images").status_code == 404
    r = client.delete("/api/classes/red/images/..%2F..%2Fstudio.sqlite")
    assert r.status_code == 404 and (tmp_path / "project" / "studio.sqlite").is_file()
    assert client.delete("/api/classes/red/images/%2E%2E").status_code == 400
    assert upload(client, "nope", [("a.png", good)]).status_code == 404
    none = client.post("/api/classes/red/images", files=[("other", ("a.png", good, "image/png"))])
    assert none.status_code == 400 and "no files" in none.json()["error"]


def test_byte_and_pixel_limits(tmp_path):
    red = class_images("red", 2)
    with make_client(tmp_path / "project", limits=Limits(max_file_bytes=1000)) as c:
        c.post("/api/classes", json={"name": "red"})
        r = upload(c, "red", [("big.png", png(COLOURS["red"], size=64))])
        assert r.status_code == 413 and "too large" in r.json()["error"]
        assert "limit 1,000" in r.json()["error"]
        _nothing_kept(tmp_path)
    with make_client(tmp_path / "project", limits=Limits(max_pixels=500)) as c:
        r = upload(c, "red", red)  # 32 x 32 = 1,024 pixels
        assert r.status_code == 413 and "1,024 pixels" in r.json()["error"]
        _nothing_kept(tmp_path)
    with make_client(tmp_path / "project", limits=Limits(max_request_bytes=2000)) as c:
        r = upload(c, "red", red)
        assert r.status_code == 413 and "per request" in r.json()["error"]
    with make_client(tmp_path / "project", limits=Limits(max_files=1)) as c:
        assert upload(c, "red", red).status_code == 400  # the form parser's own limit
        _nothing_kept(tmp_path)


def test_removing_an_image_moves_it_to_the_trash(client, tmp_path):
    client.post("/api/classes", json={"name": "red"})
    upload(client, "red", class_images("red", 2))
    r = client.delete("/api/classes/red/images/red0.png")
    assert r.status_code == 200 and r.json()["trash"] == ".studio/trash/red/red0.png"
    assert (tmp_path / "project" / ".studio" / "trash" / "red" / "red0.png").is_file()
    assert [i["name"] for i in client.get("/api/classes/red/images").json()["images"]] == [
        "red1.png"
    ]
    assert client.delete("/api/classes/red/images/red0.png").status_code == 404


def test_hand_edits_are_picked_up_without_a_crash(client, tmp_path):
    images = tmp_path / "project" / "images"
    (images / "by_hand").mkdir()
    (images / "by_hand" / "a.png").write_bytes(png(COLOURS["blue"]))
    (images / "by_hand" / "junk.jpg").write_bytes(b"not a jpeg")
    (images / "by_hand" / "readme.txt").write_text("ignored")
    assert client.get("/api/project").json()["classes"] == [{"name": "by_hand", "count": 2}]
    junk = client.get("/api/classes/by_hand/images/junk.jpg/thumbnail")
    assert junk.status_code == 415 and "junk.jpg" in junk.json()["error"]
    assert str(tmp_path) not in junk.json()["error"]
    shutil.rmtree(images / "by_hand")
    assert client.get("/api/project").json()["classes"] == []
    assert client.get("/api/classes/by_hand/images").status_code == 404
    (tmp_path / "project" / "runs" / "not-a-run").mkdir()
    runs = client.get("/api/runs").json()
    assert runs[0]["name"] == "not-a-run" and runs[0]["state"] == "not a run"


# ---- train and try ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory, _private_cache):
    """A project with two classes, trained once (a linear probe at 64 px), followed through
    its event stream: (client, project folder, the events, the final state)."""
    root = tmp_path_factory.mktemp("trained") / "project"
    with make_client(root) as c:
        colour_classes(c)
        r = c.post("/api/jobs", json={"mode": "probe", "size": 64, "test_size": 0.25})
        assert r.status_code == 202, r.text
        job = r.json()
        with c.stream("GET", f"/api/jobs/{job['id']}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            text = "".join(stream.iter_text())
        events = [
            (block.split("\n")[0].removeprefix("event: "), json.loads(block.split("data: ", 1)[1]))
            for block in text.strip().split("\n\n")
        ]
        c.app.state.studio.jobs.wait(60)
        yield c, root, events, c.get(f"/api/jobs/{job['id']}").json()


def test_training_runs_in_the_background_and_streams_its_progress(trained):
    _, _, events, final = trained
    kinds = [k for k, _ in events]
    assert kinds[-1] == "end" and set(kinds[:-1]) == {"progress"}
    assert any(e["task"] == "embedding" and e["total"] == 16 for _, e in events)
    end = events[-1][1]
    assert end["status"] == "done" and end["result"]["accuracy"] == 1.0, end
    assert final["status"] == "done"


def test_a_finished_run_shows_its_scores_and_is_an_ordinary_run(trained, capsys):
    c, root, _, final = trained
    run = final["run"]
    summary = c.get(f"/api/runs/{run}").json()
    assert summary["state"] == "finished" and summary["predictable"]
    assert summary["accuracy"] == 1.0 and summary["n_train"] == 12 and summary["n_test"] == 4
    assert set(summary["per_class"]) == {"blue", "red"}
    assert summary["per_class"]["red"]["recall"] == 1.0
    assert summary["confusion"] == [[2, 0], [0, 2]]
    assert {r["name"]: r["state"] for r in c.get("/api/runs").json()}[run] == "finished"
    listed = c.get("/api/jobs").json()
    assert listed["current"] is None and listed["jobs"][0]["status"] == "done"
    with sqlite3.connect(root / "studio.sqlite") as db:
        assert db.execute("SELECT status, run, accuracy FROM jobs").fetchall() == [
            ("done", run, 1.0)
        ]
    # the command line opens the same run and the same images folder
    from tests.cli.test_cli import cli

    img = root / "images" / "blue" / "blue0.png"
    code, out, err = cli(capsys, "predict", str(root / "runs" / run), str(img), "--json")
    assert code == 0, err
    assert json.loads(out)["predictions"][0]["top"][0]["class"] == "blue"
    code, out, err = cli(capsys, "data", "check", str(root / "images"), "--json")
    assert code == 0, err
    assert json.loads(out)["class_files"] == {"blue": 8, "red": 8}


@pytest.mark.parametrize("colour", ["red", "blue"])
def test_try_predicts_a_new_image_with_every_class(trained, colour):
    c, _, _, final = trained
    image = png(COLOURS[colour], seed=999, size=48)
    r = c.post(f"/api/runs/{final['run']}/predict", files={"file": ("new.png", image, "image/png")})
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    assert preds[0]["class"] == colour and len(preds) == 2
    assert preds[0]["probability"] > 0.5 and sum(p["probability"] for p in preds) == pytest.approx(
        1
    )
    # where the time went, in the body and as the standard Server-Timing header
    timing = r.json()["timing_ms"]
    assert set(timing) == {"upload", "load", "decode", "preprocess", "model", "total"}
    assert all(v >= 0 for v in timing.values()) and timing["total"] >= timing["model"] > 0
    assert "model;dur=" in r.headers["server-timing"]


def test_a_webcam_frame_predicts_and_the_model_stays_loaded(trained):
    """What the live view sends: a JPEG frame a little larger than the model's input, many
    times; the model is loaded once, not per frame."""
    c, _, _, final = trained
    frame = png(COLOURS["blue"], seed=3, size=74, fmt="JPEG")
    url = f"/api/runs/{final['run']}/predict"
    first, *rest = [
        c.post(url, files={"file": ("frame.jpg", frame, "image/jpeg")}) for _ in range(4)
    ]
    assert all(r.status_code == 200 for r in (first, *rest))
    assert all(r.json()["predictions"][0]["class"] == "blue" for r in (first, *rest))
    assert all(r.json()["timing_ms"]["load"] < 50 for r in rest)  # cached: no reload
    assert len(c.app.state.studio.models) == 1


def test_one_prediction_runs_on_one_thread_and_puts_the_setting_back():
    import torch

    from pixelab.studio.api.runs import PREDICT_THREADS, _threads

    before = torch.get_num_threads()
    with _threads(PREDICT_THREADS):
        assert torch.get_num_threads() == PREDICT_THREADS == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError), _threads(1):
        raise ValueError
    assert torch.get_num_threads() == before


def test_try_predicts_in_the_runs_precision_and_agrees_with_predict(trained, tmp_path):
    """The studio predicts in the precision the run trained in (bf16 where the CPU has it,
    for speed); ``pixelab predict`` stays fp32: same ranking, probabilities close."""
    from pixelab.apps.cnn import predict_files

    c, root, _, final = trained
    run = root / "runs" / final["run"]
    metrics = json.loads((run / "metrics.json").read_text())
    for colour in COLOURS:
        image = tmp_path / f"{colour}.png"
        image.write_bytes(png(COLOURS[colour], seed=11, size=48))
        studio = c.post(f"/api/runs/{final['run']}/predict",
                        files={"file": (image.name, image.read_bytes(), "image/png")}).json()  # fmt: skip
        assert studio["precision"] == metrics["precision"]
        (cli,) = predict_files(run, [str(image)], top_k=2, device="cpu")["predictions"]
        assert [p["class"] for p in studio["predictions"]] == [p["class"] for p in cli["top"]]
        for a, b in zip(studio["predictions"], cli["top"], strict=True):
            assert a["probability"] == pytest.approx(b["probability"], abs=0.03)


def test_try_refuses_bad_input(trained, tmp_path):
    c, root, _, final = trained
    run = final["run"]
    bad = c.post(f"/api/runs/{run}/predict", files={"file": ("x.png", b"nope", "image/png")})
    assert bad.status_code == 415
    assert (
        c.post("/api/runs/nope/predict", files={"file": ("x.png", b"", "image/png")}).status_code
        == 404
    )
    assert (
        c.post("/api/runs/%2E%2E/predict", files={"file": ("x.png", b"", "image/png")}).status_code
        == 400
    )
    two = [("file", ("a.png", png(COLOURS["red"]), "image/png"))] * 2
    assert "one image" in c.post(f"/api/runs/{run}/predict", files=two).json()["error"]
    (root / "runs" / "half").mkdir()
    (root / "runs" / "half" / "config.json").write_text('{"kind": "transfer"}')
    r = c.post(
        "/api/runs/half/predict", files={"file": ("a.png", png(COLOURS["red"]), "image/png")}
    )
    assert r.status_code == 400 and "no trained model yet" in r.json()["error"]
    assert list((root / ".studio" / "tmp").iterdir()) == []
    shutil.rmtree(root / "runs" / "half")


def test_a_second_training_is_refused_and_cancel_keeps_the_finished_epochs(client, tmp_path):
    colour_classes(client)
    job = client.post("/api/jobs", json={"mode": "finetune", "size": 32, "epochs": 500,
                                         "batch_size": 8, "lr": 2e-4}).json()  # fmt: skip
    state = wait_for(client, job["id"], past_epoch(2))
    assert state["status"] == "running", state
    second = client.post("/api/jobs", json={})
    assert second.status_code == 409 and "already running" in second.json()["error"]
    assert client.get("/api/project").json()["job"]["id"] == job["id"]
    r = client.post(f"/api/jobs/{job['id']}/cancel")
    assert r.status_code == 200 and r.json()["cancel_asked"]
    state = wait_for(client, job["id"], lambda s: False)
    assert state["status"] == "cancelled" and "--resume" in state["message"], state
    run = tmp_path / "project" / "runs" / job["run"]
    assert (run / "config.json").is_file() and not (run / "metrics.json").exists()
    config = json.loads((run / "config.json").read_text())  # the advanced settings were used
    assert (config["batch_size"], config["lr"], config["epochs"]) == (8, 2e-4, 500)
    assert json.loads((run / STATE).read_text())["epoch"] >= 0  # epoch 1 at least is kept
    assert client.get(f"/api/runs/{job['run']}").json()["state"] == "unfinished"
    again = client.post(f"/api/jobs/{job['id']}/cancel")
    assert again.status_code == 409 and "not running" in again.json()["error"]
    assert client.post("/api/jobs/nope/cancel").status_code == 404
    assert client.get("/api/jobs/nope").status_code == 404
    assert client.get("/api/jobs/nope/events").status_code == 404
    # Resume goes on from the checkpoint (resume_transfer), and stops again on Cancel
    summary = client.get(f"/api/runs/{job['run']}").json()
    assert summary["resumable"] and summary["epochs"] == 500
    resumed = client.post(f"/api/runs/{job['run']}/resume")
    assert resumed.status_code == 202 and resumed.json()["kind"] == "transfer", resumed.text
    state = wait_for(client, resumed.json()["id"], past_epoch(summary["epochs_done"] + 2))
    assert state["status"] == "running" and state["history"][0]["epoch"] == 1, state
    client.post(f"/api/jobs/{resumed.json()['id']}/cancel")
    state = wait_for(client, resumed.json()["id"], lambda s: False)
    assert state["status"] == "cancelled", state
    after = client.get(f"/api/runs/{job['run']}").json()["epochs_done"]
    assert after >= summary["epochs_done"] + 1


def test_a_cnn_from_scratch_is_the_second_choice(client, tmp_path):
    colour_classes(client)
    refused = client.post("/api/jobs", json={"kind": "cnn", "mode": "probe"})
    assert refused.status_code == 422 and "transfer learning only" in refused.json()["error"]
    advanced = {"batch_size": 4, "lr": 0.01, "augment": "basic", "val_fraction": 0.25}
    r = client.post("/api/jobs", json={"kind": "cnn", "size": 32, "epochs": 3, "test_size": 0.25,
                                       **advanced})  # fmt: skip
    assert r.status_code == 202 and r.json()["options"]["size"] == 32
    assert "mode" not in r.json()["options"] and r.json()["run"].startswith("cnn-")
    state = wait_for(client, r.json()["id"], lambda s: False)
    assert state["status"] == "done", state
    result = state["result"]
    assert result["kind"] == "cnn" and result["predictable"] and result["n_test"] == 4
    assert 0 <= result["accuracy"] <= 1 and set(result["per_class"]) == {"blue", "red"}
    config = json.loads((tmp_path / "project" / "runs" / state["run"] / "config.json").read_text())
    assert config["data"] == str(tmp_path / "project" / "images") and config["epochs"] == 3
    assert {k: config[k] for k in advanced} == advanced
    image = png(COLOURS["red"], seed=5)
    answer = client.post(f"/api/runs/{state['run']}/predict",
                         files={"file": ("x.png", image, "image/png")}).json()  # fmt: skip
    preds = answer["predictions"]
    trained = json.loads(
        (tmp_path / "project" / "runs" / state["run"] / "metrics.json").read_text()
    )
    # a CNN run records what choose_precision chose (a dict): predictions use the same
    assert answer["precision"] == ("bf16" if trained["precision"]["bf16"] else "fp32")
    assert {p["class"] for p in preds} == {"blue", "red"}
    assert sum(p["probability"] for p in preds) == pytest.approx(1, abs=1e-3)


def test_a_failing_training_says_why(client):
    client.post("/api/classes", json={"name": "red"})
    upload(client, "red", class_images("red", 3))
    job = client.post("/api/jobs", json={"size": 32}).json()
    state = wait_for(client, job["id"], lambda s: False)
    assert state["status"] == "failed" and "class" in state["message"], state
    assert client.post("/api/jobs", json={}).status_code == 202  # the slot is free again


@pytest.mark.parametrize("body", [{"size": 8}, {"mode": "magic"}, {"bogus": 1}, {"kind": "gan"},
                                  {"test_size": 1.5}, {"epochs": 0}])  # fmt: skip
def test_bad_training_options_are_refused_before_starting(client, body):
    r = client.post("/api/jobs", json=body)
    assert r.status_code == 422 and r.json()["error"].startswith("invalid request"), r.json()
    assert client.get("/api/jobs").json()["jobs"] == []


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"lr": 0}, "lr: Input should be greater than 0"),
        ({"lr": 5}, "lr: Input should be less than 1"),
        ({"lr": "fast"}, "lr: Input should be a valid number"),
        ({"batch_size": 0}, "batch_size: Input should be greater than or equal to 1"),
        ({"batch_size": 5000}, "batch_size: Input should be less than or equal to 1024"),
        ({"epochs": 1001}, "epochs: Input should be less than or equal to 1000"),
        ({"test_size": -0.1}, "test_size: Input should be greater than or equal to 0"),
        ({"kind": "cnn", "val_fraction": 1}, "val_fraction: Input should be less than 1"),
        ({"kind": "cnn", "augment": ""}, "augment: String should have at least 1 character"),
    ],
)  # fmt: skip
def test_bad_advanced_settings_are_one_clear_error_each(client, body, words):
    r = client.post("/api/jobs", json=body)
    assert r.status_code == 422, r.json()
    assert r.json()["error"].startswith(f"invalid request: {words}"), r.json()
    assert client.get("/api/jobs").json()["jobs"] == []


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"augment": "basic"}, "augment (a CNN from scratch only)"),
        ({"mode": "finetune", "val_fraction": 0.1}, "val_fraction (a CNN from scratch only)"),
        ({"size": 16}, "image size 16 is too small for transfer learning"),
        ({"kind": "cnn", "augment": "wobble:3"}, "augmentation 'wobble:3': unknown augmentation"),
        ({"kind": "cnn", "augment": "rotate:x"}, "the strength after ':' must be a number"),
        ({"kind": "cnn", "test_size": 0}, "test share must be above 0 for a CNN"),
        ({"mode": "finetune", "test_size": 0}, "test share must be above 0 for finetuning"),
        ({"kind": "cnn", "test_size": 0.5, "val_fraction": 0.9}, "leave under a tenth"),
    ],
)  # fmt: skip
def test_settings_the_app_would_refuse_are_refused_before_a_job_starts(client, body, words):
    r = client.post("/api/jobs", json=body)
    assert r.status_code == 422 and words in r.json()["error"], r.json()
    assert "--" not in r.json()["error"]  # the page's words, not the command line's flags
    assert client.get("/api/jobs").json()["jobs"] == [] and client.get("/api/runs").json() == []


def test_a_restarted_studio_marks_a_job_it_lost_as_interrupted(tmp_path):
    project = Project(tmp_path / "p")
    project.record_job({"id": "abc", "kind": "transfer", "run": "r", "status": "running",
                        "started": 1.0})  # fmt: skip
    (row,) = Project(tmp_path / "p").jobs()
    assert row["status"] == "interrupted" and "stopped" in row["message"]


def test_a_project_path_that_is_a_file_is_refused(tmp_path):
    from pixelab import PixelabError

    (tmp_path / "f").write_text("x")
    with pytest.raises(PixelabError, match="is not a folder"):
        Project(tmp_path / "f")
