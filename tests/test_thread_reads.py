"""A thread read renders its steps as the model path does, on both databases: the database's own
rendering of unannotated threads (storage/json_rows.py) and the fragment path of annotated ones,
compared with ``to_wire`` + orjson (``wire=False``), with ``GET /v1/steps/{id}`` and with what
the SDK's typed models parse."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import orjson
import sqlalchemy as sa

from tests.conftest import Tenant
from threadline import Client
from threadline.api.responses import dumps
from threadline.client import types as t
from threadline.core.service import Service
from threadline.storage.database import Database
from threadline.storage.schema import steps as steps_table

TEXT = 'ünï "quoted" \\ back\tslash\nnew\x01line \u2028 😀 中文'
BIG = {"max": 2**63 - 1, "min": -(2**63), "u64": 2**64 - 1, "zero": 0, "neg": -17}
FLOATS = {"one": 1.0, "tiny": 1.5e-7, "huge": 1e300, "sum": 0.1 + 0.2, "neg": -2.5, "e16": 1e16}
NESTED = {"a": {"b": [1, None, {"c": TEXT}], "empty": {}, "list": []}, "null": None, TEXT: TEXT}


def _steps(thread_id: str) -> list[dict[str, Any]]:
    """Steps whose columns cover every kind of value a step holds."""
    root = f"{thread_id}-run"
    return [
        {
            "id": root,
            "thread_id": thread_id,
            "type": "run",
            "name": TEXT,
            "input": {"question": TEXT, "n": BIG},
            "output": ["a", 1, 2.5, None, True, False, {"k": FLOATS}],
            "metadata": NESTED,
            "tags": ["x", TEXT],
            "start_time": "2024-01-02T03:04:05Z",  # no microseconds
            "end_time": "2024-01-02T03:04:06.000001Z",
            "environment": "prod",
            "error": TEXT,
        },
        {
            "id": f"{thread_id}-llm",
            "thread_id": thread_id,
            "parent_id": root,
            "root_run_id": root,
            "type": "llm",
            "input": "a plain string",
            "output": 42,
            "start_time": "2024-01-02T03:04:05.5+02:00",
            "generation": {
                "type": "chat",
                "model": "gpt-x",
                "provider": "openai",
                "settings": {"temperature": 0.7, "max_tokens": 256, "stop": None},
                "messages": [{"role": "user", "content": TEXT}],
                "message_completion": {"role": "assistant", "content": "ok"},
                "tools": [{"name": "search", "parameters": {}}],
                "token_count": 30,
                "input_token_count": 10,
                "output_token_count": 20,
                "tt_first_token": 0.125,
                "duration": 1.0,
                "extra_field": {"kept": [1, 2]},
            },
        },
        {
            "id": f"{thread_id}-user",
            "thread_id": thread_id,
            "parent_id": root,
            "type": "user_message",
            "output": {"content": TEXT},
            "metadata": {},
            "tags": [],
            "sequence": 0,
            "turn": 2**31 - 1,
            "source": {"id": "u1", "name": TEXT, "attributes": {"n": 1.25}},
            "metrics": {"timing": {"ms": 12.5}, "usage": BIG},
            "platforms": {"slack": {"channel": "C1", "ts": "1700000000.000100"}},
        },
        {"id": f"{thread_id}-bare", "thread_id": thread_id},  # every optional column null
        {
            "id": f"{thread_id}-falsy",
            "thread_id": thread_id,
            "type": "tool",
            "name": "",
            "input": {},
            "output": [],
            "error": "",
            "sequence": 0,
            "turn": 0,
            "source": {},
            "metrics": {},
            "start_time": "1999-12-31T23:59:59.999999Z",
        },
    ]


def _int(digits: str) -> int | float:
    value = int(digits)
    return float(value) if abs(value) >= 2**64 else value


def _comparable(text: bytes | str) -> str:
    """A JSON text to compare two renderings by: key order kept, values re-encoded (PostgreSQL's
    jsonb prints numbers its own way: 1e300 as 301 digits, which orjson reads as a float), a
    timestamp's zero microseconds written out."""
    again = json.dumps(json.loads(text, parse_int=_int), ensure_ascii=False)
    return re.sub(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)Z"', r'"\1.000000Z"', again)


async def _seeded(service: Service, tenant: Tenant) -> str:
    thread = await service.create_thread(tenant.project_id, t.ThreadCreate(metadata={"k": TEXT}))
    batch = t.StepBatch.model_validate({"steps": _steps(thread["id"])})
    await service.ingest_steps(tenant.project_id, batch)
    return str(thread["id"])


async def test_database_rendering_matches_the_model_path(
    service: Service, db: Database, tenant: Tenant
) -> None:
    p = tenant.project_id
    tid = await _seeded(service, tenant)
    slow = await service.get_thread(p, tid)
    fast = await service.get_thread(p, tid, wire=True)
    assert isinstance(fast["steps"], orjson.Fragment), "an unannotated thread takes the fast path"
    assert len(slow["steps"]) == 5
    assert _comparable(dumps(fast)) == _comparable(dumps(slow))
    parsed = orjson.loads(dumps(fast))
    assert [list(s) for s in parsed["steps"]] == [
        list(s) for s in orjson.loads(dumps(slow))["steps"]
    ]
    assert t.Thread.model_validate(parsed) == t.Thread.model_validate(orjson.loads(dumps(slow)))
    # as before the database rendered them: SQLite passes on its text, PostgreSQL as orjson
    times = {s["id"]: s["start_time"] for s in parsed["steps"]}
    whole = "2024-01-02T03:04:05" + (".000000Z" if db.dialect == "sqlite" else "Z")
    assert times[f"{tid}-run"] == whole
    assert times[f"{tid}-llm"] == "2024-01-02T01:04:05.500000Z"


async def test_json_null_and_sql_null_defaults(
    service: Service, db: Database, tenant: Tenant
) -> None:
    """``metadata`` and ``tags`` stored as JSON null read as {} and [], as ``to_wire`` gives."""
    p = tenant.project_id
    tid = await _seeded(service, tenant)

    def nullify(conn: Any) -> None:
        conn.execute(
            steps_table.update()
            .where(steps_table.c.project_id == p, steps_table.c.id == f"{tid}-bare")
            .values(metadata=None, tags=None, input=sa.null(), generation=sa.null())
        )

    await db.write(nullify)
    slow = await service.get_thread(p, tid)
    fast = await service.get_thread(p, tid, wire=True)
    assert _comparable(dumps(fast)) == _comparable(dumps(slow))
    bare = next(s for s in orjson.loads(dumps(fast))["steps"] if s["id"] == f"{tid}-bare")
    assert (bare["metadata"], bare["tags"], bare["input"]) == ({}, [], None)


async def test_a_thread_without_steps_reads_as_an_empty_list(
    service: Service, tenant: Tenant
) -> None:
    """The fast path (one statement on PostgreSQL, whose step array is then NULL) and the
    model path agree on a thread with no steps, and on one whose only step moved away."""
    p = tenant.project_id
    empty = await service.create_thread(p, t.ThreadCreate(name="empty"))
    fast = orjson.loads(dumps(await service.get_thread(p, empty["id"], wire=True)))
    slow = orjson.loads(dumps(await service.get_thread(p, empty["id"])))
    assert fast == slow and fast["steps"] == [] and fast["name"] == "empty"
    tid = await _seeded(service, tenant)
    for step in _steps(tid):
        await service.update_step(p, step["id"], t.StepUpdate(thread_id=empty["id"]))
    moved = orjson.loads(dumps(await service.get_thread(p, tid, wire=True)))
    assert moved["steps"] == [] and moved["id"] == tid
    assert (
        len(orjson.loads(dumps(await service.get_thread(p, empty["id"], wire=True)))["steps"]) == 5
    )


async def test_writes_render_the_step_again(service: Service, tenant: Tenant) -> None:
    """A step's stored rendering (``steps.wire``) follows every kind of write to it: an update,
    a batch that sends the step again with other values, and a move to another thread."""
    p = tenant.project_id
    tid = await _seeded(service, tenant)
    await service.update_step(
        p, f"{tid}-llm", t.StepUpdate(name="renamed", output={"content": TEXT}, tags=["new"])
    )
    again = {**_steps(tid)[3], "input": FLOATS, "metadata": {"v": 2}, "sequence": 9}
    await service.ingest_steps(p, t.StepBatch.model_validate({"steps": [again]}))
    other = await service.create_thread(p, t.ThreadCreate())
    await service.update_step(p, f"{tid}-falsy", t.StepUpdate(thread_id=other["id"]))

    slow = await service.get_thread(p, tid)
    fast = await service.get_thread(p, tid, wire=True)
    assert isinstance(fast["steps"], orjson.Fragment)
    assert _comparable(dumps(fast)) == _comparable(dumps(slow))
    by_id = {s["id"]: s for s in orjson.loads(dumps(fast))["steps"]}
    assert f"{tid}-falsy" not in by_id
    llm, bare = by_id[f"{tid}-llm"], by_id[f"{tid}-bare"]
    assert (llm["name"], llm["output"], llm["tags"]) == ("renamed", {"content": TEXT}, ["new"])
    assert (bare["input"], bare["metadata"], bare["sequence"]) == (FLOATS, {"v": 2}, 9)
    moved = await service.get_thread(p, other["id"], wire=True)
    assert [s["id"] for s in orjson.loads(dumps(moved))["steps"]] == [f"{tid}-falsy"]


def _steps_match_step_reads(http: httpx.Client, client: Client, thread: dict[str, Any]) -> None:
    typed = client.threads.get(thread["id"]).steps
    assert typed is not None and [s.id for s in typed] == [s["id"] for s in thread["steps"]]
    for step, model in zip(thread["steps"], typed, strict=True):
        alone = http.get(f"/v1/steps/{step['id']}")
        assert _comparable(json.dumps(step)) == _comparable(alone.text)
        assert model == client.steps.get(step["id"])


def test_thread_steps_through_the_api_match_step_reads(http: httpx.Client, client: Client) -> None:
    """Each step of ``GET /v1/threads/{id}`` is what ``GET /v1/steps/{id}`` answers for it, and
    annotating steps (the other read path) changes only their annotations."""
    tid = http.post("/v1/threads", json={}).json()["id"]
    assert http.post("/v1/steps/batch", json={"steps": _steps(tid)}).status_code < 300
    response = http.get(f"/v1/threads/{tid}")
    assert response.status_code == 200
    plain = response.json()
    assert [s["id"] for s in plain["steps"]] == [
        f"{tid}-falsy",
        f"{tid}-llm",
        f"{tid}-run",
        f"{tid}-bare",  # no start time: by creation (one batch), then by id
        f"{tid}-user",
    ]
    assert (plain["scores"], plain["attachments"]) == ([], [])
    _steps_match_step_reads(http, client, plain)

    score = {"step_id": f"{tid}-llm", "name": "quality", "type": "HUMAN", "value": 0.5}
    assert http.post("/v1/scores", json=score).status_code == 201
    reaction = {"emoji": "👍", "user_id": "u1"}
    assert http.post(f"/v1/steps/{tid}-user/reactions", json=reaction).status_code == 200
    annotated = http.get(f"/v1/threads/{tid}").json()
    _steps_match_step_reads(http, client, annotated)
    assert [sc["name"] for sc in annotated["scores"]] == ["quality"]
    for a, b in zip(plain["steps"], annotated["steps"], strict=True):
        assert list(a) == list(b), "same keys in the same order"
        assert {**a, "scores": [], "reactions": {}} == {**b, "scores": [], "reactions": {}}
    assert annotated["steps"][4]["reactions"] == {"👍": ["u1"]}


def test_annotations_of_one_thread_leave_another_plain(http: httpx.Client) -> None:
    """Whether a thread has reactions or scores is asked of the project first: another thread's
    annotations make the question per thread, and each thread still gets exactly its own."""
    first, second = (http.post("/v1/threads", json={}).json()["id"] for _ in range(2))
    for tid in (first, second):
        assert http.post("/v1/steps/batch", json={"steps": _steps(tid)}).status_code < 300
    score = {"step_id": f"{first}-llm", "name": "quality", "type": "HUMAN", "value": 0.5}
    assert http.post("/v1/scores", json=score).status_code == 201
    reaction = {"emoji": "👍", "user_id": "u1"}
    assert http.post(f"/v1/steps/{first}-user/reactions", json=reaction).status_code == 200
    plain = http.get(f"/v1/threads/{second}").json()
    assert plain["scores"] == [] and all(s["reactions"] == {} for s in plain["steps"])
    assert http.post(f"/v1/steps/{second}-run/reactions", json=reaction).status_code == 200
    marked = http.get(f"/v1/threads/{second}").json()
    assert [s["reactions"] for s in marked["steps"] if s["reactions"]] == [{"👍": ["u1"]}]
    assert marked["scores"] == []
