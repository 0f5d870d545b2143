"""Thread state rules: checkpoint ids, per-channel reducers, and how one update makes a checkpoint.

Pure functions, no I/O. :mod:`threadline.core.state_service` runs them inside one write
transaction. The semantics follow LangGraph's ``update_state`` / ``bulk_update_state`` as far as a
server that does not hold the graph can know them:

* Each update writes channels through a reducer: the last value by default, or ``append`` /
  ``add_messages`` for channels declared so per ``graph_id`` in the server configuration.
* ``as_node="__input__"`` records the input as a pending write and schedules ``__start__``; the
  input reaches the channels when a following ``__start__`` update runs (as in LangGraph).
* A ``command`` adds its ``update`` like values and its ``goto`` targets become ``next``.
* A thread is ``interrupted`` when its head checkpoint has ``next`` nodes, else ``idle``.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from threadline.core.errors import InvalidInput

Reducer = Literal["last", "append", "add_messages"]
REDUCERS: tuple[str, ...] = ("last", "append", "add_messages")
#: graph_id -> channel -> reducer; the graph ``"*"`` applies to every graph
ReducerConfig = Mapping[str, Mapping[str, str]]

INPUT = "__input__"
START = "__start__"
COPY = "__copy__"
REMOVE_ALL_MESSAGES = "__remove_all__"

# --- checkpoint ids ----------------------------------------------------------------------------

_GREGORIAN_OFFSET = 0x01B21DD213814000  # 100 ns ticks between 1582-10-15 and 1970-01-01
_clock_lock = threading.Lock()
_last_tick = 0


def checkpoint_id(step: int) -> str:
    """A LangGraph-style checkpoint id: UUIDv6 (time-ordered), clock sequence = the step.

    Ids made later sort later as strings (strictly increasing within a process), which is what
    history order and "the newest checkpoint is the head" rely on.
    """
    global _last_tick
    with _clock_lock:
        tick = time.time_ns() // 100 + _GREGORIAN_OFFSET
        tick = max(tick, _last_tick + 1)
        _last_tick = tick
    node = int.from_bytes(os.urandom(6), "big")
    value = ((tick >> 12) & 0xFFFFFFFFFFFF) << 80
    value |= 0x6 << 76
    value |= (tick & 0x0FFF) << 64
    value |= 0b10 << 62
    value |= (step & 0x3FFF) << 48
    value |= node
    return str(uuid.UUID(int=value))


def task_id() -> str:
    return str(uuid.uuid4())


# --- reducers ----------------------------------------------------------------------------------


def parse_reducer_config(raw: Any) -> dict[str, dict[str, str]]:
    """Validate ``{"graph_id": {"channel": "append" | "add_messages" | "last"}}``."""
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, dict):
        raise ValueError("reducers must be a JSON object of graph_id -> {channel: reducer}")
    out: dict[str, dict[str, str]] = {}
    for graph, channels in raw.items():
        if not isinstance(channels, dict):
            raise ValueError(f"reducers for graph {graph!r} must be an object")
        for channel, reducer in channels.items():
            if reducer not in REDUCERS:
                raise ValueError(
                    f"reducer {reducer!r} for {graph}.{channel} is not one of {', '.join(REDUCERS)}"
                )
        out[str(graph)] = {str(k): str(v) for k, v in channels.items()}
    return out


def channel_reducers(config: ReducerConfig, graph_id: str | None) -> dict[str, str]:
    """The reducers that apply to ``graph_id``: its own over the ``"*"`` defaults."""
    merged = dict(config.get("*", {}))
    if graph_id is not None:
        merged.update(config.get(graph_id, {}))
    return merged


_ROLE_TYPES = {
    "user": "human",
    "human": "human",
    "assistant": "ai",
    "ai": "ai",
    "system": "system",
    "developer": "system",
    "tool": "tool",
    "function": "function",
    "chat": "chat",
    "remove": "remove",
}


def coerce_message(message: Any) -> dict[str, Any]:
    """A message in LangChain's serialised dict form (what LangGraph stores and returns)."""
    if isinstance(message, str):
        message = {"type": "human", "content": message}
    elif isinstance(message, list | tuple) and len(message) == 2:
        message = {"role": message[0], "content": message[1]}
    if not isinstance(message, dict):
        raise InvalidInput("a message must be an object, a string or a [role, content] pair")
    kind = message.get("type") or message.get("role")
    if kind not in _ROLE_TYPES:
        raise InvalidInput(f"message type {kind!r} is not one of {', '.join(_ROLE_TYPES)}")
    kind = _ROLE_TYPES[kind]
    if kind == "remove":
        return {"type": "remove", "id": message.get("id"), "content": ""}
    out: dict[str, Any] = {
        "content": message.get("content", ""),
        "additional_kwargs": message.get("additional_kwargs") or {},
        "response_metadata": message.get("response_metadata") or {},
        "type": kind,
        "name": message.get("name"),
        "id": message.get("id") or str(uuid.uuid4()),
    }
    if kind == "ai":
        out["tool_calls"] = message.get("tool_calls") or []
        out["invalid_tool_calls"] = message.get("invalid_tool_calls") or []
        out["usage_metadata"] = message.get("usage_metadata")
    elif kind == "tool":
        out["tool_call_id"] = message.get("tool_call_id")
        out["artifact"] = message.get("artifact")
        out["status"] = message.get("status", "success")
    for key, value in message.items():  # keep anything else the client sent
        if key not in out and key != "role":
            out[key] = value
    return out


#: the types coerce_message gives a message (besides "remove")
_TYPES = frozenset(kind for kind in _ROLE_TYPES.values() if kind != "remove")


def _coerced(message: Any) -> bool:
    """Whether ``message`` already is what :func:`coerce_message` makes of it (a message read
    back from a checkpoint): coercing it again would only copy it. Coercing a thread's whole
    history on every update took 440 µs at 200 messages."""
    if type(message) is not dict or "role" in message or not message.get("id"):
        return False
    kind = message.get("type")
    if kind not in _TYPES or "content" not in message or "name" not in message:
        return False
    if type(message.get("additional_kwargs")) is not dict:
        return False
    if type(message.get("response_metadata")) is not dict:
        return False
    if kind == "ai":
        return (
            type(message.get("tool_calls")) is list
            and type(message.get("invalid_tool_calls")) is list
            and "usage_metadata" in message
        )
    if kind == "tool":
        return "tool_call_id" in message and "artifact" in message and "status" in message
    return True


def add_messages(left: Any, right: Any) -> list[Any]:
    """LangGraph's ``add_messages``: append, replace by id, ``{"type": "remove", "id"}`` deletes."""
    current = [m if _coerced(m) else coerce_message(m) for m in _as_list(left)]
    incoming = [coerce_message(m) for m in _as_list(right)]
    where: dict[Any, int] | None = None  # id -> index of its first message in ``current``
    for message in incoming:
        if message["type"] == "remove":
            if message["id"] == REMOVE_ALL_MESSAGES:
                current = []
            else:
                current = [m for m in current if m.get("id") != message["id"]]
            where = None
            continue
        if where is None:
            where = {}
            for index, existing in enumerate(current):
                where.setdefault(existing.get("id"), index)
        found = where.get(message["id"])
        if found is None:
            where[message["id"]] = len(current)
            current.append(message)
        else:
            current[found] = message
    return current


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def reduce_channel(reducer: str, current: Any, update: Any) -> Any:
    if reducer == "add_messages":
        return add_messages(current, update)
    if reducer == "append":
        return _as_list(current) + _as_list(update)
    return update


def apply_values(
    values: Mapping[str, Any] | None, update: Mapping[str, Any], reducers: Mapping[str, str]
) -> dict[str, Any]:
    """New channel values after writing ``update`` (channels not named keep their value)."""
    out = dict(values or {})
    for channel, value in update.items():
        out[channel] = reduce_channel(reducers.get(channel, "last"), out.get(channel), value)
    return out


# --- updates -> checkpoint ---------------------------------------------------------------------


@dataclass
class Update:
    """One write: ``values`` (object, list of objects or None) as ``as_node``, or a command."""

    values: Any = None
    as_node: str | None = None
    command: Mapping[str, Any] | None = None


@dataclass
class NewCheckpoint:
    """What one superstep produces: the checkpoint row and its pending writes."""

    checkpoint_ns: str
    checkpoint_id: str
    parent_checkpoint_id: str | None
    values: dict[str, Any] | list[Any]
    metadata: dict[str, Any]
    next: list[str]
    tasks: list[dict[str, Any]]
    writes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def step(self) -> int:
        return int(self.metadata.get("step", 0))


def _task(name: str) -> dict[str, Any]:
    return {
        "id": task_id(),
        "name": name,
        "path": ["__pregel_pull", name],
        "error": None,
        "interrupts": [],
        "checkpoint": None,
        "state": None,
        "result": None,
    }


def _goto_targets(goto: Any) -> list[str]:
    targets: list[str] = []
    for item in _as_list(goto):
        if isinstance(item, str):
            targets.append(item)
        elif isinstance(item, dict) and isinstance(item.get("node"), str):
            targets.append(item["node"])
        else:
            raise InvalidInput("command.goto must be a node name, {node, input} or a list of them")
    return targets


def _value_dicts(values: Any) -> list[Mapping[str, Any]]:
    if values is None:
        return []
    if isinstance(values, dict):
        return [values]
    if isinstance(values, list) and all(isinstance(v, dict) for v in values):
        return values
    raise InvalidInput("values must be an object, a list of objects or null", field="values")


def build_checkpoint(
    *,
    base: Mapping[str, Any] | None,
    updates: Sequence[Update],
    reducers: Mapping[str, str],
    graph_id: str | None,
    thread_id: str,
    checkpoint_ns: str = "",
    forked_from: str | None = None,
    pending_input: Sequence[Any] = (),
) -> NewCheckpoint:
    """The checkpoint one superstep of ``updates`` writes on top of ``base`` (None: empty thread).

    ``pending_input`` holds the values an ``__input__`` update left on ``base``; a ``__start__``
    update applies them to the channels first.
    """
    base_values = base["values"] if base is not None else {}
    values: Any = dict(base_values) if isinstance(base_values, dict) else base_values
    base_step = int(base["metadata"].get("step", -1)) if base is not None else None
    nodes = [u.as_node for u in updates]
    writes_meta: dict[str, Any] = {}
    pending: list[dict[str, Any]] = []
    next_nodes: list[str] = []
    tasks: list[dict[str, Any]] = []
    source = "update"

    if updates and all(node == INPUT for node in nodes):
        source = "input"
        start = _task(START)
        for index, update in enumerate(updates):
            pending.append(
                {"task_id": start["id"], "idx": index, "channel": START, "value": update.values}
            )
            writes_meta[INPUT] = update.values
        next_nodes, tasks = [START], [start]
        step = -1 if base_step is None else base_step + 1
    elif len(updates) == 1 and updates[0].as_node == COPY and updates[0].values is None:
        source = "fork"
        if base is not None:
            next_nodes = list(base["next"])
            tasks = [dict(t) for t in base["tasks"]]
        step = 0 if base_step is None else base_step + 1
    else:
        if not isinstance(values, dict):
            values = {}
        for update in updates:
            if update.as_node == START:
                for item in pending_input:
                    for chunk in _value_dicts(item):
                        values = apply_values(values, chunk, reducers)
            for chunk in _value_dicts(update.values):
                values = apply_values(values, chunk, reducers)
            command = update.command or {}
            if command:
                cmd_update = command.get("update")
                if isinstance(cmd_update, list):  # [(channel, value), ...]
                    cmd_update = [dict([pair]) for pair in cmd_update if len(pair) == 2]
                for chunk in _value_dicts(cmd_update):
                    values = apply_values(values, chunk, reducers)
                for target in _goto_targets(command.get("goto")):
                    if target not in next_nodes:
                        next_nodes.append(target)
            written = update.values if update.values is not None else command.get("update")
            writes_meta[update.as_node or "__update__"] = written
        tasks = [_task(node) for node in next_nodes]
        step = 0 if base_step is None else base_step + 1

    metadata: dict[str, Any] = {}
    if graph_id is not None:
        metadata["graph_id"] = graph_id
    metadata["thread_id"] = thread_id
    if forked_from is not None:
        metadata["checkpoint_id"] = forked_from
    metadata.update({"source": source, "step": step, "writes": writes_meta, "parents": {}})
    return NewCheckpoint(
        checkpoint_ns=checkpoint_ns,
        checkpoint_id=checkpoint_id(step),
        parent_checkpoint_id=base["checkpoint_id"] if base is not None else None,
        values=values,
        metadata=metadata,
        next=next_nodes,
        tasks=tasks,
        writes=pending,
    )


def status_for(next_nodes: Sequence[str]) -> str:
    """The thread status a head checkpoint implies (a run in flight would make it ``busy``)."""
    return "interrupted" if next_nodes else "idle"


def interrupts_of(tasks: Sequence[Mapping[str, Any]]) -> list[Any]:
    return [i for task in tasks for i in task.get("interrupts") or []]


def thread_interrupts(tasks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The thread's ``interrupts``: task id -> its interrupts, for tasks that have any."""
    return {str(t["id"]): list(t["interrupts"]) for t in tasks if t.get("interrupts")}


# --- checkpoints written by a LangGraph checkpointer ------------------------------------------

INTERRUPT_CHANNEL = "__interrupt__"
ERROR_CHANNEL = "__error__"
_PULL_PREFIX = "~__pregel_pull, "


def task_name(task_path: str) -> str | None:
    """The node of a pull task's path as LangGraph writes it (``~__pregel_pull, node``)."""
    if task_path.startswith(_PULL_PREFIX):
        name = task_path[len(_PULL_PREFIX) :]
        return name if name and "," not in name else None
    return None


def tasks_after_writes(
    tasks: Sequence[Mapping[str, Any]],
    task_id: str,
    task_path: str,
    writes: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]] | None:
    """The checkpoint's tasks once a task's interrupts and errors are known (None: no change).

    The task is found by id, else by the node its path names (the first of that name without an
    outcome, taking the writer's id); otherwise it is added.
    """
    outcome = [w for w in writes if w["channel"] in (INTERRUPT_CHANNEL, ERROR_CHANNEL)]
    if not outcome:
        return None
    out = [dict(t) for t in tasks]
    name = task_name(task_path)
    task = next((t for t in out if t.get("id") == task_id), None)
    if task is None and name is not None:
        task = next((t for t in out if t.get("name") == name and not t.get("interrupts")), None)
    if task is None:
        task = {**_task(name or task_path or task_id), "path": [task_path] if task_path else []}
        out.append(task)
    task["id"] = task_id
    for write in outcome:
        if write["channel"] == ERROR_CHANNEL:
            task["error"] = write["value"]
            continue
        found = list(task.get("interrupts") or [])
        for item in _as_list(write["value"]):
            if item not in found:
                found.append(item)
        task["interrupts"] = found
    return out


def head_status(next_nodes: Sequence[str], tasks: Sequence[Mapping[str, Any]]) -> str:
    """A checkpointer-written head: ``error`` if a task failed, else as :func:`status_for`."""
    if any(t.get("error") for t in tasks):
        return "error"
    return status_for(next_nodes)
