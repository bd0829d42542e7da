"""History and the third method, through the test client: the classic HOG pipeline as a job,
two runs side by side, ONNX export (and the exported model agreeing with the page and the
command line), live training curves, a cancelled training resumed, and a project folder edited
by hand (its index too) while the studio runs."""

from __future__ import annotations

import json
import shutil
import sqlite3

import numpy as np
import pytest

from tests.studio.helpers import (
    COLOURS,
    class_images,
    colour_classes,
    make_client,
    past_epoch,
    png,
    upload,
    wait_for,
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, _private_cache):
    """A project of two classes with a transfer run (probe, 64 px), a CNN run (32 px) and a
    classic run, trained through the API: (client, project folder, {kind: run})."""
    root = tmp_path_factory.mktemp("history") / "project"
    with make_client(root) as c:
        colour_classes(c)
        made = {}
        for kind, body in (("transfer", {"size": 64}),
                           ("cnn", {"kind": "cnn", "size": 32, "epochs": 3}),
                           ("classic", {"kind": "classic"})):  # fmt: skip
            r = c.post("/api/jobs", json={**body, "test_size": 0.25})
            assert r.status_code == 202, r.text
            state = wait_for(c, r.json()["id"], lambda s: False)
            assert state["status"] == "done", state
            made[kind] = state["run"]
        yield c, root, made
        c.app.state.studio.jobs.wait(60)


def predict(c, run: str, data: bytes) -> dict:
    r = c.post(f"/api/runs/{run}/predict", files={"file": ("x.png", data, "image/png")})
    assert r.status_code == 200, r.text
    return r.json()


# ---- the classic HOG pipeline ------------------------------------------------------------------


def test_the_classic_hog_pipeline_is_a_third_method(runs, capsys):
    c, root, made = runs
    run = made["classic"]
    summary = c.get(f"/api/runs/{run}").json()
    assert summary["kind"] == "classic" and summary["method"] == "classic: hog+pixels + logreg"
    assert summary["predictable"] and not summary["network"] and summary["size"] == 64
    assert summary["n_test"] == 4 and summary["accuracy"] == 1.0
    assert summary["confusion"] == [[2, 0], [0, 2]] and set(summary["per_class"]) == set(COLOURS)
    config = json.loads((root / "runs" / run / "config.json").read_text())
    assert (config["features"], config["classifier"]) == ("hog+pixels", "logreg")
    assert config["data"] == str(root / "images")
    # its confusion cells open like the others'
    cell = c.get(f"/api/runs/{run}/predictions", params={"true": "red", "predicted": "red"})
    assert cell.json()["count"] == 2 and all(im["in_project"] for im in cell.json()["images"])
    # Try: probabilities from the saved pipeline, the class the command line gives too
    from tests.cli.test_cli import cli

    for colour in COLOURS:
        image = root.parent / f"{colour}.png"
        image.write_bytes(png(COLOURS[colour], seed=21, size=48))
        page = predict(c, run, image.read_bytes())["predictions"]
        assert page[0]["class"] == colour
        assert sum(p["probability"] for p in page) == pytest.approx(1, abs=1e-3)
        code, out, err = cli(capsys, "predict", str(root / "runs" / run), str(image), "--json")
        assert code == 0, err
        (line,) = json.loads(out)["predictions"]
        assert line["top"][0] == page[0]
    # the sliders move a classic run's prediction too
    name = cell.json()["images"][0]["name"]
    probed = c.post(f"/api/runs/{run}/probe/red/{name}", json={"rotate": 90, "brightness": 0.3})
    assert probed.status_code == 200 and len(probed.json()["predictions"]) == 2


def test_what_a_classic_run_cannot_do_is_said_plainly(runs):
    c, _, made = runs
    run = made["classic"]
    why = c.get(f"/api/runs/{run}/explain/red/red0.png")
    assert why.status_code == 400 and "no feature maps or saliency" in why.json()["error"]
    suite = c.post(f"/api/runs/{run}/challenges", json={})
    assert suite.status_code == 400 and "measures neural networks" in suite.json()["error"]
    export = c.post(f"/api/runs/{run}/export")
    assert export.status_code == 400 and "which is not a network" in export.json()["error"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"kind": "classic", "epochs": 5}, "epochs (transfer learning or a CNN from scratch only)"),
        ({"kind": "classic", "lr": 0.1}, "lr (transfer learning or a CNN from scratch only)"),
        ({"kind": "classic", "augment": "basic"}, "augment (a CNN from scratch only)"),
        ({"kind": "classic", "test_size": 0}, "test share must be above 0 for the classic"),
        ({"kind": "cnn", "mode": "probe"}, "mode (transfer learning only)"),
    ],
)  # fmt: skip
def test_options_the_classic_pipeline_has_not_are_refused(client, body, words):
    r = client.post("/api/jobs", json=body)
    assert r.status_code == 422 and words in r.json()["error"], r.json()
    assert client.get("/api/jobs").json()["jobs"] == []


# ---- history: every run, two side by side, ONNX export ---------------------------------------


def test_history_lists_each_run_with_what_it_can_do_and_its_command_lines(runs):
    c, root, made = runs
    listed = {r["name"]: r for r in c.get("/api/project").json()["runs"]}
    assert set(listed) == set(made.values())
    for kind, run in made.items():
        r = listed[run]
        assert r["state"] == "finished" and r["predictable"] and r["job"]["status"] == "done"
        assert r["network"] == (kind != "classic") and r["onnx"] is False
        assert r["commands"]["predict"] == f"pixelab predict {root / 'runs' / run} image.jpg"
        assert ("export" in r["commands"]) == (kind != "classic")
    assert [h["epoch"] for h in listed[made["cnn"]]["history"]] == [1, 2, 3]


def test_two_runs_side_by_side(runs):
    c, _, made = runs
    r = c.get("/api/compare", params={"a": made["transfer"], "b": made["cnn"]})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["classes"] == ["blue", "red"]
    for row, kind in zip(result["runs"], ("transfer", "cnn"), strict=True):
        summary = c.get(f"/api/runs/{made[kind]}").json()
        assert row["run"] == made[kind] and row["kind"] == kind and "path" not in row
        assert row["accuracy"] == summary["accuracy"] and row["method"] == summary["method"]
        assert row["per_class"] == summary["per_class"]
        assert row["confusion"] == summary["confusion"]
        assert row["num_parameters"] > 0 and row["n_test"] == 4
    settings = result["settings"]
    assert settings["size"] == [64, 32] and settings["mode"] == ["probe", None]
    assert settings["epochs"] == [None, 3] and "data" not in settings and "seed" not in settings
    classic = c.get("/api/compare", params={"a": made["cnn"], "b": made["classic"]}).json()
    assert classic["settings"]["features"] == [None, "hog+pixels"]


def test_compare_refuses_what_does_not_line_up(runs):
    c, root, made = runs
    a = made["cnn"]
    assert c.get("/api/compare", params={"a": a, "b": "nope"}).status_code == 404
    assert c.get("/api/compare", params={"a": "..", "b": a}).status_code == 400
    assert c.get("/api/compare", params={"a": "../../etc", "b": a}).status_code == 400
    assert c.get("/api/compare", params={"a": a}).status_code == 422
    same = c.get("/api/compare", params={"a": a, "b": a})
    assert same.status_code == 400 and "two different runs" in same.json()["error"]
    other = root / "runs" / "three-classes"
    shutil.copytree(root / "runs" / made["transfer"], other)
    metrics = json.loads((other / "metrics.json").read_text())
    metrics["per_class"]["green"] = metrics["per_class"]["red"]
    (other / "metrics.json").write_text(json.dumps(metrics))
    (root / "runs" / "half").mkdir()
    (root / "runs" / "half" / "config.json").write_text('{"kind": "cnn", "epochs": 3}')
    try:
        r = c.get("/api/compare", params={"a": a, "b": "three-classes"})
        assert r.status_code == 400 and "different classes" in r.json()["error"]
        assert "blue, red against blue, red, green" in r.json()["error"]
        r = c.get("/api/compare", params={"a": a, "b": "half"})
        assert r.status_code == 409 and "half is unfinished" in r.json()["error"]
        assert r.json()["hint"] == "resume it first"
        assert c.post("/api/runs/half/export").status_code == 409
    finally:
        shutil.rmtree(other)
        shutil.rmtree(root / "runs" / "half")


def test_an_exported_run_predicts_what_the_page_and_the_command_line_do(runs, capsys):
    """Export from the page, download model.onnx, and run it with ONNX Runtime as someone
    without pixelab would (preprocessing from its metadata): the same class as Try and as
    ``pixelab predict PROJECT/runs/<run>``."""
    import onnxruntime as ort

    from pixelab.data.preprocess import ImagePreprocess
    from tests.cli.test_cli import cli

    c, root, made = runs
    run = made["cnn"]
    assert c.get(f"/api/runs/{run}/model.onnx").status_code == 404  # not exported yet
    r = c.post(f"/api/runs/{run}/export")
    assert r.status_code == 200, r.text
    exported = r.json()
    assert exported["download"] == f"/api/runs/{run}/model.onnx"
    assert exported["max_abs_difference"] < 1e-3 and exported["bytes"] > 1000
    download = c.get(exported["download"])
    assert download.status_code == 200 and len(download.content) == exported["bytes"]
    assert f'filename="{run}.onnx"' in download.headers["content-disposition"]
    assert c.get(f"/api/runs/{run}").json()["onnx"] is True
    onnx = root.parent / "downloaded.onnx"
    onnx.write_bytes(download.content)
    session = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    classes, pre = (
        json.loads(meta["classes"]),
        ImagePreprocess.from_dict(json.loads(meta["preprocess"])),
    )
    for colour in COLOURS:
        image = root.parent / f"onnx-{colour}.png"
        image.write_bytes(png(COLOURS[colour], seed=31, size=40))
        page = predict(c, run, image.read_bytes())["predictions"][0]["class"]
        code, out, err = cli(capsys, "predict", str(root / "runs" / run), str(image), "--json")
        assert code == 0, err
        command_line = json.loads(out)["predictions"][0]["top"][0]["class"]
        x = pre.read(image).astype(np.float32).transpose(2, 0, 1)[None] / 255
        logits = session.run(None, {session.get_inputs()[0].name: x})[0]
        assert page == command_line == classes[int(logits.argmax())] == colour
    # exporting again replaces the file; refusals
    assert c.post(f"/api/runs/{run}/export").status_code == 200
    assert c.post("/api/runs/nope/export").status_code == 404
    assert c.post("/api/runs/%2E%2E/export").status_code == 400
    assert c.get("/api/runs/%2E%2E/model.onnx").status_code == 400
    (root / "runs" / "not-a-run").mkdir()
    try:
        r = c.post("/api/runs/not-a-run/export")
        assert r.status_code == 400 and "is not a run: nothing to export" in r.json()["error"]
    finally:
        (root / "runs" / "not-a-run").rmdir()


# ---- live curves, cancel and resume ------------------------------------------------------------


def _events(c, job_id: str) -> list[tuple[str, dict]]:
    with c.stream("GET", f"/api/jobs/{job_id}/events") as stream:
        text = "".join(stream.iter_text())
    return [
        (block.split("\n")[0].removeprefix("event: "), json.loads(block.split("data: ", 1)[1]))
        for block in text.strip().split("\n\n")
    ]


def test_a_cancelled_training_resumes_to_the_epochs_asked_with_live_curves(tmp_path):
    """A CNN of 30 epochs: its epochs' history arrives while it trains; cancelled mid-way, it
    keeps its checkpoint; a studio started again on the project (the browser closed, the
    studio stopped) shows it resumable, and Resume finishes it with all 30 epochs."""
    project = tmp_path / "project"
    asked = {"kind": "cnn", "size": 32, "epochs": 30, "batch_size": 4, "test_size": 0.25}
    with make_client(project) as c:
        colour_classes(c)
        job = c.post("/api/jobs", json=asked).json()
        run = job["run"]
        state = wait_for(c, job["id"], past_epoch(4))
        assert state["status"] == "running", state
        curve = state["history"]
        assert len(curve) >= 3 and [h["epoch"] for h in curve] == list(range(1, len(curve) + 1))
        assert all({"train_loss", "train_accuracy"} <= set(h) for h in curve)
        # while it trains: no compare, no export, no second job (itself resumed included)
        r = c.get("/api/compare", params={"a": run, "b": run + "x"})
        assert r.status_code == 409 and "still training" in r.json()["error"]
        assert c.post(f"/api/runs/{run}/export").status_code == 409
        again = c.post(f"/api/runs/{run}/resume")
        assert again.status_code == 409 and "already running" in again.json()["error"]
        c.post(f"/api/jobs/{job['id']}/cancel")
        state = wait_for(c, job["id"], lambda s: False)
        assert state["status"] == "cancelled" and "Resume" in state["message"], state
        c.app.state.studio.jobs.wait(30)
    with make_client(project) as c:  # a new studio on the same folder
        summary = c.get(f"/api/runs/{run}").json()
        assert summary["state"] == "unfinished" and summary["resumable"]
        done_before = summary["epochs_done"]
        assert len(curve) <= done_before < 30 and summary["epochs"] == 30
        r = c.post(f"/api/runs/{run}/resume")
        assert r.status_code == 202, r.text
        resumed = r.json()
        assert resumed["run"] == run and resumed["kind"] == "cnn"
        events = _events(c, resumed["id"])
        kind, end = events[-1]
        assert kind == "end" and end["status"] == "done", end
        lengths = [len(e["history"]) for k, e in events if k == "progress"]
        assert lengths == sorted(lengths) and lengths[-1] >= done_before  # it only grows
        assert [h["epoch"] for h in end["history"]] == list(range(1, 31))
        assert end["history"][: len(curve)] == curve  # the epochs before the cancel, kept
        metrics = json.loads((project / "runs" / run / "metrics.json").read_text())
        assert metrics["epochs"] == 30 and len(metrics["history"]) == 30
        listed = {r["name"]: r for r in c.get("/api/runs").json()}[run]
        assert listed["job"]["id"] == resumed["id"] and listed["job"]["status"] == "done"
        with sqlite3.connect(project / "studio.sqlite") as db:
            rows = db.execute("SELECT status FROM jobs WHERE run=? ORDER BY started", (run,))
            assert [s for (s,) in rows] == ["cancelled", "done"]
        finished = c.post(f"/api/runs/{run}/resume")
        assert (
            finished.status_code == 409
            and "nothing to resume: it is finished" in (finished.json()["error"])
        )


def test_resume_refuses_runs_with_nothing_to_resume(runs):
    c, root, made = runs
    for kind in ("transfer", "classic"):
        r = c.post(f"/api/runs/{made[kind]}/resume")
        assert r.status_code == 409 and "nothing to resume" in r.json()["error"]
    assert c.post("/api/runs/nope/resume").status_code == 404
    assert c.post("/api/runs/%2E%2E/resume").status_code == 400
    (root / "runs" / "odd").mkdir()
    try:
        r = c.post("/api/runs/odd/resume")
        assert r.status_code == 409 and "not a run" in r.json()["error"]
    finally:
        (root / "runs" / "odd").rmdir()


# ---- the project folder edited by hand while the studio runs ------------------------------------


def test_hand_edits_of_folders_and_index_are_rescanned_without_a_crash(runs, tmp_path):
    c, root, made = runs
    images = root / "images"
    # a class folder renamed by hand, an image removed, another added
    (images / "red").rename(images / "crimson")
    (images / "crimson" / "red0.png").unlink()
    (images / "blue" / "by-hand.png").write_bytes(png(COLOURS["blue"], seed=77))
    try:
        classes = {k["name"]: k["count"] for k in c.get("/api/classes").json()}
        assert classes == {"blue": 9, "crimson": 7}
        assert c.get("/api/classes/red/images").status_code == 404
        assert upload(c, "red", class_images("red", 1)).status_code == 404
        assert c.get("/api/classes/crimson/images/red0.png/thumbnail").status_code == 404
        assert c.get("/api/classes/blue/images/by-hand.png/thumbnail").status_code == 200
        # the run's test images that moved are shown as gone, not served from elsewhere
        cell = c.get(f"/api/runs/{made['cnn']}/predictions").json()
        assert {im["in_project"] for im in cell["images"] if im["true"] == "red"} == {False}
        # a run folder removed by hand leaves the list; its job stays in the index
        shutil.copytree(root / "runs" / made["cnn"], root / "runs" / "copy")
        assert "copy" in {r["name"] for r in c.get("/api/runs").json()}
        shutil.rmtree(root / "runs" / "copy")
        assert "copy" not in {r["name"] for r in c.get("/api/runs").json()}
        assert c.get("/api/runs/copy").status_code == 404
    finally:
        (images / "crimson").rename(images / "red")
        (images / "blue" / "by-hand.png").unlink()
        upload(c, "red", [("red0.png", class_images("red", 1)[0][1])])
    # the SQLite index removed by hand: made again (empty), and the runs are still listed
    index = root / "studio.sqlite"
    kept = index.read_bytes()
    index.unlink()
    assert c.get("/api/jobs").json()["jobs"] == []
    assert {r["name"] for r in c.get("/api/project").json()["runs"]} == set(made.values())
    # ... replaced by something that is not a database: moved aside, a new one started
    index.write_bytes(b"this is not an SQLite database, someone typed it in")
    project = c.get("/api/project")
    assert project.status_code == 200 and all(r["job"] is None for r in project.json()["runs"])
    damaged = list((root / ".studio").glob("studio.sqlite.damaged-*"))
    assert len(damaged) == 1 and damaged[0].read_bytes().startswith(b"this is not")
    index.write_bytes(kept)  # the original index back: the jobs are listed again
    assert len(c.get("/api/jobs").json()["jobs"]) == 3
