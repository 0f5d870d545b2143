"""Bad input gets a 4xx with a JSON error naming the problem; never a 500 or a half write."""

from __future__ import annotations

import httpx
import pytest


def error(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"type", "message"} <= set(body["error"]), body
    return body["error"]  # type: ignore[no-any-return]


def test_malformed_json_is_400(http: httpx.Client) -> None:
    response = http.post(
        "/v1/threads", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert error(response)["type"] == "bad_request"
    response = http.post("/v1/steps/batch", content=b"")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/threads", {"name": 5}, "name"),
        ("/v1/threads", {"metadata": []}, "metadata"),
        ("/v1/threads", {"tags": "x"}, "tags"),
        ("/v1/threads", {"status": "sleeping"}, "status"),
        ("/v1/threads", {"unknown_field": 1}, "unknown_field"),
        ("/v1/threads", {"id": ""}, "id"),
        ("/v1/steps", {"type": "bogus"}, "type"),
        ("/v1/steps", {"start_time": "not a time"}, "start_time"),
        (
            "/v1/steps",
            {"generation": {"type": "chat", "token_count": -1}},
            "generation.token_count",
        ),
        ("/v1/participants", {"metadata": {}}, "identifier"),
        ("/v1/threads/search", {"first": 0}, "first"),
        ("/v1/threads/search", {"limit": 1001}, "limit"),
        ("/v1/threads/search", {"metadata": "x"}, "metadata"),
        ("/v1/threads/search", {"after": "garbage!"}, "after"),
        (
            "/v1/threads/search",
            {"order_by": {"column": "createdAt", "direction": "up"}},
            "order_by.direction",
        ),
    ],
)
def test_wrong_values_are_422_naming_the_field(
    http: httpx.Client, path: str, body: dict[str, object], field: str
) -> None:
    response = http.post(path, json=body)
    assert response.status_code == 422, response.text
    assert error(response)["field"] == field


def test_bad_query_parameters(http: httpx.Client) -> None:
    for params, field in (
        ({"limit": "ten"}, "limit"),
        ({"metadata": "{not json"}, "metadata"),
        ({"include_total": "maybe"}, "include_total"),
    ):
        response = http.get("/v1/threads", params=params)
        assert response.status_code == 400, response.text
        assert error(response)["field"] == field
    response = http.get("/v1/threads", params={"filters": '[{"field": "nope", "operator": "eq"}]'})
    assert response.status_code == 422
    assert error(response)["field"] == "filters[0].field"


def test_unknown_ids_are_404(http: httpx.Client) -> None:
    for method, path in (
        ("GET", "/v1/threads/missing"),
        ("PATCH", "/v1/threads/missing"),
        ("DELETE", "/v1/threads/missing"),
        ("GET", "/v1/steps/missing"),
        ("PATCH", "/v1/steps/missing"),
        ("DELETE", "/v1/steps/missing"),
        ("GET", "/v1/participants/missing"),
        ("PATCH", "/v1/participants/missing"),
        ("DELETE", "/v1/participants/missing"),
        ("GET", "/v1/participants/by-identifier/missing"),
        ("DELETE", "/v1/keys/missing"),
        ("GET", "/v1/no-such-endpoint"),
    ):
        response = http.request(method, path, json={} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path, response.text)
        assert error(response)["type"] == "not_found"


def test_wrong_method_is_405_json(http: httpx.Client) -> None:
    response = http.put("/v1/threads")
    assert response.status_code == 405
    assert error(response)["type"] == "method_not_allowed"


def test_oversize_body_is_413(http: httpx.Client) -> None:
    big = b'{"name": "' + b"x" * (65 * 1024 * 1024) + b'"}'
    response = http.post("/v1/threads", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert error(response)["type"] == "payload_too_large"
    assert http.post("/v1/threads/count", json={}).json() == {"count": 0}, "nothing was written"


def test_values_the_database_cannot_store_are_4xx(http: httpx.Client) -> None:
    # PostgreSQL rejects NUL in text and jsonb; SQLite stores it. Either way: no 500.
    response = http.post(
        "/v1/threads", json={"name": "nul\u0000byte", "metadata": {"k": "a\u0000b"}}
    )
    assert response.status_code in (201, 422), response.text
    response = http.post("/v1/threads", json={"environment": "e" * 101})
    assert response.status_code in (201, 422), response.text


BIG = 383921718338103668344094720  # 27 digits: beyond what the JSON encoder or a column holds


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/v1/threads", {"metadata": {"k": [1, {"x": BIG}]}}, "metadata.k[1].x"),
        (
            "POST",
            "/v1/steps/batch",
            {"steps": [{"id": "s1", "thread_id": "t-big", "type": "run", "output": {"n": -BIG}}]},
            "steps[0].output.n",
        ),
        ("POST", "/v1/steps/search", {"offset": BIG}, "offset"),
        # these fit a JSON value, not a SQL bigint
        ("POST", "/v1/threads/search", {"offset": 2**63}, "offset"),
        ("POST", "/v1/generations/search", {"offset": 2**64 - 1}, "offset"),
        (
            "PUT",
            "/v1/prompts/by-name/p/rollouts",
            {"rollouts": [{"version": 2**63, "percentage": 100}]},
            "rollouts[0].version",
        ),
    ],
)
def test_integers_beyond_64_bits_are_422_naming_the_field(
    http: httpx.Client, method: str, path: str, body: dict[str, object], field: str
) -> None:
    response = http.request(method, path, json=body)
    assert response.status_code == 422, response.text
    assert error(response)["field"] == field
    assert http.post("/v1/threads/count", json={}).json() == {"count": 0}, "nothing was written"


def test_integers_beyond_64_bits_in_query_parameters_are_422(http: httpx.Client) -> None:
    for params, field in (
        ({"offset": str(BIG)}, "offset"),
        ({"metadata": f'{{"n": {BIG}}}'}, "metadata.n"),
    ):
        response = http.get("/v1/threads", params=params)
        assert response.status_code == 422, response.text
        assert error(response)["field"] == field


def test_the_largest_64_bit_integers_and_long_digit_strings_are_kept(http: httpx.Client) -> None:
    metadata = {
        "max": 2**63 - 1,
        "min": -(2**63),
        "u64": 2**64 - 1,
        "digits": "1234567890123456789012345",
    }
    created = http.post("/v1/threads", json={"metadata": metadata})
    assert created.status_code == 201, created.text
    got = http.get(f"/v1/threads/{created.json()['id']}").json()
    assert got["metadata"] == metadata


def test_prompt_settings_with_huge_integral_floats(http: httpx.Client) -> None:
    body = {
        "name": "huge",
        "template_messages": [{"role": "user", "content": "hi"}],
        "settings": {"cap": 1e300},
    }
    first = http.post("/v1/prompts/get-or-create", json=body)
    assert first.status_code in (200, 201), first.text
    again = http.post("/v1/prompts/get-or-create", json=body)
    assert again.json()["id"] == first.json()["id"], "the same content is the same version"
