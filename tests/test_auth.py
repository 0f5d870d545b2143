"""Every endpoint needs a valid key, and no key ever reaches another project's rows."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import Server, Tenant, new_tenant
from threadline import AuthenticationError, Client, NotFoundError
from threadline.api.app import endpoints
from threadline.storage.database import Database

ROUTES = [(ep.method, ep.path) for ep in endpoints() if not ep.public]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "some-id", path)


def test_routes_were_collected() -> None:
    assert len(ROUTES) >= 25


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-api-key": "wrong-key-0123456789"},
        {"authorization": "Bearer wrong-key-0123456789"},
        {"authorization": "Basic abc"},
    ],
    ids=["missing", "wrong", "wrong-bearer", "not-bearer"],
)
def test_every_endpoint_rejects_missing_or_wrong_key(
    server: Server, headers: dict[str, str]
) -> None:
    with httpx.Client(base_url=server.url, headers=headers) as http:
        for method, path in ROUTES:
            response = http.request(method, concrete(path), json={})
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["error"]["type"] == "unauthorized"


def test_bearer_and_header_both_work(server: Server, tenant: Tenant) -> None:
    for headers in ({"x-api-key": tenant.api_key}, {"authorization": f"Bearer {tenant.api_key}"}):
        response = httpx.get(server.url + "/v1/project", headers=headers)
        assert response.status_code == 200
        assert response.json()["id"] == tenant.project_id


def test_health_and_openapi_are_public(server: Server) -> None:
    assert httpx.get(server.url + "/health").json()["status"] == "ok"
    spec = httpx.get(server.url + "/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert set(ROUTES) <= documented
    assert "ThreadCreate" in spec["components"]["schemas"]


def test_openapi_declares_every_success_status(server: Server, http: httpx.Client) -> None:
    """Get-or-create and upsert answer 201 when they create and 200 when they find: both are in
    the spec, so a client generated from it accepts either."""
    spec = httpx.get(server.url + "/openapi.json").json()
    seen = []
    for method, path, body in (
        ("POST", "/v1/participants/get-or-create", {"identifier": "someone"}),
        ("PUT", "/v1/threads/{thread_id}", {"name": "t"}),
        ("POST", "/v1/prompts/lineages", {"name": "lineage"}),
    ):
        for _ in range(2):
            answer = http.request(method, concrete(path), json=body)
            seen.append(answer.status_code)
            assert str(answer.status_code) in spec["paths"][path][method.lower()]["responses"]
    assert seen == [201, 200] * 3


async def test_projects_never_see_each_other(server: Server, tenant: Tenant, db: Database) -> None:
    other = await new_tenant(db)
    with Client(server.url, tenant.api_key) as mine, Client(server.url, other.api_key) as theirs:
        thread = mine.threads.create(
            id="shared-id", metadata={"secret": True}, participant_identifier="p"
        )
        step = mine.steps.create(id="shared-step", thread_id=thread.id, output={"x": 1})
        user = mine.users.get_by_identifier("p")

        with pytest.raises(NotFoundError):
            theirs.threads.get(thread.id)
        with pytest.raises(NotFoundError):
            theirs.steps.get(step.id)
        with pytest.raises(NotFoundError):
            theirs.users.get(user.id)
        with pytest.raises(NotFoundError):
            theirs.users.get_by_identifier("p")
        with pytest.raises(NotFoundError):
            theirs.threads.update(thread.id, name="hijack")
        with pytest.raises(NotFoundError):
            theirs.threads.delete(thread.id)
        with pytest.raises(NotFoundError):
            theirs.steps.delete(step.id)
        assert theirs.threads.list().data == []
        assert theirs.threads.count(metadata={"secret": True}) == 0
        assert theirs.steps.list().data == []
        assert theirs.users.list().data == []
        assert theirs.threads.export().data == []
        assert all(k.project_id == other.project_id for k in theirs.keys.list())

        # the same ids are free in the other project and stay separate
        theirs.threads.create(id="shared-id", name="theirs")
        theirs.steps.ingest([{"id": "shared-step", "thread_id": "shared-id", "name": "theirs"}])
        assert mine.threads.get("shared-id").name is None
        assert mine.steps.get("shared-step").name is None
        assert mine.threads.get("shared-id").metadata == {"secret": True}


def test_keys_api_create_and_revoke(server: Server, client: Client) -> None:
    created = client.keys.create(name="ci")
    assert created.key and created.prefix == created.key[:10]
    with Client(server.url, created.key) as second:
        assert second.project().id == client.project().id
        client.keys.revoke(created.id)
    listed = {k.id: k for k in client.keys.list()}
    assert listed[created.id].revoked_at is not None
    import time

    time.sleep(5.5)  # the server trusts a checked key for key_cache_seconds (5 s by default)
    with (
        Client(server.url, created.key, max_retries=0) as revoked,
        pytest.raises(AuthenticationError),
    ):
        revoked.threads.list()
