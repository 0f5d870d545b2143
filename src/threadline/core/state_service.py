"""Thread state operations (checkpoints, history, TTL, event streams), each one transaction.

The LangGraph surface (``compat/langgraph``) and the native ``/v1`` state endpoints both call this
service; it calls the storage functions. Rules for the thread row that mirrors the head checkpoint
(``values``, ``interrupts``, ``status``, ``state_updated_at``) live here, the checkpoint rules in
:mod:`threadline.core.state`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

import orjson
from sqlalchemy.engine import Connection

from threadline.core import state as rules
from threadline.core.errors import BadRequest, Conflict, DomainError, InvalidInput, NotFound
from threadline.core.ids import uuid7
from threadline.core.stream import EventHub
from threadline.core.timeutil import utcnow
from threadline.storage import checkpoint_reads, checkpoints, events, raw, thread_state
from threadline.storage.database import Database

if TYPE_CHECKING:
    from threadline.settings import Settings

log = logging.getLogger("threadline.state")

#: metadata keys the server owns: stripped from client metadata on create and update
RESERVED_METADATA = frozenset(
    {"thread_id", "assistant_id", "run_id", "cron_id", "counters_since_delta_snapshot"}
)
#: event modes: ``run`` (a run's own events), ``lifecycle`` (run start/end), ``state_update``
EVENT_MODES = ("run", "lifecycle", "state_update")
STRATEGIES = ("delete", "keep_latest")
#: the most checkpoints a history read fetches on the event loop's thread (``Database.read``)
QUICK_HISTORY = 100


class TaskWrites(TypedDict):
    """One task's pending writes on a checkpoint (the rows in ``writes`` as stored)."""

    checkpoint_ns: str
    task_id: str
    task_path: str
    writes: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class CheckpointOperation:
    """One operation of a checkpoint batch: a checkpoint to store (``checkpoint``, the row
    ``put_checkpoint`` takes) or a task's writes on one (``writes``)."""

    thread_id: str
    checkpoint_id: str
    checkpoint: Mapping[str, Any] | None = None
    writes: TaskWrites | None = None


def no_graph_message(thread_id: str) -> str:
    return (
        f"Thread '{thread_id}' has no assigned graph ID. This usually occurs when no runs have "
        "been made on this particular thread. This operation requires a graph ID. Please ensure "
        "a run has been made for the thread or manually update the thread metadata (by setting "
        "the 'graph_id' field) before running this operation."
    )


@dataclass(frozen=True)
class TTL:
    minutes: float
    strategy: str = "delete"

    def columns(self, now: datetime) -> dict[str, Any]:
        return {
            "ttl_strategy": self.strategy,
            "ttl_minutes": self.minutes,
            "expires_at": now + timedelta(minutes=self.minutes),
        }


def clean_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """A deep copy without the reserved keys."""
    return {k: copy.deepcopy(v) for k, v in (metadata or {}).items() if k not in RESERVED_METADATA}


def state_view(thread_id: str, cp: Mapping[str, Any]) -> dict[str, Any]:
    """A checkpoint as a state snapshot (the core shape both surfaces render); a checkpoint
    from :mod:`~threadline.storage.checkpoint_reads` keeps its JSON fragments."""
    created = cp["created_at"]
    nodes = cp["next"]
    return {
        "thread_id": thread_id,
        "checkpoint_ns": cp["checkpoint_ns"],
        "checkpoint_id": cp["checkpoint_id"],
        "parent_checkpoint_id": cp["parent_checkpoint_id"],
        "values": cp["values"],
        "next": list(nodes) if isinstance(nodes, list) else nodes,
        "tasks": list(cp["tasks"]),
        "metadata": cp["metadata"],
        "created_at": created.isoformat() if isinstance(created, datetime) else created,
        "interrupts": rules.interrupts_of(cp["tasks"]),
    }


class StateService:
    """Thread state for one database; ``project_id`` scopes every call."""

    def __init__(
        self,
        db: Database,
        *,
        reducers: rules.ReducerConfig | None = None,
        hub: EventHub | None = None,
        event_retention_seconds: float = 3600.0,
    ) -> None:
        self.db = db
        self.reducers = reducers or {}
        self.hub = hub or EventHub(db)
        self.event_retention = timedelta(seconds=event_retention_seconds)
        self._sweeper: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> StateService:
        """The service as configured; an invalid reducer declaration stops start-up."""
        raw = settings.langgraph_reducers
        try:
            reducers = rules.parse_reducer_config(orjson.loads(raw) if raw else None)
        except (orjson.JSONDecodeError, ValueError) as exc:
            raise ValueError(f"THREADLINE_LANGGRAPH_REDUCERS: {exc}") from None
        return cls(db, reducers=reducers, event_retention_seconds=settings.event_retention_seconds)

    # --- threads -------------------------------------------------------------------------------

    async def create_thread(
        self,
        project_id: str,
        *,
        thread_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        if_exists: str = "raise",
        ttl: TTL | None = None,
        supersteps: Sequence[Sequence[rules.Update]] = (),
    ) -> tuple[dict[str, Any], str | None]:
        """Create a thread and apply ``supersteps`` (one checkpoint each), in one transaction.

        Returns the thread and, when supersteps could not be applied because the thread has no
        ``graph_id``, why (the thread is created anyway, as LangGraph does).
        """
        meta = clean_metadata(metadata)

        def run(conn: Connection) -> tuple[dict[str, Any], str | None, bool]:
            now = utcnow()
            existing = thread_state.get(conn, project_id, thread_id) if thread_id else None
            if existing is not None and if_exists != "do_nothing":
                raise Conflict(f"Thread with ID {thread_id} already exists")
            if existing is None:
                row: dict[str, Any] = {"metadata": meta, "config": {}, "created_at": now}
                if thread_id:
                    row["id"] = thread_id
                if ttl is not None:
                    row.update(ttl.columns(now))
                existing = thread_state.insert(conn, project_id, row)
            if not supersteps:
                return existing, None, False
            graph_id = existing["metadata"].get("graph_id")
            if not graph_id:
                return existing, no_graph_message(existing["id"]), False
            for updates in supersteps:
                self._apply(conn, project_id, existing, list(updates))
            thread = thread_state.get(conn, project_id, existing["id"])
            assert thread is not None
            return thread, None, True

        # a new thread with a generated id and no supersteps: one INSERT (threads.insert_row)
        alone = thread_id is None and not supersteps
        thread, problem, published = await self.db.write(run, quick=True, one_statement=alone)
        if published:
            self.hub.wake(project_id, thread["id"])
        return thread, problem

    async def get_thread(self, project_id: str, thread_id: str) -> dict[str, Any]:
        thread = await self.db.read(
            thread_state.get, project_id, thread_id, quick=True, one_statement=True
        )
        if thread is None:
            raise NotFound(f"Thread with ID {thread_id} not found")
        return thread

    async def patch_thread(
        self,
        project_id: str,
        thread_id: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        ttl: TTL | None = None,
    ) -> dict[str, Any] | None:
        """Shallow-merge ``metadata`` (reserved keys stripped), reset the TTL, bump updated_at.

        Returns the updated thread (None when it does not exist).
        """
        patch = clean_metadata(metadata)

        def run(conn: Connection) -> dict[str, Any] | None:
            now = utcnow()
            changes: dict[str, Any] = {"updated_at": now}
            if ttl is not None:
                changes.update(ttl.columns(now))
            if not patch:
                if not thread_state.update(conn, project_id, thread_id, changes):
                    return None
                return thread_state.get(conn, project_id, thread_id)
            current = thread_state.get(conn, project_id, thread_id, for_update=True)
            if current is None:
                return None
            changes["metadata"] = {**current["metadata"], **patch}
            thread_state.update(
                conn, project_id, thread_id, changes, reindex_metadata=True, previous=current
            )
            current.update(changes)
            if ttl is not None:
                current["ttl"] = {
                    "strategy": ttl.strategy,
                    "ttl_minutes": ttl.minutes,
                    "expires_at": changes["expires_at"],
                }
            return current

        return await self.db.write(run, quick=True)

    async def delete_thread(self, project_id: str, thread_id: str) -> None:
        if not await self.db.write(thread_state.delete, project_id, thread_id):
            raise NotFound(f"Thread with ID {thread_id} not found")

    async def search_threads(
        self,
        project_id: str,
        *,
        metadata: dict[str, Any] | None = None,
        values: dict[str, Any] | None = None,
        ids: Sequence[str] | None = None,
        status: str | None = None,
        limit: int = 10,
        offset: int = 0,
        sort_by: str = "created_at",
        descending: bool = True,
    ) -> tuple[list[dict[str, Any]], bool]:
        return await self.db.read(
            lambda c: thread_state.search(
                c,
                project_id,
                metadata=metadata,
                values=values,
                ids=ids,
                status=status,
                limit=limit,
                offset=offset,
                sort_by=sort_by,
                descending=descending,
            ),
            quick=thread_state.is_quick(metadata, values, ids, status),
        )

    async def count_threads(
        self,
        project_id: str,
        *,
        metadata: dict[str, Any] | None = None,
        values: dict[str, Any] | None = None,
        status: str | None = None,
    ) -> int:
        return await self.db.read(
            lambda c: thread_state.count(
                c, project_id, metadata=metadata, values=values, status=status
            ),
            quick=thread_state.is_quick(metadata, values, None, status),
        )

    async def copy_thread(self, project_id: str, thread_id: str) -> dict[str, Any]:
        """A new thread with the metadata, state and every checkpoint (ids kept) of this one."""

        def run(conn: Connection) -> dict[str, Any]:
            source = thread_state.get(conn, project_id, thread_id)
            if source is None:
                raise NotFound(f"Thread with ID {thread_id} not found")
            head = checkpoints.head(conn, project_id, thread_id)
            now = utcnow()
            new_id = uuid7()
            thread_state.insert(
                conn,
                project_id,
                {
                    "id": new_id,
                    "metadata": copy.deepcopy(source["metadata"]),
                    "config": {},
                    "values": source["values"],
                    "interrupts": source["interrupts"],
                    "status": rules.status_for(head["next"]) if head else "idle",
                    "created_at": now,
                },
            )
            checkpoints.copy_all(conn, project_id, thread_id, new_id)
            thread = thread_state.get(conn, project_id, new_id)
            assert thread is not None
            return thread

        return await self.db.write(run)

    async def prune_threads(self, project_id: str, thread_ids: Sequence[str], strategy: str) -> int:
        """Delete threads, or trim each to its latest checkpoint; returns how many were found."""
        if strategy not in STRATEGIES:
            raise InvalidInput(f"strategy must be one of {', '.join(STRATEGIES)}")

        def run(conn: Connection) -> int:
            done = 0
            for thread_id in dict.fromkeys(thread_ids):
                if strategy == "delete":
                    done += thread_state.delete(conn, project_id, thread_id)
                elif thread_state.get(conn, project_id, thread_id) is not None:
                    checkpoints.trim_to_latest(conn, project_id, thread_id)
                    done += 1
            return done

        return await self.db.write(run)

    # --- state ---------------------------------------------------------------------------------

    async def get_state(
        self,
        project_id: str,
        thread_id: str,
        *,
        checkpoint_id: str | None = None,
        checkpoint_ns: str | None = "",
        subgraphs: bool = False,
        wire: bool = False,
    ) -> dict[str, Any] | None:
        """The state at the head (or at ``checkpoint_id``); None when there is no such checkpoint.

        Raises NotFound for an unknown thread. ``checkpoint_ns=None`` finds the id in any
        namespace. With ``subgraphs`` a task that points to a subgraph namespace gets its state.
        With ``wire`` the state is for a response only: its values, metadata and next nodes are
        JSON fragments (:mod:`~threadline.storage.checkpoint_reads`).
        """
        store: Any = checkpoint_reads if wire else checkpoints

        def find(conn: Connection) -> dict[str, Any] | None:
            if checkpoint_id is None:
                found: dict[str, Any] | None = store.head(
                    conn, project_id, thread_id, checkpoint_ns or ""
                )
            else:
                found = store.get(conn, project_id, thread_id, checkpoint_id, checkpoint_ns)
            return found

        def run(conn: Connection) -> dict[str, Any] | None:
            cp = find(conn)
            if cp is None:
                return None
            view = state_view(thread_id, cp)
            view["tasks"] = [
                self._expand(conn, store, project_id, thread_id, t) for t in cp["tasks"]
            ]
            return view

        if subgraphs:  # a subgraph expansion reads one more row per task
            state = await self.db.read(run)
        else:  # one indexed row, one statement
            cp = await self.db.read(find, quick=wire, one_statement=True)
            state = None if cp is None else state_view(thread_id, cp)
        if state is None:
            await self._require_thread(project_id, thread_id)
        return state

    async def _require_thread(self, project_id: str, thread_id: str) -> None:
        """NotFound unless the thread exists (after a read that found nothing in it)."""
        if not await self.db.read(
            thread_state.exists, project_id, thread_id, quick=True, one_statement=True
        ):
            raise NotFound(f"Thread with ID {thread_id} not found")

    def _expand(
        self,
        conn: Connection,
        store: Any,
        project_id: str,
        thread_id: str,
        task: Mapping[str, Any],
    ) -> dict[str, Any]:
        out = dict(task)
        ref = task.get("checkpoint")
        if isinstance(ref, dict) and ref.get("checkpoint_ns"):
            sub = store.head(conn, project_id, thread_id, str(ref["checkpoint_ns"]))
            if sub is not None:
                out["state"] = state_view(thread_id, sub)
                out["checkpoint"] = None
        return out

    async def update_state(
        self,
        project_id: str,
        thread_id: str,
        *,
        values: Any,
        as_node: str | None = None,
        checkpoint_id: str | None = None,
        checkpoint_ns: str = "",
        command: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write one checkpoint (forked from ``checkpoint_id`` if given); returns its state.

        400 without a ``graph_id`` in the thread metadata, 409 while the thread is busy.
        """

        def run(conn: Connection) -> dict[str, Any]:
            thread = thread_state.header(conn, project_id, thread_id, for_update=True)
            if thread is None:
                raise NotFound(f"Thread with ID {thread_id} not found")
            if not thread["metadata"].get("graph_id"):
                raise BadRequest(no_graph_message(thread_id))
            if thread["status"] == "busy":
                raise Conflict(f"Thread {thread_id} has in-flight runs")
            update = rules.Update(values=values, as_node=as_node, command=command)
            return self._apply(
                conn, project_id, thread, [update], checkpoint_id=checkpoint_id, ns=checkpoint_ns
            )

        state = await self.db.write(run, quick=True)
        self.hub.wake(project_id, thread_id)
        return state

    def _apply(
        self,
        conn: Connection,
        project_id: str,
        thread: Mapping[str, Any],
        updates: list[rules.Update],
        *,
        checkpoint_id: str | None = None,
        ns: str = "",
    ) -> dict[str, Any]:
        """One superstep inside a write: the new checkpoint, the thread mirror, the event."""
        thread_id = str(thread["id"])
        graph_id = thread["metadata"].get("graph_id")
        if checkpoint_id is not None:
            base = checkpoints.get(conn, project_id, thread_id, checkpoint_id, ns)
            if base is None:
                raise NotFound(f"Checkpoint {checkpoint_id} not found in thread {thread_id}")
        else:
            base = checkpoints.head(conn, project_id, thread_id, ns)
        pending: list[Any] = []
        if base is not None and any(u.as_node == rules.START for u in updates):
            pending = checkpoints.pending_values(
                conn, project_id, thread_id, ns, base["checkpoint_id"], rules.START
            )
        new = rules.build_checkpoint(
            base=base,
            updates=updates,
            reducers=rules.channel_reducers(self.reducers, graph_id),
            graph_id=graph_id,
            thread_id=thread_id,
            checkpoint_ns=ns,
            forked_from=checkpoint_id,
            pending_input=pending,
        )
        now = utcnow()
        # the values are encoded once, for the checkpoint, the thread mirror and the event
        text = raw.json_param(new.values)  # the storage layer's one JSON encoding
        encoded = orjson.Fragment(text) if text is not None else None
        row = {
            "checkpoint_ns": new.checkpoint_ns,
            "checkpoint_id": new.checkpoint_id,
            "parent_checkpoint_id": new.parent_checkpoint_id,
            "values": encoded,
            "metadata": new.metadata,
            "next": new.next,
            "tasks": new.tasks,
            "created_at": now,
        }
        checkpoints.insert(conn, project_id, thread_id, row, new.writes, now)
        seq = None
        if ns == "":
            seq = thread_state.set_state(
                conn,
                project_id,
                thread_id,
                values=encoded,
                interrupts=rules.thread_interrupts(new.tasks),
                status=rules.status_for(new.next),
                now=now,
                next_event=True,
            )
        state = state_view(thread_id, row)
        events.append(conn, project_id, thread_id, "state_update", "state_update", state, seq=seq)
        return {**state, "values": new.values}

    async def history(
        self,
        project_id: str,
        thread_id: str,
        *,
        checkpoint_ns: str = "",
        limit: int = 10,
        before: str | None = None,
        metadata: dict[str, Any] | None = None,
        checkpoint_id: str | None = None,
        wire: bool = False,
    ) -> list[dict[str, Any]]:
        """States newest first (every branch), strictly before ``before`` if given. ``wire``: as
        :meth:`get_state`, for a response only."""
        fast = wire and not metadata and checkpoint_id is None

        def run(conn: Connection) -> list[dict[str, Any]]:
            if fast:
                rows = checkpoint_reads.history(
                    conn, project_id, thread_id, ns=checkpoint_ns, limit=limit, before=before
                )
            else:
                rows = checkpoints.history(
                    conn,
                    project_id,
                    thread_id,
                    ns=checkpoint_ns,
                    limit=limit,
                    before=before,
                    metadata=metadata,
                    checkpoint_id=checkpoint_id,
                )
            return [state_view(thread_id, cp) for cp in rows]

        # an indexed range of rows whose JSON is not decoded: short enough for the event loop
        states = await self.db.read(run, quick=fast and limit <= QUICK_HISTORY, one_statement=fast)
        if not states:
            await self._require_thread(project_id, thread_id)
        return states

    # --- a LangGraph checkpointer's checkpoints (threadline.langgraph.ThreadlineSaver) ---------

    async def put_checkpoint(
        self, project_id: str, thread_id: str, checkpoint: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Store a checkpoint as written (replacing one with the same id); the thread is created
        on its first checkpoint, and its state mirrors the newest root checkpoint."""
        await self.db.write(self._put_checkpoint, project_id, thread_id, checkpoint, quick=True)
        return {
            "thread_id": thread_id,
            "checkpoint_ns": checkpoint["checkpoint_ns"],
            "checkpoint_id": checkpoint["checkpoint_id"],
        }

    def _put_checkpoint(
        self, conn: Connection, project_id: str, thread_id: str, checkpoint: Mapping[str, Any]
    ) -> None:
        ns = checkpoint["checkpoint_ns"]
        now = utcnow()
        previous = checkpoints.head_id(conn, project_id, thread_id, ns)
        if previous is None and not thread_state.exists(conn, project_id, thread_id):
            thread_state.insert(
                conn,
                project_id,
                {"id": thread_id, "metadata": {}, "config": {}, "created_at": now},
            )
        checkpoints.put(conn, project_id, thread_id, {**checkpoint, "created_at": now})
        if ns == "" and (previous is None or checkpoint["checkpoint_id"] >= previous):
            self._mirror(conn, project_id, thread_id, checkpoint, now)

    async def apply_checkpoint_batch(
        self, project_id: str, operations: Sequence[CheckpointOperation]
    ) -> list[dict[str, Any] | None]:
        """Checkpoints and pending writes applied in order in one transaction: all or none. A
        checkpointer's concurrent calls go in one request (and one commit) this way; writes may
        follow their checkpoint in the same batch. Each checkpoint's result is its reference,
        each write set's None; an error names the operation (``operations[i]``)."""

        def run(conn: Connection) -> list[dict[str, Any] | None]:
            out: list[dict[str, Any] | None] = []
            for i, op in enumerate(operations):
                try:
                    if op.writes is not None:
                        self._put_writes(
                            conn, project_id, op.thread_id, op.checkpoint_id, op.writes
                        )
                        out.append(None)
                        continue
                    assert op.checkpoint is not None
                    self._put_checkpoint(conn, project_id, op.thread_id, op.checkpoint)
                except DomainError as exc:
                    field = f"operations[{i}]" + (f".{exc.field}" if exc.field else "")
                    raise type(exc)(f"operations[{i}]: {exc.message}", field=field) from exc
                out.append(
                    {
                        "thread_id": op.thread_id,
                        "checkpoint_ns": op.checkpoint["checkpoint_ns"],
                        "checkpoint_id": op.checkpoint_id,
                    }
                )
            return out

        return await self.db.write(run, quick=True)

    @staticmethod
    def _mirror(
        conn: Connection,
        project_id: str,
        thread_id: str,
        head: Mapping[str, Any] | None,
        now: datetime,
    ) -> None:
        """The thread row mirrors ``head`` (its newest root checkpoint; None: it has none)."""
        tasks = head["tasks"] if head is not None else []
        thread_state.set_state(
            conn,
            project_id,
            thread_id,
            values=head["values"] if head is not None else None,
            interrupts=rules.thread_interrupts(tasks),
            status=rules.head_status(head["next"], tasks) if head is not None else "idle",
            now=now,
        )

    async def put_writes(
        self,
        project_id: str,
        thread_id: str,
        checkpoint_id: str,
        writes: TaskWrites,
    ) -> None:
        """Store a task's pending writes; interrupts and errors also show on the checkpoint's
        tasks (and on the thread, for its head)."""
        await self.db.write(
            self._put_writes, project_id, thread_id, checkpoint_id, writes, quick=True
        )

    def _put_writes(
        self,
        conn: Connection,
        project_id: str,
        thread_id: str,
        checkpoint_id: str,
        task: TaskWrites,
    ) -> None:
        ns, task_id, task_path, writes = (
            task["checkpoint_ns"],
            task["task_id"],
            task["task_path"],
            task["writes"],
        )
        if not checkpoints.exists(conn, project_id, thread_id, ns, checkpoint_id):
            raise NotFound(f"Checkpoint {checkpoint_id} not found in thread {thread_id}")
        checkpoints.put_writes(
            conn, project_id, thread_id, ns, checkpoint_id, task_id, task_path, writes
        )
        if not any(w["idx"] < 0 for w in writes):
            return
        cp = checkpoints.get(conn, project_id, thread_id, checkpoint_id, ns)
        assert cp is not None
        tasks = rules.tasks_after_writes(cp["tasks"], task_id, task_path, writes)
        if tasks is None:
            return
        checkpoints.set_tasks(conn, project_id, thread_id, ns, checkpoint_id, tasks)
        head = checkpoints.head_id(conn, project_id, thread_id, ns)
        if ns == "" and head == checkpoint_id:
            self._mirror(conn, project_id, thread_id, {**cp, "tasks": tasks}, utcnow())

    async def search_checkpoints(
        self,
        project_id: str,
        *,
        thread_id: str | None = None,
        checkpoint_ns: str | None = None,
        checkpoint_id: str | None = None,
        before: str | None = None,
        metadata: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Checkpoints newest first with their serialized form and pending writes."""
        return await self.db.read(
            lambda c: checkpoints.search(
                c,
                project_id,
                thread_id=thread_id,
                ns=checkpoint_ns,
                checkpoint_id=checkpoint_id,
                before=before,
                metadata=metadata,
                limit=limit,
            )
        )

    def _remirror(self, conn: Connection, project_id: str, thread_ids: Sequence[str]) -> None:
        now = utcnow()
        for thread_id in thread_ids:
            head = checkpoints.head(conn, project_id, thread_id)
            self._mirror(conn, project_id, thread_id, head, now)

    async def delete_checkpoints(self, project_id: str, thread_id: str) -> None:
        """Delete a thread's checkpoints and pending writes (the thread and its steps stay)."""

        def run(conn: Connection) -> None:
            if checkpoints.delete_all(conn, project_id, thread_id):
                self._remirror(conn, project_id, [thread_id])

        await self.db.write(run)

    async def delete_checkpoints_for_runs(self, project_id: str, run_ids: Sequence[str]) -> int:
        """Delete the checkpoints made by these runs; returns how many threads changed."""
        if not run_ids:
            return 0

        def run(conn: Connection) -> int:
            changed = sorted(checkpoints.delete_for_runs(conn, project_id, run_ids))
            self._remirror(conn, project_id, changed)
            return len(changed)

        return await self.db.write(run)

    async def copy_checkpoints(self, project_id: str, source: str, target: str) -> None:
        """Copy ``source``'s checkpoints and writes (ids kept) to ``target``, creating it with
        the source's metadata if needed. NotFound when ``source`` does not exist."""

        def run(conn: Connection) -> None:
            thread = thread_state.get(conn, project_id, source)
            if thread is None:
                raise NotFound(f"Thread with ID {source} not found")
            if source == target:
                return
            if not thread_state.exists(conn, project_id, target):
                thread_state.insert(
                    conn,
                    project_id,
                    {
                        "id": target,
                        "metadata": copy.deepcopy(thread["metadata"]),
                        "config": {},
                        "created_at": utcnow(),
                    },
                )
            checkpoints.copy_all(conn, project_id, source, target)
            self._remirror(conn, project_id, [target])

        await self.db.write(run)

    async def prune_checkpoints(
        self, project_id: str, thread_ids: Sequence[str], strategy: str
    ) -> None:
        """``keep_latest``: only each namespace's newest checkpoint stays; ``delete``: none."""
        if strategy not in ("keep_latest", "delete"):
            raise InvalidInput("strategy must be keep_latest or delete", field="strategy")

        def run(conn: Connection) -> None:
            for thread_id in dict.fromkeys(thread_ids):
                if strategy == "delete":
                    if checkpoints.delete_all(conn, project_id, thread_id):
                        self._remirror(conn, project_id, [thread_id])
                else:
                    checkpoints.trim_to_latest(conn, project_id, thread_id)

        await self.db.write(run)

    # --- events --------------------------------------------------------------------------------

    async def publish(
        self, project_id: str, thread_id: str, *, event: str, data: Any, mode: str = "run"
    ) -> dict[str, Any]:
        """Append an event to the thread's stream (e.g. a run's ``values`` or ``metadata``)."""
        if mode not in EVENT_MODES:
            raise InvalidInput(f"mode must be one of {', '.join(EVENT_MODES)}", field="mode")
        stored = await self.db.write(
            events.append, project_id, thread_id, event, mode, data, quick=True
        )
        if stored is None:
            raise NotFound(f"Thread with ID {thread_id} not found")
        self.hub.wake(project_id, thread_id)
        return stored

    async def event_cursor(self, project_id: str, thread_id: str) -> int:
        """The number of the thread's newest event; NotFound for an unknown thread."""
        seq = await self.db.read(events.current_seq, project_id, thread_id)
        if seq is None:
            raise NotFound(f"Thread with ID {thread_id} not found")
        return seq

    async def events_after(
        self, project_id: str, thread_id: str, seq: int, modes: Sequence[str]
    ) -> list[dict[str, Any]]:
        return await self.db.read(events.after, project_id, thread_id, seq, modes)

    # --- TTL -----------------------------------------------------------------------------------

    async def sweep(self, *, limit: int = 1000) -> dict[str, int]:
        """Apply expired TTLs (delete, or trim to the latest checkpoint) and drop old events."""

        def run(conn: Connection) -> dict[str, int]:
            now = utcnow()
            deleted = trimmed = 0
            for project_id, thread_id, strategy in thread_state.expired(conn, now, limit):
                if strategy == "keep_latest":
                    checkpoints.trim_to_latest(conn, project_id, thread_id)
                    thread_state.update(conn, project_id, thread_id, {"expires_at": None})
                    trimmed += 1
                else:
                    deleted += thread_state.delete(conn, project_id, thread_id)
            purged = events.purge(conn, now - self.event_retention)
            return {"deleted": deleted, "trimmed": trimmed, "events_purged": purged}

        return await self.db.write(run)

    def start_sweeper(self, interval_seconds: float) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(interval_seconds)
                try:
                    done = await self.sweep()
                    if done["deleted"] or done["trimmed"]:
                        log.info("TTL sweep: %s", done)
                except Exception:
                    log.exception("TTL sweep failed")

        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(loop())

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await self.hub.close()
