"""The studio's speed: live webcam predictions and the page's first paint, in a real browser.

    .venv/bin/python benchmarks/bench_studio.py [--frames 50] [--warmup 5] [--loads 7]
        [--size 224 ...] [--out .bench/studio.json]

``pixelab studio`` runs as the user starts it (its own process, on 127.0.0.1, a temporary
project and cache); Debian's Chromium, driven by Playwright, opens the page with its fake webcam
(a moving test pattern, 640 x 480). For each ``--size`` (the model's input side; 224 is the
studio's default):

1. a tiny project (two classes of eight small images) gets one linear probe (transfer learning,
   EfficientNet-Lite0) through the JSON API, as the Train button does;
2. server side alone: the JPEG frame the live view sends for that size (the centre of a
   640 x 480 photo, short side ``ceil(1.15 * size)``) posted ``--frames`` times over HTTP from
   Python, one at a time: the median request, and the medians of the parts the server reports
   in ``Server-Timing`` (reading and checking the upload, decoding, preprocessing, the network);
3. in the browser: Try's Live toggle on, ``--warmup`` frames left out, then the round trips of
   ``--frames`` frames (frame taken from the video -> JPEG -> predict -> bars drawn;
   ``window.pixelabLive.times``) and the server's share of each; median, and predictions per
   second as frames over the seconds they took (one request in flight at a time).

With ``--compare-first-built``, every size is measured twice, in turns on the same machine:
as the live view was first built (the studio's socket with Nagle's algorithm on, so every
answer waited about 40 ms for the browser's delayed ACK; predictions in float32 on torch's
threads) and as it is now (``TCP_NODELAY``; a bf16-trained run predicting under bf16 autocast,
channels-last, on one thread). The server-side JSON's "precision" is the run's; the first
build ignored it and predicted in float32.

Then the page itself: ``--loads`` fresh loads; DOMContentLoaded, first contentful paint (the
Performance API) and "usable" (the classes drawn from the first API answer), medians. The
issue's targets: >= 10 live predictions per second for a transfer model; first paint < 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from _common import cpuinfo, machine
from PIL import Image

from pixelab._core.io import write_json

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]  # fmt: skip
COLOURS = {"red": (200, 40, 40), "blue": (40, 60, 200)}


def _png(colour: tuple[int, int, int], seed: int, size: int = 96) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour) + rng.integers(-20, 21, (size, size, 3)), 0, 255)
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _frame(size: int) -> bytes:
    """What the live view sends: a 4:3 JPEG (quality 85), short side ceil(1.15 * size)."""
    from pixelab.data import photo

    short = min(480, math.ceil(size * 1.15))
    img = Image.fromarray(photo("chelsea")).resize((round(short * 4 / 3), short))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


#: The studio as the live view was first built: Nagle's algorithm on, float32 predictions on
#: torch's threads.
FIRST_BUILT = """
import socket, sys
import pixelab.studio.api.runs as runs
import pixelab.studio.server as server
import pixelab.train.loop as loop

def bind(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((server.HOST, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock

predict_logits = loop.predict_logits
server.bind = bind
runs.PREDICT_THREADS = None
loop.predict_logits = lambda *a, bf16=False, **k: predict_logits(*a, **k)
sys.argv[0] = "pixelab"
from pixelab.cli.main import run
run()
"""


class Studio:
    """``pixelab studio PROJECT --port 0 --no-browser`` in a child process (``first_built``:
    patched back to the first build of the live view)."""

    def __init__(self, project: Path, cache: Path, *, first_built: bool = False) -> None:
        env = {**os.environ, "PIXELAB_CACHE": str(cache)}
        start = ["-c", FIRST_BUILT] if first_built else ["-m", "pixelab"]
        self.proc = subprocess.Popen(
            [sys.executable, *start, "studio", str(project), "--port", "0", "--no-browser"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )  # fmt: skip
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("open http"):
                self.url = line.split()[1]
                break
        else:
            raise RuntimeError("pixelab studio did not print its URL")
        self.base, _, query = self.url.partition("/?")
        self.token = query.removeprefix("token=")

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[Any, dict[str, str]]:  # fmt: skip
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers={"X-Pixelab-Token": self.token, **(headers or {})})  # fmt: skip
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.loads(r.read()), dict(r.headers)

    def post_files(self, path: str, field: str, files: list[tuple[str, bytes]]) -> tuple[Any, dict]:
        boundary = uuid.uuid4().hex
        parts = []
        for name, data in files:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                         f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                         .encode() + data + b"\r\n")  # fmt: skip
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request("POST", path, body,
                            {"Content-Type": f"multipart/form-data; boundary={boundary}"})  # fmt: skip

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)


def train_probe(studio: Studio, size: int) -> str:
    """Two classes of eight images, one probe at ``size``; the run's name."""
    classes = {c["name"] for c in studio.request("GET", "/api/classes")[0]}
    for k, (name, colour) in enumerate(COLOURS.items()):
        if name not in classes:
            studio.request("POST", "/api/classes", json.dumps({"name": name}).encode(),
                           {"Content-Type": "application/json"})  # fmt: skip
            studio.post_files(f"/api/classes/{name}/images", "files",
                              [(f"{name}{i}.png", _png(colour, 100 * k + i)) for i in range(8)])  # fmt: skip
    job, _ = studio.request("POST", "/api/jobs",
                            json.dumps({"mode": "probe", "size": size}).encode(),
                            {"Content-Type": "application/json"})  # fmt: skip
    t0 = time.perf_counter()
    while True:
        state, _ = studio.request("GET", f"/api/jobs/{job['id']}")
        if state["status"] != "running":
            break
        time.sleep(0.2)
    if state["status"] != "done":
        raise RuntimeError(f"training failed: {state}")
    print(f"size {size}: probe trained in {time.perf_counter() - t0:.1f} s "
          f"(accuracy {state['result']['accuracy']})")  # fmt: skip
    return state["run"]


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def server_side(studio: Studio, run: str, size: int, frames: int, warmup: int) -> dict[str, Any]:
    """The predict request alone, from Python: total and the server's own parts (ms)."""
    frame = _frame(size)
    totals, parts = [], []
    for i in range(warmup + frames):
        t0 = time.perf_counter()
        result, _ = studio.post_files(f"/api/runs/{run}/predict", "file", [("frame.jpg", frame)])
        if i >= warmup:
            totals.append(1000 * (time.perf_counter() - t0))
            parts.append(result["timing_ms"])
    out = {"frame_bytes": len(frame), "frame_size": list(Image.open(io.BytesIO(frame)).size),
           "request_ms": _median(totals), "precision": result["precision"],
           **{f"server_{k}_ms": _median([p[k] for p in parts]) for k in parts[0]}}  # fmt: skip
    out["requests_per_second"] = round(1000 / out["request_ms"], 1)
    return out


def in_browser(page: Any, studio: Studio, run: str, frames: int, warmup: int) -> dict[str, Any]:
    """Live round trips in the page: frames over the seconds they took, and medians."""
    page.goto(studio.url)
    page.click('.tab[data-screen="try"]')
    page.wait_for_function(f"[...document.querySelectorAll('#run-select option')]"
                           f".some(o => o.value === {json.dumps(run)})")  # fmt: skip
    page.select_option("#run-select", run)
    page.click("#live-toggle")
    page.wait_for_function(f"window.pixelabLive.count >= {warmup + frames}", timeout=600_000)
    live = page.evaluate("({times: window.pixelabLive.times, server: window.pixelabLive.server,"
                         " done: window.pixelabLive.stamps})")  # fmt: skip
    page.click("#live-toggle")
    times = live["times"][warmup : warmup + frames]
    server = live["server"][warmup : warmup + frames]
    stamps = live["done"][warmup : warmup + frames]
    span = (stamps[-1] - stamps[0]) / 1000
    return {
        "frames": len(times),
        "round_trip_ms": _median(times),
        "round_trip_p90_ms": round(float(np.percentile(times, 90)), 2),
        "server_ms": _median(server),
        "browser_side_ms": _median([t - s for t, s in zip(times, server, strict=True)]),
        "predictions_per_second": round((len(stamps) - 1) / span, 2),
        "predictions_per_second_from_median": round(1000 / statistics.median(times), 2),
    }


def page_load(browser: Any, studio: Studio, loads: int) -> dict[str, Any]:
    """Fresh loads of the page: DOMContentLoaded, first contentful paint, usable (ms)."""
    rows = []
    for _ in range(loads):
        context = browser.new_context(viewport={"width": 1100, "height": 820})
        page = context.new_page()
        page.goto(studio.url)
        page.wait_for_function("document.querySelector('#classes').children.length > 0")
        usable = page.evaluate("performance.now()")
        timing = page.evaluate(
            "(() => { const n = performance.getEntriesByType('navigation')[0];"
            " const p = Object.fromEntries(performance.getEntriesByType('paint')"
            ".map(e => [e.name, e.startTime]));"
            " return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd,"
            " fp: p['first-paint'], fcp: p['first-contentful-paint']}; })()"
        )
        rows.append({**timing, "usable": usable})
        context.close()
    return {f"{k}_ms": _median([r[k] for r in rows if r[k] is not None]) for k in rows[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--loads", type=int, default=7)
    ap.add_argument("--size", type=int, nargs="+", default=[224])
    ap.add_argument("--out", default=".bench/studio.json")
    ap.add_argument("--compare-first-built", action="store_true")
    args = ap.parse_args()
    import torch
    from playwright.sync_api import sync_playwright

    flags = (cpuinfo("flags") or "").split()
    report: dict[str, Any] = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(torch=torch.__version__),
        "avx512": "avx512f" in flags, "avx512_bf16": "avx512_bf16" in flags,
        "load_average_before": os.getloadavg(),
        "frames": args.frames, "warmup": args.warmup, "sizes": {},
    }  # fmt: skip
    builds = ("first_built", "now") if args.compare_first_built else ("now",)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for build in builds:
                studio = Studio(Path(tmp) / build, Path(tmp) / "cache",
                                first_built=build == "first_built")  # fmt: skip
                try:
                    page_times = page_load(browser, studio, args.loads)
                    report.setdefault("page", {})[build] = page_times
                    print(f"{build}: page load", page_times)
                    context = browser.new_context(permissions=["camera"],
                                                  viewport={"width": 1100, "height": 820})  # fmt: skip
                    page = context.new_page()
                    for size in args.size:
                        run = train_probe(studio, size)
                        row = {"server": server_side(studio, run, size, args.frames, args.warmup)}
                        print(f"{build}, size {size}: server side", row["server"])
                        row["browser"] = in_browser(page, studio, run, args.frames, args.warmup)
                        print(f"{build}, size {size}: in the browser", row["browser"])
                        report["sizes"].setdefault(str(size), {})[build] = row
                    context.close()
                finally:
                    studio.stop()
        finally:
            browser.close()
    report["load_average_after"] = os.getloadavg()
    write_json(args.out, report)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
