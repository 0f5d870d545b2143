"""Wire models of the native ``/v1`` API: the single source of truth for the server and the SDK.

Request models (``*Create``, ``*Update``, ``*Search``) forbid unknown fields so that a typo gets a
clear 422 naming it; response models ignore unknown fields so that an older SDK keeps working
against a newer server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

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
#: the largest integer an integer column (or SQL parameter) holds: 64-bit signed
INT64_MAX = 2**63 - 1
MAX_BATCH_STEPS = 1000

Id = Field(min_length=1, max_length=256)

#: Tyler ``platforms``: ``{platform: {key: value}}`` references to external systems (strings only)
PlatformName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
PlatformValue = Annotated[str, StringConstraints(max_length=256)]
Platforms = dict[PlatformName, dict[PlatformName, PlatformValue]]


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
    token_count: int | None = Field(default=None, description="Set in lists and reads.")


class ParticipantSearch(_Request):
    filters: list[Filter] = Field(default_factory=list)
    first: int | None = Field(default=None, ge=1, le=MAX_PAGE_SIZE)
    after: str | None = None
    before: str | None = None
    limit: int | None = Field(default=None, ge=1, le=MAX_PAGE_SIZE)
    offset: int | None = Field(default=None, ge=0, le=INT64_MAX)
    order_by: OrderBy | None = None
    include_total: bool = True


# --- scores and attachments (read with the steps and threads they are on) ------------------

ScoreType = Literal["HUMAN", "AI", "CODE"]


class Score(_Response):
    """A named value on a step, a generation (an llm step) or an experiment item."""

    id: str
    name: str
    type: str
    value: float
    label: str | None = None
    scorer: str | None = None
    comment: str | None = None
    tags: list[str] = Field(default_factory=list)
    step_id: str | None = Field(default=None, description="The step or generation scored.")
    experiment_item_id: str | None = None
    created_at: datetime
    updated_at: datetime


class Attachment(_Response):
    """A file (bytes in the file store) or a link, on a thread or one of its steps."""

    id: str
    thread_id: str | None = None
    step_id: str | None = None
    name: str
    mime: str | None = None
    size: int | None = Field(default=None, description="Bytes stored (None for a link).")
    object_key: str | None = None
    url: str | None = Field(
        default=None,
        description="A signed, expiring download URL for a stored file (usable without the API "
        "key); the link itself for a link attachment.",
    )
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime


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
    token_count: int | None = Field(default=None, ge=0, le=INT64_MAX)
    input_token_count: int | None = Field(default=None, ge=0, le=INT64_MAX)
    output_token_count: int | None = Field(default=None, ge=0, le=INT64_MAX)
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
    # Tyler message fields
    sequence: int | None = Field(default=None, ge=0, le=2**31 - 1)
    turn: int | None = Field(default=None, ge=0, le=2**31 - 1)
    source: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    platforms: Platforms | None = None


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
    sequence: int | None = Field(default=None, ge=0, le=2**31 - 1)
    turn: int | None = Field(default=None, ge=0, le=2**31 - 1)
    source: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    platforms: Platforms | None = None


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
    sequence: int | None = None
    turn: int | None = None
    source: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    platforms: dict[str, dict[str, str]] | None = None
    reactions: dict[str, list[str]] = Field(default_factory=dict)
    scores: list[Score] | None = Field(default=None, description="Set when read.")
    attachments: list[Attachment] | None = Field(default=None, description="Set when read.")


class StepSearch(_Request):
    filters: list[Filter] = Field(default_factory=list)
    thread_id: str | None = None
    type: StepType | None = None
    first: int | None = Field(default=None, ge=1, le=MAX_PAGE_SIZE)
    after: str | None = None
    before: str | None = None
    limit: int | None = Field(default=None, ge=1, le=MAX_PAGE_SIZE)
    offset: int | None = Field(default=None, ge=0, le=INT64_MAX)
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
    platforms: Platforms | None = None


class ThreadUpdate(_Request):
    """Fields present in the body replace the stored ones; absent fields are kept."""

    name: str | None = None
    metadata: dict[str, Any] | None = None
    tags: list[str] | None = None
    participant_id: str | None = Field(default=None, min_length=1, max_length=256)
    participant_identifier: str | None = Field(default=None, min_length=1, max_length=512)
    environment: str | None = None
    status: ThreadStatus | None = None
    platforms: Platforms | None = None
    created_at: datetime | None = Field(
        default=None, description="Used only when PUT creates the thread; ignored otherwise."
    )


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
    platforms: dict[str, dict[str, str]] = Field(default_factory=dict)
    steps: list[Step] | None = None
    scores: list[Score] | None = Field(
        default=None, description="The scores of its steps (set when read with its steps)."
    )
    attachments: list[Attachment] | None = Field(
        default=None, description="All its attachments (set when read with its steps)."
    )


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
    offset: int | None = Field(default=None, ge=0, le=INT64_MAX)
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
    page: int = Field(default=1, ge=1, le=INT64_MAX)
    page_size: int = Field(default=50, ge=1, le=500)


class ExportPage(_Response):
    data: list[Thread]
    page: int
    page_size: int
    has_next_page: bool
    total_count: int | None = None

    @property
    def hasNextPage(self) -> bool:
        """``has_next_page`` in Literal AI's spelling, so that ported export loops run as is."""
        return self.has_next_page


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


# --- Tyler messages: reactions, platform and attribute lookups, analytics, titles ----------------


class ReactionCreate(_Request):
    emoji: str = Field(min_length=1, max_length=64)
    user_id: str = Field(min_length=1, max_length=256)


class ReactionResult(_Response):
    changed: bool = Field(description="False when the reaction was already there (or absent).")
    reactions: dict[str, list[str]]


class ReactionChange(_Request):
    step_id: str = Field(min_length=1, max_length=256)
    emoji: str = Field(min_length=1, max_length=64)
    user_id: str = Field(min_length=1, max_length=256)


class ReactionBatch(_Request):
    """Reactions to remove, then to add, on steps of one thread (in one transaction)."""

    remove: list[ReactionChange] = Field(default_factory=list, max_length=MAX_BATCH_STEPS)
    add: list[ReactionChange] = Field(default_factory=list, max_length=MAX_BATCH_STEPS)


class ReactionBatchResult(_Response):
    added: int
    removed: int


class StepIds(_Request):
    ids: list[str] = Field(max_length=MAX_BATCH_STEPS)


class PlatformSearch(_Request):
    platform: PlatformName
    properties: dict[PlatformName, PlatformValue] = Field(default_factory=dict)
    include_steps: bool = False
    limit: int = Field(default=100, ge=1, le=MAX_PAGE_SIZE)


class AttributeSearch(_Request):
    attributes: dict[str, Any] = Field(description="JSON containment on thread metadata.")
    include_steps: bool = False
    limit: int = Field(default=100, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(default=0, ge=0, le=INT64_MAX)
    order_by: Literal["created_at", "updated_at"] = "created_at"


class MessageSearch(_Request):
    path: str = Field(
        min_length=1,
        max_length=512,
        description="Dot path in the Tyler message, e.g. platforms.slack.ts or source.id.",
    )
    value: str | int | float | bool | None = None
    limit: int = Field(default=100, ge=1, le=MAX_PAGE_SIZE)


class ThreadList(_Response):
    data: list[Thread]


#: what the SDK returns for reactions and thread lookups (aliases: ``list`` is also a method name)
Reactions = dict[str, list[str]]
ThreadsFound = list[Thread]


class StepList(_Response):
    data: list[Step]


class TokenUsage(_Response):
    completion_tokens: int | float = 0
    prompt_tokens: int | float = 0
    total_tokens: int | float = 0


class ModelUsage(TokenUsage):
    calls: int = 0


class TokenTotals(_Response):
    overall: TokenUsage
    by_model: dict[str, TokenUsage]


class TimingStats(_Response):
    total_latency: int | float
    average_latency: int | float
    message_count: int


class ToolUsage(_Response):
    tools: dict[str, int]
    total_calls: int


class ThreadAnalytics(_Response):
    """A thread's message analytics (what ``threadline.Thread.analytics()`` computes locally)."""

    tokens: TokenTotals
    model_usage: dict[str, ModelUsage]
    timing: TimingStats
    message_counts: dict[str, int]
    tool_usage: ToolUsage


class ThreadTitle(_Response):
    title: str
    generated_by: Literal["llm", "first_message", "none"]
    thread: Thread


# --- evaluation: scores, attachments and files, generations, datasets, experiments -----------

MAX_BATCH_SCORES = 1000
DatasetType = Literal["key_value", "generation"]
GenerationType = Literal["chat", "completion"]
_Ref = Field(default=None, min_length=1, max_length=256)


class PageQuery(_Request):
    """Paging of the simple lists (datasets, experiments, prompts, attachments)."""

    first: int | None = Field(default=None, ge=1, le=MAX_PAGE_SIZE)
    after: str | None = None
    before: str | None = None
    limit: int | None = Field(default=None, ge=1, le=MAX_PAGE_SIZE)
    offset: int | None = Field(default=None, ge=0, le=INT64_MAX)
    include_total: bool = True


class ScoreCreate(_Request):
    """A score on a step (``step_id``), a generation (``generation_id``, the same thing: a
    generation is an llm step) or an experiment item; at least one of them."""

    id: str | None = _Ref
    name: str = Field(min_length=1, max_length=512)
    type: ScoreType
    value: float = Field(allow_inf_nan=False)
    label: str | None = None
    scorer: str | None = None
    comment: str | None = None
    tags: list[str] = Field(default_factory=list)
    step_id: str | None = _Ref
    generation_id: str | None = _Ref
    experiment_item_id: str | None = _Ref


class ScoreBatch(_Request):
    scores: list[ScoreCreate] = Field(max_length=MAX_BATCH_SCORES)
    upsert: bool = Field(
        default=False, description="Replace scores whose id exists (idempotent re-sends)."
    )


class ScoreUpdate(_Request):
    """Fields present replace the stored ones; absent fields (e.g. the comment) are kept."""

    name: str | None = Field(default=None, min_length=1, max_length=512)
    type: ScoreType | None = None
    value: float | None = Field(default=None, allow_inf_nan=False)
    label: str | None = None
    scorer: str | None = None
    comment: str | None = None
    tags: list[str] | None = None


class ScoreSearch(PageQuery):
    filters: list[Filter] = Field(default_factory=list)
    step_id: str | None = None
    experiment_item_id: str | None = None
    order_by: OrderBy | None = None


class AttachmentCreate(_Request):
    """A file (``content_base64``, or an ``object_key`` from a signed upload) or a link (``url``)
    on a thread, or on a step (its thread is the step's)."""

    id: str | None = _Ref
    thread_id: str | None = _Ref
    step_id: str | None = _Ref
    name: str | None = Field(default=None, min_length=1, max_length=1024)
    mime: str | None = Field(default=None, max_length=255)
    metadata: dict[str, Any] = Field(default_factory=dict)
    content_base64: str | None = Field(default=None, description="The file's bytes, base64.")
    url: str | None = Field(default=None, max_length=8192, description="Link to a remote file.")
    object_key: str | None = Field(default=None, max_length=1024)


class AttachmentUpdate(_Request):
    name: str | None = Field(default=None, min_length=1, max_length=1024)
    mime: str | None = Field(default=None, max_length=255)
    metadata: dict[str, Any] | None = None
    url: str | None = Field(default=None, max_length=8192)
    object_key: str | None = Field(default=None, max_length=1024)


class AttachmentSearch(PageQuery):
    thread_id: str | None = None
    step_id: str | None = None


class AttachmentContent(_Response):
    id: str
    name: str
    mime: str | None = None
    size: int
    content_base64: str


class SignedUrl(_Response):
    url: str
    expires_at: datetime


class FileUploadCreate(_Request):
    """Ask for a signed URL to ``PUT`` a file's bytes to (no API key needed on that request)."""

    mime: str | None = Field(default=None, max_length=255)
    expires_in: int | None = Field(default=None, ge=1, le=7 * 24 * 3600)


class FileUpload(_Response):
    object_key: str
    upload_url: str = Field(description="PUT the bytes here (signed, expiring).")
    url: str = Field(description="Signed download URL of the same file.")
    expires_at: datetime


class GenerationCreate(_Request):
    """A chat or completion generation, stored as an llm step (in ``thread_id`` if given)."""

    id: str | None = _Ref
    thread_id: str | None = _Ref
    parent_id: str | None = _Ref
    name: str | None = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    start_time: datetime | None = None
    end_time: datetime | None = None
    environment: str | None = None
    type: GenerationType = "chat"
    model: str | None = None
    provider: str | None = None
    settings: dict[str, Any] | None = None
    messages: list[dict[str, Any]] | None = None
    message_completion: dict[str, Any] | None = None
    prompt: str | None = None
    completion: str | None = None
    tools: list[dict[str, Any]] | None = None
    variables: dict[str, Any] | None = None
    prompt_id: str | None = _Ref
    token_count: int | None = Field(default=None, ge=0, le=INT64_MAX)
    input_token_count: int | None = Field(default=None, ge=0, le=INT64_MAX)
    output_token_count: int | None = Field(default=None, ge=0, le=INT64_MAX)
    tt_first_token: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    duration: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    token_throughput_in_seconds: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    error: str | None = None


class GenerationSearch(PageQuery):
    filters: list[Filter] = Field(default_factory=list)
    thread_id: str | None = None
    order_by: OrderBy | None = None


class DatasetCreate(_Request):
    id: str | None = _Ref
    name: str = Field(min_length=1, max_length=512)
    description: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    type: DatasetType = "key_value"


class DatasetUpdate(_Request):
    name: str | None = Field(default=None, min_length=1, max_length=512)
    description: str | None = None
    metadata: dict[str, Any] | None = None


class DatasetItemCreate(_Request):
    id: str | None = _Ref
    input: Any
    expected_output: Any = None
    intermediary_steps: list[Any] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class DatasetItemFromStep(_Request):
    step_id: str = Field(min_length=1, max_length=256)
    metadata: dict[str, Any] = Field(default_factory=dict)


class DatasetItemFromGeneration(_Request):
    generation_id: str = Field(min_length=1, max_length=256)
    metadata: dict[str, Any] = Field(default_factory=dict)


class DatasetItem(_Response):
    id: str
    dataset_id: str
    input: Any = None
    expected_output: Any = None
    intermediary_steps: list[Any] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    step_id: str | None = Field(default=None, description="The step it was copied from.")
    generation_id: str | None = Field(
        default=None, description="The generation it was copied from."
    )
    created_at: datetime


class Dataset(_Response):
    id: str
    name: str
    description: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    type: str = "key_value"
    created_at: datetime
    updated_at: datetime
    items: list[DatasetItem] | None = Field(default=None, description="Set when read by id/name.")


class ExperimentCreate(_Request):
    id: str | None = _Ref
    name: str = Field(min_length=1, max_length=512)
    dataset_id: str | None = _Ref
    prompt_id: str | None = Field(default=None, min_length=1, max_length=256)
    params: dict[str, Any] | None = None


class ExperimentItemCreate(_Request):
    id: str | None = _Ref
    dataset_item_id: str | None = _Ref
    experiment_run_id: str | None = _Ref
    input: Any = None
    output: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    scores: list[ScoreCreate] = Field(default_factory=list, max_length=MAX_BATCH_SCORES)


class ExperimentItem(_Response):
    id: str
    experiment_id: str
    dataset_item_id: str | None = None
    experiment_run_id: str | None = None
    input: Any = None
    output: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    scores: list[Score] = Field(default_factory=list)
    created_at: datetime


class Experiment(_Response):
    id: str
    name: str
    dataset_id: str | None = None
    prompt_id: str | None = None
    params: dict[str, Any] | None = None
    created_at: datetime
    items: list[ExperimentItem] | None = Field(default=None, description="Set when read by id.")


class ExperimentSearch(PageQuery):
    dataset_id: str | None = None


# --- prompts -----------------------------------------------------------------------------------


class PromptCreate(_Request):
    """Content of a prompt version; ``get_or_create`` returns the version with the same content
    (template messages, settings without ``provider``, tools) or makes the next version."""

    name: str = Field(min_length=1, max_length=512)
    template_messages: list[dict[str, Any]] = Field(min_length=1)
    settings: dict[str, Any] = Field(default_factory=dict)
    tools: list[dict[str, Any]] | None = None
    variables: list[Any] | None = None
    variables_default_values: dict[str, Any] | None = None
    type: GenerationType = "chat"
    description: str | None = Field(default=None, description="Of the version, if created.")


class PromptLineageCreate(_Request):
    name: str = Field(min_length=1, max_length=512)
    description: str | None = None


class PromptLineageRef(_Response):
    id: str
    name: str
    description: str | None = None


class PromptLineage(_Response):
    id: str
    name: str
    description: str | None = None
    created_at: datetime
    updated_at: datetime
    latest_version: int | None = None


class Prompt(_Response):
    """A prompt version. ``format_messages(**variables)`` renders its mustache templates."""

    id: str
    name: str
    version: int
    type: str = "chat"
    template_messages: list[dict[str, Any]]
    settings: dict[str, Any] = Field(default_factory=dict)
    tools: list[dict[str, Any]] | None = None
    variables: list[Any] | None = None
    variables_default_values: dict[str, Any] | None = None
    description: str | None = None
    content_hash: str
    lineage: PromptLineageRef
    created_at: datetime

    @property
    def provider(self) -> str | None:
        value = self.settings.get("provider")
        return value if isinstance(value, str) else None

    def format_messages(self, **variables: Any) -> list[dict[str, Any]]:
        """The template messages with ``{{variables}}`` filled in (mustache, via chevron), over
        ``variables_default_values``. Text is HTML-escaped by ``{{x}}`` as mustache specifies;
        use ``{{{x}}}`` for raw text."""
        import chevron  # lazily: only callers who format pay for the import

        values = {**(self.variables_default_values or {}), **variables}
        out: list[dict[str, Any]] = []
        for message in self.template_messages:
            rendered = dict(message)
            content = message.get("content")
            if isinstance(content, str):
                rendered["content"] = chevron.render(content, values)
            elif isinstance(content, list):
                rendered["content"] = [
                    {**part, "text": chevron.render(part["text"], values)}
                    if isinstance(part, dict) and isinstance(part.get("text"), str)
                    else part
                    for part in content
                ]
            out.append(rendered)
        return out


class RolloutItem(_Request):
    version: int = Field(ge=0, le=INT64_MAX)
    percentage: int = Field(ge=0, le=100)


class RolloutUpdate(_Request):
    """The versions ``get by name`` serves and their shares; they must sum to 100 (or be empty,
    to serve the latest version again)."""

    rollouts: list[RolloutItem] = Field(max_length=100)


class Rollout(_Response):
    version: int
    percentage: int


# --- thread state (checkpoints) and thread events ---------------------------------------------


class ThreadState(_Response):
    """A thread's state at one checkpoint (the same checkpoints LangGraph clients see)."""

    thread_id: str
    checkpoint_ns: str = ""
    checkpoint_id: str | None = None
    parent_checkpoint_id: str | None = None
    values: Any = None
    next: list[str] = Field(default_factory=list)
    tasks: list[dict[str, Any]] = Field(default_factory=list)
    metadata: dict[str, Any] | None = None
    interrupts: list[Any] = Field(default_factory=list)
    created_at: datetime | None = None


class ThreadEventCreate(_Request):
    """An event for the thread's stream, e.g. a run's ``values`` (mode ``run``) or ``metadata``
    start/end (mode ``lifecycle``); LangGraph clients receive it through ``join_stream``."""

    event: str = Field(min_length=1, max_length=128)
    data: Any = None
    mode: Literal["run", "lifecycle"] = "run"


class ThreadEvent(_Response):
    seq: int
    event: str
    mode: str
    data: Any = None
    created_at: datetime


# --- LangGraph checkpointer (threadline.langgraph.ThreadlineSaver) --------------------------------

CheckpointNs = Annotated[str, StringConstraints(max_length=512)]
CheckpointIdStr = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class SerializedValue(_Request):
    """LangGraph's exact serialized form of a value: the serde ``type`` and base64 ``data``."""

    type: str = Field(min_length=1, max_length=64)
    data: str = Field(max_length=512 * 1024 * 1024)


class CheckpointPut(_Request):
    """One checkpoint as a LangGraph checkpointer stores it: the exact serialized checkpoint
    (``serialized``) and a JSON view that the threads API and search read (``values`` are the
    state channels, ``next``/``tasks`` the nodes the graph would run next)."""

    checkpoint_ns: CheckpointNs = ""
    parent_checkpoint_id: CheckpointIdStr | None = None
    values: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    next: list[Annotated[str, StringConstraints(max_length=256)]] = Field(default_factory=list)
    tasks: list[dict[str, Any]] = Field(default_factory=list)
    serialized: SerializedValue | None = None


class CheckpointWrite(_Request):
    """One pending write of a task: ``channel``, its JSON view ``value`` and the exact form."""

    idx: int = Field(ge=-(2**31), lt=2**31)
    channel: str = Field(min_length=1, max_length=256)
    value: Any = None
    serialized: SerializedValue | None = None


class CheckpointWritesPut(_Request):
    """The writes one task made against a checkpoint (idempotent per ``task_id`` and ``idx``)."""

    checkpoint_ns: CheckpointNs = ""
    task_id: str = Field(min_length=1, max_length=64)
    task_path: str = Field(default="", max_length=4096)
    writes: list[CheckpointWrite] = Field(max_length=10_000)


class CheckpointOperation(_Request):
    """One operation of a checkpoint batch on ``thread_id``/``checkpoint_id``: store the
    checkpoint (``checkpoint``) or a task's writes on it (``writes``), exactly one of them."""

    thread_id: str = Field(min_length=1, max_length=256)
    checkpoint_id: CheckpointIdStr
    checkpoint: CheckpointPut | None = None
    writes: CheckpointWritesPut | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> CheckpointOperation:
        if (self.checkpoint is None) == (self.writes is None):
            raise ValueError("give exactly one of checkpoint and writes")
        return self


class CheckpointBatch(_Request):
    """Checkpoints and writes applied in order in one transaction (all or none): what a
    checkpointer's concurrent calls send as one request."""

    operations: list[CheckpointOperation] = Field(min_length=1, max_length=1000)


class CheckpointSearch(_Request):
    """Checkpoints newest first: of one thread (``thread_id``) or of the whole project, in one
    namespace (``checkpoint_ns``; all when omitted), with metadata containment and a cursor."""

    thread_id: str | None = Field(default=None, min_length=1, max_length=256)
    checkpoint_ns: CheckpointNs | None = None
    checkpoint_id: CheckpointIdStr | None = None
    before: CheckpointIdStr | None = None
    metadata: dict[str, Any] | None = None
    limit: int | None = Field(default=None, ge=1, le=MAX_PAGE_SIZE)


class CheckpointRunsDelete(_Request):
    """Delete every checkpoint (and its writes) whose ``metadata.run_id`` is one of these."""

    run_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=256)]] = Field(
        max_length=MAX_PAGE_SIZE
    )


class CheckpointCopy(_Request):
    """Copy a thread's checkpoints and writes (ids kept) to ``target_thread_id``."""

    target_thread_id: str = Field(min_length=1, max_length=256)


class CheckpointPrune(_Request):
    """``keep_latest``: keep each namespace's newest checkpoint; ``delete``: remove them all."""

    thread_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=256)]] = Field(
        max_length=MAX_PAGE_SIZE
    )
    strategy: Literal["keep_latest", "delete"] = "keep_latest"


class StoredWrite(_Response):
    task_id: str
    idx: int
    channel: str
    task_path: str = ""
    value: Any = None
    serialized: dict[str, str] | None = None


class StoredCheckpoint(_Response):
    """A stored checkpoint with its pending writes (in ``task_path, task_id, idx`` order)."""

    thread_id: str
    checkpoint_ns: str = ""
    checkpoint_id: str
    parent_checkpoint_id: str | None = None
    values: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    next: list[str] = Field(default_factory=list)
    tasks: list[dict[str, Any]] = Field(default_factory=list)
    serialized: dict[str, str] | None = None
    pending_writes: list[StoredWrite] = Field(default_factory=list)
    created_at: datetime | None = None


class CheckpointRef(_Response):
    thread_id: str
    checkpoint_ns: str = ""
    checkpoint_id: str
