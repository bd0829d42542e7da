"""``pixelab studio``: the command starts the server on 127.0.0.1 and prints the URL."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request

from tests.cli.test_cli import cli
from tests.studio.helpers import colour_classes, past_epoch, wait_for


def test_help_names_the_options(capsys):
    code, out, _ = cli(capsys, "studio", "--help")
    assert code == 0 and "--no-browser" in out and "--port" in out
    code, out, _ = cli(capsys, "--help")
    assert code == 0 and "studio" in out


def test_the_cli_does_not_import_the_web_framework_for_help():
    # nor numpy or scikit-learn: `pixelab --help` reads option defaults from config classes only
    code = ("import sys; import pixelab.cli.main; "
            "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'torch', 'numpy', "
            "'sklearn') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_port_in_use_is_one_clear_error(capsys, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = cli(capsys, "studio", str(tmp_path / "p"), "--port", str(port),
                           "--no-browser")  # fmt: skip
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err


def _get(url: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_studio_serves_the_project_on_localhost_with_its_token(tmp_path):
    project = tmp_path / "my project"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PIXELAB_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pixelab", "studio", str(project), "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    try:
        url = ""
        while not url:
            line = lines.get(timeout=60)
            if line.startswith("open "):
                url = line.split()[1]
        assert url.startswith("http://127.0.0.1:") and "/?token=" in url
        status, html = _get(url)
        assert status == 200 and "pixelab studio" in html
        base, token = url.split("/?token=")
        status, body = _get(f"{base}/api/project")
        assert status == 403 and "token" in body
        status, body = _get(f"{base}/api/project", **{"X-Pixelab-Token": token})
        assert status == 200 and '"classes":[]' in body
        port = base.rsplit(":", 1)[1]
        status, _ = _get(f"{base}/api/project?token={token}", Host=f"rebound.example:{port}")
        assert status == 400
        assert (project / "images").is_dir() and (project / "studio.sqlite").is_file()
    finally:
        proc.terminate()
        proc.wait(20)
        proc.stdout.close()
        proc.stderr.close()


def test_stopping_the_studio_mid_training_keeps_the_finished_epochs(tmp_path):
    from fastapi.testclient import TestClient

    from pixelab.studio.server import StudioServer
    from pixelab.train.checkpoint import STATE

    server = StudioServer(tmp_path / "p", port=0)
    base = f"http://127.0.0.1:{server.port}"
    try:
        with TestClient(server.app, base_url=base, headers={"X-Pixelab-Token": server.token}) as c:
            colour_classes(c)
            job = c.post("/api/jobs", json={"mode": "finetune", "size": 32, "epochs": 500}).json()
            wait_for(c, job["id"], past_epoch(2))
            server.finish_jobs()  # what Ctrl-C on 'pixelab studio' does once the server stops
            state = c.get(f"/api/jobs/{job['id']}").json()
        assert state["status"] == "cancelled" and "--resume" in state["message"]
        run = tmp_path / "p" / "runs" / job["run"]
        assert (run / STATE).is_file() and not (run / "metrics.json").exists()
    finally:
        server.socket.close()


def test_every_connection_sends_at_once_with_nagle_off(tmp_path):
    """TCP_NODELAY on each connection: with Nagle's algorithm on, every answer's body (a second
    write after the headers) waited about 40 ms for the browser's delayed ACK, which the live
    webcam view measured as 40 ms of its round trip."""
    import http.client
    import time

    from pixelab.studio.server import StudioServer

    server = StudioServer(tmp_path / "p", port=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        end = time.monotonic() + 30
        while not server.server.started and time.monotonic() < end:
            time.sleep(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            conn.request("GET", "/api/project", headers={"X-Pixelab-Token": server.token})
            assert b'"classes":[]' in conn.getresponse().read()
            (protocol,) = server.server.server_state.connections  # kept alive: still open
            sock = protocol.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            conn.close()
    finally:
        server.stop()
        thread.join(30)
    assert not thread.is_alive()
