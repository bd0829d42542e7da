"""The one check every studio route goes through: the Host header, then the start token.

- **Host**: only ``127.0.0.1:PORT`` and ``localhost:PORT`` are answered (400 otherwise). A web
  page on another site that points its own name at 127.0.0.1 (DNS rebinding) sends its own
  name as Host, so it is refused before anything is read.
- **Token**: the random token printed with the URL, as ``?token=`` (the page, images, the event
  stream) or as the ``X-Pixelab-Token`` header (the page's API calls); missing or wrong: 403.
  Another site's page cannot know it, so it cannot drive the studio.

Both are compared in constant time. The dependency is installed once on the whole app
(``FastAPI(dependencies=[...])``), so no route can forget it.
"""

from __future__ import annotations

import secrets

from fastapi import Request

from pixelab.studio.project import StudioError

#: The header the page sends its token in.
TOKEN_HEADER = "X-Pixelab-Token"


def new_token() -> str:
    """A fresh start token (32 random bytes, URL-safe)."""
    return secrets.token_urlsafe(32)


def allowed_hosts(port: int) -> tuple[str, ...]:
    """The Host header values the studio answers on ``port``."""
    return (f"127.0.0.1:{port}", f"localhost:{port}")


def check_request(request: Request) -> None:
    """FastAPI dependency: refuse a foreign Host (400) or a missing or wrong token (403)."""
    settings = request.app.state.studio
    host = request.headers.get("host", "")
    if not any(secrets.compare_digest(host.lower().encode(), h.encode()) for h in settings.hosts):
        raise StudioError(
            f"this studio answers only on {' or '.join(settings.hosts)}, not on host {host!r}",
            status=400,
            hint="open the URL that 'pixelab studio' printed",
        )
    token = request.headers.get(TOKEN_HEADER) or request.query_params.get("token") or ""
    if not token:
        raise StudioError("the studio's start token is missing", status=403,
                          hint="open the URL with ?token=... that 'pixelab studio' printed")  # fmt: skip
    if not secrets.compare_digest(token.encode(), settings.token.encode()):
        raise StudioError("wrong start token", status=403,
                          hint="open the URL with ?token=... that 'pixelab studio' printed")  # fmt: skip
