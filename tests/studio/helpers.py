"""Helpers of the studio tests: tiny images, a client per app, waiting for a job."""

from __future__ import annotations

import io

import numpy as np

#: The port the test apps answer on (TestClient sends Host 127.0.0.1:PORT; nothing listens).
PORT = 8765
TOKEN = "test-token-0123456789"
#: Two classes that a pretrained network tells apart at a glance.
COLOURS = {"red": (200, 40, 40), "blue": (40, 60, 200)}


def png(colour: tuple[int, int, int], *, seed: int = 0, size: int = 32, fmt: str = "PNG") -> bytes:
    """A small image of one colour with a little noise (so every file differs)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour) + rng.integers(-20, 21, (size, size, 3)), 0, 255)
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


def class_images(name: str, n: int = 8) -> list[tuple[str, bytes]]:
    return [(f"{name}{i}.png", png(COLOURS[name], seed=i + 100 * len(name))) for i in range(n)]


def make_client(project, **options):
    """A TestClient of a studio app on ``project``, sending the token as the page does."""
    from fastapi.testclient import TestClient

    from pixelab.studio.app import create_app

    app = create_app(project, port=PORT, token=TOKEN, **options)
    return TestClient(app, base_url=f"http://127.0.0.1:{PORT}",
                      headers={"X-Pixelab-Token": TOKEN})  # fmt: skip


def upload(client, name: str, files: list[tuple[str, bytes]]):
    return client.post(f"/api/classes/{name}/images",
                       files=[("files", (f, data, "image/png")) for f, data in files])  # fmt: skip


def colour_classes(client) -> None:
    """The classes of :data:`COLOURS`, eight images each, added through the API."""
    for name in COLOURS:
        assert client.post("/api/classes", json={"name": name}).status_code == 201
        assert upload(client, name, class_images(name)).status_code == 201


def wait_for(client, job_id: str, until, timeout: float = 120.0) -> dict:
    """Poll a job until ``until(state)`` holds (or it stopped running); return the state."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        state = client.get(f"/api/jobs/{job_id}").json()
        if until(state) or state["status"] != "running":
            return state
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {state} after {timeout} s")


def past_epoch(n: int):
    """A ``wait_for`` condition: the job is training epoch ``n`` or a later one."""

    def until(state: dict) -> bool:
        task = state["task"]
        return task.startswith("epoch ") and int(task.split()[1].split("/")[0]) >= n

    return until
