"""Tyler threads over the native API, sans-I/O: converting, diffing, and the plans of requests.

A Tyler message is a step of a message type; a thread's title, attributes and platforms are the
thread's name, metadata and platforms. Saving sends only what changed since this client last
saw the thread: a ``PUT`` of the thread when its fields changed, the changed messages through
``POST /v1/steps/batch``, deletions of messages that left the thread, and reaction changes as
single adds and removes (so concurrent reactions by others are never overwritten). The last
synced state of each thread is kept per ``Tyler`` resource (a bounded LRU); a thread it has not
seen is read once first.

The plans are generators that yield ``Op``s and receive their results; ``drive_sync`` and
``drive_async`` run them, so ``Tyler`` and ``AsyncTyler`` stay one-line wrappers. The conversions
work on any object with Tyler's field names, which is how ``threadline.narrator`` reuses them for
narrator's own ``Thread``/``Message`` classes.
"""

from __future__ import annotations

import base64
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from threadline.client import _ops as ops
from threadline.client.errors import NotFoundError
from threadline.client.thread import Attachment, Message, Thread

if TYPE_CHECKING:
    from threadline.client._async import AsyncClient
    from threadline.client._sync import Client

R = TypeVar("R")
Plan = Generator[ops.Op[Any], Any, R]

TYPE_OF_ROLE = {
    "user": "user_message",
    "assistant": "assistant_message",
    "system": "system_message",
    "tool": "tool",
}
ROLE_OF_TYPE = {v: k for k, v in TYPE_OF_ROLE.items()}
BATCH = 1000
_CANON = orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS


@dataclass(frozen=True)
class Models:
    """The classes loaded threads are built from (threadline's, or narrator's)."""

    thread: Callable[..., Any] = Thread
    message: Callable[..., Any] = Message
    attachment: Callable[..., Any] = Attachment


@dataclass
class Snapshot:
    """What the server holds for a thread, as this client last saw it."""

    thread: bytes | None = None  # canonical name/metadata/platforms; None: not on the server
    steps: dict[str, bytes] = field(default_factory=dict)
    reactions: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def _canon(value: Any) -> bytes:
    return orjson.dumps(value, option=_CANON)


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


# --- Tyler message <-> step ------------------------------------------------------------------


def _attachment_record(a: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "filename": a.filename,
        "mime_type": a.mime_type,
        "attributes": a.attributes,
        "file_id": a.file_id,
        "storage_path": a.storage_path,
        "storage_backend": a.storage_backend,
        "status": a.status,
    }
    # until a file store holds the bytes, they travel with the message
    if isinstance(a.content, bytes):
        record["content_base64"] = base64.b64encode(a.content).decode("ascii")
    elif isinstance(a.content, str):
        record["content"] = a.content
    return record


def _generation(metrics: Any) -> dict[str, Any] | None:
    """The LLM call of an assistant message, for the surfaces that read step generations."""
    if not isinstance(metrics, dict):
        return None
    generation: dict[str, Any] = {"type": "chat"}
    model = metrics.get("model")
    if isinstance(model, str) and model:
        generation["model"] = model
    usage = metrics.get("usage")
    if isinstance(usage, dict):
        for key, target in (
            ("total_tokens", "token_count"),
            ("prompt_tokens", "input_token_count"),
            ("completion_tokens", "output_token_count"),
        ):
            value = usage.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                generation[target] = value
    timing = metrics.get("timing")
    latency = timing.get("latency") if isinstance(timing, dict) else None
    if isinstance(latency, int | float) and not isinstance(latency, bool) and latency > 0:
        generation["duration"] = latency / 1000
    if "model" not in generation and not generation.get("token_count"):
        return None  # narrator's default metrics: nothing known about an LLM call
    return generation


def message_to_step(m: Any, thread_id: str) -> dict[str, Any]:
    """The step (``POST /v1/steps/batch`` item) that stores a Tyler message."""
    output: dict[str, Any] = {"content": m.content}
    if m.reasoning_content:
        output["reasoning_content"] = m.reasoning_content
    if m.tool_calls:
        output["tool_calls"] = m.tool_calls
    if m.tool_call_id:
        output["tool_call_id"] = m.tool_call_id
    if m.attachments:
        output["attachments"] = [_attachment_record(a) for a in m.attachments]
    return {
        "id": m.id,
        "thread_id": thread_id,
        "type": TYPE_OF_ROLE[m.role],
        "name": m.name,
        "output": output,
        "metadata": m.attributes or {},
        "start_time": m.timestamp,
        "sequence": m.sequence,
        "turn": m.turn,
        "source": dict(m.source) if m.source else None,
        "metrics": m.metrics,
        "platforms": m.platforms or {},
        "generation": _generation(m.metrics) if m.role == "assistant" else None,
    }


def is_message_step(step: Mapping[str, Any]) -> bool:
    if step.get("type") not in ROLE_OF_TYPE:
        return False
    if step["type"] == "tool":  # a tool *result* message, not a tool run of another surface
        output = step.get("output")
        return isinstance(output, dict) and bool(output.get("tool_call_id"))
    return True


def _content(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(
        isinstance(part, dict) and part.get("type") in ("text", "image_url") for part in value
    ):
        return value
    return orjson.dumps(value).decode()


def _attachment(record: Mapping[str, Any], models: Models) -> Any:
    data = {k: v for k, v in record.items() if k not in ("content", "content_base64", "id")}
    if "content_base64" in record:
        data["content"] = base64.b64decode(record["content_base64"])
    elif "content" in record:
        data["content"] = record["content"]
    return models.attachment(**data)


def step_to_message(step: Mapping[str, Any], models: Models) -> Any:
    """A Tyler message from a message step (``is_message_step``)."""
    output = step.get("output")
    out = output if isinstance(output, dict) else {"content": output}
    data: dict[str, Any] = {
        "id": step["id"],
        "role": ROLE_OF_TYPE[step["type"]],
        "sequence": step.get("sequence"),
        "turn": step.get("turn"),
        "content": _content(out.get("content")),
        "attributes": step.get("metadata") or {},
        "timestamp": _time(step.get("start_time") or step.get("created_at")),
        "platforms": step.get("platforms") or {},
        "reactions": step.get("reactions") or {},
    }
    for key in ("reasoning_content", "tool_call_id", "tool_calls"):
        if out.get(key):
            data[key] = out[key]
    if step.get("name"):
        data["name"] = step["name"]
    if step.get("source"):
        data["source"] = step["source"]
    if step.get("metrics") is not None:
        data["metrics"] = step["metrics"]
    attachments = out.get("attachments")
    if isinstance(attachments, list):
        data["attachments"] = [_attachment(a, models) for a in attachments]
    return models.message(**data)


def _thread_fields(thread: Any) -> dict[str, Any]:
    return {"name": thread.title, "metadata": thread.attributes, "platforms": thread.platforms}


def thread_from_json(body: Mapping[str, Any], models: Models) -> tuple[Any, Snapshot]:
    """A Tyler thread (system message first, then by sequence) and its snapshot."""
    steps = [s for s in body.get("steps") or [] if is_message_step(s)]
    # system first, then by sequence (ties and unsequenced steps keep the server's order)
    steps.sort(
        key=lambda s: (
            s["type"] != "system_message",
            s.get("sequence") is None,
            s.get("sequence") or 0,
        )
    )
    messages = [step_to_message(s, models) for s in steps]
    thread = models.thread(
        id=body["id"],
        title=body.get("name"),
        messages=messages,
        created_at=_time(body["created_at"]),
        updated_at=_time(body["updated_at"]),
        attributes=body.get("metadata") or {},
        platforms=body.get("platforms") or {},
    )
    return thread, snapshot_of(thread, include_system=True)


def snapshot_of(thread: Any, *, include_system: bool) -> Snapshot:
    steps: dict[str, bytes] = {}
    reactions: dict[str, dict[str, list[str]]] = {}
    for m in thread.messages:
        if m.role == "system" and not include_system:
            continue
        steps[m.id] = _canon(message_to_step(m, thread.id))
        reactions[m.id] = {emoji: list(users) for emoji, users in m.reactions.items()}
    return Snapshot(_canon(_thread_fields(thread)), steps, reactions)


# --- the save plan ---------------------------------------------------------------------------


def _reaction_changes(
    message_id: str, old: Mapping[str, list[str]], new: Mapping[str, list[str]]
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Removes and adds that turn ``old`` into ``new`` keeping each emoji's user order."""
    remove: list[dict[str, str]] = []
    add: list[dict[str, str]] = []
    for emoji in {*old, *new}:
        before, after = list(old.get(emoji, [])), list(new.get(emoji, []))
        if before == after:
            continue
        kept = [u for u in before if u in after]
        remove += [
            {"step_id": message_id, "emoji": emoji, "user_id": u} for u in before if u not in after
        ]
        # users kept in place must be a prefix of the new order; re-add the rest in order
        split = next((i for i, u in enumerate(kept) if i >= len(after) or after[i] != u), len(kept))
        remove += [{"step_id": message_id, "emoji": emoji, "user_id": u} for u in kept[split:]]
        add += [{"step_id": message_id, "emoji": emoji, "user_id": u} for u in after[split:]]
    return remove, add


def save_plan(
    thread: Any, snapshot: Snapshot | None, models: Models, *, include_system: bool
) -> Plan[Snapshot]:
    """Send what changed in ``thread`` since ``snapshot``; returns the new snapshot."""
    if snapshot is None:
        try:
            body = yield ops.get_thread_json(thread.id)
        except NotFoundError:
            snapshot = Snapshot()
        else:
            snapshot = snapshot_of(thread_from_json(body, models)[0], include_system=include_system)
    fields = _thread_fields(thread)
    canon = _canon(fields)
    if canon != snapshot.thread:
        if snapshot.thread is None:
            fields["created_at"] = thread.created_at
        yield ops.upsert_thread(thread.id, **fields)

    changed: list[dict[str, Any]] = []
    steps: dict[str, bytes] = {}
    reactions: dict[str, dict[str, list[str]]] = {}
    remove: list[dict[str, str]] = []
    add: list[dict[str, str]] = []
    for m in thread.messages:
        if m.role == "system" and not include_system:
            continue
        step = message_to_step(m, thread.id)
        encoded = _canon(step)
        if snapshot.steps.get(m.id) != encoded:
            changed.append(step)
        steps[m.id] = encoded
        now = {emoji: list(users) for emoji, users in m.reactions.items()}
        reactions[m.id] = now
        r, a = _reaction_changes(m.id, snapshot.reactions.get(m.id, {}), now)
        remove += r
        add += a
    for start in range(0, len(changed), BATCH):
        yield ops.ingest_steps(changed[start : start + BATCH])
    gone = [step_id for step_id in snapshot.steps if step_id not in steps]
    for start in range(0, len(gone), BATCH):
        yield ops.delete_thread_steps(thread.id, gone[start : start + BATCH])
    for start in range(0, max(len(remove), len(add)), BATCH):
        yield ops.apply_reactions(
            thread.id, remove=remove[start : start + BATCH], add=add[start : start + BATCH]
        )
    return Snapshot(canon, steps, reactions)


def drive_sync(plan: Plan[R], send: Callable[[ops.Op[Any]], Any]) -> R:
    """Run a plan, sending each op and handing back its result (or its error)."""
    try:
        op = next(plan)
        while True:
            try:
                result = send(op)
            except Exception as exc:
                op = plan.throw(exc)
            else:
                op = plan.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def drive_async(plan: Plan[R], send: Callable[[ops.Op[Any]], Awaitable[Any]]) -> R:
    try:
        op = next(plan)
        while True:
            try:
                result = await send(op)
            except Exception as exc:
                op = plan.throw(exc)
            else:
                op = plan.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


# --- plans for the resource methods ----------------------------------------------------------


class _State:
    """The snapshots of one resource: thread id -> Snapshot, least recently used dropped."""

    def __init__(self, models: Models, max_threads: int, include_system: bool) -> None:
        self.models = models
        self.max_threads = max_threads
        self.include_system = include_system
        self.snapshots: OrderedDict[str, Snapshot] = OrderedDict()

    def remember(self, thread_id: str, snapshot: Snapshot) -> None:
        self.snapshots[thread_id] = snapshot
        self.snapshots.move_to_end(thread_id)
        while len(self.snapshots) > self.max_threads:
            self.snapshots.popitem(last=False)

    def load(self, thread_id: str) -> Plan[Any]:
        body = yield ops.get_thread_json(thread_id)
        thread, snapshot = thread_from_json(body, self.models)
        if not self.include_system:
            snapshot = snapshot_of(thread, include_system=False)
        self.remember(thread.id, snapshot)
        return thread

    def get(self, thread_id: str) -> Plan[Any]:
        try:
            return (yield from self.load(thread_id))
        except NotFoundError:
            return None

    def save(self, thread: Any) -> Plan[Any]:
        snapshot = self.snapshots.get(thread.id)
        try:
            new = yield from save_plan(
                thread, snapshot, self.models, include_system=self.include_system
            )
        except Exception:
            self.snapshots.pop(thread.id, None)  # unknown how far it got: re-read next time
            raise
        self.remember(thread.id, new)
        return thread

    def delete(self, thread_id: str) -> Plan[bool]:
        self.snapshots.pop(thread_id, None)
        try:
            yield ops.delete_thread(thread_id)
        except NotFoundError:
            return False
        return True

    def _threads(self, bodies: Sequence[Mapping[str, Any]]) -> list[Any]:
        out = []
        for body in bodies:
            thread, snapshot = thread_from_json(body, self.models)
            if not self.include_system:
                snapshot = snapshot_of(thread, include_system=False)
            self.remember(thread.id, snapshot)
            out.append(thread)
        return out

    def find_by_platform(
        self, platform: str, properties: Mapping[str, Any], limit: int
    ) -> Plan[list[Any]]:
        """Threads on ``platform`` whose reference has each ``key == value`` (strings)."""
        if any(v is not None and not isinstance(v, str) for v in properties.values()):
            return []  # platform references are strings: nothing else can be equal
        wanted = {k: v for k, v in properties.items() if v is not None}
        bodies = yield ops.threads_by_platform_json(
            platform, wanted, include_steps=True, limit=limit
        )
        threads = self._threads(bodies)
        return [
            t
            for t in threads
            if all(t.platforms.get(platform, {}).get(k) == v for k, v in properties.items())
        ]

    def find_by_attributes(self, attributes: Mapping[str, Any], limit: int) -> Plan[list[Any]]:
        """Threads whose attributes have each ``key == value`` (containment narrows, then the
        exact comparison is made here)."""
        wanted = {k: v for k, v in attributes.items() if v is not None}
        bodies = yield ops.threads_by_attributes_json(wanted, include_steps=True, limit=limit)
        threads = self._threads(bodies)
        return [t for t in threads if all(t.attributes.get(k) == v for k, v in attributes.items())]

    def recent(self, limit: int | None, offset: int = 0) -> Plan[list[Any]]:
        """Threads by last update, newest first (``limit=None``: all of them)."""
        out: list[Any] = []
        while limit is None or len(out) < limit:
            size = 1000 if limit is None else min(1000, limit - len(out))
            bodies = yield ops.threads_by_attributes_json(
                {},
                include_steps=True,
                limit=size,
                offset=offset + len(out),
                order_by="updated_at",
            )
            out += self._threads(bodies)
            if len(bodies) < size:
                break
        return out

    def find_messages(self, path: str, value: Any, limit: int) -> Plan[list[Any]]:
        bodies = yield ops.search_messages_json(path, value, limit=limit)
        return [step_to_message(b, self.models) for b in bodies]

    def thread_of_message(self, message_id: str) -> Plan[Any]:
        try:
            step = yield ops.get_step(message_id)
        except NotFoundError:
            return None
        if step.thread_id is None:
            return None
        return (yield from self.get(step.thread_id))

    def generate_title(self, thread: Any) -> Plan[str]:
        yield from self.save(thread)
        result = yield ops.generate_title(thread.id)
        if result.generated_by != "none":
            thread.title = result.title
            snapshot = self.snapshots.get(thread.id)
            if snapshot is not None:
                snapshot.thread = _canon(_thread_fields(thread))
        return str(result.title)


# --- the resources ---------------------------------------------------------------------------


class Tyler:
    """Tyler-style threads (``threadline.Thread``) stored on the server: ``client.tyler``."""

    def __init__(
        self, client: Client, *, models: Models | None = None, max_threads: int = 256
    ) -> None:
        self._c = client
        self._state = _State(models or Models(), max_threads, include_system=True)

    def load(self, thread_id: str) -> Thread:
        """The thread with its messages (``NotFoundError`` if missing)."""
        return drive_sync(self._state.load(thread_id), self._c._send)  # type: ignore[no-any-return]

    def get(self, thread_id: str) -> Thread | None:
        """The thread with its messages, or None if missing."""
        return drive_sync(self._state.get(thread_id), self._c._send)  # type: ignore[no-any-return]

    def save(self, thread: Thread) -> Thread:
        """Store the thread, sending only what changed since this client last saw it."""
        return drive_sync(self._state.save(thread), self._c._send)  # type: ignore[no-any-return]

    def delete(self, thread_id: str) -> bool:
        """Delete the thread; False if it did not exist."""
        return drive_sync(self._state.delete(thread_id), self._c._send)

    def find_by_platform(
        self, platform: str, properties: Mapping[str, Any] | None = None, *, limit: int = 100
    ) -> list[Thread]:
        """Threads referenced on ``platform`` with these properties (e.g. Slack thread_ts)."""
        return drive_sync(
            self._state.find_by_platform(platform, properties or {}, limit), self._c._send
        )

    def find_by_attributes(
        self, attributes: Mapping[str, Any], *, limit: int = 100
    ) -> list[Thread]:
        """Threads whose attributes have these top-level values."""
        return drive_sync(self._state.find_by_attributes(attributes, limit), self._c._send)

    def list_recent(self, limit: int | None = 100, *, offset: int = 0) -> list[Thread]:
        """Threads by last update, newest first (``limit=None``: all)."""
        return drive_sync(self._state.recent(limit, offset), self._c._send)

    def find_messages(self, path: str, value: Any, *, limit: int = 100) -> list[Message]:
        """Messages whose field at a dot ``path`` equals ``value`` (e.g. platforms.slack.ts)."""
        return drive_sync(self._state.find_messages(path, value, limit), self._c._send)

    def get_thread_by_message_id(self, message_id: str) -> Thread | None:
        """The thread holding this message, or None."""
        return drive_sync(  # type: ignore[no-any-return]
            self._state.thread_of_message(message_id), self._c._send
        )

    def generate_title(self, thread: Thread) -> str:
        """Save the thread, have the server title it (LLM if configured), set ``thread.title``."""
        return drive_sync(self._state.generate_title(thread), self._c._send)


class AsyncTyler:
    """Tyler-style threads stored on the server: ``async_client.tyler`` (see ``Tyler``)."""

    def __init__(
        self, client: AsyncClient, *, models: Models | None = None, max_threads: int = 256
    ) -> None:
        self._c = client
        self._state = _State(models or Models(), max_threads, include_system=True)

    async def load(self, thread_id: str) -> Thread:
        """The thread with its messages (``NotFoundError`` if missing)."""
        return await drive_async(self._state.load(thread_id), self._c._send)

    async def get(self, thread_id: str) -> Thread | None:
        """The thread with its messages, or None if missing."""
        return await drive_async(self._state.get(thread_id), self._c._send)

    async def save(self, thread: Thread) -> Thread:
        """Store the thread, sending only what changed since this client last saw it."""
        return await drive_async(self._state.save(thread), self._c._send)

    async def delete(self, thread_id: str) -> bool:
        """Delete the thread; False if it did not exist."""
        return await drive_async(self._state.delete(thread_id), self._c._send)

    async def find_by_platform(
        self, platform: str, properties: Mapping[str, Any] | None = None, *, limit: int = 100
    ) -> list[Thread]:
        """Threads referenced on ``platform`` with these properties (e.g. Slack thread_ts)."""
        return await drive_async(
            self._state.find_by_platform(platform, properties or {}, limit), self._c._send
        )

    async def find_by_attributes(
        self, attributes: Mapping[str, Any], *, limit: int = 100
    ) -> list[Thread]:
        """Threads whose attributes have these top-level values."""
        return await drive_async(self._state.find_by_attributes(attributes, limit), self._c._send)

    async def list_recent(self, limit: int | None = 100, *, offset: int = 0) -> list[Thread]:
        """Threads by last update, newest first (``limit=None``: all)."""
        return await drive_async(self._state.recent(limit, offset), self._c._send)

    async def find_messages(self, path: str, value: Any, *, limit: int = 100) -> list[Message]:
        """Messages whose field at a dot ``path`` equals ``value`` (e.g. platforms.slack.ts)."""
        return await drive_async(self._state.find_messages(path, value, limit), self._c._send)

    async def get_thread_by_message_id(self, message_id: str) -> Thread | None:
        """The thread holding this message, or None."""
        return await drive_async(self._state.thread_of_message(message_id), self._c._send)

    async def generate_title(self, thread: Thread) -> str:
        """Save the thread, have the server title it (LLM if configured), set ``thread.title``."""
        return await drive_async(self._state.generate_title(thread), self._c._send)
