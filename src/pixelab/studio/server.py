"""Serving the studio with uvicorn on 127.0.0.1 (``pixelab studio``, and the browser test).

The socket is bound first, so the port is known (``port=0``: any free one) before the app is
made: the app answers only to Host headers naming that port.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Any

from pixelab._core.errors import PixelabError
from pixelab._core.optional import require

#: The address the studio listens on: this computer only.
HOST = "127.0.0.1"


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:``port`` (0: a free port); a clear error when taken.

    It is made with ``proto=IPPROTO_TCP``: asyncio turns Nagle's algorithm off
    (``TCP_NODELAY``) only on connections whose socket says so, and with it on, every answer
    (headers, then body: two writes) waited for the browser's delayed ACK, about 40 ms: more
    than the model takes for a live webcam frame (``benchmarks/bench_studio.py``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((HOST, port))
    except OSError as err:
        sock.close()
        raise PixelabError(f"cannot listen on {HOST}:{port} ({err.strerror})",
                           hint="choose another --port, or --port 0 for any free one") from err  # fmt: skip
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class StudioServer:
    """The app and a uvicorn server on a bound socket; :meth:`run` serves until stopped."""

    def __init__(
        self, project_dir: str | os.PathLike[str], *, port: int = 0, token: str | None = None,
        **options: Any,
    ) -> None:  # fmt: skip
        from pixelab.studio.app import create_app

        uvicorn = require("uvicorn", extra="studio")
        self.socket = bind(port)
        self.port = self.socket.getsockname()[1]
        try:
            self.app = create_app(project_dir, port=self.port, token=token, **options)
        except BaseException:
            self.socket.close()
            raise
        self.token = self.app.state.studio.token
        # a short graceful shutdown: an open event stream would otherwise hold Ctrl-C up
        config = uvicorn.Config(self.app, log_level="warning", ws="none", http="h11",
                                lifespan="off", access_log=False,
                                timeout_graceful_shutdown=3)  # fmt: skip
        self.server = uvicorn.Server(config)

    @property
    def url(self) -> str:
        """The address to open, with the start token."""
        return f"http://{HOST}:{self.port}/?token={self.token}"

    def run(self) -> None:
        """Serve until :meth:`stop` (or Ctrl-C in the main thread)."""
        try:
            self.server.run(sockets=[self.socket])
        finally:
            self.socket.close()
            self.finish_jobs()

    def finish_jobs(self, timeout: float = 120) -> None:
        """Stop a training still running the way Ctrl-C stops the command line, and wait for
        it: a finetuning keeps its checkpoints, a probe leaves no half-written folder."""
        jobs = self.app.state.studio.jobs
        job = jobs.current()
        if job is not None:
            with contextlib.suppress(PixelabError):  # it ended meanwhile
                jobs.cancel(job.id)
        jobs.wait(timeout)

    def stop(self) -> None:
        self.server.should_exit = True
