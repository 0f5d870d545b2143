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
from operator import itemgetter
from typing import Any

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

    @property
    def literal_positions(self) -> tuple[int, ...]:
        return tuple(i for i, segment in enumerate(self.segments) if segment is not None)

    @property
    def param_positions(self) -> tuple[int, ...]:
        return tuple(i for i, segment in enumerate(self.segments) if segment is None)


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


#: a candidate: its position in the route order, the pattern, where its parameters are
_Candidate = tuple[int, _Pattern, tuple[int, ...]]


class _Group:
    """The patterns of one method and segment count, indexed by their literal segments: one
    dict lookup per distinct set of literal positions (a few) instead of a comparison per
    route (23 for a four-segment POST: 17 µs to find ``/threads/{id}/state``)."""

    def __init__(self, patterns: Sequence[_Pattern]) -> None:
        shapes: dict[tuple[int, ...], dict[Any, list[_Candidate]]] = {}
        for order, pattern in enumerate(patterns):
            where = pattern.literal_positions  # never empty: a path's first segment is ""
            literals = itemgetter(*where)(pattern.segments)  # a str when there is one
            by_literals = shapes.setdefault(where, {})
            by_literals.setdefault(literals, []).append((order, pattern, pattern.param_positions))
        # shapes in the order of their first route: a match ends the search for later ones
        self.shapes = sorted(
            (min(c[0] for found in by.values() for c in found), itemgetter(*where), by)
            for where, by in shapes.items()
        )

    def match(self, parts: list[str]) -> _Candidate | None:
        best: _Candidate | None = None
        for first, literals_of, by_literals in self.shapes:
            if best is not None and first > best[0]:
                break
            for candidate in by_literals.get(literals_of(parts), ()):
                if best is not None and candidate[0] > best[0]:
                    break
                if all(parts[i] for i in candidate[2]):  # a parameter is never empty
                    best = candidate
                    break
        return best


class FastRoutes:
    """ASGI middleware: the given routes (full paths; plain endpoint functions that never
    raise) matched in their order, the first full match winning, as Starlette does."""

    def __init__(self, app: ASGIApp, routes: Sequence[tuple[str, Route]]) -> None:
        self.app = app
        patterns: dict[tuple[str, int], list[_Pattern]] = {}
        for path, route in routes:
            pattern = _pattern(path, route.endpoint)
            if pattern is None:
                continue
            for method in route.methods or ():
                patterns.setdefault((method, len(pattern.segments)), []).append(pattern)
        self.table = {key: _Group(group) for key, group in patterns.items()}

    def match(self, method: str, path: str) -> tuple[Endpoint, dict[str, str]] | None:
        parts = path.split("/")
        group = self.table.get((method, len(parts)))
        found = group.match(parts) if group is not None else None
        if found is None:
            return None
        _, pattern, where = found
        return pattern.endpoint, {
            name: parts[i] for name, i in zip(pattern.names, where, strict=True)
        }

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
