"""Literal AI's thread export: reading files of ``get_threads`` pages, mapping them to Threadline.

Literal AI served threads as camelCase JSON (``id name metadata tags createdAt participant
steps[]``, each step with its ``generation``, ``scores`` and ``attachments``). Teams kept them in
any of the shapes the ``literalai`` SDK and its GraphQL API hand out, and :func:`read_export`
accepts them all, in any mix:

- threads one per line (JSON Lines), or a JSON list of threads;
- SDK pages, ``PaginatedResponse.to_dict()``: ``{"pageInfo", "totalCount", "data": [...]}``;
- GraphQL connections, ``{"edges": [{"cursor": ..., "node": thread}]}``, also wrapped the way the
  API answered (``{"data": {"threads": {...}}}``);
- several of those: one per line, in a JSON list, or simply one after the other.

:func:`thread_from_literal` maps one Literal thread to the native shape: a ``threadline export``
line (the native API's ``Thread`` with ``steps``), each step carrying its ``scores`` and
``attachments`` in native shape too. The mapping is pure (no I/O, no SQL), so that every surface
that speaks Literal's JSON shares it; timestamps come out as ISO-8601 strings in UTC.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import IO, Any

import orjson
import pydantic

from threadline.client import types as t
from threadline.core.errors import InvalidInput
from threadline.core.timeutil import isoformat, parse_timestamp

SCORE_TYPES = ("HUMAN", "AI", "CODE")

#: Literal generation keys whose snake_case spelling is not the mechanical one
_GENERATION_NAMES = {"tokenThroughputInSeconds": "token_throughput_in_seconds"}
#: generation keys that describe its step, not the LLM call (the step already has them)
_GENERATION_DROPPED = frozenset({"id", "stepId", "createdAt", "projectId", "step"})
#: keys of the objects that wrap threads in a page or a GraphQL answer
_ENVELOPE_KEYS = frozenset({"data", "threads", "edges", "node", "threadDetail"})
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


class LineError(InvalidInput):
    """A problem in the file, with the line it is on (the message starts with ``line N``)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


# --- mapping one thread ------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "a string" if isinstance(value, str) else "a value"


def _snake(name: str) -> str:
    return _GENERATION_NAMES.get(name) or _CAMEL.sub(r"_\1", name).lower()


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{what} must be an object, not {_kind(value)}")
    return value


def _list(obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{where}: {key!r} must be a list, not {_kind(value)}")
    return value


def _string(obj: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    """A string value; ``""`` reads as absent (the SDK's default for a missing id or key)."""
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{where}: {key!r} is missing")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{where}: {key!r} must be a string, not {_kind(value)}")
    return value


def _time(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InvalidInput(f"{where}: {key!r} must be an ISO-8601 timestamp, not {_kind(value)}")
    try:
        return isoformat(parse_timestamp(value))
    except (InvalidInput, ValueError, OverflowError, OSError):
        raise InvalidInput(f"{where}: {key!r} is not a timestamp: {value!r}") from None


def _tags(obj: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = _list(obj, key, where)
    if not all(isinstance(tag, str) for tag in value):
        raise InvalidInput(f"{where}: {key!r} must be a list of strings")
    return value


def _owner(obj: Mapping[str, Any], key: str, where: str, expected: str | None) -> None:
    """A nested object may repeat the id of what it hangs on; it must then be that one."""
    given = _string(obj, key, where)
    if given is not None and expected is not None and given != expected:
        raise InvalidInput(f"{where}: its {key} {given!r} is not {expected!r}, where it is listed")


def generation_from_literal(data: Any) -> dict[str, Any]:
    """A Literal generation (camelCase, ``type`` ``CHAT``/``COMPLETION``) as a native payload.

    Validated by the native ``Generation`` model (what the API stores, ``None`` values left out);
    keys it does not know are kept, in snake_case.
    """
    given = _object(data, "'generation'")
    payload: dict[str, Any] = {}
    for key, value in given.items():
        if key in _GENERATION_DROPPED or value is None:
            continue
        if key in ("metadata", "tags") and not value:
            continue
        payload[_snake(key)] = value
    kind = payload.get("type")
    if kind is None:
        kind = "completion" if "prompt" in payload or "completion" in payload else "chat"
    if not isinstance(kind, str) or kind.lower() not in ("chat", "completion"):
        raise InvalidInput(f"generation: 'type' must be CHAT or COMPLETION, not {kind!r}")
    payload["type"] = kind.lower()
    try:
        generation = t.Generation.model_validate(payload)
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise InvalidInput(f"generation: {where!r}: {error['msg']}") from None
    return generation.model_dump(exclude_none=True)


def score_from_literal(data: Any, step_id: str | None = None) -> dict[str, Any]:
    """A Literal score (on the step ``step_id``) as native score values."""
    given = _object(data, "a score")
    where = f"score {given.get('id')!r}" if isinstance(given.get("id"), str) else "a score"
    score_id = _string(given, "id", where, required=True)
    _owner(given, "stepId", where, step_id)
    kind = given.get("type")
    if kind not in SCORE_TYPES:
        raise InvalidInput(f"{where}: 'type' must be one of {', '.join(SCORE_TYPES)}, not {kind!r}")
    value = given.get("value")
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidInput(f"{where}: 'value' must be a finite number, not {value!r}")
    return {
        "id": score_id,
        "name": _string(given, "name", where, required=True),
        "type": kind,
        "value": float(value),
        "label": _string(given, "label", where),
        "scorer": _string(given, "scorer", where),
        "comment": _string(given, "comment", where),
        "tags": _tags(given, "tags", where),
        "step_id": step_id or _string(given, "stepId", where),
        "experiment_item_id": None,  # Literal's experiments are not part of a thread export
        "created_at": _time(given, "createdAt", where),
        "updated_at": _time(given, "updatedAt", where),
    }


def attachment_from_literal(
    data: Any, thread_id: str | None = None, step_id: str | None = None
) -> dict[str, Any]:
    """A Literal attachment (on ``step_id`` of ``thread_id``) as native attachment values.

    Only what describes the file is kept (``object_key``, ``url``, name, type, metadata): the
    bytes lived in Literal's storage and are not part of an export.
    """
    given = _object(data, "an attachment")
    where = (
        f"attachment {given.get('id')!r}" if isinstance(given.get("id"), str) else "an attachment"
    )
    attachment_id = _string(given, "id", where, required=True)
    assert attachment_id is not None
    _owner(given, "stepId", where, step_id)
    _owner(given, "threadId", where, thread_id)
    metadata = given.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise InvalidInput(f"{where}: 'metadata' must be an object, not {_kind(metadata)}")
    object_key = _string(given, "objectKey", where)
    url = _string(given, "url", where)
    name = _string(given, "name", where)
    if name is None:  # Literal required a name; fall back on the file's own
        name = (object_key or url or "").rstrip("/").rsplit("/", 1)[-1] or attachment_id
    return {
        "id": attachment_id,
        "thread_id": thread_id or _string(given, "threadId", where),
        "step_id": step_id or _string(given, "stepId", where),
        "name": name,
        "mime": _string(given, "mime", where),
        "size": None,
        "object_key": object_key,
        "url": url,
        "metadata": dict(metadata or {}),
        "created_at": _time(given, "createdAt", where),
        "updated_at": _time(given, "updatedAt", where),
    }


def step_from_literal(data: Any, thread_id: str | None = None) -> dict[str, Any]:
    """A Literal step as a native step (with ``scores`` and ``attachments``).

    ``created_at`` falls back on ``startTime`` then ``endTime`` (the SDK's ``to_dict`` leaves
    ``createdAt`` out), so that importing the same step twice gives it the same time.
    """
    given = _object(data, "a step")
    step_id = given.get("id") if isinstance(given.get("id"), str) else None
    where = f"step {step_id!r}" if step_id else "a step"
    owner = thread_id or _string(given, "threadId", where)
    generation = given.get("generation")
    start, end = _time(given, "startTime", where), _time(given, "endTime", where)
    return {
        "id": given.get("id"),
        "thread_id": _string(given, "threadId", where) or thread_id,
        "parent_id": _string(given, "parentId", where),
        "root_run_id": _string(given, "rootRunId", where),
        "type": given.get("type") or "undefined",
        "name": given.get("name"),
        "input": given.get("input"),
        "output": given.get("output"),
        "metadata": given.get("metadata") or {},
        "tags": given.get("tags") or [],
        "start_time": start,
        "end_time": end,
        "created_at": _time(given, "createdAt", where) or start or end,
        "error": given.get("error"),
        "environment": given.get("environment"),
        "generation": None
        if generation is None
        else _in(where, generation_from_literal, generation),
        "scores": [
            _in(where, score_from_literal, score, step_id)
            for score in _list(given, "scores", where)
        ],
        "attachments": [
            _in(where, attachment_from_literal, item, owner, step_id)
            for item in _list(given, "attachments", where)
        ],
    }


def _in(where: str, fn: Any, *args: Any) -> Any:
    """Call ``fn``, naming ``where`` in front of its error."""
    try:
        return fn(*args)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc.message}") from None


def thread_from_literal(data: Any) -> dict[str, Any]:
    """A Literal thread (``get_threads`` node or SDK ``Thread.to_dict()``) as a native thread.

    The participant is ``{id, identifier, metadata}`` when the thread names one by identifier,
    else only ``participant_id`` is set (from ``participant.id`` or ``participantId``).
    ``updated_at`` is Literal's ``updatedAt``, else the thread's last activity (the latest time of
    the thread and its steps); ``created_at`` falls back on its earliest step.
    """
    given = _object(data, "a thread")
    thread_id = given.get("id") if isinstance(given.get("id"), str) and given.get("id") else None
    where = f"thread {thread_id!r}" if thread_id else "the thread"
    steps = [
        _in(where, step_from_literal, item, thread_id) for item in _list(given, "steps", where)
    ]
    step_times = sorted(
        time
        for step in steps
        for time in (step["created_at"], step["start_time"], step["end_time"])
        if time is not None
    )
    created = _time(given, "createdAt", where) or (step_times[0] if step_times else None)
    updated = _time(given, "updatedAt", where) or max(
        [time for time in (created, *step_times[-1:]) if time is not None], default=None
    )

    participant = None
    participant_id = _string(given, "participantId", where)
    person = given.get("participant")
    if person is not None:
        person = _object(person, f"{where}: 'participant'")
        participant_id = _string(person, "id", f"{where}: participant") or participant_id
        identifier = _string(person, "identifier", f"{where}: participant")
        if identifier is not None:
            metadata = person.get("metadata")
            participant = {
                "id": participant_id,
                "identifier": identifier,
                "metadata": metadata if metadata is not None else {},
                "created_at": _time(person, "createdAt", f"{where}: participant"),
                "updated_at": _time(person, "updatedAt", f"{where}: participant"),
            }
    return {
        "id": given.get("id"),
        "name": given.get("name"),
        "metadata": given.get("metadata") or {},
        "tags": given.get("tags") or [],
        "participant_id": participant_id,
        "participant": participant,
        "environment": given.get("environment"),
        "created_at": created,
        "updated_at": updated,
        "steps": steps,
    }


# --- finding the threads in a file -------------------------------------------------------------


@dataclass
class Found:
    """A Literal thread found in a file: the line it starts on, and how far the file is read."""

    line: int
    data: Any
    offset: int


def read_export(file: IO[bytes]) -> Iterator[Found]:
    """Every Literal thread in ``file``, in file order (see the module docstring for shapes).

    JSON Lines are read one line at a time; a file whose first line is not a JSON value on its
    own (pretty-printed JSON) is read whole. Errors are :class:`LineError`.
    """
    offset = 0
    first = True
    for number, raw in enumerate(file, start=1):
        start = offset
        offset += len(raw)
        if not raw.strip():
            continue
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if first and raw.lstrip()[:1] in (b"[", b"{"):
                yield from _read_document(raw + file.read(), number, start)
                return
            raise LineError(number, f"malformed JSON ({exc.msg} at column {exc.colno})") from None
        first = False
        for line, data in _guarded(_threads_in(value, number, {}), number):
            yield Found(line, data, offset)


def _guarded(found: Iterator[tuple[int, Any]], line: int) -> Iterator[tuple[int, Any]]:
    try:
        yield from found
    except RecursionError:
        raise LineError(line, "lists nested too deeply to hold threads") from None


def _threads_in(value: Any, line: int, lines: dict[int, int]) -> Iterator[tuple[int, Any]]:
    """The threads in a decoded value, each with its line (``lines``: id(object) -> line)."""
    line = lines.get(id(value), line)
    if isinstance(value, list):
        for item in value:
            yield from _threads_in(item, line, lines)
        return
    if not isinstance(value, dict):
        raise LineError(
            line, f"expected a Literal AI thread or a page of threads, not {_kind(value)}"
        )
    if value.get("errors"):  # a GraphQL answer that failed
        raise LineError(line, f"a GraphQL answer with errors, not threads: {value['errors']}")
    if isinstance(value.get("edges"), list):  # a GraphQL connection
        for edge in value["edges"]:
            node = edge.get("node") if isinstance(edge, dict) and "node" in edge else edge
            yield from _threads_in(node, lines.get(id(edge), line), lines)
        return
    for key in ("data", "threads", "threadDetail"):
        if key in value:
            inner = value[key]
            if inner is None:
                raise LineError(line, f"{key!r} is null: there are no threads in it")
            yield from _threads_in(inner, line, lines)
            return
    if "id" not in value:
        raise LineError(
            line,
            "expected a Literal AI thread (an object with an 'id') or a page of threads "
            '({"data": [...]} or {"edges": [{"node": ...}]})',
        )
    yield line, value


class _Document:
    """A whole JSON text (one or more values), parsed so that every object on the way to the
    threads (pages, lists, edges, threads) is tagged with the line it starts on."""

    def __init__(self, text: str, first_line: int) -> None:
        self.text = text
        self.first_line = first_line
        self.decoder = json.JSONDecoder()
        self.lines: dict[int, int] = {}
        self.ends: dict[int, int] = {}
        self._at = (0, first_line)  # (position, its line), moving forward only

    def line_at(self, pos: int) -> int:
        at, line = self._at
        if pos >= at:
            line += self.text.count("\n", at, pos)
            self._at = (pos, line)
            return line
        return self.first_line + self.text.count("\n", 0, pos)

    def error(self, message: str, pos: int) -> LineError:
        line = self.line_at(pos)
        column = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return LineError(line, f"malformed JSON ({message} at column {column})")

    def skip(self, pos: int) -> int:
        text = self.text
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        return pos

    def expect(self, pos: int, chars: str, message: str) -> str:
        if pos >= len(self.text) or self.text[pos] not in chars:
            raise self.error(message, pos)
        return self.text[pos]

    def value(self, pos: int, envelope: bool) -> tuple[Any, int]:
        """The value at ``pos`` and where it ends. Lists and objects on the envelope path are
        walked item by item (and tagged); anything else is decoded in one go."""
        text = self.text
        char = text[pos] if pos < len(text) else ""
        if envelope and char == "[":
            items: list[Any] = []
            self.lines[id(items)] = self.line_at(pos)
            pos = self.skip(pos + 1)
            if text[pos : pos + 1] == "]":
                return items, pos + 1
            while True:
                item, pos = self.value(pos, True)
                items.append(item)
                pos = self.skip(pos)
                if self.expect(pos, ",]", "Expecting ',' delimiter") == "]":
                    return items, pos + 1
                pos = self.skip(pos + 1)
        if envelope and char == "{":
            obj: dict[str, Any] = {}
            self.lines[id(obj)] = self.line_at(pos)
            pos = self.skip(pos + 1)
            if text[pos : pos + 1] == "}":
                return obj, pos + 1
            while True:
                self.expect(pos, '"', "Expecting property name enclosed in double quotes")
                try:
                    key, pos = scanstring(text, pos + 1)
                except json.JSONDecodeError as exc:
                    raise self.error(exc.msg, exc.pos) from None
                pos = self.skip(pos)
                self.expect(pos, ":", "Expecting ':' delimiter")
                obj[key], pos = self.value(self.skip(pos + 1), key in _ENVELOPE_KEYS)
                pos = self.skip(pos)
                if self.expect(pos, ",}", "Expecting ',' delimiter") == "}":
                    self.ends[id(obj)] = pos + 1
                    return obj, pos + 1
                pos = self.skip(pos + 1)
        try:
            return self.decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise self.error(exc.msg, exc.pos) from None
        except RecursionError:
            raise self.error("nested too deeply", pos) from None


def _read_document(data: bytes, first_line: int, start: int) -> Iterator[Found]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + data.count(b"\n", 0, exc.start)
        raise LineError(line, "the file is not UTF-8 text") from None
    doc = _Document(text, first_line)
    scale = len(data) / max(len(text), 1)  # characters read -> bytes read, for a progress bar
    pos = doc.skip(0)
    while pos < len(text):
        try:
            value, end = doc.value(pos, True)
        except RecursionError:
            raise LineError(doc.line_at(pos), "malformed JSON (nested too deeply)") from None
        for line, found in _guarded(_threads_in(value, doc.line_at(pos), doc.lines), first_line):
            done = doc.ends.get(id(found), end)
            yield Found(line, found, start + int(done * scale))
        pos = doc.skip(end)
