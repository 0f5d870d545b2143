"""Wire models of the native ``/v1`` API: the single source of truth for the server and the SDK.

Request models (``*Create``, ``*Update``, ``*Search``) forbid unknown fields so that a typo gets a
clear 422 naming it; response models ignore unknown fields so that an older SDK keeps working
against a newer server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

StepType = Literal[
    "run",
    "tool",
    "llm",
    "embedding",
    "retrieval",
    "rerank",
    "undefined",
    "user_message",
    "assistant_message",
    "system_message",
]
STEP_TYPES: tuple[str, ...] = StepType.__args__  # type: ignore[attr-defined]
ThreadStatus = Literal["idle", "busy", "interrupted", "error"]
Direction = Literal["ASC", "DESC", "asc", "desc"]

MAX_PAGE_SIZE = 1000
MAX_BATCH_STEPS = 1000

Id = Field(min_length=1, max_length=256)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- shared pieces ---------------------------------------------------------------------------


class Filter(_Request):
    """One condition of the filter grammar (Literal AI's): ``{field, operator, value, path?}``."""

    field: str = Field(min_length=1)
    operator: str = Field(min_length=1)
    value: Any = None
    path: str | None = None


class OrderBy(_Request):
    column: str = "createdAt"
    direction: Direction = "DESC"


class PageInfo(_Response):
    has_next_page: bool = False
    has_previous_page: bool = False
    start_cursor: str | None = None
    end_cursor: str | None = None


T = TypeVar("T")


class Page(_Response, Generic[T]):
    """One page of a list: cursor (``first/after/before``) or offset (``limit/offset``) style."""

    data: list[T]
    page_info: PageInfo = Field(default_factory=PageInfo)
    total_count: int | None = None


class Count(_Response):
    count: int


class Deleted(_Response):
    id: str
    deleted: bool = True


# --- participants ----------------------------------------------------------------------------


class ParticipantCreate(_Request):
    identifier: str = Field(min_length=1, max_length=512)
    metadata: dict[str, Any] = Field(default_factory=dict)
    id: str | None = Field(default=None, min_length=1, max_length=256)


class ParticipantUpdate(_Request):
    identifier: str | None = Field(default=None, min_length=1, max_length=512)
    metadata: dict[str, Any] | None = None


class ParticipantRef(_Response):
    id: str
    identifier: str
    metadata: dict[str, Any] = Field(default_factory=dict)


class Participant(_Response):
    id: str
    identifier: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    thread_count: int | None = Field(default=None, description="Set in lists.")
    last_engaged: datetime | None = Field(default=None, description="Set in lists.")


class ParticipantSearch(_Request):
    filters: list[Filter] = Field(default_factory=list)
    first: int | None = Field(default=None, ge=1, le=MAX_PAGE_SIZE)
    after: str | None = None
    before: str | None = None
    limit: int | None = Field(default=None, ge=1, le=MAX_PAGE_SIZE)
    offset: int | None = Field(default=None, ge=0)
    order_by: OrderBy | None = None
    include_total: bool = True


# --- steps -----------------------------------------------------------------------------------


class Generation(BaseModel):
    """An LLM call's payload: chat (messages) or completion (prompt/completion)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["chat", "completion"] = "chat"
    model: str | None = None
    provider: str | None = None
    settings: dict[str, Any] | None = None
    messages: list[dict[str, Any]] | None = None
    message_completion: dict[str, Any] | None = None
    prompt: str | None = None
    completion: str | None = None
    tools: list[dict[str, Any]] | None = None
    variables: dict[str, Any] | None = None
    prompt_id: str | None = None
    token_count: int | None = Field(default=None, ge=0)
    input_token_count: int | None = Field(default=None, ge=0)
    output_token_count: int | None = Field(default=None, ge=0)
    tt_first_token: float | None = None
    duration: float | None = None
    token_throughput_in_seconds: float | None = None
    error: str | None = None


class StepCreate(_Request):
    id: str | None = Field(default=None, min_length=1, max_length=256)
    thread_id: str | None = Field(default=None, min_length=1, max_length=256)
    parent_id: str | None = Field(default=None, min_length=1, max_length=256)
    root_run_id: str | None = Field(default=None, min_length=1, max_length=256)
    type: StepType = "undefined"
    name: str | None = None
    input: Any = None
    output: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    start_time: datetime | None = None
    end_time: datetime | None = None
    error: str | None = None
    environment: str | None = None
    generation: Generation | None = None


class StepUpdate(_Request):
    """Fields present in the body replace the stored ones; absent fields are kept."""

    thread_id: str | None = Field(default=None, min_length=1, max_length=256)
    parent_id: str | None = Field(default=None, min_length=1, max_length=256)
    root_run_id: str | None = Field(default=None, min_length=1, max_length=256)
    type: StepType | None = None
    name: str | None = None
    input: Any = None
    output: Any = None
    metadata: dict[str, Any] | None = None
    tags: list[str] | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    error: str | None = None
    environment: str | None = None
    generation: Generation | None = None


class BatchStep(StepCreate):
    """A step in a batch: the id is required so that sending the batch again changes nothing."""

    id: str = Field(min_length=1, max_length=256)


class StepBatch(_Request):
    steps: list[BatchStep] = Field(max_length=MAX_BATCH_STEPS)


class BatchResult(_Response):
    count: int
    ids: list[str]
    threads_created: int = 0


class Step(_Response):
    id: str
    thread_id: str | None = None
    parent_id: str | None = None
    root_run_id: str | None = None
    type: str = "undefined"
    name: str | None = None
    input: Any = None
    output: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    start_time: datetime | None = None
    end_time: datetime | None = None
    created_at: datetime
    error: str | None = None
    environment: str | None = None
    generation: Generation | None = None


class StepSearch(_Request):
    filters: list[Filter] = Field(default_factory=list)
    thread_id: str | None = None
    type: StepType | None = None
    first: int | None = Field(default=None, ge=1, le=MAX_PAGE_SIZE)
    after: str | None = None
    before: str | None = None
    limit: int | None = Field(default=None, ge=1, le=MAX_PAGE_SIZE)
    offset: int | None = Field(default=None, ge=0)
    order_by: OrderBy | None = None
    include_total: bool = True


# --- threads ---------------------------------------------------------------------------------


class ThreadCreate(_Request):
    id: str | None = Field(default=None, min_length=1, max_length=256)
    name: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    participant_id: str | None = Field(default=None, min_length=1, max_length=256)
    participant_identifier: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        description="Attach the participant with this identifier, creating it if needed.",
    )
    environment: str | None = None
    status: ThreadStatus = "idle"


class ThreadUpdate(_Request):
    """Fields present in the body replace the stored ones; absent fields are kept."""

    name: str | None = None
    metadata: dict[str, Any] | None = None
    tags: list[str] | None = None
    participant_id: str | None = Field(default=None, min_length=1, max_length=256)
    participant_identifier: str | None = Field(default=None, min_length=1, max_length=512)
    environment: str | None = None
    status: ThreadStatus | None = None


class Thread(_Response):
    id: str
    name: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    participant_id: str | None = None
    participant: ParticipantRef | None = None
    environment: str | None = None
    status: str = "idle"
    created_at: datetime
    updated_at: datetime
    steps: list[Step] | None = None


class ThreadSearch(_Request):
    filters: list[Filter] = Field(default_factory=list)
    metadata: dict[str, Any] | None = Field(
        default=None, description="JSON containment on metadata, with PostgreSQL jsonb semantics."
    )
    participant_id: str | None = None
    environment: str | None = None
    status: ThreadStatus | None = None
    first: int | None = Field(default=None, ge=1, le=MAX_PAGE_SIZE)
    after: str | None = None
    before: str | None = None
    limit: int | None = Field(default=None, ge=1, le=MAX_PAGE_SIZE)
    offset: int | None = Field(default=None, ge=0)
    order_by: OrderBy | None = None
    include_total: bool = True


class ThreadCount(_Request):
    filters: list[Filter] = Field(default_factory=list)
    metadata: dict[str, Any] | None = None
    participant_id: str | None = None
    environment: str | None = None
    status: ThreadStatus | None = None


class ThreadExport(_Request):
    filters: list[Filter] = Field(default_factory=list)
    metadata: dict[str, Any] | None = None
    page: int = Field(default=1, ge=1)
    page_size: int = Field(default=50, ge=1, le=500)


class ExportPage(_Response):
    data: list[Thread]
    page: int
    page_size: int
    has_next_page: bool
    total_count: int | None = None


# --- projects and keys -----------------------------------------------------------------------


class Project(_Response):
    id: str
    name: str
    created_at: datetime


class ApiKeyInfo(_Response):
    id: str
    project_id: str
    name: str | None = None
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class ApiKeyCreated(ApiKeyInfo):
    key: str


class ApiKeyCreate(_Request):
    name: str | None = Field(default=None, max_length=200)
