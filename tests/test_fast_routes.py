"""The API's direct route table (``api/fast_routes.py``) picks the endpoint Starlette would."""

from __future__ import annotations

from typing import Any

from starlette.routing import Match, Mount, Route

from threadline.api.app import create_app
from threadline.api.fast_routes import FastRoutes
from threadline.settings import Settings


def starlette_endpoint(routes: list[Any], scope: dict[str, Any]) -> Any:
    """The endpoint Starlette's router gives a full match for ``scope`` (None if none)."""
    for route in routes:
        match, child = route.matches(scope)
        if match is not Match.FULL:
            continue
        if isinstance(route, Mount):
            return starlette_endpoint(route.routes, {**scope, **child})
        return route.endpoint
    return None


def fast_table(app: Any) -> FastRoutes:
    middleware = [m for m in app.user_middleware if m.cls is FastRoutes]
    assert len(middleware) == 1
    return FastRoutes(app=app, **middleware[0].kwargs)


def concrete(path: str) -> str:
    return "/".join(f"id-{i}" if p.startswith("{") else p for i, p in enumerate(path.split("/")))


def test_every_api_route_resolves_to_starlettes_endpoint(tmp_path: Any) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    table = fast_table(app)
    checked = 0
    for top in app.routes:
        nested = [(top.path, r) for r in top.routes] if isinstance(top, Mount) else [("", top)]
        for prefix, route in nested:
            if not isinstance(route, Route):
                continue
            path = concrete(prefix + route.path)
            for method in sorted(route.methods or ()):
                scope = {"type": "http", "method": method, "path": path, "root_path": ""}
                expected = starlette_endpoint(app.routes, scope)
                found = table.match(method, path)
                if found is None:  # left to Starlette: only routes outside the API's own
                    assert prefix != "/v1" and not route.path.startswith("/threads"), path
                    continue
                assert found[0] is expected, (method, path)
                checked += 1
    assert checked > 100


def test_literal_segments_win_in_route_order_and_params_are_taken(tmp_path: Any) -> None:
    table = fast_table(create_app(Settings(data_dir=tmp_path)))
    search = table.match("POST", "/threads/search")
    assert search is not None and search[1] == {}
    state = table.match("GET", "/threads/t-1/state/c-9")
    assert state is not None and state[1] == {"thread_id": "t-1", "checkpoint_id": "c-9"}
    assert table.match("GET", "/v1/threads/") is None  # an empty id: Starlette's to answer
    assert table.match("GET", "/v1/nothing-here") is None
