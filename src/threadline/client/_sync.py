"""``Client``: the synchronous SDK. Each method is a one-line wrapper that sends an ``Op``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx
import tenacity

from threadline.client import _ops as ops
from threadline.client import types as t
from threadline.client._base import (
    Config,
    handle_response,
    request_args,
    retry_policy,
    transport_error,
)
from threadline.client._ops import NOT_GIVEN, Op
from threadline.client._tyler import Tyler
from threadline.client.pagination import SyncPage

T = TypeVar("T")
Filters = Sequence[Mapping[str, Any] | t.Filter] | Mapping[str, Any] | None


class Threads:
    def __init__(self, client: Client) -> None:
        self._c = client

    def create(
        self,
        *,
        id: str | None = NOT_GIVEN,
        name: str | None = NOT_GIVEN,
        metadata: dict[str, Any] = NOT_GIVEN,
        tags: list[str] = NOT_GIVEN,
        participant_id: str | None = NOT_GIVEN,
        participant_identifier: str | None = NOT_GIVEN,
        environment: str | None = NOT_GIVEN,
        status: t.ThreadStatus = NOT_GIVEN,
    ) -> t.Thread:
        """Create a thread (``ConflictError`` if ``id`` is taken)."""
        return self._c._send(
            ops.create_thread(
                id=id,
                name=name,
                metadata=metadata,
                tags=tags,
                participant_id=participant_id,
                participant_identifier=participant_identifier,
                environment=environment,
                status=status,
            )
        )

    def get(self, thread_id: str, *, include_steps: bool = True) -> t.Thread:
        """A thread with its steps in order (``NotFoundError`` if missing)."""
        return self._c._send(ops.get_thread(thread_id, include_steps=include_steps))

    def update(
        self,
        thread_id: str,
        *,
        name: str | None = NOT_GIVEN,
        metadata: dict[str, Any] | None = NOT_GIVEN,
        tags: list[str] | None = NOT_GIVEN,
        participant_id: str | None = NOT_GIVEN,
        participant_identifier: str | None = NOT_GIVEN,
        environment: str | None = NOT_GIVEN,
        status: t.ThreadStatus = NOT_GIVEN,
    ) -> t.Thread:
        """Change the given fields; the others are kept."""
        return self._c._send(
            ops.update_thread(
                thread_id,
                name=name,
                metadata=metadata,
                tags=tags,
                participant_id=participant_id,
                participant_identifier=participant_identifier,
                environment=environment,
                status=status,
            )
        )

    def upsert(
        self,
        thread_id: str,
        *,
        name: str | None = NOT_GIVEN,
        metadata: dict[str, Any] | None = NOT_GIVEN,
        tags: list[str] | None = NOT_GIVEN,
        participant_id: str | None = NOT_GIVEN,
        participant_identifier: str | None = NOT_GIVEN,
        environment: str | None = NOT_GIVEN,
        status: t.ThreadStatus = NOT_GIVEN,
    ) -> t.Thread:
        """Create the thread with this id, or change the given fields if it exists."""
        return self._c._send(
            ops.upsert_thread(
                thread_id,
                name=name,
                metadata=metadata,
                tags=tags,
                participant_id=participant_id,
                participant_identifier=participant_identifier,
                environment=environment,
                status=status,
            )
        )

    def delete(self, thread_id: str) -> None:
        """Delete a thread and its steps."""
        return self._c._send(ops.delete_thread(thread_id))

    def list(
        self,
        *,
        filters: Filters = None,
        metadata: dict[str, Any] | None = None,
        participant_id: str | None = None,
        environment: str | None = None,
        status: t.ThreadStatus | None = None,
        first: int | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        order_by: str | None = None,
        order: str | None = None,
        include_total: bool = True,
    ) -> SyncPage[t.Thread]:
        """Threads matching the filters, newest first; iterate the page to walk all pages."""
        return self._c._page(
            ops.search_threads(
                filters=filters,
                metadata=metadata,
                participant_id=participant_id,
                environment=environment,
                status=status,
                first=first,
                after=after,
                before=before,
                limit=limit,
                offset=offset,
                order_by=order_by,
                order=order,
                include_total=include_total,
            )
        )

    def count(
        self,
        *,
        filters: Filters = None,
        metadata: dict[str, Any] | None = None,
        participant_id: str | None = None,
        environment: str | None = None,
        status: t.ThreadStatus | None = None,
    ) -> int:
        """How many threads match the filters."""
        return self._c._send(
            ops.count_threads(
                filters=filters,
                metadata=metadata,
                participant_id=participant_id,
                environment=environment,
                status=status,
            )
        )

    def export(
        self,
        *,
        filters: Filters = None,
        metadata: dict[str, Any] | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> t.ExportPage:
        """Page ``page`` of threads with their steps, oldest first (see ``has_next_page``)."""
        return self._c._send(
            ops.export_threads(filters=filters, metadata=metadata, page=page, page_size=page_size)
        )

    def state(self, thread_id: str, *, checkpoint_id: str | None = None) -> t.ThreadState:
        """The thread's state at its latest checkpoint (or at ``checkpoint_id``)."""
        return self._c._send(ops.get_thread_state(thread_id, checkpoint_id=checkpoint_id))

    def history(
        self, thread_id: str, *, limit: int = 10, before: str | None = None
    ) -> Sequence[t.ThreadState]:
        """The thread's checkpoints, newest first (older than ``before`` if given)."""
        return self._c._send(ops.get_thread_history(thread_id, limit=limit, before=before))

    def publish_event(
        self, thread_id: str, *, event: str, data: Any = None, mode: str = "run"
    ) -> t.ThreadEvent:
        """Append an event to the thread's stream (``mode`` ``run`` or ``lifecycle``)."""
        return self._c._send(ops.publish_thread_event(thread_id, event=event, data=data, mode=mode))

    def analytics(self, thread_id: str) -> t.ThreadAnalytics:
        """Token usage, latency, message counts and tool calls, computed by the server."""
        return self._c._send(ops.thread_analytics(thread_id))

    def generate_title(self, thread_id: str) -> t.ThreadTitle:
        """Title the thread (LLM if the server has one, else its first user message)."""
        return self._c._send(ops.generate_title(thread_id))

    def find_by_platform(
        self, platform: str, properties: dict[str, str] | None = None, *, limit: int = 100
    ) -> t.ThreadsFound:
        """Threads referenced on a platform, e.g. ``("slack", {"thread_ts": ts})``."""
        return self._c._send(ops.threads_by_platform(platform, properties, limit=limit))


class Steps:
    def __init__(self, client: Client) -> None:
        self._c = client

    def create(
        self,
        *,
        id: str | None = NOT_GIVEN,
        thread_id: str | None = NOT_GIVEN,
        parent_id: str | None = NOT_GIVEN,
        root_run_id: str | None = NOT_GIVEN,
        type: t.StepType = NOT_GIVEN,
        name: str | None = NOT_GIVEN,
        input: Any = NOT_GIVEN,
        output: Any = NOT_GIVEN,
        metadata: dict[str, Any] = NOT_GIVEN,
        tags: list[str] = NOT_GIVEN,
        start_time: Any = NOT_GIVEN,
        end_time: Any = NOT_GIVEN,
        error: str | None = NOT_GIVEN,
        environment: str | None = NOT_GIVEN,
        generation: t.Generation | dict[str, Any] | None = NOT_GIVEN,
    ) -> t.Step:
        """Create a step; its thread is created if missing."""
        return self._c._send(
            ops.create_step(
                id=id,
                thread_id=thread_id,
                parent_id=parent_id,
                root_run_id=root_run_id,
                type=type,
                name=name,
                input=input,
                output=output,
                metadata=metadata,
                tags=tags,
                start_time=start_time,
                end_time=end_time,
                error=error,
                environment=environment,
                generation=generation,
            )
        )

    def get(self, step_id: str) -> t.Step:
        """A step (``NotFoundError`` if missing)."""
        return self._c._send(ops.get_step(step_id))

    def update(
        self,
        step_id: str,
        *,
        thread_id: str | None = NOT_GIVEN,
        parent_id: str | None = NOT_GIVEN,
        root_run_id: str | None = NOT_GIVEN,
        type: t.StepType = NOT_GIVEN,
        name: str | None = NOT_GIVEN,
        input: Any = NOT_GIVEN,
        output: Any = NOT_GIVEN,
        metadata: dict[str, Any] | None = NOT_GIVEN,
        tags: list[str] | None = NOT_GIVEN,
        start_time: Any = NOT_GIVEN,
        end_time: Any = NOT_GIVEN,
        error: str | None = NOT_GIVEN,
        environment: str | None = NOT_GIVEN,
        generation: t.Generation | dict[str, Any] | None = NOT_GIVEN,
    ) -> t.Step:
        """Change the given fields; the others are kept."""
        return self._c._send(
            ops.update_step(
                step_id,
                thread_id=thread_id,
                parent_id=parent_id,
                root_run_id=root_run_id,
                type=type,
                name=name,
                input=input,
                output=output,
                metadata=metadata,
                tags=tags,
                start_time=start_time,
                end_time=end_time,
                error=error,
                environment=environment,
                generation=generation,
            )
        )

    def delete(self, step_id: str) -> None:
        """Delete a step."""
        return self._c._send(ops.delete_step(step_id))

    def ingest(self, steps: Sequence[Mapping[str, Any] | t.StepCreate]) -> t.BatchResult:
        """Upsert up to 1,000 steps in one request (each needs an ``id``; idempotent)."""
        return self._c._send(ops.ingest_steps(steps))

    def list(
        self,
        *,
        thread_id: str | None = None,
        type: t.StepType | None = None,
        filters: Filters = None,
        first: int | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        order: str | None = None,
        include_total: bool = True,
    ) -> SyncPage[t.Step]:
        """Steps matching the filters, newest first; iterate the page to walk all pages."""
        return self._c._page(
            ops.search_steps(
                thread_id=thread_id,
                type=type,
                filters=filters,
                first=first,
                after=after,
                before=before,
                limit=limit,
                offset=offset,
                order_by=None,
                order=order,
                include_total=include_total,
            )
        )

    def add_reaction(self, step_id: str, emoji: str, user_id: str) -> t.ReactionResult:
        """Add a user's reaction (``changed`` is False if it was already there)."""
        return self._c._send(ops.add_reaction(step_id, emoji, user_id))

    def remove_reaction(self, step_id: str, emoji: str, user_id: str) -> t.ReactionResult:
        """Remove a user's reaction (``changed`` is False if there was none)."""
        return self._c._send(ops.remove_reaction(step_id, emoji, user_id))

    def get_reactions(self, step_id: str) -> t.Reactions:
        """Emoji -> the users who reacted with it, in the order they did."""
        return self._c._send(ops.get_reactions(step_id))


class Users:
    """Participants: the end users of an application."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def create(
        self, *, identifier: str, metadata: dict[str, Any] = NOT_GIVEN, id: str | None = NOT_GIVEN
    ) -> t.Participant:
        """Create a participant (``ConflictError`` if the identifier is taken)."""
        return self._c._send(
            ops.create_participant(identifier=identifier, metadata=metadata, id=id)
        )

    def get_or_create(
        self, *, identifier: str, metadata: dict[str, Any] = NOT_GIVEN
    ) -> t.Participant:
        """The participant with this identifier, created if missing."""
        return self._c._send(
            ops.get_or_create_participant(identifier=identifier, metadata=metadata)
        )

    def get(self, participant_id: str) -> t.Participant:
        """A participant by id."""
        return self._c._send(ops.get_participant(participant_id))

    def get_by_identifier(self, identifier: str) -> t.Participant:
        """A participant by identifier."""
        return self._c._send(ops.get_participant_by_identifier(identifier))

    def update(
        self,
        participant_id: str,
        *,
        identifier: str = NOT_GIVEN,
        metadata: dict[str, Any] | None = NOT_GIVEN,
    ) -> t.Participant:
        """Change the identifier or metadata."""
        return self._c._send(
            ops.update_participant(participant_id, identifier=identifier, metadata=metadata)
        )

    def delete(self, participant_id: str) -> None:
        """Delete a participant; their threads remain, without a participant."""
        return self._c._send(ops.delete_participant(participant_id))

    def list(
        self,
        *,
        filters: Filters = None,
        first: int | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        include_total: bool = True,
    ) -> SyncPage[t.Participant]:
        """Participants, newest first; iterate the page to walk all pages."""
        return self._c._page(
            ops.search_participants(
                filters=filters,
                first=first,
                after=after,
                before=before,
                limit=limit,
                offset=offset,
                order_by=None,
                order=None,
                include_total=include_total,
            )
        )


class Keys:
    """The API keys of the client's project."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def list(self) -> list[t.ApiKeyInfo]:
        """The project's keys (never their secrets)."""
        return self._c._send(ops.list_keys())

    def create(self, *, name: str | None = None) -> t.ApiKeyCreated:
        """A new key; its secret (``.key``) is returned only this once."""
        return self._c._send(ops.create_key(name))

    def revoke(self, key_id: str) -> t.ApiKeyInfo:
        """Revoke a key by id or prefix."""
        return self._c._send(ops.revoke_key(key_id))


class Client:
    """Synchronous Threadline client.

    ``base_url`` and ``api_key`` default to ``THREADLINE_URL`` and ``THREADLINE_API_KEY``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 2,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._config = Config.resolve(base_url, api_key, timeout, max_retries)
        self._http = http_client or httpx.Client(timeout=timeout)
        self._http.base_url = httpx.URL(self._config.base_url)
        self._http.headers.update(self._config.headers)
        self.threads = Threads(self)
        self.steps = Steps(self)
        self.users = Users(self)
        self.keys = Keys(self)
        self.scores = Scores(self)
        self.attachments = Attachments(self)
        self.generations = Generations(self)
        self.datasets = Datasets(self)
        self.experiments = Experiments(self)
        self.prompts = Prompts(self)
        self.tyler = Tyler(self)
        self.checkpoints = Checkpoints(self)

    @property
    def base_url(self) -> str:
        return self._config.base_url

    def _send(self, op: Op[T]) -> T:
        for attempt in tenacity.Retrying(**retry_policy(op, self._config.max_retries)):
            with attempt:
                try:
                    response = self._http.request(**request_args(op))
                except httpx.TransportError as exc:
                    raise transport_error(exc) from exc
                return handle_response(op, response.status_code, response.content)
        raise AssertionError("unreachable")  # pragma: no cover

    def _page(self, op: Op[ops.PageData[Any]]) -> SyncPage[Any]:
        return SyncPage(self._send(op), op, self._send)

    def project(self) -> t.Project:
        """The project this client's API key belongs to."""
        return self._send(ops.get_project())

    def health(self) -> dict[str, Any]:
        """The server's health (database reachable, version)."""
        return self._send(ops.health())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --- evaluation: scores, attachments, generations, datasets, experiments, prompts ----------------


class Scores:
    """Scores (HUMAN, AI or CODE) on steps, generations and experiment items."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def create(
        self,
        *,
        name: str,
        value: float,
        type: t.ScoreType,
        step_id: str | None = NOT_GIVEN,
        generation_id: str | None = NOT_GIVEN,
        experiment_item_id: str | None = NOT_GIVEN,
        comment: str | None = NOT_GIVEN,
        tags: list[str] = NOT_GIVEN,
        label: str | None = NOT_GIVEN,
        scorer: str | None = NOT_GIVEN,
        id: str | None = NOT_GIVEN,
    ) -> t.Score:
        """Score a step, a generation or an experiment item."""
        return self._c._send(
            ops.create_score(
                name=name,
                value=value,
                type=type,
                step_id=step_id,
                generation_id=generation_id,
                experiment_item_id=experiment_item_id,
                comment=comment,
                tags=tags,
                label=label,
                scorer=scorer,
                id=id,
            )
        )

    def create_many(
        self, scores: Sequence[Mapping[str, Any] | t.ScoreCreate], *, upsert: bool = False
    ) -> list[t.Score]:
        """Create up to 1,000 scores in one request (all or none); with ``upsert`` a score whose
        ``id`` exists is replaced, so sending the same batch twice changes nothing."""
        return self._c._send(ops.create_scores(scores, upsert=upsert))

    def get(self, score_id: str) -> t.Score:
        """A score (``NotFoundError`` if missing)."""
        return self._c._send(ops.get_score(score_id))

    def update(
        self,
        score_id: str,
        *,
        value: float = NOT_GIVEN,
        comment: str | None = NOT_GIVEN,
        name: str = NOT_GIVEN,
        type: t.ScoreType = NOT_GIVEN,
        tags: list[str] = NOT_GIVEN,
        label: str | None = NOT_GIVEN,
        scorer: str | None = NOT_GIVEN,
    ) -> t.Score:
        """Change the given fields; the others (e.g. the comment) are kept."""
        return self._c._send(
            ops.update_score(
                score_id,
                value=value,
                comment=comment,
                name=name,
                type=type,
                tags=tags,
                label=label,
                scorer=scorer,
            )
        )

    def delete(self, score_id: str) -> None:
        """Delete a score."""
        return self._c._send(ops.delete_score(score_id))

    def list(
        self,
        *,
        filters: Filters = None,
        step_id: str | None = None,
        experiment_item_id: str | None = None,
        first: int | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        order_by: str | None = None,
        order: str | None = None,
        include_total: bool = True,
    ) -> SyncPage[t.Score]:
        """Scores matching the filters, newest first; iterate the page to walk all pages."""
        return self._c._page(
            ops.search_scores(
                filters=filters,
                step_id=step_id,
                experiment_item_id=experiment_item_id,
                first=first,
                after=after,
                before=before,
                limit=limit,
                offset=offset,
                order_by=order_by,
                order=order,
                include_total=include_total,
            )
        )


class Attachments:
    """Files and links on threads and steps; stored files get signed, expiring URLs."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def create(
        self,
        *,
        thread_id: str | None = NOT_GIVEN,
        step_id: str | None = NOT_GIVEN,
        content: bytes | str | None = None,
        path: str | os.PathLike[str] | None = None,
        url: str | None = NOT_GIVEN,
        object_key: str | None = NOT_GIVEN,
        name: str | None = NOT_GIVEN,
        mime: str | None = NOT_GIVEN,
        metadata: dict[str, Any] = NOT_GIVEN,
        id: str | None = NOT_GIVEN,
    ) -> t.Attachment:
        """Attach bytes (``content``), a local file (``path``), an uploaded ``object_key`` or a
        link (``url``) to a thread, or to a step (``PayloadTooLargeError`` over the limit)."""
        return self._c._send(
            ops.create_attachment(
                content=content,
                path=path,
                thread_id=thread_id,
                step_id=step_id,
                url=url,
                object_key=object_key,
                name=name,
                mime=mime,
                metadata=metadata,
                id=id,
            )
        )

    def upsert(
        self,
        attachment_id: str,
        *,
        thread_id: str | None = NOT_GIVEN,
        step_id: str | None = NOT_GIVEN,
        content: bytes | str | None = None,
        path: str | os.PathLike[str] | None = None,
        url: str | None = NOT_GIVEN,
        object_key: str | None = NOT_GIVEN,
        name: str | None = NOT_GIVEN,
        mime: str | None = NOT_GIVEN,
        metadata: dict[str, Any] = NOT_GIVEN,
    ) -> t.Attachment:
        """Create the attachment with this id, or change the fields given if it exists."""
        return self._c._send(
            ops.create_attachment(
                content=content,
                path=path,
                upsert_id=attachment_id,
                thread_id=thread_id,
                step_id=step_id,
                url=url,
                object_key=object_key,
                name=name,
                mime=mime,
                metadata=metadata,
            )
        )

    def get(self, attachment_id: str) -> t.Attachment:
        """An attachment; ``url`` is a fresh signed download link for a stored file."""
        return self._c._send(ops.get_attachment(attachment_id))

    def update(
        self,
        attachment_id: str,
        *,
        name: str = NOT_GIVEN,
        mime: str | None = NOT_GIVEN,
        metadata: dict[str, Any] | None = NOT_GIVEN,
        url: str | None = NOT_GIVEN,
        object_key: str | None = NOT_GIVEN,
    ) -> t.Attachment:
        """Change the given fields; the others (e.g. metadata) are kept."""
        return self._c._send(
            ops.update_attachment(
                attachment_id,
                name=name,
                mime=mime,
                metadata=metadata,
                url=url,
                object_key=object_key,
            )
        )

    def delete(self, attachment_id: str) -> None:
        """Delete an attachment and its file."""
        return self._c._send(ops.delete_attachment(attachment_id))

    def list(
        self,
        *,
        thread_id: str | None = None,
        step_id: str | None = None,
        first: int | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        include_total: bool = True,
    ) -> SyncPage[t.Attachment]:
        """Attachments, newest first; iterate the page to walk all pages."""
        return self._c._page(
            ops.list_attachments(
                thread_id=thread_id,
                step_id=step_id,
                first=first,
                after=after,
                before=before,
                limit=limit,
                offset=offset,
                include_total=include_total,
            )
        )

    def url(self, attachment_id: str, *, expires_in: int | None = None) -> t.SignedUrl:
        """A signed download URL (no API key needed) valid for ``expires_in`` seconds."""
        return self._c._send(ops.attachment_url(attachment_id, expires_in=expires_in))

    def download(self, attachment_id: str) -> bytes:
        """The bytes of a stored file."""
        return self._c._send(ops.download_attachment(attachment_id))

    def create_upload(
        self, *, mime: str | None = NOT_GIVEN, expires_in: int | None = NOT_GIVEN
    ) -> t.FileUpload:
        """An object key and a signed URL to PUT its bytes to; then attach it by object_key."""
        return self._c._send(ops.create_file_upload(mime=mime, expires_in=expires_in))


class Generations:
    """LLM calls (chat or completion), stored as llm steps."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def create(
        self,
        *,
        type: t.GenerationType = NOT_GIVEN,
        model: str | None = NOT_GIVEN,
        provider: str | None = NOT_GIVEN,
        messages: list[dict[str, Any]] | None = NOT_GIVEN,
        message_completion: dict[str, Any] | None = NOT_GIVEN,
        prompt: str | None = NOT_GIVEN,
        completion: str | None = NOT_GIVEN,
        settings: dict[str, Any] | None = NOT_GIVEN,
        tools: list[dict[str, Any]] | None = NOT_GIVEN,
        variables: dict[str, Any] | None = NOT_GIVEN,
        prompt_id: str | None = NOT_GIVEN,
        token_count: int | None = NOT_GIVEN,
        input_token_count: int | None = NOT_GIVEN,
        output_token_count: int | None = NOT_GIVEN,
        tt_first_token: float | None = NOT_GIVEN,
        duration: float | None = NOT_GIVEN,
        token_throughput_in_seconds: float | None = NOT_GIVEN,
        error: str | None = NOT_GIVEN,
        thread_id: str | None = NOT_GIVEN,
        parent_id: str | None = NOT_GIVEN,
        name: str | None = NOT_GIVEN,
        tags: list[str] = NOT_GIVEN,
        metadata: dict[str, Any] = NOT_GIVEN,
        start_time: Any = NOT_GIVEN,
        end_time: Any = NOT_GIVEN,
        environment: str | None = NOT_GIVEN,
        id: str | None = NOT_GIVEN,
    ) -> t.Step:
        """Log a generation (an llm step, in ``thread_id`` if given); returns that step."""
        return self._c._send(
            ops.create_generation(
                type=type,
                model=model,
                provider=provider,
                messages=messages,
                message_completion=message_completion,
                prompt=prompt,
                completion=completion,
                settings=settings,
                tools=tools,
                variables=variables,
                prompt_id=prompt_id,
                token_count=token_count,
                input_token_count=input_token_count,
                output_token_count=output_token_count,
                tt_first_token=tt_first_token,
                duration=duration,
                token_throughput_in_seconds=token_throughput_in_seconds,
                error=error,
                thread_id=thread_id,
                parent_id=parent_id,
                name=name,
                tags=tags,
                metadata=metadata,
                start_time=start_time,
                end_time=end_time,
                environment=environment,
                id=id,
            )
        )

    def get(self, generation_id: str) -> t.Step:
        """A generation: the llm step carrying it."""
        return self._c._send(ops.get_generation(generation_id))

    def list(
        self,
        *,
        filters: Filters = None,
        thread_id: str | None = None,
        first: int | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        order_by: str | None = None,
        order: str | None = None,
        include_total: bool = True,
    ) -> SyncPage[t.Step]:
        """Generations matching the filters, newest first; iterate to walk all pages."""
        return self._c._page(
            ops.search_generations(
                filters=filters,
                thread_id=thread_id,
                first=first,
                after=after,
                before=before,
                limit=limit,
                offset=offset,
                order_by=order_by,
                order=order,
                include_total=include_total,
            )
        )


class Datasets:
    """Datasets (key_value or generation) and their items."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def create(
        self,
        *,
        name: str,
        description: str | None = NOT_GIVEN,
        metadata: dict[str, Any] = NOT_GIVEN,
        type: t.DatasetType = NOT_GIVEN,
        id: str | None = NOT_GIVEN,
    ) -> t.Dataset:
        """Create a dataset (``ConflictError`` if the name is taken)."""
        return self._c._send(
            ops.create_dataset(
                name=name, description=description, metadata=metadata, type=type, id=id
            )
        )

    def get(self, dataset_id: str) -> t.Dataset:
        """A dataset with its items."""
        return self._c._send(ops.get_dataset(dataset_id))

    def get_by_name(self, name: str) -> t.Dataset:
        """A dataset, by name, with its items."""
        return self._c._send(ops.get_dataset_by_name(name))

    def update(
        self,
        dataset_id: str,
        *,
        name: str = NOT_GIVEN,
        description: str | None = NOT_GIVEN,
        metadata: dict[str, Any] | None = NOT_GIVEN,
    ) -> t.Dataset:
        """Change the given fields; the others are kept."""
        return self._c._send(
            ops.update_dataset(dataset_id, name=name, description=description, metadata=metadata)
        )

    def delete(self, dataset_id: str) -> None:
        """Delete a dataset with its items and experiments."""
        return self._c._send(ops.delete_dataset(dataset_id))

    def create_item(
        self,
        dataset_id: str,
        *,
        input: Any,
        expected_output: Any = NOT_GIVEN,
        intermediary_steps: list[Any] | None = NOT_GIVEN,
        metadata: dict[str, Any] = NOT_GIVEN,
        id: str | None = NOT_GIVEN,
    ) -> t.DatasetItem:
        """Add an item to a dataset."""
        return self._c._send(
            ops.create_dataset_item(
                dataset_id,
                input=input,
                expected_output=expected_output,
                intermediary_steps=intermediary_steps,
                metadata=metadata,
                id=id,
            )
        )

    def add_step(
        self, dataset_id: str, step_id: str, *, metadata: dict[str, Any] = NOT_GIVEN
    ) -> t.DatasetItem:
        """Add an item copying a step's input and output."""
        return self._c._send(
            ops.add_to_dataset(dataset_id, "step", step_id=step_id, metadata=metadata)
        )

    def add_generation(
        self, dataset_id: str, generation_id: str, *, metadata: dict[str, Any] = NOT_GIVEN
    ) -> t.DatasetItem:
        """Add an item copying a generation's messages and completion."""
        return self._c._send(
            ops.add_to_dataset(
                dataset_id, "generation", generation_id=generation_id, metadata=metadata
            )
        )

    def get_item(self, item_id: str) -> t.DatasetItem:
        """A dataset item."""
        return self._c._send(ops.get_dataset_item(item_id))

    def delete_item(self, item_id: str) -> None:
        """Delete a dataset item."""
        return self._c._send(ops.delete_dataset_item(item_id))

    def list(
        self,
        *,
        first: int | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        include_total: bool = True,
    ) -> SyncPage[t.Dataset]:
        """Datasets, newest first (without items); iterate the page to walk all pages."""
        return self._c._page(
            ops.list_datasets(
                first=first,
                after=after,
                before=before,
                limit=limit,
                offset=offset,
                include_total=include_total,
            )
        )


class Experiments:
    """Experiments on datasets (and prompts), with scored items."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def create(
        self,
        *,
        name: str,
        dataset_id: str | None = NOT_GIVEN,
        prompt_id: str | None = NOT_GIVEN,
        params: dict[str, Any] | None = NOT_GIVEN,
        id: str | None = NOT_GIVEN,
    ) -> t.Experiment:
        """Create an experiment, on a dataset and a prompt version if given."""
        return self._c._send(
            ops.create_experiment(
                name=name, dataset_id=dataset_id, prompt_id=prompt_id, params=params, id=id
            )
        )

    def get(self, experiment_id: str) -> t.Experiment:
        """An experiment with its items and their scores."""
        return self._c._send(ops.get_experiment(experiment_id))

    def list(
        self,
        *,
        dataset_id: str | None = None,
        first: int | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        include_total: bool = True,
    ) -> SyncPage[t.Experiment]:
        """Experiments, newest first (without items); iterate the page to walk all pages."""
        return self._c._page(
            ops.list_experiments(
                dataset_id=dataset_id,
                first=first,
                after=after,
                before=before,
                limit=limit,
                offset=offset,
                include_total=include_total,
            )
        )

    def delete(self, experiment_id: str) -> None:
        """Delete an experiment with its items and their scores."""
        return self._c._send(ops.delete_experiment(experiment_id))

    def add_item(
        self,
        experiment_id: str,
        *,
        input: Any = NOT_GIVEN,
        output: Any = NOT_GIVEN,
        dataset_item_id: str | None = NOT_GIVEN,
        experiment_run_id: str | None = NOT_GIVEN,
        metadata: dict[str, Any] = NOT_GIVEN,
        scores: Sequence[Mapping[str, Any] | t.ScoreCreate] = NOT_GIVEN,
        id: str | None = NOT_GIVEN,
    ) -> t.ExperimentItem:
        """Record one result with its scores (in one transaction)."""
        return self._c._send(
            ops.add_experiment_item(
                experiment_id,
                input=input,
                output=output,
                dataset_item_id=dataset_item_id,
                experiment_run_id=experiment_run_id,
                metadata=metadata,
                scores=scores,
                id=id,
            )
        )


class Prompts:
    """Prompt lineages and versions; ``Prompt.format_messages(**variables)`` renders one."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def get_or_create(
        self,
        *,
        name: str,
        template_messages: list[dict[str, Any]],
        settings: dict[str, Any] = NOT_GIVEN,
        tools: list[dict[str, Any]] | None = NOT_GIVEN,
        variables: list[Any] | None = NOT_GIVEN,
        variables_default_values: dict[str, Any] | None = NOT_GIVEN,
        type: t.GenerationType = NOT_GIVEN,
        description: str | None = NOT_GIVEN,
    ) -> t.Prompt:
        """The version with this content (key order and ``settings.provider`` do not matter),
        or a new version of the lineage ``name``."""
        return self._c._send(
            ops.get_or_create_prompt(
                name=name,
                template_messages=template_messages,
                settings=settings,
                tools=tools,
                variables=variables,
                variables_default_values=variables_default_values,
                type=type,
                description=description,
            )
        )

    def get_or_create_lineage(
        self, name: str, *, description: str | None = NOT_GIVEN
    ) -> t.PromptLineage:
        """The lineage with this name, created (without versions) if missing."""
        return self._c._send(ops.get_or_create_prompt_lineage(name=name, description=description))

    def get_lineage(self, lineage_id: str) -> t.PromptLineage:
        """A prompt lineage by id."""
        return self._c._send(ops.get_prompt_lineage(lineage_id))

    def get(self, prompt_id: str) -> t.Prompt:
        """A prompt version by id."""
        return self._c._send(ops.get_prompt(prompt_id))

    def get_by_name(
        self,
        name: str,
        *,
        version: int | None = None,
        thread_id: str | None = None,
        participant_id: str | None = None,
    ) -> t.Prompt:
        """Version ``version``; without it the A/B rollout's pick (sticky per participant, else
        thread) or the latest version."""
        return self._c._send(
            ops.get_prompt_by_name(
                name, version=version, thread_id=thread_id, participant_id=participant_id
            )
        )

    def versions(self, name: str) -> list[t.Prompt]:
        """Every version of a lineage, newest first."""
        return self._c._send(ops.list_prompt_versions(name))

    def delete(self, name: str) -> None:
        """Delete a lineage with all its versions."""
        return self._c._send(ops.delete_prompt(name))

    def get_rollouts(self, name: str) -> list[t.Rollout]:
        """The lineage's A/B rollout (empty: the latest version is served)."""
        return self._c._send(ops.get_prompt_rollouts(name))

    def set_rollouts(
        self, name: str, rollouts: Sequence[Mapping[str, Any] | t.RolloutItem]
    ) -> list[t.Rollout]:
        """Serve these versions with these percentages (summing to 100; empty: the latest)."""
        return self._c._send(ops.set_prompt_rollouts(name, rollouts))

    def list(
        self,
        *,
        first: int | None = None,
        after: str | None = None,
        before: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        include_total: bool = True,
    ) -> SyncPage[t.PromptLineage]:
        """Prompt lineages, newest first; iterate the page to walk all pages."""
        return self._c._page(
            ops.list_prompts(
                first=first,
                after=after,
                before=before,
                limit=limit,
                offset=offset,
                include_total=include_total,
            )
        )


class Checkpoints:
    """LangGraph checkpoints with their serialized form (what ``ThreadlineSaver`` sends)."""

    def __init__(self, client: Client) -> None:
        self._c = client

    def put(self, thread_id: str, checkpoint_id: str, **fields: Any) -> dict[str, Any]:
        """Store a checkpoint (``checkpoint_ns``, ``parent_checkpoint_id``, ``values``,
        ``metadata``, ``next``, ``tasks``, ``serialized``); creates the thread if needed."""
        return self._c._send(ops.put_checkpoint(thread_id, checkpoint_id, **fields))

    def put_writes(
        self,
        thread_id: str,
        checkpoint_id: str,
        *,
        task_id: str,
        writes: Sequence[Mapping[str, Any]],
        checkpoint_ns: str = "",
        task_path: str = "",
    ) -> None:
        """Store a task's pending writes (``idx``, ``channel``, ``value``, ``serialized``)."""
        return self._c._send(
            ops.put_checkpoint_writes(
                thread_id,
                checkpoint_id,
                task_id=task_id,
                writes=writes,
                checkpoint_ns=checkpoint_ns,
                task_path=task_path,
            )
        )

    def batch(self, operations: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        """Store checkpoints and task writes in order, in one transaction (all or none). Each
        operation is ``{"thread_id", "checkpoint_id", "checkpoint": {...}}`` (the fields of
        ``put``) or ``{"thread_id", "checkpoint_id", "writes": {...}}`` (those of
        ``put_writes``); each result is the checkpoint's reference, or None for writes."""
        return self._c._send(ops.apply_checkpoint_batch(operations))

    def search(
        self,
        *,
        thread_id: str | None = None,
        checkpoint_ns: str | None = None,
        checkpoint_id: str | None = None,
        before: str | None = None,
        metadata: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> list[t.StoredCheckpoint]:
        """Checkpoints newest first with their pending writes."""
        return self._c._send(
            ops.search_checkpoints(
                thread_id=thread_id,
                checkpoint_ns=checkpoint_ns,
                checkpoint_id=checkpoint_id,
                before=before,
                metadata=metadata,
                limit=limit,
            )
        )

    def delete(self, thread_id: str) -> None:
        """Delete a thread's checkpoints and pending writes (the thread stays)."""
        return self._c._send(ops.delete_checkpoints(thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints whose ``metadata.run_id`` is one of ``run_ids``."""
        return self._c._send(ops.delete_checkpoints_for_runs(run_ids))

    def copy(self, thread_id: str, target_thread_id: str) -> None:
        """Copy a thread's checkpoints (ids kept) to another thread, created if new."""
        return self._c._send(ops.copy_checkpoints(thread_id, target_thread_id))

    def prune(self, thread_ids: Sequence[str], strategy: str = "keep_latest") -> None:
        """Keep each namespace's newest checkpoint (``keep_latest``) or none (``delete``)."""
        return self._c._send(ops.prune_checkpoints(thread_ids, strategy))
