"""The studio end to end in a real browser: Debian's Chromium driven by Playwright.

Gather (two classes, eight images each), train with the button, drop a new image on Try and
read the right class on the page. Screenshots of the three screens are written to
``$PIXELAB_STUDIO_SCREENSHOTS`` (the README's are made with ``PIXELAB_STUDIO_SCREENSHOTS=docs/studio``)
or else to the test's temporary folder.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from pathlib import Path

import pytest

from tests.studio.helpers import COLOURS, class_images, png

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"Debian's Chromium is not installed at {CHROMIUM} (`make test` installs it: "
    "apt-get install chromium)",
)

#: Drops a PNG (base64) on an element as a person dragging a file would.
DROP = """([selector, b64, name]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type: "image/png" }));
  const target = document.querySelector(selector);
  target.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
  target.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
}"""


@pytest.fixture
def server(tmp_path):
    from pixelab.studio.server import StudioServer

    studio = StudioServer(tmp_path / "project", port=0)
    thread = threading.Thread(target=studio.run, daemon=True)
    thread.start()
    end = time.monotonic() + 30
    while not studio.server.started and time.monotonic() < end:
        time.sleep(0.05)
    assert studio.server.started
    yield studio
    studio.app.state.studio.jobs.wait(120)
    studio.stop()
    thread.join(30)
    assert not thread.is_alive()


def test_gather_train_and_try_in_a_real_browser(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("PIXELAB_STUDIO_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 820})
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.goto(server.url)
            expect(page.locator("#classes")).to_contain_text("No classes yet")

            # gather: two classes, eight images each, chosen as a person would
            for name in COLOURS:
                page.fill("#new-class", name)
                page.click("#add-class")
                card = page.locator(f'.class-card[data-class="{name}"]')
                expect(card).to_be_visible()
                files = [{"name": f, "mimeType": "image/png", "buffer": data}
                         for f, data in class_images(name)]  # fmt: skip
                card.locator("input.upload").set_input_files(files)
                card = page.locator(f'.class-card[data-class="{name}"]')
                expect(card.locator(".count")).to_have_text("8 images")
                expect(card.locator(".thumb img")).to_have_count(8)
            loaded = "[...document.querySelectorAll('.thumb img')].map(i => i.naturalWidth)"
            page.wait_for_function(f"{loaded}.every(w => w > 0)")  # every thumbnail shows
            assert len(page.evaluate(loaded)) == 16
            page.screenshot(path=shots / "gather.png", full_page=True)
            page.fill("#new-class", "../escape")
            page.click("#add-class")
            expect(page.locator("#error")).to_contain_text("may not contain")
            page.fill("#new-class", "")

            # train: one button, progress by server-sent events, scores when done
            page.click('.tab[data-screen="train"]')
            expect(page.locator("#epochs")).to_be_hidden()  # a probe has no epochs
            page.select_option("#size", "64")
            page.click("#train-button")
            expect(page.locator("#accuracy")).to_have_text("100.0 %", timeout=120_000)
            expect(page.locator("#per-class tbody tr")).to_have_count(2)
            expect(page.locator("#status")).to_have_attribute("data-status", "done")
            expect(page.locator("#runs tbody tr")).to_have_count(1)
            expect(page.locator("#error")).to_be_hidden()  # the next good request cleared it
            page.screenshot(path=shots / "train.png", full_page=True)

            # try: drop a new image, read the prediction and its confidence bars
            page.click('.tab[data-screen="try"]')
            expect(page.locator("#run-select option")).to_have_count(1)
            for colour in ("blue", "red"):
                image = base64.b64encode(png(COLOURS[colour], seed=7, size=80)).decode()
                page.evaluate(DROP, ["#try-drop", image, f"new-{colour}.png"])
                expect(page.locator(".pred.top .label")).to_have_text(colour)
            expect(page.locator(".pred")).to_have_count(2)
            width = page.locator(".pred.top .bar span").evaluate("e => e.style.width")
            assert float(width.rstrip("%")) > 50
            page.screenshot(path=shots / "try.png", full_page=True)
            assert errors == []
        finally:
            browser.close()
    for name in ("gather", "train", "try"):
        assert (shots / f"{name}.png").stat().st_size > 5_000
