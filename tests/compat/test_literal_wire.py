"""Literal AI's wire protocol at the HTTP level: a Chainlit-shaped traffic replay from the captured
requests, the SDK's gotchas (shared/reference/literalai-wire.md), errors as the SDK surfaces them,
project scoping, and the native API reading the same rows.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.compat.literal import CHAINLIT_TRAFFIC
from tests.conftest import Database, Server, Tenant, new_tenant
from threadline import Client

HEADERS = {"x-client-name": "py-literal-client", "x-client-version": "0.1.300"}


@pytest.fixture
def gql(server: Server, tenant: Tenant) -> Any:
    def post(query: str, variables: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        headers = {**HEADERS, "x-api-key": tenant.api_key, **kw.pop("headers", {})}
        return httpx.post(
            server.url + "/api/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers,
            timeout=30,
        )

    return post


def test_chainlit_traffic_replay(server: Server, tenant: Tenant, literal: Any) -> None:
    """Chainlit's data layer calls, as captured, in order; ids the capture made up are replaced
    by real ones (a user, an uploaded file, the score the replay creates)."""
    user = literal.api.create_user("chainlit-user")
    upload = httpx.post(
        server.url + "/api/upload/file",
        json={"fileName": str(uuid.uuid4()), "contentType": "application/pdf"},
        headers={"x-api-key": tenant.api_key},
    ).json()
    put = upload["put"]
    assert httpx.put(put["url"], content=b"%PDF-1.4", headers=put["headers"]).status_code < 300
    swaps = {"user-1": user.id, "cl-thread-1/abc": put["fields"]["key"]}
    traffic = json.loads(CHAINLIT_TRAFFIC.read_text())["requests"]
    for captured in traffic:
        text = json.dumps(captured["json"])
        for old, new in swaps.items():
            text = text.replace(json.dumps(old), json.dumps(new))
        headers = {**HEADERS, "x-api-key": tenant.api_key}
        response = httpx.post(server.url + captured["path"], content=text, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        assert set(body["data"]) == set(captured["response"]["data"])
        if "createScore" in body["data"]:
            swaps["score-1"] = body["data"]["createScore"]["id"]

    # the same list query now finds the thread: participant, step output and feedback match
    listing = next(r for r in traffic if "listThreads" in r["json"]["query"])
    text = json.dumps(listing["json"]).replace('"user-1"', json.dumps(user.id))
    body = httpx.post(
        server.url + "/api/graphql",
        content=text,
        headers={**HEADERS, "x-api-key": tenant.api_key},
    ).json()
    # the replayed UpdateScore set the feedback to 0, so the filter on 1 finds nothing...
    assert body["data"]["threads"]["edges"] == []
    variables = listing["json"]["variables"]
    variables["filters"][0]["value"] = user.id
    variables["filters"][2]["value"] = 0
    body = httpx.post(
        server.url + "/api/graphql",
        json={"query": listing["json"]["query"], "variables": variables},
        headers={**HEADERS, "x-api-key": tenant.api_key},
    ).json()
    # ... and on 0 finds it, with Chainlit's fields
    (edge,) = body["data"]["threads"]["edges"]
    node = edge["node"]
    assert node["id"] == "cl-thread-1" and node["name"] == "New chat"
    assert node["participant"] == {"identifier": "chainlit-user", "id": user.id}
    assert node["metadata"] == {"chat_profile": "x"} and node["tokenCount"] == 0

    thread = literal.api.get_thread("cl-thread-1")
    (step,) = thread.steps
    assert step.output == {"content": "Hello from Chainlit"} and step.name == "Assistant"
    (element,) = step.attachments  # the partial upsert added the file, kept the step
    assert element.name == "report.pdf" and element.object_key == put["fields"]["key"]
    assert httpx.get(element.url).content == b"%PDF-1.4"  # a browser fetches it without a key
    (score,) = step.scores
    assert (score.name, score.value, score.comment) == ("user-feedback", 0, "better")


def test_empty_create_scores_document(gql: Any) -> None:
    response = gql("mutation CreateScores() { }")
    assert response.status_code == 200 and response.json() == {"data": {}}


def test_never_null_fields(gql: Any, literal: Any) -> None:
    made = gql(
        "mutation CreateUser($identifier: String!, $metadata: Json) {"
        " createParticipant(identifier: $identifier, metadata: $metadata) { id metadata } }",
        {"identifier": "nometa", "metadata": None},
    ).json()["data"]["createParticipant"]
    assert made["metadata"] == {}
    assert literal.api.get_user(id=made["id"]).metadata == {}
    page = gql("query { threads { pageInfo { hasNextPage } totalCount edges { cursor } } }")
    assert page.json()["data"]["threads"]["pageInfo"]["hasNextPage"] is False
    thread = literal.api.create_thread(name="n")
    step = literal.api.create_step(thread_id=thread.id, type="llm")
    literal.api.send_steps(
        [{"id": step.id, "generation": {"model": "m", "messages": [], "type": "CHAT"}}]
    )
    gen = gql(
        "query S($id: String!) { step(id: $id) { generation { type tokenCount } metadata tags } }",
        {"id": step.id},
    ).json()["data"]["step"]
    assert gen == {"generation": {"type": "CHAT", "tokenCount": None}, "metadata": {}, "tags": []}


def test_undeclared_variables_are_ignored(gql: Any, literal: Any) -> None:
    # create_step sends root_run_id, create_attachment threadId and id: undeclared, dropped
    thread = literal.api.create_thread(name="vars")
    step = literal.api.create_step(thread_id=thread.id, root_run_id="whatever")
    attachment = literal.api.create_attachment(
        thread_id="not-used", step_id=step.id, id="dropped", name="a", url="https://x.test/a"
    )
    assert attachment.thread_id == thread.id and attachment.id != "dropped"


def test_errors_fail_the_call_and_never_come_with_data(gql: Any, literal: Any) -> None:
    thread = literal.api.create_thread(name="x")
    both = gql(
        "query Q($id: String!, $f: [stepsInputType!]) {"
        " threadDetail(id: $id) { id } steps(filters: $f) { totalCount } }",
        {"id": thread.id, "f": [{"field": "nope", "operator": "eq", "value": 1}]},
    )
    assert both.status_code == 200
    body = both.json()
    assert body["data"] is None and "nope" in body["errors"][0]["message"]

    with pytest.raises(Exception, match="operator 'gt' is not valid for 'name'"):
        literal.api.get_steps(filters=[{"field": "name", "operator": "gt", "value": "a"}])
    with pytest.raises(Exception, match="thread 'missing-thread' not found"):
        literal.api.update_thread("missing-thread", name="x")
    with pytest.raises(Exception, match="Failed to update score"):
        literal.api.update_score("missing", {"comment": "no value"})  # $value: Float! (gotcha 5)

    invalid = gql("query { nosuchfield }")
    assert invalid.status_code == 400 and invalid.json()["errors"]
    assert gql("{").status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"query": 3}',
        b'{"query": "{ threads { totalCount } }", "variables": 1}',
    ],
)
def test_malformed_requests_are_400(server: Server, tenant: Tenant, body: bytes) -> None:
    response = httpx.post(
        server.url + "/api/graphql", content=body, headers={"x-api-key": tenant.api_key}
    )
    assert response.status_code == 400 and response.json()["errors"]


def test_a_bad_step_fails_the_whole_batch(literal: Any) -> None:
    thread_id = str(uuid.uuid4())
    batch = [
        {"id": "good", "threadId": thread_id, "type": "run"},
        {
            "id": "bad",
            "threadId": thread_id,
            "scores": [{"name": "s", "type": "AI", "value": 1, "stepId": "no-such-step"}],
        },
    ]
    with pytest.raises(Exception, match="step 'no-such-step' does not exist"):
        literal.api.send_steps(batch)
    assert literal.api.get_thread(thread_id) is None  # one transaction: nothing was written


def test_api_key_decides_the_project(server: Server, tenant: Tenant, literal: Any) -> None:
    from tests.compat.literal import LiteralClient

    thread = literal.api.create_thread(name="mine")
    stranger = LiteralClient(api_key="tl_" + "x" * 40, url=server.url)
    try:
        with pytest.raises(Exception, match="Failed to get thread"):
            stranger.api.get_thread(thread.id)
        response = httpx.post(server.url + "/api/my-project", json={})
        assert response.status_code == 401
    finally:
        stranger.flush_and_stop()


async def test_other_projects_see_nothing(server: Server, db: Database, literal: Any) -> None:
    from tests.compat.literal import LiteralClient

    thread = literal.api.create_thread(name="private")
    other = await new_tenant(db)
    client = LiteralClient(api_key=other.api_key, url=server.url)
    try:
        assert client.api.get_thread(thread.id) is None
        assert client.api.get_threads().data == []
        assert client.api.delete_thread(thread.id) is False
    finally:
        client.flush_and_stop()
    assert literal.api.get_thread(thread.id) is not None


def test_native_api_reads_the_same_rows(literal: Any, client: Client) -> None:
    with literal.thread(name="shared", metadata={"from": "literal"}) as thread:
        literal.message(content="hello", type="user_message", name="u")
    literal.flush()
    native = client.threads.get(thread.id)
    assert native.name == "shared" and native.metadata == {"from": "literal"}
    assert [(s.type, s.output) for s in native.steps or []] == [
        ("user_message", {"content": "hello"})
    ]
    made = client.threads.create(name="from native", tags=["n"])
    assert literal.api.get_thread(made.id).tags == ["n"]


def test_export_dataset_and_my_project(server: Server, tenant: Tenant) -> None:
    headers = {"x-api-key": tenant.api_key}
    assert httpx.post(server.url + "/api/my-project", json={}, headers=headers).json() == {
        "projectId": tenant.project_id
    }
    missing = httpx.post(server.url + "/api/export/dataset", json={"id": "nope"}, headers=headers)
    assert missing.status_code == 200 and missing.json() == {"data": None}
    bad = httpx.post(server.url + "/api/export/dataset", json={}, headers=headers)
    assert bad.status_code == 400


def test_ingest_documents_of_any_shape(gql: Any, literal: Any) -> None:
    """The SDK's AddStep shape takes a fast path; other shapes and bad values get the executor's
    exact answers, and either way nothing is half-written."""
    thread_id = str(uuid.uuid4())
    mixed = gql(
        "mutation M($id: String!, $t: String) {"
        " a: ingestStep(id: $id, threadId: $t, type: run) { ok message }"
        ' b: ingestStep(id: "literal-id", threadId: $t) { ok __typename } }',
        {"id": "var-id", "t": thread_id},
    ).json()
    assert mixed == {
        "data": {
            "a": {"ok": True, "message": None},
            "b": {"ok": True, "__typename": "IngestStepResult"},
        }
    }
    assert sorted(s.id for s in literal.api.get_thread(thread_id).steps) == ["literal-id", "var-id"]

    bad_type = gql(
        "mutation AddStep($id_0: String!, $type_0: StepType) {"
        " step0: ingestStep(id: $id_0, type: $type_0) { ok message } }",
        {"id_0": "x", "type_0": "bogus"},
    )
    assert bad_type.status_code == 400 and "bogus" in bad_type.json()["errors"][0]["message"]
    unknown_key = gql(
        "mutation AddStep($id_0: String!, $generation_0: GenerationPayloadInput) {"
        " step0: ingestStep(id: $id_0, generation: $generation_0) { ok message } }",
        {"id_0": "y", "generation_0": {"model": "m", "nope": 1}},
    )
    assert unknown_key.status_code == 400 and "nope" in unknown_key.json()["errors"][0]["message"]
    bad_time = gql(
        "mutation AddStep($id_0: String!, $startTime_0: DateTime) {"
        " step0: ingestStep(id: $id_0, startTime: $startTime_0) { ok message } }",
        {"id_0": "z", "startTime_0": "yesterday"},
    )
    assert bad_time.status_code == 400 and bad_time.json()["errors"]
    assert literal.api.get_step("x") is None and literal.api.get_step("z") is None
