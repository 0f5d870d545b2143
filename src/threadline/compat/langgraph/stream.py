"""``GET /threads/{thread_id}/stream`` (join_stream): a thread's events as Server-Sent Events.

The stream never ends on its own (the client closes it), as in LangGraph. Frames are written with
CRLF line ends: ``event:``, ``data:`` (compact JSON), ``id: <ms>-<seq>``; an idle stream gets a
``: heartbeat`` comment every ``stream_heartbeat_seconds``. ``seq`` numbers a thread's events in
commit order, so ids are unique and increasing, and ``Last-Event-ID`` resumes exactly after one.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from threadline.compat.langgraph import validation as v
from threadline.compat.langgraph import wire
from threadline.core.state_service import StateService

#: LangGraph stream modes -> the core event modes they deliver
MODES: dict[str, tuple[str, ...]] = {
    "run_modes": ("run", "lifecycle"),
    "lifecycle": ("lifecycle",),
    "state_update": ("state_update",),
}
HEADERS = {"cache-control": "no-store", "x-accel-buffering": "no", "connection": "keep-alive"}
HEARTBEAT = b": heartbeat\r\n\r\n"


def stream_modes(request: Request) -> tuple[str, ...]:
    """``stream_modes`` (what LangGraph's server reads) wins over ``stream_mode`` (what the SDK
    sends); either may be repeated, comma-separated or a JSON array. Default ``run_modes``."""
    names = v.multi(request, "stream_modes", "stream_mode") or ["run_modes"]
    modes: list[str] = []
    for name in names:
        if name not in MODES:
            v.fail(f"Invalid stream mode: {name}")
        modes.extend(m for m in MODES[name] if m not in modes)
    return tuple(modes)


def frame(thread_id: str, event: Mapping[str, Any]) -> bytes:
    data = event["data"]
    if event["event"] == "state_update" and isinstance(data, dict) and "checkpoint_id" in data:
        data = {"state": wire.state(data, thread_id), "thread_id": thread_id}
    millis = int(event["created_at"].timestamp() * 1000)
    return b"".join(
        (
            b"event: ",
            str(event["event"]).encode(),
            b"\r\ndata: ",
            orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
            f"\r\nid: {millis}-{event['seq']}\r\n\r\n".encode(),
        )
    )


async def join_stream(request: Request, project_id: str, thread_id: str) -> Response:
    modes = stream_modes(request)
    resume = v.last_event_id(request)
    states: StateService = request.app.state.states
    heartbeat = float(request.app.state.settings.stream_heartbeat_seconds)
    newest = await states.event_cursor(project_id, thread_id)  # 404 before the stream starts
    cursor = newest if resume is None else resume

    async def events() -> AsyncIterator[bytes]:
        position = cursor
        hub = states.hub
        async with hub.subscribe(project_id, thread_id) as wake:
            next_beat = time.monotonic() + heartbeat
            while True:
                # read first, then wait: an event committed before we subscribed is never missed
                rows = await states.events_after(project_id, thread_id, position, modes)
                for row in rows:
                    yield frame(thread_id, row)
                    position = row["seq"]
                if len(rows) >= 500:
                    continue
                remaining = next_beat - time.monotonic()
                if remaining <= 0:
                    yield HEARTBEAT
                    next_beat = time.monotonic() + heartbeat
                    continue
                await hub.wait(wake, remaining)

    return StreamingResponse(events(), media_type="text/event-stream", headers=HEADERS)
