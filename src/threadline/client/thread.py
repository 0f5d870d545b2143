"""Tyler-style ``Thread``, ``Message`` and ``Attachment``: the conversation model of Tyler agents.

Field names and behaviour follow Tyler's documented Thread API and slide-narrator 6.4.0 (see
``shared/reference/tyler-narrator.md``): system messages get sequence 0 and go first, other
messages are numbered from 1 and grouped in turns, reactions are per user without duplicates,
``model_dump()`` without arguments gives the stable legacy dict, and the analytics methods read
``message.metrics``. Load and save them with ``client.tyler.load(id)`` / ``client.tyler.save(t)``;
messages are stored as steps of the message types.

This module needs only pydantic, like the rest of the SDK.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    field_validator,
    model_validator,
)
from typing_extensions import TypedDict

Role = Literal["system", "user", "assistant", "tool"]
ROLES: tuple[Role, ...] = ("system", "user", "assistant", "tool")
TITLE_LENGTH = 50
TOKEN_KEYS = ("completion_tokens", "prompt_tokens", "total_tokens")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _number(value: Any) -> int | float | None:
    """A JSON number (bools are not numbers here, as in the database's JSON functions)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


def _name(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def fallback_title(user_contents: Iterable[Any]) -> str | None:
    """The first user message cut to 50 characters (plus "..."), or None if there is none.

    This is the title without an LLM, in the SDK and on the server alike (as in narrator).
    """
    for content in user_contents:
        if isinstance(content, str):
            return content[:TITLE_LENGTH] + ("..." if len(content) > TITLE_LENGTH else "")
        return None
    return None


class FileStoreLike(Protocol):
    """Anything with narrator FileStore's ``get_file_url(path)``."""

    def get_file_url(self, relative_path: str) -> str: ...


# --- Attachment ------------------------------------------------------------------------------


class Attachment(BaseModel):
    """A file attached to a message: its bytes (``content``) until stored, then a reference."""

    filename: str
    content: bytes | str | None = None
    mime_type: str | None = None
    attributes: dict[str, Any] | None = None
    file_id: str | None = None
    storage_path: str | None = None
    storage_backend: str | None = None
    status: Literal["pending", "stored", "failed"] = "pending"

    def content_bytes(self) -> bytes | None:
        """The content as bytes: raw, a data URL, base64 text, or else UTF-8 text."""
        if self.content is None or isinstance(self.content, bytes):
            return self.content
        text = self.content
        if text.startswith("data:") and "," in text:
            return base64.b64decode(text.split(",", 1)[1])
        try:
            return base64.b64decode(text)
        except (binascii.Error, ValueError):
            return text.encode("utf-8")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        """First 16 hex digits of sha256(filename + content), as narrator computes it."""
        if self.content is None:
            digest = hashlib.sha256(f"{self.filename}{self.mime_type or ''}".encode())
            return digest.hexdigest()[:16]
        if isinstance(self.content, bytes):
            data = self.content
        else:
            try:
                data = base64.b64decode(self.content)
            except (binascii.Error, ValueError):
                data = self.content.encode("utf-8")
        return hashlib.sha256(self.filename.encode() + data).hexdigest()[:16]

    def to_dict(self, mode: Literal["json", "python"] = "json") -> dict[str, Any]:
        """The stored metadata (never the content)."""
        return {
            "filename": self.filename,
            "mime_type": self.mime_type,
            "attributes": self.attributes,
            "file_id": self.file_id,
            "storage_path": self.storage_path,
            "storage_backend": self.storage_backend,
            "status": self.status,
        }

    def model_dump(self, *, mode: str = "json", **kwargs: Any) -> dict[str, Any]:
        """Without keyword arguments: :meth:`to_dict`; with them, pydantic's own dump."""
        if not kwargs:
            return self.to_dict()
        return super().model_dump(mode=mode, **kwargs)


# --- Message ---------------------------------------------------------------------------------


class TextContent(TypedDict):
    type: Literal["text"]
    text: str


class ImageUrl(TypedDict):
    url: str


class ImageContent(TypedDict):
    type: Literal["image_url"]
    image_url: ImageUrl


class EntitySource(TypedDict, total=False):
    """Who created a message: ``id`` (required), ``name``, ``type`` and ``attributes``."""

    id: str
    name: str
    type: Literal["user", "agent", "tool"]
    attributes: dict[str, Any] | None


def default_metrics() -> dict[str, Any]:
    return {
        "model": None,
        "timing": {"started_at": None, "ended_at": None, "latency": 0},
        "usage": {"completion_tokens": 0, "prompt_tokens": 0, "total_tokens": 0},
        "weave_call": {"id": "", "ui_url": ""},
    }


class Message(BaseModel):
    """One message of a thread. Without an ``id``, one is derived from its content (SHA-256)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    id: str = ""
    role: Role
    sequence: int | None = None
    turn: int | None = None
    content: str | list[TextContent | ImageContent] | None = None
    reasoning_content: str | None = None
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: list[Any] | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime = Field(default_factory=_utcnow)
    source: EntitySource | None = None
    platforms: dict[str, dict[str, str]] = Field(default_factory=dict)
    attachments: list[Attachment] = Field(default_factory=list)
    reactions: dict[str, list[str]] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=default_metrics)

    def __init__(self, **data: Any) -> None:
        if "file_content" in data and "filename" in data:
            attachments = list(data.get("attachments") or [])
            attachments.append(
                Attachment(filename=data.pop("filename"), content=data.pop("file_content"))
            )
            data["attachments"] = attachments
        super().__init__(**data)
        if not self.id:
            self.id = self._content_id()

    def _content_id(self) -> str:
        hashed: dict[str, Any] = {
            "role": self.role,
            "sequence": self.sequence,
            "turn": self.turn,
            "content": self.content,
            "timestamp": self.timestamp.isoformat(),
        }
        if self.name and self.role == "tool":
            hashed["name"] = self.name
        if self.source:
            hashed["source"] = self.source
        return hashlib.sha256(json.dumps(hashed, sort_keys=True).encode()).hexdigest()

    @field_validator("id", mode="before")
    @classmethod
    def derive_missing_id(cls, value: Any) -> Any:
        """``id=None`` means "derive it", as when it is left out."""
        return "" if value is None else value

    @field_validator("timestamp", mode="before")
    @classmethod
    def ensure_timezone(cls, value: Any) -> Any:
        """Naive datetimes are taken as UTC."""
        return _aware(value)

    @field_validator("tool_calls")
    @classmethod
    def validate_tool_calls(cls, value: list[Any] | None) -> list[Any] | None:
        for call in value or []:
            if not isinstance(call, dict):
                raise ValueError("each tool call must be a dict")
            if not {"id", "type", "function"} <= call.keys():
                raise ValueError("a tool call needs id, type and function")
            function = call["function"]
            if not isinstance(function, dict) or not {"name", "arguments"} <= function.keys():
                raise ValueError("a tool call's function needs name and arguments")
        return value

    @field_validator("source")
    @classmethod
    def validate_source(cls, value: EntitySource | None) -> EntitySource | None:
        if value is not None:
            if "type" in value and value["type"] not in ("user", "agent", "tool"):
                raise ValueError("source.type must be user, agent or tool")
            if "id" not in value:
                raise ValueError("source.id is required")
        return value

    @model_validator(mode="after")
    def validate_tool_message(self) -> Message:
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("tool messages need a tool_call_id")
        return self

    # --- serialisation -----------------------------------------------------------------------

    def _tool_calls_dump(self) -> list[dict[str, Any]]:
        calls = []
        for call in self.tool_calls or []:
            function = call.get("function") or {}
            calls.append(
                {
                    "id": call.get("id"),
                    "type": call.get("type", "function"),
                    "function": {
                        "name": function.get("name"),
                        "arguments": function.get("arguments"),
                    },
                }
            )
        return calls

    def to_dict(self, mode: Literal["json", "python"] = "json") -> dict[str, Any]:
        """The stable dict: always the ten core keys, the others only when set."""
        out: dict[str, Any] = {
            "id": self.id,
            "role": self.role,
            "sequence": self.sequence,
            "turn": self.turn,
            "content": self.content,
            "timestamp": self.timestamp.isoformat() if mode == "json" else self.timestamp,
            "source": self.source,
            "platforms": self.platforms,
            "metrics": self.metrics,
            "reactions": self.reactions,
        }
        if self.reasoning_content:
            out["reasoning_content"] = self.reasoning_content
        if self.name:
            out["name"] = self.name
        if self.tool_call_id:
            out["tool_call_id"] = self.tool_call_id
        if self.tool_calls:
            out["tool_calls"] = self._tool_calls_dump()
        if self.attributes:
            out["attributes"] = self.attributes
        if self.attachments:
            out["attachments"] = [a.to_dict(mode) for a in self.attachments]
        return out

    def model_dump(  # type: ignore[override]
        self, *, mode: Literal["json", "python"] = "json", **kwargs: Any
    ) -> dict[str, Any]:
        """Without keyword arguments: :meth:`to_dict`; with them, pydantic's own dump."""
        if not kwargs:
            return self.to_dict(mode=mode)
        return super().model_dump(mode=mode, **kwargs)

    def to_chat_completion_message(self, file_store: FileStoreLike | None = None) -> dict[str, Any]:
        """The message for a chat completion API, with a ``sequence`` key and file references.

        List (multimodal) content becomes ``""``. Stored attachments are listed as
        ``[File: <url> (<mime>)]`` lines (under "Generated Files:" for assistant messages); the
        URL is ``attributes["url"]``, else ``file_store.get_file_url(storage_path)``, else the
        storage path itself.
        """
        out: dict[str, Any] = {
            "role": self.role,
            "content": self.content if isinstance(self.content, str) else "",
            "sequence": self.sequence,
        }
        if self.name:
            out["name"] = self.name
        if self.role == "assistant" and self.tool_calls:
            out["tool_calls"] = self.tool_calls
        if self.role == "tool" and self.tool_call_id:
            out["tool_call_id"] = self.tool_call_id
        refs = []
        for attachment in self.attachments:
            if not attachment.storage_path:
                continue
            url = (attachment.attributes or {}).get("url")
            if not url:
                url = (
                    file_store.get_file_url(attachment.storage_path)
                    if file_store is not None
                    else attachment.storage_path
                )
            refs.append(f"[File: {url} ({attachment.mime_type})]")
        if refs:
            lines = "\n".join(refs)
            if self.role in ("user", "tool"):
                out["content"] = f"{out['content']}\n\n{lines}" if out["content"] else lines
            elif self.role == "assistant":
                header = "Generated Files:\n" + lines
                out["content"] = f"{out['content']}\n\n{header}" if out["content"] else header
        return out

    # --- attachments and reactions -----------------------------------------------------------

    def add_attachment(self, attachment: Attachment | bytes, filename: str | None = None) -> None:
        if isinstance(attachment, Attachment):
            self.attachments.append(attachment)
        elif isinstance(attachment, bytes):
            if not filename:
                raise ValueError("filename is required when adding raw bytes as an attachment")
            self.attachments.append(Attachment(filename=filename, content=attachment))
        else:
            raise ValueError("attachment must be an Attachment or bytes")

    def add_reaction(self, emoji: str, user_id: str) -> bool:
        """Add ``user_id``'s ``emoji``; False if they had already reacted with it."""
        users = self.reactions.setdefault(emoji, [])
        if user_id in users:
            return False
        users.append(user_id)
        return True

    def remove_reaction(self, emoji: str, user_id: str) -> bool:
        """Remove ``user_id``'s ``emoji``; False if there was none. Empty emojis are dropped."""
        users = self.reactions.get(emoji)
        if not users or user_id not in users:
            return False
        users.remove(user_id)
        if not users:
            del self.reactions[emoji]
        return True

    def get_reactions(self) -> dict[str, list[str]]:
        return self.reactions

    def get_reaction_counts(self) -> dict[str, int]:
        return {emoji: len(users) for emoji, users in self.reactions.items()}


# --- Thread ----------------------------------------------------------------------------------


class Thread(BaseModel):
    """A conversation: messages plus title, attributes and external platform references."""

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    title: str | None = "Untitled Thread"
    messages: list[Message] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=_utcnow)
    updated_at: datetime = Field(default_factory=_utcnow)
    attributes: dict[str, Any] = Field(default_factory=dict)
    platforms: dict[str, dict[str, str]] = Field(default_factory=dict)

    @field_validator("created_at", "updated_at", mode="before")
    @classmethod
    def ensure_timezone(cls, value: Any) -> Any:
        """Naive datetimes are taken as UTC."""
        return _aware(value)

    def _touch(self) -> None:
        self.updated_at = _utcnow()

    # --- serialisation -----------------------------------------------------------------------

    def to_dict(self, mode: Literal["json", "python"] = "json") -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "messages": [m.to_dict(mode=mode) for m in self.messages],
            "created_at": self.created_at.isoformat() if mode == "json" else self.created_at,
            "updated_at": self.updated_at.isoformat() if mode == "json" else self.updated_at,
            "attributes": self.attributes,
            "platforms": self.platforms,
        }

    def model_dump(  # type: ignore[override]
        self, *, mode: Literal["json", "python"] = "json", **kwargs: Any
    ) -> dict[str, Any]:
        """Without keyword arguments: :meth:`to_dict`; with them, pydantic's own dump."""
        if not kwargs:
            return self.to_dict(mode=mode)
        return super().model_dump(mode=mode, **kwargs)

    # --- adding messages ---------------------------------------------------------------------

    def _max_turn(self) -> int:
        return max(
            (m.turn for m in self.messages if m.role != "system" and m.turn is not None),
            default=0,
        )

    def _next_sequence(self) -> int:
        return (
            max(
                (
                    m.sequence
                    for m in self.messages
                    if m.role != "system" and m.sequence is not None
                ),
                default=0,
            )
            + 1
        )

    def add_message(self, message: Message, same_turn: bool = False) -> None:
        """Add a message: system -> sequence 0, turn 0, first; others the next sequence (from 1)
        and a new turn, or with ``same_turn`` the previous message's turn."""
        if message.role == "system":
            message.sequence = 0
            message.turn = 0
            self.messages.insert(0, message)
        else:
            message.sequence = self._next_sequence()
            previous = self.messages[-1] if self.messages else None
            if same_turn and previous is not None and previous.role != "system":
                message.turn = previous.turn
            else:
                message.turn = self._max_turn() + 1
            self.messages.append(message)
        self._touch()

    def add_messages_batch(self, messages: list[Message]) -> None:
        """Add messages that all share one new turn."""
        if not messages:
            return
        turn = self._max_turn() + 1
        for message in messages:
            if message.role == "system":
                message.sequence = 0
                message.turn = 0
                self.messages.insert(0, message)
            else:
                message.sequence = self._next_sequence()
                message.turn = turn
                self.messages.append(message)
        self._touch()

    def clear_messages(self) -> None:
        self.messages = []
        self._touch()

    async def get_messages_for_chat_completion(
        self, file_store: FileStoreLike | None = None
    ) -> list[dict[str, Any]]:
        """The non-system messages as chat completion dicts (agents add their system prompt)."""
        return [
            m.to_chat_completion_message(file_store=file_store)
            for m in self.messages
            if m.role != "system"
        ]

    # --- lookups -----------------------------------------------------------------------------

    def get_message_by_id(self, message_id: str) -> Message | None:
        return next((m for m in self.messages if m.id == message_id), None)

    def get_last_message_by_role(self, role: Role) -> Message | None:
        return next((m for m in reversed(self.messages) if m.role == role), None)

    def get_system_message(self) -> Message | None:
        return next((m for m in self.messages if m.role == "system"), None)

    def get_messages_in_sequence(self) -> list[Message]:
        return sorted(
            self.messages, key=lambda m: m.sequence if m.sequence is not None else float("inf")
        )

    def get_messages_by_turn(self, turn: int) -> list[Message]:
        return sorted(
            (m for m in self.messages if m.turn == turn),
            key=lambda m: m.sequence if m.sequence is not None else float("inf"),
        )

    def get_current_turn(self) -> int:
        """The highest turn of a non-system message (0 without any)."""
        return self._max_turn()

    def get_turns_summary(self) -> dict[int, dict[str, Any]]:
        turns: dict[int, dict[str, Any]] = {}
        for m in self.messages:
            if m.turn is None or m.role == "system":
                continue
            entry = turns.setdefault(
                m.turn,
                {
                    "turn": m.turn,
                    "message_count": 0,
                    "roles": {},
                    "first_message_time": m.timestamp,
                    "last_message_time": m.timestamp,
                },
            )
            entry["message_count"] += 1
            entry["roles"][m.role] = entry["roles"].get(m.role, 0) + 1
            entry["first_message_time"] = min(entry["first_message_time"], m.timestamp)
            entry["last_message_time"] = max(entry["last_message_time"], m.timestamp)
        return turns

    # --- reactions ---------------------------------------------------------------------------

    def add_reaction(self, message_id: str, emoji: str, user_id: str) -> bool:
        """False if the message is missing or the user already reacted with this emoji."""
        message = self.get_message_by_id(message_id)
        if message is None or not message.add_reaction(emoji, user_id):
            return False
        self._touch()
        return True

    def remove_reaction(self, message_id: str, emoji: str, user_id: str) -> bool:
        """False if the message or the reaction is missing."""
        message = self.get_message_by_id(message_id)
        if message is None or not message.remove_reaction(emoji, user_id):
            return False
        self._touch()
        return True

    def get_reactions(self, message_id: str) -> dict[str, list[str]]:
        message = self.get_message_by_id(message_id)
        return message.get_reactions() if message is not None else {}

    def has_reaction(self, message_id: str, emoji: str, user_id: str) -> bool:
        return user_id in self.get_reactions(message_id).get(emoji, [])

    # --- titles ------------------------------------------------------------------------------

    def generate_title(self) -> str:
        """Title from the first user message (50 characters, plus "..."), without a network
        call. ``client.tyler.generate_title(thread)`` asks the server, which can use an LLM."""
        if not self.messages:
            return "Empty Thread"
        title = fallback_title(m.content for m in self.messages if m.role == "user")
        if title is None:
            return "Untitled Thread"
        self.title = title
        self._touch()
        return title

    # --- analytics (the same rules as GET /v1/threads/{id}/analytics) ------------------------

    def _metrics(self) -> Iterable[dict[str, Any]]:
        return (m.metrics for m in self.messages if isinstance(m.metrics, dict) and m.metrics)

    @staticmethod
    def _usage(metrics: dict[str, Any]) -> dict[str, int | float]:
        usage = metrics.get("usage")
        if not isinstance(usage, dict):
            return dict.fromkeys(TOKEN_KEYS, 0)
        return {key: _number(usage.get(key)) or 0 for key in TOKEN_KEYS}

    def get_total_tokens(self) -> dict[str, Any]:
        """``{overall: {completion_tokens, prompt_tokens, total_tokens}, by_model: {...}}``."""
        overall: dict[str, int | float] = dict.fromkeys(TOKEN_KEYS, 0)
        by_model: dict[str, dict[str, int | float]] = {}
        for metrics in self._metrics():
            usage = self._usage(metrics)
            model = _name(metrics.get("model"))
            targets = [overall]
            if model is not None:
                targets.append(by_model.setdefault(model, dict.fromkeys(TOKEN_KEYS, 0)))
            for target in targets:
                for key in TOKEN_KEYS:
                    target[key] += usage[key]
        return {"overall": overall, "by_model": by_model}

    def get_model_usage(self, model_name: str | None = None) -> dict[str, Any]:
        """``{model: {calls, completion_tokens, prompt_tokens, total_tokens}}``, or one entry."""
        usage: dict[str, dict[str, int | float]] = {}
        for metrics in self._metrics():
            model = _name(metrics.get("model"))
            if model is None:
                continue
            entry = usage.setdefault(model, {"calls": 0, **dict.fromkeys(TOKEN_KEYS, 0)})
            entry["calls"] += 1
            for key, value in self._usage(metrics).items():
                entry[key] += value
        if model_name:
            return usage.get(model_name, {"calls": 0, **dict.fromkeys(TOKEN_KEYS, 0)})
        return usage

    def get_message_timing_stats(self) -> dict[str, Any]:
        """``{total_latency, average_latency, message_count}`` in ms, over messages that have a
        non-zero ``metrics.timing.latency``."""
        total: int | float = 0
        count = 0
        for metrics in self._metrics():
            timing = metrics.get("timing")
            latency = _number(timing.get("latency")) if isinstance(timing, dict) else None
            if latency:
                total += latency
                count += 1
        return {
            "total_latency": total,
            "average_latency": total / count if count else 0,
            "message_count": count,
        }

    def get_message_counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(ROLES, 0)
        for m in self.messages:
            counts[m.role] += 1
        return counts

    def get_tool_usage(self) -> dict[str, Any]:
        """``{tools: {name: calls}, total_calls}`` from the assistant messages' tool calls."""
        tools: dict[str, int] = {}
        for m in self.messages:
            if m.role != "assistant" or not isinstance(m.tool_calls, list):
                continue
            for call in m.tool_calls:
                function = call.get("function") if isinstance(call, dict) else None
                name = _name(function.get("name")) if isinstance(function, dict) else None
                if name is not None:
                    tools[name] = tools.get(name, 0) + 1
        return {"tools": tools, "total_calls": sum(tools.values())}

    def analytics(self) -> dict[str, Any]:
        """All of the above in the shape of ``client.threads.analytics(id)``."""
        return {
            "tokens": self.get_total_tokens(),
            "model_usage": self.get_model_usage(),
            "timing": self.get_message_timing_stats(),
            "message_counts": self.get_message_counts(),
            "tool_usage": self.get_tool_usage(),
        }
