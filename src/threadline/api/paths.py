"""Ids may contain ``/``: route on the raw path so that ``%2F`` stays inside one segment.

ASGI servers decode ``%2F`` into ``/`` in ``scope["path"]``, which would split an id such as
``a/b`` across two path segments. This middleware re-decodes ``raw_path`` segment by segment and
marks a decoded ``/`` with NUL (which no id may contain); :func:`param` turns it back.
"""

from __future__ import annotations

from urllib.parse import unquote

from starlette.types import ASGIApp, Receive, Scope, Send

SLASH = "\x00"


class RawPathSegments:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path")
        if scope["type"] == "http" and raw and b"%2" in raw:
            text = raw.decode("latin-1").split("?", 1)[0]
            segments = [unquote(s).replace("\x00", "").replace("/", SLASH) for s in text.split("/")]
            scope = {**scope, "path": "/".join(segments)}
        await self.app(scope, receive, send)


def param(value: str) -> str:
    return value.replace(SLASH, "/")
