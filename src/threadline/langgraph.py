"""A LangGraph checkpointer that keeps a graph's checkpoints on a Threadline server.

``pip install 'threadline[langgraph]'``, then::

    from threadline.langgraph import ThreadlineSaver

    graph = builder.compile(checkpointer=ThreadlineSaver())  # THREADLINE_URL / THREADLINE_API_KEY
    graph.invoke({"messages": [("user", "hi")]}, {"configurable": {"thread_id": thread_id}})

Each checkpoint is stored twice over: LangGraph's own serialized form (the saver's ``serde``,
msgpack by default), from which it is read back exactly, LangChain messages included; and a JSON
view (the state channels, the next nodes and their tasks, the metadata) that the server's threads
API, langgraph-sdk's ``threads.get_state``/``get_history`` and search read. A task's interrupts
and errors, sent as pending writes, show on its checkpoint's tasks and on the thread's status.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, TypeVar

import orjson

try:
    from langchain_core.runnables import RunnableConfig
    from langgraph.checkpoint.base import (
        WRITES_IDX_MAP,
        BaseCheckpointSaver,
        ChannelVersions,
        Checkpoint,
        CheckpointMetadata,
        CheckpointTuple,
        get_checkpoint_metadata,
    )
    from langgraph.checkpoint.serde.base import SerializerProtocol
except ImportError as exc:  # pragma: no cover - exercised without the extra installed
    raise ImportError(
        "threadline.langgraph needs LangGraph: pip install 'threadline[langgraph]'"
    ) from exc

from threadline.client import types as t
from threadline.client._async import AsyncClient
from threadline.client._sync import Client
from threadline.client.batching import Batcher
from threadline.client.errors import APIStatusError, NotFoundError

__all__ = ["ThreadlineSaver", "json_view", "next_tasks"]

T = TypeVar("T")

_PULL = "__pregel_pull"
_PUSH = "__pregel_push"
_START = "__start__"
_BRANCH = "branch:to:"
_TASKS = "__pregel_tasks"
_ROOT = "__root__"
#: how long put_writes waits for its checkpoint while a put of the same thread may be in flight
#: (LangGraph's "async" durability sends a checkpoint and the next step's writes concurrently)
_WRITES_WAIT_SECONDS = 30.0
#: how long a task's writes, with no request in flight, wait for a checkpoint to share theirs
_WRITES_LINGER_SECONDS = 0.002
#: how long writes wait for a checkpoint this saver is storing before they are sent anyway
_CHECKPOINT_WAIT_SECONDS = 0.25


# --- the JSON view ------------------------------------------------------------------------------


def _default(obj: Any) -> Any:
    dump = getattr(obj, "model_dump", None)
    if callable(dump):  # pydantic models, LangChain messages among them
        return dump()
    if isinstance(obj, set | frozenset):
        return list(obj)
    if isinstance(obj, bytes | bytearray):
        return base64.b64encode(obj).decode("ascii")
    if isinstance(obj, BaseException):
        return f"{type(obj).__name__}({str(obj)!r})"
    slots = getattr(type(obj), "__slots__", None)
    if slots and all(isinstance(s, str) for s in slots):  # e.g. Send(node, arg)
        return {s: getattr(obj, s, None) for s in slots if not s.startswith("_")}
    if hasattr(obj, "__dict__"):
        return {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    return repr(obj)


def json_view(value: Any) -> Any:
    """``value`` as plain JSON (messages as LangChain's dict form), for display and search."""
    try:
        raw = orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        raw = orjson.dumps(repr(value))
    if b"\\u0000" in raw:  # PostgreSQL's jsonb cannot hold NUL characters
        raw = raw.replace(b"\\u0000", b"")
    return orjson.loads(raw)


def _state_values(channel_values: dict[str, Any]) -> Any:
    """The graph's state channels (LangGraph's internal channels left out)."""
    if _ROOT in channel_values:
        return json_view(channel_values[_ROOT])
    return json_view(
        {
            k: v
            for k, v in channel_values.items()
            if not k.startswith("__") and not k.startswith(_BRANCH)
        }
    )


# --- next nodes and their tasks -----------------------------------------------------------------


def _newer(version: Any, seen: Any) -> bool:
    if seen is None:
        return True
    try:
        return bool(version > seen)
    except TypeError:
        return str(version) > str(seen)


def _task_id_function() -> tuple[Callable[..., str], Callable[..., str]] | None:
    try:  # LangGraph's own task ids, so that they match the ids of the tasks' pending writes
        from langgraph.pregel._algo import _uuid5_str, _xxhash_str
    except ImportError:  # pragma: no cover - a LangGraph without them: ids from the writes
        return None
    return _xxhash_str, _uuid5_str


_TASK_ID_FUNCTIONS = _task_id_function()


def _task_id(checkpoint: Checkpoint, *parts: str) -> str:
    if _TASK_ID_FUNCTIONS is not None:
        try:
            namespace = binascii.unhexlify(checkpoint["id"].replace("-", ""))
        except (binascii.Error, ValueError):
            namespace = None
        if namespace is not None:
            xxhash_str, uuid5_str = _TASK_ID_FUNCTIONS
            fn = xxhash_str if checkpoint.get("v", 1) > 1 else uuid5_str
            return fn(namespace, *parts)
    return str(uuid.uuid4())


def next_tasks(
    checkpoint: Checkpoint, metadata: CheckpointMetadata, checkpoint_ns: str = ""
) -> tuple[list[str], list[dict[str, Any]]]:
    """The nodes a StateGraph runs after ``checkpoint``, and their tasks, as LangGraph's
    ``get_state`` lists them: a node runs when its trigger channel (``branch:to:<node>``, or
    ``__start__``) holds a value newer than the node has seen; ``Send`` packets add push tasks."""
    values = checkpoint.get("channel_values") or {}
    versions = checkpoint.get("channel_versions") or {}
    seen_by_node = checkpoint.get("versions_seen") or {}
    step = metadata.get("step")
    step_str = str(step + 1) if isinstance(step, int) else "0"
    tasks: list[dict[str, Any]] = []

    def task(name: str, path: list[Any], *id_parts: str) -> dict[str, Any]:
        task_ns = f"{checkpoint_ns}|{name}" if checkpoint_ns else name
        return {
            "id": _task_id(checkpoint, task_ns, step_str, name, *id_parts),
            "name": name,
            "path": path,
            "error": None,
            "interrupts": [],
            "checkpoint": None,
            "state": None,
            "result": None,
        }

    sends = values.get(_TASKS) or []
    for index, packet in enumerate(sends if isinstance(sends, list) else []):
        name = getattr(packet, "node", None)
        if isinstance(name, str):
            tasks.append(task(name, [_PUSH, index], _PUSH, str(index)))
    for channel in versions:
        if channel == _START:
            name = _START
        elif channel.startswith(_BRANCH):
            name = channel[len(_BRANCH) :]
        else:
            continue
        if channel not in values:
            continue
        seen = seen_by_node.get(name)
        if seen is not None and not _newer(versions[channel], seen.get(channel)):
            continue
        tasks.append(task(name, [_PULL, name], _PULL, channel))
    return [t["name"] for t in tasks], tasks


# --- the saver ----------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _weight(operation: dict[str, Any]) -> int:
    """About the bytes an operation adds to a batch request: its serialized forms dominate."""
    if "checkpoint" in operation:
        return len(operation["checkpoint"]["serialized"]["data"]) + 1024
    return sum(len(w["serialized"]["data"]) + 256 for w in operation["writes"]["writes"]) + 256


class ThreadlineSaver(BaseCheckpointSaver[int]):
    """Checkpoints on a Threadline server, for ``graph.compile(checkpointer=...)``.

    Give ``base_url`` and ``api_key`` (default: ``THREADLINE_URL``, ``THREADLINE_API_KEY``), or
    a ``threadline.Client`` / ``AsyncClient`` as ``client``. Sync graphs (``invoke``) use the
    sync methods, async ones (``ainvoke``) the async methods; both work on one saver.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        client: Client | AsyncClient | None = None,
        serde: SerializerProtocol | None = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(serde=serde)
        self._sync: Client | None = client if isinstance(client, Client) else None
        self._async: AsyncClient | None = client if isinstance(client, AsyncClient) else None
        if client is not None:
            base_url, api_key = client._config.base_url, client._config.api_key
            timeout = client._config.timeout
        self._base_url, self._api_key, self._timeout = base_url, api_key, timeout
        if client is None:  # fail now on a missing key, not on the first checkpoint
            self._sync = Client(base_url, api_key, timeout=timeout)
        self._lock = threading.Lock()
        self._stored_cond = threading.Condition(self._lock)
        self._puts: dict[str, int] = {}  # thread id -> puts in flight
        self._last_put: dict[str, float] = {}
        # thread id -> checkpoints stored, or queued for sending ahead of any later writes
        self._stored: dict[str, set[str]] = {}
        # sync calls from LangGraph's background threads share requests (see _send_batch)
        self._batches: Batcher[dict[str, Any], Any] = Batcher(
            self._send_batch, weight=_weight, max_items=128
        )

    @property
    def client(self) -> Client:
        if self._sync is None:
            self._sync = Client(self._base_url, self._api_key, timeout=self._timeout)
        return self._sync

    @property
    def async_client(self) -> AsyncClient:
        if self._async is None:
            self._async = AsyncClient(self._base_url, self._api_key, timeout=self._timeout)
        return self._async

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.close()
        self.close()

    # --- request bodies and results --------------------------------------------------------

    def _checkpoint_body(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
    ) -> tuple[str, str, dict[str, Any]]:
        configurable = config["configurable"]
        thread_id = str(configurable["thread_id"])
        ns = configurable.get("checkpoint_ns", "")
        full_metadata = get_checkpoint_metadata(config, metadata)
        kind, blob = self.serde.dumps_typed(checkpoint)
        next_nodes, tasks = next_tasks(checkpoint, full_metadata, ns)
        body = {
            "checkpoint_ns": ns,
            "parent_checkpoint_id": configurable.get("checkpoint_id"),
            "values": _state_values(checkpoint.get("channel_values") or {}),
            "metadata": json_view(full_metadata),
            "next": next_nodes,
            "tasks": tasks,
            "serialized": {"type": kind, "data": _b64(blob)},
        }
        return thread_id, checkpoint["id"], body

    def _writes_operation(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str,
    ) -> dict[str, Any]:
        """A task's writes as one operation of a checkpoint batch (``client.checkpoints.batch``;
        its ``writes`` are ``put_writes``' keyword arguments)."""
        configurable = config["configurable"]
        rows = []
        for index, (channel, value) in enumerate(writes):
            kind, blob = self.serde.dumps_typed(value)
            rows.append(
                {
                    "idx": WRITES_IDX_MAP.get(channel, index),
                    "channel": channel,
                    "value": json_view(value),
                    "serialized": {"type": kind, "data": _b64(blob)},
                }
            )
        return {
            "thread_id": str(configurable["thread_id"]),
            "checkpoint_id": str(configurable["checkpoint_id"]),
            "writes": {
                "checkpoint_ns": configurable.get("checkpoint_ns", ""),
                "task_id": task_id,
                "task_path": task_path,
                "writes": rows,
            },
        }

    def _load(self, serialized: dict[str, str] | None, fallback: Any) -> Any:
        if serialized is None:
            return fallback
        return self.serde.loads_typed((serialized["type"], base64.b64decode(serialized["data"])))

    def _tuple(self, stored: t.StoredCheckpoint) -> CheckpointTuple:
        if stored.serialized is not None:
            checkpoint: Checkpoint = self._load(stored.serialized, None)
        else:  # written through the threads API (update_state): rebuilt from its JSON view
            values = stored.values if isinstance(stored.values, dict) else {_ROOT: stored.values}
            checkpoint = Checkpoint(
                v=1,
                id=stored.checkpoint_id,
                ts=stored.created_at.isoformat() if stored.created_at else "",
                channel_values=dict(values),
                channel_versions={},
                versions_seen={},
                updated_channels=None,
            )
        ref = {"thread_id": stored.thread_id, "checkpoint_ns": stored.checkpoint_ns}
        parent = None
        if stored.parent_checkpoint_id is not None:
            parent = {"configurable": {**ref, "checkpoint_id": stored.parent_checkpoint_id}}
        return CheckpointTuple(
            config={"configurable": {**ref, "checkpoint_id": stored.checkpoint_id}},
            checkpoint=checkpoint,
            metadata=stored.metadata,  # type: ignore[arg-type]
            parent_config=parent,  # type: ignore[arg-type]
            pending_writes=[
                (w.task_id, w.channel, self._load(w.serialized, w.value))
                for w in stored.pending_writes
            ],
        )

    @staticmethod
    def _get_query(config: RunnableConfig) -> dict[str, Any]:
        configurable = config["configurable"]
        return {
            "thread_id": str(configurable["thread_id"]),
            "checkpoint_ns": configurable.get("checkpoint_ns", ""),
            "checkpoint_id": configurable.get("checkpoint_id"),
            "limit": 1,
        }

    @staticmethod
    def _list_query(
        config: RunnableConfig | None,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> dict[str, Any]:
        configurable = (config or {}).get("configurable") or {}
        query: dict[str, Any] = {
            "thread_id": str(configurable["thread_id"]) if "thread_id" in configurable else None,
            "checkpoint_ns": configurable.get("checkpoint_ns"),
            "checkpoint_id": configurable.get("checkpoint_id"),
            "metadata": json_view(filter) if filter else None,
            "limit": limit,
        }
        if before is not None:
            query["before"] = before["configurable"].get("checkpoint_id")
        return query

    @staticmethod
    def _config(thread_id: str, ns: str, checkpoint_id: str) -> RunnableConfig:
        return {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint_id,
            }
        }

    # --- writes wait for their checkpoint ----------------------------------------------------

    def _put_started(self, thread_id: str) -> None:
        with self._lock:
            self._puts[thread_id] = self._puts.get(thread_id, 0) + 1

    def _put_queued(self, thread_id: str, checkpoint_id: str) -> None:
        """Writes to ``checkpoint_id`` need not wait any more: it is stored, or queued in
        the batcher, which sends it before any writes queued after it."""
        with self._lock:
            known = self._stored.setdefault(thread_id, set())
            if len(known) > 64:
                known.clear()
            known.add(checkpoint_id)
            if len(self._stored) > 10_000:
                self._stored = {thread_id: known}
            self._stored_cond.notify_all()

    def _put_done(self, thread_id: str, checkpoint_id: str | None = None) -> None:
        if checkpoint_id is not None:
            self._put_queued(thread_id, checkpoint_id)
        with self._lock:
            left = self._puts.get(thread_id, 1) - 1
            if left:
                self._puts[thread_id] = left
            else:
                self._puts.pop(thread_id, None)
            self._last_put[thread_id] = time.monotonic()
            if len(self._last_put) > 10_000:
                self._last_put.clear()

    def _expecting(self, thread_id: str, checkpoint_id: str) -> bool:
        """Whether writes to ``checkpoint_id`` should wait for it: a run of this saver is
        putting the thread's checkpoints (LangGraph's default durability puts them in the
        background, so a step's writes can be sent before its checkpoint is stored) and this
        one is not known to be stored yet. Caller holds the lock."""
        if checkpoint_id in self._stored.get(thread_id, ()):
            return False
        if self._puts.get(thread_id):
            return True
        last = self._last_put.get(thread_id)
        return last is not None and time.monotonic() - last < _CHECKPOINT_WAIT_SECONDS

    def _await_checkpoint(self, thread_id: str, checkpoint_id: str) -> None:
        """Sync: wait (briefly) until this saver has stored ``checkpoint_id``, instead of
        sending writes that would be refused (404) and retried after a sleep."""
        deadline = time.monotonic() + _CHECKPOINT_WAIT_SECONDS
        with self._lock:
            while self._expecting(thread_id, checkpoint_id):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._stored_cond.wait(left)

    async def _aawait_checkpoint(self, thread_id: str, checkpoint_id: str) -> None:
        """Async: as :meth:`_await_checkpoint`, polling (the put runs on this event loop)."""
        deadline = time.monotonic() + _CHECKPOINT_WAIT_SECONDS
        while time.monotonic() < deadline:
            with self._lock:
                if not self._expecting(thread_id, checkpoint_id):
                    return
            await asyncio.sleep(0.0005)

    def _may_arrive(self, thread_id: str, started: float) -> bool:
        """Whether a put of this thread is in flight or was made lately: the checkpoint that
        writes target may still be on its way."""
        with self._lock:
            if self._puts.get(thread_id):
                return time.monotonic() - started < _WRITES_WAIT_SECONDS
            last = self._last_put.get(thread_id)
        return last is not None and time.monotonic() - started < 1.0

    def _send_one(self, operation: dict[str, Any]) -> Any:
        thread_id, checkpoint_id = operation["thread_id"], operation["checkpoint_id"]
        if "checkpoint" in operation:
            return self.client.checkpoints.put(thread_id, checkpoint_id, **operation["checkpoint"])
        return self.client.checkpoints.put_writes(thread_id, checkpoint_id, **operation["writes"])

    def _send_batch(self, operations: list[dict[str, Any]]) -> list[Any]:
        """One request for the checkpoints and writes LangGraph's threads handed over while the
        previous request was in flight. A batch the server refuses (it is all or none) is sent
        again one operation at a time, so that each call gets its own answer."""
        if len(operations) > 1:
            try:
                return self.client.checkpoints.batch(operations)
            except APIStatusError:
                pass
        outcomes: list[Any] = []
        for operation in operations:
            try:
                outcomes.append(self._send_one(operation))
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    # --- sync --------------------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        found = self.client.checkpoints.search(**self._get_query(config))
        return self._tuple(found[0]) if found else None

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        query = self._list_query(config, filter, before, limit)
        for stored in self.client.checkpoints.search(**query):
            yield self._tuple(stored)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        thread_id, checkpoint_id, body = self._checkpoint_body(config, checkpoint, metadata)
        self._put_started(thread_id)
        stored = None
        try:
            self._batches.submit(
                {"thread_id": thread_id, "checkpoint_id": checkpoint_id, "checkpoint": body},
                queued=lambda: self._put_queued(thread_id, checkpoint_id),
            )
            stored = checkpoint_id
        finally:
            self._put_done(thread_id, stored)
        return self._config(thread_id, body["checkpoint_ns"], checkpoint_id)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        operation = self._writes_operation(config, writes, task_id, task_path)
        thread_id = operation["thread_id"]
        self._await_checkpoint(thread_id, operation["checkpoint_id"])
        started, delay = time.monotonic(), 0.002
        while True:
            try:
                # LangGraph puts the next checkpoint right after a step's writes: lingering
                # briefly lets both go in one request
                self._batches.submit(operation, linger=_WRITES_LINGER_SECONDS)
                return
            except NotFoundError:
                if not self._may_arrive(thread_id, started):
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.05)

    def delete_thread(self, thread_id: str) -> None:
        self.client.checkpoints.delete(str(thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        if run_ids:
            self.client.checkpoints.delete_for_runs([str(r) for r in run_ids])

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        try:
            self.client.checkpoints.copy(str(source_thread_id), str(target_thread_id))
        except NotFoundError:  # nothing to copy
            return

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        if thread_ids:
            self.client.checkpoints.prune([str(i) for i in thread_ids], strategy)

    # --- async -------------------------------------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        found = await self.async_client.checkpoints.search(**self._get_query(config))
        return self._tuple(found[0]) if found else None

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        query = self._list_query(config, filter, before, limit)
        for stored in await self.async_client.checkpoints.search(**query):
            yield self._tuple(stored)

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        thread_id, checkpoint_id, body = self._checkpoint_body(config, checkpoint, metadata)
        self._put_started(thread_id)
        stored = None
        try:
            await self.async_client.checkpoints.put(thread_id, checkpoint_id, **body)
            stored = checkpoint_id
        finally:
            self._put_done(thread_id, stored)
        return self._config(thread_id, body["checkpoint_ns"], checkpoint_id)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        operation = self._writes_operation(config, writes, task_id, task_path)
        thread_id, checkpoint_id = operation["thread_id"], operation["checkpoint_id"]
        await self._aawait_checkpoint(thread_id, checkpoint_id)
        started, delay = time.monotonic(), 0.002
        while True:
            try:
                return await self.async_client.checkpoints.put_writes(
                    thread_id, checkpoint_id, **operation["writes"]
                )
            except NotFoundError:
                if not self._may_arrive(thread_id, started):
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)

    async def adelete_thread(self, thread_id: str) -> None:
        await self.async_client.checkpoints.delete(str(thread_id))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        if run_ids:
            await self.async_client.checkpoints.delete_for_runs([str(r) for r in run_ids])

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        try:
            await self.async_client.checkpoints.copy(str(source_thread_id), str(target_thread_id))
        except NotFoundError:  # nothing to copy
            return

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        if thread_ids:
            await self.async_client.checkpoints.prune([str(i) for i in thread_ids], strategy)
