"""Dispatch the API's own routes without Starlette's per-request routing layers.

Starlette finds a route by trying each one's regex in turn, through a Mount and a second list,
and wraps the endpoint in three layers of exception handling on the way: a third of a thread
create's time in the event loop here, more than the create's own handler. The API's endpoints
(``make_route``'s and the LangGraph surface's) already turn every exception into a response, so
this middleware looks their routes up in a table by method and segment count and calls the
endpoint directly. Everything else (a path or method no route here takes, ``HEAD`` of a route
without ``GET``, a trailing slash) goes on to Starlette, which answers as it always has.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class _Pattern:
    """A route path split into segments: a literal segment, or None for a ``{name}``."""

    segments: tuple[str | None, ...]
    names: tuple[str, ...]
    endpoint: Endpoint


def _pattern(path: str, endpoint: Endpoint) -> _Pattern | None:
    segments: list[str | None] = []
    names: list[str] = []
    for part in path.split("/"):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            if ":" in name:  # a typed convertor (e.g. {path:path}): left to Starlette
                return None
            segments.append(None)
            names.append(name)
        elif "{" in part:
            return None
        else:
            segments.append(part)
    return _Pattern(tuple(segments), tuple(names), endpoint)


class FastRoutes:
    """ASGI middleware: the given routes (full paths; plain endpoint functions that never
    raise) matched in their order, the first full match winning, as Starlette does."""

    def __init__(self, app: ASGIApp, routes: Sequence[tuple[str, Route]]) -> None:
        self.app = app
        self.table: dict[tuple[str, int], list[_Pattern]] = {}
        for path, route in routes:
            pattern = _pattern(path, route.endpoint)
            if pattern is None:
                continue
            for method in route.methods or ():
                key = (method, len(pattern.segments))
                self.table.setdefault(key, []).append(pattern)

    def match(self, method: str, path: str) -> tuple[Endpoint, dict[str, str]] | None:
        parts = path.split("/")
        for pattern in self.table.get((method, len(parts)), ()):
            params: dict[str, str] = {}
            names = iter(pattern.names)
            for want, got in zip(pattern.segments, parts, strict=True):
                if want is None:
                    if not got:
                        break
                    params[next(names)] = got
                elif want != got:
                    break
            else:
                return pattern.endpoint, params
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path, root = scope["path"], scope.get("root_path", "")
            if root and path.startswith(root):  # as Starlette routes under a root path
                path = path[len(root) :]
            found = self.match(scope["method"], path)
            if found is not None:
                endpoint, params = found
                scope["path_params"] = params
                response = await endpoint(Request(scope, receive, send))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
