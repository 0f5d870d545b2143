"""``threadline import-literal`` on SQLite and PostgreSQL: a Literal AI export, read back.

The export is built the way teams have it: GraphQL ``threads`` nodes shaped like the captured
``get_threads`` answer, and the pages the real ``literalai`` SDK makes of them
(``PaginatedResponse.to_dict()``). The CLI imports into a fresh project of the database a real
server process serves, and the native SDK reads the threads back.
"""

from __future__ import annotations

import copy
import re
import warnings
from pathlib import Path
from typing import Any

import orjson
from click.testing import CliRunner, Result

from tests.conftest import Tenant
from threadline import Client
from threadline.cli import main

with warnings.catch_warnings():  # traceloop, imported by literalai, warns at import time
    warnings.simplefilter("ignore")
    from literalai.api.helpers.thread_helpers import get_threads_helper


def cli(*args: str, input: bytes | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def import_literal(path: Path | str, tenant: Tenant, url: str, *extra: str) -> Result:
    return cli(
        "import-literal", str(path), "--project", tenant.project_id, "--database", url, *extra
    )


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


# --- a Literal AI export ------------------------------------------------------------------------

CHAT = {
    "prompt": None,
    "completion": None,
    "createdAt": "2024-03-01T10:00:01.500Z",
    "provider": "openai",
    "model": "gpt-4o-mini",
    "variables": {"order": "A-17"},
    "messages": [
        {"role": "system", "content": "You handle refunds."},
        {"role": "user", "content": "I was charged twice"},
    ],
    "messageCompletion": {"role": "assistant", "content": "Refunded the second charge."},
    "tools": [],
    "settings": {"temperature": 0.2, "max_tokens": 256},
    "stepId": "t1-llm",
    "tokenCount": 42,
    "inputTokenCount": 30,
    "outputTokenCount": 12,
    "ttFirstToken": 120.5,
    "duration": 1.25,
    "tokenThroughputInSeconds": 9.6,
    "error": None,
    "type": "CHAT",
}

COMPLETION = {
    "prompt": "Translate to French: good morning",
    "completion": "bonjour",
    "provider": "anthropic",
    "model": "claude-3-haiku",
    "settings": {},
    "tokenCount": 9,
    "type": "COMPLETION",
}


def step(step_id: str, thread_id: str, type_: str, at: str, **fields: Any) -> dict[str, Any]:
    """A step node as ``get_threads`` answered it (every STEP_FIELDS key present)."""
    node = {
        "id": step_id,
        "threadId": thread_id,
        "rootRunId": None,
        "parentId": None,
        "startTime": at,
        "endTime": at,
        "createdAt": at,
        "type": type_,
        "error": None,
        "input": None,
        "output": None,
        "metadata": {},
        "environment": "production",
        "scores": [],
        "tags": [],
        "generation": None,
        "name": type_,
        "attachments": [],
    }
    node.update(fields)
    return node


def literal_threads() -> list[dict[str, Any]]:
    """Three thread nodes: nested steps, a chat and a completion generation, scores,
    attachments (a stored file and a link), two participants, a thread with no steps."""
    t1 = {
        "id": "3f1e8a2c-0000-4000-8000-000000000001",
        "name": "Refund request",
        "metadata": {"channel": "web", "customer": {"tier": "pro"}},
        "tags": ["support", "refund"],
        "createdAt": "2024-03-01T10:00:00.000Z",
        "participant": {
            "id": "lit-user-alice",
            "identifier": "alice@example.com",
            "metadata": {"plan": "pro"},
        },
        "steps": [],
    }
    tid = t1["id"]
    t1["steps"] = [
        step(
            "t1-user",
            tid,
            "user_message",
            "2024-03-01T10:00:00.100Z",
            name="alice",
            output={"content": "I was charged twice"},
            attachments=[
                {
                    "id": "att-receipt",
                    "stepId": "t1-user",
                    "threadId": tid,
                    "metadata": {"width": 640, "height": 480},
                    "mime": "image/png",
                    "name": "receipt.png",
                    "objectKey": "c1a2/threads/3f1e/files/receipt.png",
                    "url": "https://cloud.getliteral.ai/files/receipt.png?sig=old",
                },
                {
                    "id": "att-link",
                    "stepId": "t1-user",
                    "threadId": tid,
                    "metadata": {},
                    "mime": "text/html",
                    "name": "order page",
                    "objectKey": None,
                    "url": "https://shop.example.com/orders/A-17",
                },
            ],
        ),
        step(
            "t1-run",
            tid,
            "run",
            "2024-03-01T10:00:01.000Z",
            name="refund-agent",
            endTime="2024-03-01T10:00:03.000Z",
            input={"q": "I was charged twice"},
            output={"content": "Refunded"},
            metadata={"release": "v1"},
            tags=["agent"],
        ),
        step(
            "t1-llm",
            tid,
            "llm",
            "2024-03-01T10:00:01.500Z",
            name="gpt-4o-mini",
            parentId="t1-run",
            rootRunId="t1-run",
            endTime="2024-03-01T10:00:02.750Z",
            input={"content": CHAT["messages"]},
            output=CHAT["messageCompletion"],
            generation=CHAT,
            scores=[
                {
                    "id": "score-feedback",
                    "type": "HUMAN",
                    "name": "user-feedback",
                    "value": 1,
                    "comment": "great answer",
                },
                {
                    "id": "score-tox",
                    "type": "AI",
                    "name": "toxicity",
                    "value": 0.02,
                    "comment": None,
                },
            ],
        ),
        step(
            "t1-bot",
            tid,
            "assistant_message",
            "2024-03-01T10:00:03.000Z",
            name="assistant",
            parentId="t1-run",
            output={"content": "Refunded the second charge."},
            error=None,
            scores=[
                {"id": "score-len", "type": "CODE", "name": "length", "value": 27, "comment": None}
            ],
        ),
    ]
    t2 = {
        "id": "thread-bonjour",
        "name": "Traduction ✓ 日本",
        "metadata": {},
        "tags": [],
        "createdAt": "2024-06-15T08:30:00+00:00",
        "participant": {"id": "lit-user-bob", "identifier": "bob", "metadata": {}},
        "steps": [
            step(
                "5683994988638824770",  # an OpenTelemetry span id, in decimal
                "thread-bonjour",
                "llm",
                "2024-06-15T08:30:01+00:00",
                name="claude-3-haiku",
                input={"prompt": COMPLETION["prompt"]},
                output={"content": "bonjour"},
                generation=COMPLETION,
                error="retried once",
            )
        ],
    }
    t3 = {
        "id": "thread-empty",
        "name": None,
        "metadata": {"imported": True},
        "tags": ["empty"],
        "createdAt": "2025-01-10T00:00:00Z",
        "participant": None,
        "steps": [],
    }
    return copy.deepcopy([t1, t2, t3])


def graphql_answer(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """The body ``POST /api/graphql`` answered to ``GetThreads``."""
    return {
        "data": {
            "threads": {
                "pageInfo": {"startCursor": "c0", "endCursor": "c2", "hasNextPage": False},
                "totalCount": len(nodes),
                "edges": [{"cursor": f"c{i}", "node": n} for i, n in enumerate(nodes)],
            }
        }
    }


def sdk_page(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """What ``client.api.get_threads(...)`` returns for that answer (the real SDK's own parsing),
    as its ``to_dict()``."""
    *_, process_response = get_threads_helper()
    return process_response(copy.deepcopy(graphql_answer(nodes))).to_dict()  # type: ignore[no-any-return]


def sdk_jsonl(nodes: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(thread) + b"\n" for thread in sdk_page(nodes)["data"])


def everything(client: Client) -> list[dict[str, Any]]:
    """Every thread of the project with its steps, scores and attachments, as a user reads them."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        result = client.threads.export(page=page, page_size=2)
        out += [th.model_dump(mode="json") for th in result.data]
        if not result.has_next_page:
            return out
        page += 1


def without_signed_urls(threads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Signed file links change with their expiry; everything else must not."""
    threads = copy.deepcopy(threads)
    for th in threads:
        for st in th["steps"]:
            for att in st["attachments"]:
                if att["object_key"]:
                    att["url"] = "signed"
    return threads


# --- tests ---------------------------------------------------------------------------------------


def test_import_reads_back_as_it_was_in_literal(
    database_url: str, tenant: Tenant, client: Client, tmp_path: Path
) -> None:
    nodes = literal_threads()
    dump = tmp_path / "literal.json"
    dump.write_bytes(orjson.dumps(graphql_answer(nodes), option=orjson.OPT_INDENT_2))
    result = ok(import_literal(dump, tenant, database_url))
    assert (
        "Imported 3 Literal AI threads into project" in result.stdout
        and "3 created, 0 updated, 0 unchanged; 5 steps written, 0 removed; "
        "3 scores and 2 attachments written; 2 participants created."
        in result.stdout
    )

    t1 = client.threads.get(nodes[0]["id"])
    assert t1.name == "Refund request"
    assert t1.metadata == {"channel": "web", "customer": {"tier": "pro"}}
    assert t1.tags == ["support", "refund"]
    assert t1.created_at.isoformat() == "2024-03-01T10:00:00+00:00"
    assert t1.updated_at.isoformat() == "2024-03-01T10:00:03+00:00", "its last activity"
    assert t1.participant is not None and t1.participant_id == "lit-user-alice"
    assert (t1.participant.id, t1.participant.identifier) == ("lit-user-alice", "alice@example.com")
    alice = client.users.get_by_identifier("alice@example.com")
    assert alice.id == "lit-user-alice" and alice.metadata == {"plan": "pro"}

    assert t1.steps is not None
    assert [s.id for s in t1.steps] == ["t1-user", "t1-run", "t1-llm", "t1-bot"], "in time order"
    by_id = {s.id: s for s in t1.steps}
    for node in nodes[0]["steps"]:
        got = by_id[node["id"]]
        assert got.thread_id == t1.id
        assert got.type == node["type"] and got.name == node["name"]
        assert got.input == node["input"] and got.output == node["output"]
        assert got.metadata == node["metadata"] and got.tags == node["tags"]
        assert got.parent_id == node["parentId"] and got.root_run_id == node["rootRunId"]
        assert got.environment == "production" and got.error == node["error"]
        assert got.start_time is not None and got.end_time is not None
        assert got.start_time.isoformat().replace("+00:00", "Z").startswith(node["startTime"][:19])
        assert got.created_at == got.start_time

    llm = by_id["t1-llm"]
    assert llm.generation is not None
    assert llm.generation.model_dump(exclude_none=True) == {
        "type": "chat",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "variables": {"order": "A-17"},
        "messages": CHAT["messages"],
        "message_completion": CHAT["messageCompletion"],
        "tools": [],
        "settings": {"temperature": 0.2, "max_tokens": 256},
        "token_count": 42,
        "input_token_count": 30,
        "output_token_count": 12,
        "tt_first_token": 120.5,
        "duration": 1.25,
        "token_throughput_in_seconds": 9.6,
    }
    assert llm.scores is not None
    assert {(s.id, s.name, s.type, s.value, s.comment, s.step_id) for s in llm.scores} == {
        ("score-feedback", "user-feedback", "HUMAN", 1.0, "great answer", "t1-llm"),
        ("score-tox", "toxicity", "AI", 0.02, None, "t1-llm"),
    }
    assert client.scores.get("score-len").step_id == "t1-bot"
    assert client.generations.get("t1-llm").generation == llm.generation

    user = by_id["t1-user"]
    assert user.attachments is not None
    files = {a.id: a for a in user.attachments}
    receipt, link = files["att-receipt"], files["att-link"]
    assert (receipt.thread_id, receipt.step_id, receipt.name, receipt.mime) == (
        t1.id,
        "t1-user",
        "receipt.png",
        "image/png",
    )
    assert receipt.object_key == "c1a2/threads/3f1e/files/receipt.png"
    assert receipt.metadata == {"width": 640, "height": 480} and receipt.size is None
    assert link.url == "https://shop.example.com/orders/A-17" and link.object_key is None
    assert {a.id for a in t1.attachments or []} == {"att-receipt", "att-link"}

    t2 = client.threads.get("thread-bonjour")
    assert t2.name == "Traduction ✓ 日本" and t2.participant_id == "lit-user-bob"
    assert t2.steps is not None and [s.id for s in t2.steps] == ["5683994988638824770"]
    span = t2.steps[0]
    assert span.error == "retried once" and span.output == {"content": "bonjour"}
    assert span.generation is not None and span.generation.model_dump(exclude_none=True) == {
        "type": "completion",
        "provider": "anthropic",
        "model": "claude-3-haiku",
        "prompt": "Translate to French: good morning",
        "completion": "bonjour",
        "settings": {},
        "token_count": 9,
    }

    t3 = client.threads.get("thread-empty")
    assert (t3.name, t3.metadata, t3.tags, t3.participant, t3.steps) == (
        None,
        {"imported": True},
        ["empty"],
        None,
        [],
    )
    found = client.threads.list(filters=[{"field": "tags", "operator": "in", "value": ["refund"]}])
    assert [th.id for th in found.data] == [t1.id]


def test_every_export_shape_gives_the_same_threads(
    database_url: str, tenant: Tenant, client: Client, tmp_path: Path
) -> None:
    """SDK pages (one per line, a JSON list of them, pretty-printed one after the other),
    threads one per line, and the GraphQL answer all import to the same threads."""
    nodes = literal_threads()
    first, rest = sdk_page(nodes[:1]), sdk_page(nodes[1:])
    shapes = {
        "pages.jsonl": orjson.dumps(first) + b"\n" + orjson.dumps(rest) + b"\n",
        "pages.json": orjson.dumps([first, rest], option=orjson.OPT_INDENT_2),
        "concatenated.json": orjson.dumps(first, option=orjson.OPT_INDENT_2)
        + b"\n"
        + orjson.dumps(rest, option=orjson.OPT_INDENT_2),
        "threads.jsonl": sdk_jsonl(nodes),
        "threads.json": orjson.dumps(sdk_page(nodes)["data"]),
    }
    path = tmp_path / "threads.jsonl"
    path.write_bytes(shapes.pop("threads.jsonl"))
    ok(import_literal(path, tenant, database_url))
    reference = without_signed_urls(everything(client))  # links turn over each minute
    assert [th["id"] for th in reference] == [n["id"] for n in nodes]
    assert len(reference[0]["steps"]) == 4 and reference[0]["participant_id"] == "lit-user-alice"

    for name, data in shapes.items():
        path = tmp_path / name
        path.write_bytes(data)
        result = ok(import_literal(path, tenant, database_url))
        assert "0 created, 0 updated, 3 unchanged; 0 steps written" in result.stdout, name
        assert "0 scores and 0 attachments written" in result.stdout, name
        assert without_signed_urls(everything(client)) == reference, name

    # Standard input works too.
    ok(
        cli(
            "import-literal",
            "-",
            "--project",
            tenant.project_id,
            "--database",
            database_url,
            input=sdk_jsonl(nodes),
        )
    )
    assert without_signed_urls(everything(client)) == reference


def test_import_twice_changes_nothing(
    database_url: str, tenant: Tenant, client: Client, tmp_path: Path
) -> None:
    dump = tmp_path / "literal.json"
    dump.write_bytes(orjson.dumps(graphql_answer(literal_threads())))
    ok(import_literal(dump, tenant, database_url))
    before = without_signed_urls(everything(client))
    scores_before = [s.model_dump() for s in client.scores.list(first=100)]
    again = ok(import_literal(dump, tenant, database_url))
    assert (
        ": 0 created, 0 updated, 3 unchanged; 0 steps written, 0 removed; "
        "0 scores and 0 attachments written; 0 participants created." in again.stdout
    )
    assert without_signed_urls(everything(client)) == before, "updated_at included"
    assert [s.model_dump() for s in client.scores.list(first=100)] == scores_before


def test_reimport_applies_what_changed_in_the_file(
    database_url: str, tenant: Tenant, client: Client, tmp_path: Path
) -> None:
    nodes = literal_threads()
    dump = tmp_path / "literal.jsonl"
    dump.write_bytes(sdk_jsonl(nodes))
    ok(import_literal(dump, tenant, database_url))
    nodes[0]["name"] = "Refund request (closed)"
    llm = next(s for s in nodes[0]["steps"] if s["id"] == "t1-llm")
    llm["scores"][0]["value"] = 0
    nodes[0]["steps"] = [s for s in nodes[0]["steps"] if s["id"] != "t1-bot"]
    dump.write_bytes(sdk_jsonl(nodes))
    result = ok(import_literal(dump, tenant, database_url))
    assert "0 created, 1 updated, 2 unchanged; 0 steps written, 1 removed" in result.stdout
    assert "1 scores and 0 attachments written" in result.stdout
    t1 = client.threads.get(nodes[0]["id"])
    assert t1.name == "Refund request (closed)"
    assert [s.id for s in t1.steps or []] == ["t1-user", "t1-run", "t1-llm"]
    feedback = client.scores.get("score-feedback")
    assert feedback.value == 0 and feedback.comment == "great answer"
    assert feedback.updated_at > feedback.created_at
    remaining = {s.id for s in client.scores.list()}
    assert remaining == {"score-feedback", "score-tox"}, "the removed step's score went with it"


def test_malformed_line_names_it_and_leaves_no_partial_batch(
    database_url: str, tenant: Tenant, client: Client, tmp_path: Path
) -> None:
    good = [
        orjson.dumps(
            {
                "id": f"t{i}",
                "createdAt": f"2024-01-0{i}T00:00:00Z",
                "steps": [
                    {
                        "id": f"s{i}",
                        "type": "assistant_message",
                        "startTime": f"2024-01-0{i}T00:00:01Z",
                        "scores": [{"id": f"c{i}", "name": "ok", "type": "HUMAN", "value": 1}],
                    }
                ],
            }
        )
        + b"\n"
        for i in range(1, 8)
    ]
    dump = tmp_path / "bad.jsonl"
    dump.write_bytes(b"".join(good[:5]) + b'{"id": "t6", "steps": [}\n' + good[6])
    result = import_literal(dump, tenant, database_url, "--batch-size", "4")
    assert result.exit_code == 1
    assert "line 6: malformed JSON" in result.stderr
    assert "nothing from line 5 on was written" in result.stderr
    assert [th["id"] for th in everything(client)] == ["t1", "t2", "t3", "t4"]
    assert sorted(s.id for s in client.scores.list()) == ["c1", "c2", "c3", "c4"]

    # A value Literal could not have had, in the middle of a batch: nothing of it is written.
    bad = orjson.loads(good[5])
    bad["id"] = "u2"
    bad["steps"][0]["id"] = "us2"
    bad["steps"][0]["scores"][0] = {"id": "uc2", "name": "ok", "type": "HUMAN", "value": "high"}
    dump.write_bytes(good[4] + orjson.dumps(bad) + b"\n" + good[5])
    result = import_literal(dump, tenant, database_url)
    assert result.exit_code == 1
    assert (
        "line 2: thread 'u2': step 'us2': score 'uc2': 'value' must be a finite number, not 'high'"
        in result.stderr
    )
    assert "Nothing was imported" in result.stderr
    assert [th["id"] for th in everything(client)] == ["t1", "t2", "t3", "t4"]


def test_failed_batch_is_rolled_back_with_its_scores_and_participants(
    database_url: str, tenant: Tenant, client: Client, tmp_path: Path
) -> None:
    nodes = literal_threads()
    ghost = {"id": "ghost", "participantId": "no-such-participant", "steps": []}
    dump = tmp_path / "bad.jsonl"
    dump.write_bytes(sdk_jsonl(nodes[:1]) + orjson.dumps(ghost) + b"\n")
    result = import_literal(dump, tenant, database_url)
    assert result.exit_code == 1
    assert "line 2: participant 'no-such-participant' does not exist" in result.stderr
    assert everything(client) == []
    assert client.scores.list().data == [] and client.users.list().data == []


def test_pretty_printed_file_errors_name_the_threads_line(
    database_url: str, tenant: Tenant, client: Client, tmp_path: Path
) -> None:
    nodes = literal_threads()
    nodes[1]["steps"][0]["generation"]["type"] = "EMBEDDING"
    text = orjson.dumps(graphql_answer(nodes), option=orjson.OPT_INDENT_2)
    lines = text.decode().splitlines()
    id_line = next(i for i, line in enumerate(lines, 1) if '"id": "thread-bonjour"' in line)
    assert lines[id_line - 2].strip() == '"node": {'
    dump = tmp_path / "answer.json"
    dump.write_bytes(text)
    result = import_literal(dump, tenant, database_url)
    assert result.exit_code == 1
    assert (
        f"line {id_line - 1}: thread 'thread-bonjour': step '5683994988638824770': generation: "
        "'type' must be CHAT or COMPLETION, not 'EMBEDDING'" in result.stderr
    )
    assert everything(client) == []

    dump.write_bytes(text[:-40])
    result = import_literal(dump, tenant, database_url)
    assert result.exit_code == 1
    assert re.search(r"line \d+: malformed JSON \(.+ at column \d+\)", result.stderr)

    dump.write_bytes(b'{"data": {"threads": null}, "errors": [{"message": "denied"}]}')
    result = import_literal(dump, tenant, database_url)
    assert result.exit_code == 1
    assert "line 1: a GraphQL answer with errors, not threads: [{'message': 'denied'}]" in (
        result.stderr
    )


def test_object_keys_of_other_projects_are_refused(
    database_url: str, tenant: Tenant, client: Client, tmp_path: Path
) -> None:
    """Deleting an attachment queues its file for deletion: an imported key must never name
    another project's file."""
    created = ok(cli("projects", "create", f"victim-{tmp_path.name}", "--database", database_url))
    victim = created.stdout.split("(id ", 1)[1].split(")", 1)[0]
    nodes = literal_threads()[:1]
    attachment = nodes[0]["steps"][0]["attachments"][0]
    attachment["objectKey"] = f"{victim}/0190aaaa-bbbb"
    dump = tmp_path / "evil.jsonl"
    dump.write_bytes(sdk_jsonl(nodes))
    result = import_literal(dump, tenant, database_url)
    assert result.exit_code == 1
    assert "attachment 'att-receipt': object key" in result.stderr
    assert "names a file of another project" in result.stderr
    assert everything(client) == []

    attachment["objectKey"] = f"{tenant.project_id}/0190aaaa-bbbb"  # its own project: fine
    dump.write_bytes(sdk_jsonl(nodes))
    ok(import_literal(dump, tenant, database_url))
    assert client.attachments.get("att-receipt").object_key == f"{tenant.project_id}/0190aaaa-bbbb"


def test_help_and_deep_nesting(tmp_path: Path) -> None:
    result = ok(cli("import-literal", "--help"))
    assert "import-literal [OPTIONS] FILE" in result.stdout.splitlines()[0]
    dump = tmp_path / "deep.json"
    url = f"sqlite:///{tmp_path / 'deep.db'}"
    for data in (b"[" * 5000 + b"]" * 5000, b"[" * 1000 + b"]" * 1000 + b"\n"):
        dump.write_bytes(data)
        result = cli("import-literal", str(dump), "--database", url)
        assert result.exit_code == 1 and "line 1: " in result.stderr, result.stderr
