"""Replay of the reference server's captured exchanges (shared/reference/langgraph-captures/).

Every captured request that does not need LangGraph runs (which Threadline does not execute) is
sent again, in capture order, to a real Threadline server in a fresh project. Ids the reference
minted (threads, checkpoints) are mapped to the ones Threadline minted, by position in the
responses. Each answer must have the reference's status code and body shape (same keys, same
JSON types; ``{"detail": str}`` for errors, with the same text where the text is not a schema
validator's); where langgraph-reference-server.md lists a reference defect, the protocol's
intended answer is expected instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Server, Tenant

CAPTURES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "langgraph-captures"
if not CAPTURES.is_dir():  # the shared folder sits beside the repository
    CAPTURES = Path("/work/shared/reference/langgraph-captures")

#: threads the reference gave state by running graphs: requests on them are not replayable
RUN_THREADS = {
    "46215947-232d-49d0-b91a-9d838f07d439",  # echo runs
    "d4de7078-cec9-4cb1-9bb9-ee5a75596914",  # hitl run
    "cf9c82ea-6740-4a4b-84f2-8863525ed68c",  # stream runs
    "ccba3493-0bde-4c30-bc8e-c7ffa2fad851",  # failing run
    "a38b40cf-838a-4219-abb8-ce58731ddd99",  # slow run
}
#: reference defects (langgraph-reference-server.md) -> the status the protocol intends
DEFECTS = {
    "013_create_with_supersteps_command.json": 200,  # command without goto: 500 there
    "046_search_values.json": 200,  # values search: 500 there
    "047_search_values_answer.json": 200,
    "065_count_values.json": 200,
    "139_prune_keep_latest.json": 200,  # keep_latest: unsupported in-memory
}


#: keys holding user or run data rather than protocol structure
DATA = ("metadata", "values", "extracted", "writes", "config", "result", "interrupts")


def _steps() -> list[tuple[str, dict[str, Any]]]:
    files = sorted(p for p in CAPTURES.glob("[0-9]*.json"))
    return [(p.name, json.loads(p.read_text())) for p in files]


def _replayable(exchange: dict[str, Any], unreplayed: set[str]) -> bool:
    request = exchange["request"]
    text = request["path"] + json.dumps(request.get("body"))
    if "/runs" in request["path"] or "sse_raw" in exchange["response"]:
        return False
    if request["method"] == "POST" and request["path"] == "/threads":
        return True  # creating a run thread is fine; its later state is not
    return not any(tid in text for tid in RUN_THREADS | unreplayed)


def _ids(value: Any) -> list[str]:
    """Thread and checkpoint ids in a response body, in document order."""
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("thread_id", "checkpoint_id") and isinstance(item, str):
                out.append(item)
            else:
                out.extend(_ids(item))
    elif isinstance(value, list):
        for item in value:
            out.extend(_ids(item))
    return out


def _same_shape(ref: Any, ours: Any, where: str) -> None:
    if ref is None or where.endswith(DATA):
        return  # data (or null before state exists), which runs fill in the reference
    if isinstance(ref, dict):
        assert isinstance(ours, dict), where
        missing = set(ref) - set(ours)
        assert not missing, f"{where}: missing keys {missing}"
        for key in ref:
            _same_shape(ref[key], ours[key], f"{where}.{key}")
    elif isinstance(ref, list):
        assert isinstance(ours, list), where
        if ref and ours:
            _same_shape(ref[0], ours[0], f"{where}[0]")
    elif isinstance(ref, bool):
        assert isinstance(ours, bool), where
    elif isinstance(ref, int | float):
        assert isinstance(ours, int | float) and not isinstance(ours, bool), where
    else:
        assert isinstance(ours, type(ref)), f"{where}: {ours!r} is not like {ref!r}"


def _substitute(text: str, ids: dict[str, str]) -> str:
    for theirs, mine in ids.items():
        text = text.replace(theirs, mine)
    return text


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="reference captures not available")
def test_replay_captures(lg_server: Server, tenant: Tenant) -> None:
    ids: dict[str, str] = {}
    unreplayed: set[str] = set()
    seen: set[str] = set()
    replayed = 0
    with httpx.Client(
        base_url=lg_server.url, headers={"x-api-key": tenant.api_key}, timeout=30
    ) as http:
        for name, step in _steps():
            for exchange in step["exchanges"]:
                if not _replayable(exchange, unreplayed):
                    # ids first minted by a request we skip (e.g. a run thread's copy)
                    unreplayed.update(set(_ids(exchange["response"].get("body"))) - seen)
                    continue
                seen.update(_ids(exchange["response"].get("body")))
                request, expected = exchange["request"], exchange["response"]
                headers = {
                    k: v
                    for k, v in request["headers"].items()
                    if k.lower() in ("prefer", "content-type", "last-event-id")
                }
                body = request.get("body")
                if body is None:
                    content = None
                elif isinstance(body, str):  # raw_ steps that sent invalid JSON
                    content = body.encode()
                else:
                    content = _substitute(json.dumps(body), ids).encode()
                query = _substitute(request.get("raw_query") or "", ids)
                path = _substitute(request["path"], ids) + (f"?{query}" if query else "")
                response = http.request(request["method"], path, content=content, headers=headers)
                replayed += 1
                status = DEFECTS.get(name, expected["status"])
                assert response.status_code == status, (name, response.text)
                ours = response.json() if response.content else None
                theirs = expected.get("body")
                if status != expected["status"]:
                    continue
                if status >= 400:
                    assert isinstance(ours, dict) and set(ours) == {"detail"}, name
                    assert isinstance(ours["detail"], str), name
                    detail = theirs["detail"]
                    if "Failed validating" not in detail and not detail.startswith("Thread '"):
                        assert ours["detail"] == _substitute(detail, ids), name
                    continue
                if status == 201 and isinstance(theirs, dict) and "detail" in theirs:
                    assert set(ours) == {"detail"}, name
                    continue
                _same_shape(theirs, ours, name)
                for key in ("x-pagination-total", "x-pagination-next"):
                    assert (key in response.headers) == (key in expected["headers"]), (name, key)
                if status == 200:
                    assert response.headers["content-type"] == "application/json", name
                for theirs_id, ours_id in zip(_ids(theirs), _ids(ours), strict=False):
                    if theirs_id != ours_id:
                        ids.setdefault(theirs_id, ours_id)
    assert replayed >= 85
