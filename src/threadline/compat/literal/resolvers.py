"""Resolvers of Literal AI's GraphQL root fields, each a translation onto one core call.

``ingestStep`` and ``createScore`` only validate and queue: the route writes everything a
document queued in one transaction after execution (an ``AddStep`` document carries up to
hundreds of aliased ``ingestStep`` fields, a ``CreateScores`` one many ``createScore``).
Not-found reads answer ``null``, as Literal did; every other problem is an error.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ariadne import MutationType, ObjectType, QueryType, ScalarType
from graphql import GraphQLResolveInfo
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from threadline.client import types as t
from threadline.compat.literal import wire
from threadline.core.attachments import Files
from threadline.core.errors import InvalidInput, NotFound
from threadline.core.evaluation import Evaluation
from threadline.core.ids import uuid7
from threadline.core.ingest import Ingestion
from threadline.core.prompts import Prompts
from threadline.core.service import Service
from threadline.core.timeutil import isoformat, parse_timestamp

M = TypeVar("M", bound=BaseModel)
Info = GraphQLResolveInfo[Any]
Row = dict[str, Any]
_NAMESPACE = uuid.UUID("6f0b3c1e-5a0c-4d3c-9d1e-4c1f9b1a7e21")


@dataclass
class Context:
    """What a request's resolvers share: who is asking, and what the document queued."""

    request: Request
    project_id: str
    environment: str
    base_url: str
    service: Service
    evaluation: Evaluation
    prompts: Prompts
    files: Files
    ingestion: Ingestion
    steps: list[t.BatchStep] = field(default_factory=list)
    step_scores: list[t.ScoreCreate] = field(default_factory=list)
    step_files: list[t.AttachmentCreate] = field(default_factory=list)
    new_scores: list[t.ScoreCreate] = field(default_factory=list)

    def absolute(self, url: str | None) -> str | None:
        """Signed file links are server-relative; Chainlit shows them in a browser as is."""
        if url and url.startswith("/"):
            return self.base_url + url
        return url

    def thread(self, row: Row) -> Row:
        """A core thread as Literal's Thread, its file links absolute."""
        return wire.thread(row, self.absolute)

    def step(self, row: Row) -> Row:
        """A core step as Literal's Step, its file links absolute."""
        return wire.step(row, self.absolute)

    def attachment(self, row: Row) -> Row:
        """A core attachment as Literal's Attachment, its links absolute."""
        return wire.attachment(row, self.absolute)

    def generation(self, row: Row) -> Row:
        """A core llm step as Literal's Generation."""
        node = wire.generation(row, self.step(row))
        assert node is not None
        return node

    def prompt_version(self, row: Row) -> Row:
        """A core prompt version as Literal's Prompt."""
        return wire.prompt_version(row, self.base_url, self.project_id)

    async def flush(self) -> None:
        """Write what the document queued, in one transaction each kind (usually one kind)."""
        if self.steps:
            await self.ingestion.ingest(
                self.project_id, t.StepBatch(steps=self.steps), self.step_scores, self.step_files
            )
        if self.new_scores:
            await self.evaluation.create_scores(
                self.project_id, t.ScoreBatch(scores=self.new_scores)
            )


def ctx(info: Info) -> Context:
    context: Context = info.context
    return context


def build(model: type[M], data: dict[str, Any], prefix: str = "") -> M:
    """A core request model from Literal's arguments; a validation error names the argument."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = prefix + ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{where}: {first['msg']}", field=where) from None


async def or_none(call: Awaitable[Row]) -> Row | None:
    try:
        return await call
    except NotFound:
        return None


async def node_or_none(call: Awaitable[Row], node: Callable[[Row], Row]) -> Row | None:
    """``node`` of what ``call`` reads, or null when it finds nothing (as Literal answered)."""
    found = await or_none(call)
    return node(found) if found else None


async def deleted(call: Awaitable[None], id: str) -> Row | None:
    """A delete's answer: the deleted id, or null when there was nothing to delete."""
    try:
        await call
    except NotFound:
        return None
    return {"id": id}


def given(kwargs: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The non-null arguments among ``names`` (Literal name -> core name): null = unchanged."""
    return {core: kwargs[lit] for lit, core in names.items() if kwargs.get(lit) is not None}


def in_environment(c: Context, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the request's environment set (what every created thread or step gets)."""
    data["environment"] = c.environment
    return data


def selects(info: Info, *path: str) -> bool:
    """Whether the query's selection reaches ``path`` (e.g. edges -> node -> steps)."""
    nodes: list[Any] = list(info.field_nodes)
    for name in path:
        found = []
        for node in nodes:
            if node.selection_set is None:
                continue
            for sel in node.selection_set.selections:
                if getattr(getattr(sel, "name", None), "value", None) == name:
                    found.append(sel)
        if not found:
            return False
        nodes = found
    return True


# --- scalars --------------------------------------------------------------------------------

json_scalar = ScalarType("Json")
datetime_scalar = ScalarType("DateTime")


@datetime_scalar.serializer
def _serialize_datetime(value: Any) -> Any:
    return value if isinstance(value, str) or value is None else isoformat(value)


@datetime_scalar.value_parser
def _parse_datetime(value: Any) -> Any:
    return parse_timestamp(value, field="DateTime")


query = QueryType()
mutation = MutationType()


def _page_args(kwargs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "filters": kwargs.get("filters") or [],
        "first": kwargs.get("first"),
        "after": kwargs.get("after"),
        "before": kwargs.get("before"),
    }
    if kwargs.get("orderBy"):
        out["order_by"] = kwargs["orderBy"]
    return out


async def connection(
    c: Context,
    kwargs: dict[str, Any],
    model: type[M],
    search: Callable[[str, M], Awaitable[Row]],
    node: Callable[[Row], Row],
) -> Row:
    """One page of a list query (Literal's paging, filters and order) as a Relay connection."""
    page = await search(c.project_id, build(model, _page_args(kwargs)))
    return wire.connection(page, node)


# --- participants -----------------------------------------------------------------------------


@query.field("participants")
async def resolve_participants(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    return await connection(
        c, kwargs, t.ParticipantSearch, c.service.search_participants, wire.participant
    )


@query.field("participant")
async def resolve_participant(
    _: Any, info: Info, id: str | None = None, identifier: str | None = None
) -> Row | None:
    c = ctx(info)
    if id:
        call = c.service.get_participant(c.project_id, id)
    elif identifier:
        call = c.service.get_participant_by_identifier(c.project_id, identifier)
    else:
        raise InvalidInput("give the participant's id or identifier", field="id")
    return await node_or_none(call, wire.participant)


@mutation.field("createParticipant")
async def resolve_create_participant(
    _: Any, info: Info, identifier: str, metadata: Any = None
) -> Row:
    c = ctx(info)
    body = build(t.ParticipantCreate, {"identifier": identifier, "metadata": metadata or {}})
    return wire.participant(await c.service.create_participant(c.project_id, body))


@mutation.field("updateParticipant")
async def resolve_update_participant(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    body = build(
        t.ParticipantUpdate, given(kwargs, {"identifier": "identifier", "metadata": "metadata"})
    )
    return wire.participant(await c.service.update_participant(c.project_id, kwargs["id"], body))


@mutation.field("deleteParticipant")
async def resolve_delete_participant(_: Any, info: Info, id: str) -> Row:
    c = ctx(info)
    found = await c.service.get_participant(c.project_id, id)
    await c.service.delete_participant(c.project_id, id)
    return wire.participant(found)


# --- threads ----------------------------------------------------------------------------------

_THREAD_ARGS = {
    "name": "name",
    "metadata": "metadata",
    "participantId": "participant_id",
    "tags": "tags",
}


@query.field("threads")
async def resolve_threads(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    args = _page_args(kwargs)
    if kwargs.get("skip") and not (args["after"] or args["before"]):
        args["offset"] = kwargs["skip"]
    q = build(t.ThreadSearch, args)
    with_steps = selects(info, "edges", "node", "steps")
    page = await c.service.search_threads(c.project_id, q, include_steps=with_steps, totals=True)
    keep = kwargs.get("stepTypesToKeep")
    if keep and with_steps:
        for th in page["data"]:
            th["steps"] = [s for s in th.get("steps") or [] if s.get("type") in keep]
    return wire.connection(page, c.thread)


@query.field("threadDetail")
async def resolve_thread_detail(_: Any, info: Info, id: str) -> Row | None:
    c = ctx(info)
    return await node_or_none(c.service.get_thread(c.project_id, id, totals=True), c.thread)


@mutation.field("createThread")
async def resolve_create_thread(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    body = build(t.ThreadCreate, in_environment(c, given(kwargs, _THREAD_ARGS)))
    return c.thread(await c.service.create_thread(c.project_id, body))


@mutation.field("upsertThread")
async def resolve_upsert_thread(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    body = build(t.ThreadUpdate, in_environment(c, given(kwargs, _THREAD_ARGS)))
    found, _created = await c.service.upsert_thread(c.project_id, kwargs["id"], body)
    return c.thread(found)


@mutation.field("updateThread")
async def resolve_update_thread(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    body = build(t.ThreadUpdate, given(kwargs, _THREAD_ARGS))
    return c.thread(await c.service.update_thread(c.project_id, kwargs["id"], body))


@mutation.field("deleteThread")
async def resolve_delete_thread(_: Any, info: Info, id: str) -> Row | None:
    c = ctx(info)
    return await deleted(c.service.delete_thread(c.project_id, id), id)


# --- steps ------------------------------------------------------------------------------------

_STEP_ARGS = {
    "threadId": "thread_id",
    "rootRunId": "root_run_id",
    "parentId": "parent_id",
    "type": "type",
    "name": "name",
    "startTime": "start_time",
    "endTime": "end_time",
    "error": "error",
    "input": "input",
    "output": "output",
    "metadata": "metadata",
    "tags": "tags",
}

_GENERATION_ARGS = {
    "id": "id",
    "promptId": "prompt_id",
    "provider": "provider",
    "model": "model",
    "error": "error",
    "settings": "settings",
    "variables": "variables",
    "tags": "tags",
    "metadata": "metadata",
    "tools": "tools",
    "tokenCount": "token_count",
    "inputTokenCount": "input_token_count",
    "outputTokenCount": "output_token_count",
    "ttFirstToken": "tt_first_token",
    "tokenThroughputInSeconds": "token_throughput_in_seconds",
    "duration": "duration",
    "prompt": "prompt",
    "completion": "completion",
    "type": "type",
    "messages": "messages",
    "messageCompletion": "message_completion",
}

_SCORE_ARGS = {
    "name": "name",
    "type": "type",
    "value": "value",
    "label": "label",
    "scorer": "scorer",
    "comment": "comment",
    "tags": "tags",
    "stepId": "step_id",
    "datasetExperimentItemId": "experiment_item_id",
}

_ATTACHMENT_ARGS = {
    "name": "name",
    "mime": "mime",
    "metadata": "metadata",
    "url": "url",
    "objectKey": "object_key",
}


def _generation(payload: dict[str, Any]) -> dict[str, Any]:
    data = given(payload, _GENERATION_ARGS)
    data["type"] = str(data.get("type") or "CHAT").lower()
    return data


@query.field("steps")
async def resolve_steps(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    return await connection(c, kwargs, t.StepSearch, c.service.search_steps, c.step)


@query.field("step")
async def resolve_step(_: Any, info: Info, id: str) -> Row | None:
    c = ctx(info)
    return await node_or_none(c.service.get_step(c.project_id, id), c.step)


@mutation.field("createStep")
async def resolve_create_step(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    body = build(t.StepCreate, in_environment(c, given(kwargs, _STEP_ARGS)))
    return c.step(await c.service.create_step(c.project_id, body))


@mutation.field("updateStep")
async def resolve_update_step(_: Any, info: Info, **kwargs: Any) -> Row:
    """The SDK sends every argument, unset ones as null: null means unchanged."""
    c = ctx(info)
    body = build(t.StepUpdate, given(kwargs, _STEP_ARGS))
    return c.step(await c.service.update_step(c.project_id, kwargs["id"], body))


@mutation.field("deleteStep")
async def resolve_delete_step(_: Any, info: Info, id: str) -> Row | None:
    c = ctx(info)
    return await deleted(c.service.delete_step(c.project_id, id), id)


def _derived_id(*parts: str) -> str:
    """A stable id for a score or attachment sent without one, so a re-sent batch is a no-op."""
    return str(uuid.uuid5(_NAMESPACE, "\n".join(parts)))


@mutation.field("ingestStep")
def resolve_ingest_step(_: Any, info: Info, **kwargs: Any) -> Row:
    """Queue one step (upsert + merge; absent and null fields keep the stored value)."""
    queue_step(ctx(info), str(info.path.key), kwargs)
    return {"ok": True, "message": None}


def queue_step(c: Context, alias: str, kwargs: dict[str, Any]) -> None:
    """Validate one ``ingestStep``'s arguments into the context's batch (errors name ``alias``)."""
    step_id: str = kwargs["id"]
    prefix = f"{alias}."
    data = given(kwargs, _STEP_ARGS)
    data["id"] = step_id
    in_environment(c, data)
    if kwargs.get("generation") is not None:
        data["generation"] = _generation(kwargs["generation"])
    c.steps.append(build(t.BatchStep, data, prefix))
    for index, raw in enumerate(kwargs.get("scores") or []):
        values = given(raw, {"id": "id", **_SCORE_ARGS})
        values.setdefault("id", _derived_id(step_id, "score", str(index), raw["name"]))
        if "experiment_item_id" not in values:
            values.setdefault("step_id", step_id)
        c.step_scores.append(build(t.ScoreCreate, values, f"{prefix}scores[{index}]."))
    for index, raw in enumerate(kwargs.get("attachments") or []):
        values = given(raw, {"id": "id", **_ATTACHMENT_ARGS})
        values.setdefault("id", _derived_id(step_id, "attachment", str(index)))
        values["step_id"] = step_id
        c.step_files.append(build(t.AttachmentCreate, values, f"{prefix}attachments[{index}]."))


# --- generations ------------------------------------------------------------------------------


@query.field("generations")
async def resolve_generations(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    search = c.evaluation.search_generations
    return await connection(c, kwargs, t.GenerationSearch, search, c.generation)


@mutation.field("createGeneration")
async def resolve_create_generation(_: Any, info: Info, generation: dict[str, Any]) -> Row:
    c = ctx(info)
    body = build(t.GenerationCreate, in_environment(c, _generation(generation)), "generation.")
    return c.generation(await c.evaluation.create_generation(c.project_id, body))


# --- scores -----------------------------------------------------------------------------------


@query.field("scores")
async def resolve_scores(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    return await connection(c, kwargs, t.ScoreSearch, c.evaluation.search_scores, wire.score)


@mutation.field("createScore")
def resolve_create_score(_: Any, info: Info, **kwargs: Any) -> Row:
    """Queue the score (written with the document's others in one transaction)."""
    c = ctx(info)
    values = given(kwargs, _SCORE_ARGS)
    values["id"] = uuid7()
    body = build(t.ScoreCreate, values, f"{info.path.key}.")
    c.new_scores.append(body)
    return wire.score(body.model_dump())


@mutation.field("updateScore")
async def resolve_update_score(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    body = build(t.ScoreUpdate, given(kwargs, {"value": "value", "comment": "comment"}))
    return wire.score(await c.evaluation.update_score(c.project_id, kwargs["id"], body))


@mutation.field("deleteScore")
async def resolve_delete_score(_: Any, info: Info, id: str) -> Row | None:
    c = ctx(info)
    return await deleted(c.evaluation.delete_score(c.project_id, id), id)


# --- attachments ------------------------------------------------------------------------------


@query.field("attachment")
async def resolve_attachment(_: Any, info: Info, id: str) -> Row | None:
    c = ctx(info)
    return await node_or_none(c.files.get(c.project_id, id), c.attachment)


@mutation.field("createAttachment")
async def resolve_create_attachment(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    data = given(kwargs, _ATTACHMENT_ARGS)
    data["step_id"] = kwargs["stepId"]
    body = build(t.AttachmentCreate, data)
    return c.attachment(await c.files.create(c.project_id, body))


@mutation.field("updateAttachment")
async def resolve_update_attachment(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    body = build(t.AttachmentUpdate, given(kwargs, _ATTACHMENT_ARGS))
    return c.attachment(await c.files.update(c.project_id, kwargs["id"], body))


@mutation.field("deleteAttachment")
async def resolve_delete_attachment(_: Any, info: Info, id: str) -> Row | None:
    c = ctx(info)
    return await deleted(c.files.delete(c.project_id, id), id)


# --- datasets and experiments -----------------------------------------------------------------


@mutation.field("createDataset")
async def resolve_create_dataset(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    data = given(kwargs, {"name": "name", "description": "description", "type": "type"})
    data["metadata"] = kwargs.get("metadata") or {}
    body = build(t.DatasetCreate, data)
    return wire.dataset(await c.evaluation.create_dataset(c.project_id, body))


@mutation.field("updateDataset")
async def resolve_update_dataset(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    names = {"name": "name", "description": "description", "metadata": "metadata"}
    body = build(t.DatasetUpdate, given(kwargs, names))
    return wire.dataset(await c.evaluation.update_dataset(c.project_id, kwargs["id"], body))


@mutation.field("deleteDataset")
async def resolve_delete_dataset(_: Any, info: Info, id: str) -> Row:
    c = ctx(info)
    found = await c.evaluation.get_dataset(c.project_id, id)
    await c.evaluation.delete_dataset(c.project_id, id)
    return wire.dataset(found)


@query.field("datasetItem")
async def resolve_dataset_item(_: Any, info: Info, id: str) -> Row:
    c = ctx(info)
    return wire.dataset_item(await c.evaluation.get_dataset_item(c.project_id, id))


@mutation.field("createDatasetItem")
async def resolve_create_dataset_item(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    data = {
        "input": kwargs["input"],
        "expected_output": kwargs.get("expectedOutput"),
        "metadata": kwargs.get("metadata") or {},
    }
    body = build(t.DatasetItemCreate, data)
    created = await c.evaluation.create_dataset_item(c.project_id, kwargs["datasetId"], body)
    return wire.dataset_item(created)


@mutation.field("deleteDatasetItem")
async def resolve_delete_dataset_item(_: Any, info: Info, id: str) -> Row:
    c = ctx(info)
    return wire.dataset_item(await c.evaluation.delete_dataset_item(c.project_id, id))


@mutation.field("addStepToDataset")
async def resolve_add_step(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    body = build(
        t.DatasetItemFromStep,
        {"step_id": kwargs["stepId"], "metadata": kwargs.get("metadata") or {}},
    )
    found = await c.evaluation.add_step_to_dataset(c.project_id, kwargs["datasetId"], body)
    return wire.dataset_item(found)


@mutation.field("addGenerationToDataset")
async def resolve_add_generation(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    body = build(
        t.DatasetItemFromGeneration,
        {"generation_id": kwargs["generationId"], "metadata": kwargs.get("metadata") or {}},
    )
    found = await c.evaluation.add_generation_to_dataset(c.project_id, kwargs["datasetId"], body)
    return wire.dataset_item(found)


@mutation.field("createDatasetExperiment")
async def resolve_create_experiment(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    data = given(
        kwargs,
        {
            "name": "name",
            "datasetId": "dataset_id",
            "promptExperimentId": "prompt_id",
            "params": "params",
        },
    )
    body = build(t.ExperimentCreate, data)
    return wire.experiment(await c.evaluation.create_experiment(c.project_id, body))


@mutation.field("createDatasetExperimentItem")
async def resolve_create_experiment_item(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    data = given(
        kwargs,
        {
            "experimentRunId": "experiment_run_id",
            "datasetItemId": "dataset_item_id",
            "input": "input",
            "output": "output",
        },
    )
    body = build(t.ExperimentItemCreate, data)
    found = await c.evaluation.add_experiment_item(
        c.project_id, kwargs["datasetExperimentId"], body
    )
    return wire.experiment_item(found)


# --- prompts ----------------------------------------------------------------------------------


@mutation.field("createPromptLineage")
async def resolve_create_lineage(
    _: Any, info: Info, name: str, description: str | None = None
) -> Row:
    c = ctx(info)
    body = build(t.PromptLineageCreate, {"name": name, "description": description})
    found, _created = await c.prompts.get_or_create_lineage(c.project_id, body)
    return wire.lineage(found)


@query.field("promptLineage")
async def resolve_lineage(_: Any, info: Info, name: str) -> Row | None:
    c = ctx(info)
    return await node_or_none(c.prompts.get_lineage_by_name(c.project_id, name), wire.lineage)


async def _version_in(c: Context, lineage_id: str, kwargs: dict[str, Any]) -> Row:
    """Get or create the version of lineage ``lineage_id`` with this content."""
    lineage = await c.prompts.get_lineage(c.project_id, lineage_id)
    data = given(
        kwargs,
        {
            "templateMessages": "template_messages",
            "settings": "settings",
            "tools": "tools",
            "variables": "variables",
            "variablesDefaultValues": "variables_default_values",
            "versionDesc": "description",
        },
    )
    data["name"] = lineage["name"]
    found, _created = await c.prompts.get_or_create(c.project_id, build(t.PromptCreate, data))
    return found


@mutation.field("createPromptVersion")
async def resolve_create_version(_: Any, info: Info, **kwargs: Any) -> Row:
    c = ctx(info)
    return c.prompt_version(await _version_in(c, kwargs["lineageId"], kwargs))


@query.field("promptVersion")
async def resolve_prompt_version(_: Any, info: Info, **kwargs: Any) -> Row | None:
    c = ctx(info)
    if kwargs.get("id"):
        call = c.prompts.get(c.project_id, kwargs["id"])
    elif kwargs.get("name"):
        call = c.prompts.get_by_name(c.project_id, kwargs["name"], version=kwargs.get("version"))
    else:
        raise InvalidInput("give the prompt's id or name", field="id")
    return await node_or_none(call, c.prompt_version)


@mutation.field("createPromptExperiment")
async def resolve_create_prompt_experiment(_: Any, info: Info, **kwargs: Any) -> Row:
    """A prompt variant is a version of its lineage (its id goes into experiments)."""
    c = ctx(info)
    lineage_id = kwargs.get("fromLineageId")
    if not lineage_id:
        raise InvalidInput(
            "a prompt variant needs an existing prompt: create the prompt first",
            field="fromLineageId",
        )
    found = await _version_in(c, lineage_id, kwargs)
    return {
        "id": found["id"],
        "fromLineageId": lineage_id,
        "fromVersion": found["version"],
        "scoreTemplateId": kwargs.get("scoreTemplateId"),
        "projectId": c.project_id,
        "projectUserId": None,
        "tools": found.get("tools"),
        "settings": found.get("settings") or {},
        "variables": found.get("variables") or [],
        "templateMessages": found.get("template_messages") or [],
    }


@query.field("promptLineageRollout")
async def resolve_rollout(_: Any, info: Info, lineageName: str, **_k: Any) -> Row:
    c = ctx(info)
    found = await c.prompts.get_rollouts(c.project_id, lineageName)
    edges = [
        {"cursor": None, "node": {"version": r["version"], "rollout": r["percentage"]}}
        for r in found
    ]
    info_ = {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None}
    return {"pageInfo": {**info_, "endCursor": None}, "edges": edges}


@mutation.field("updatePromptLineageRollout")
async def resolve_update_rollout(
    _: Any, info: Info, name: str, rollouts: Iterable[dict[str, Any]], **_k: Any
) -> Row:
    c = ctx(info)
    items = [{"version": r["version"], "percentage": r["rollout"]} for r in rollouts]
    await c.prompts.set_rollouts(c.project_id, name, build(t.RolloutUpdate, {"rollouts": items}))
    return {"ok": True, "message": None, "errorCode": None}


# --- nested fields the SDK selects ------------------------------------------------------------


score_type = ObjectType("Score")
step_type = ObjectType("Step")


@score_type.field("step")
async def resolve_score_step(obj: Row, info: Info) -> Row | None:
    c = ctx(info)
    if not obj.get("stepId"):
        return None
    return await node_or_none(c.service.get_step(c.project_id, obj["stepId"]), c.step)


@step_type.field("thread")
async def resolve_step_thread(obj: Row, info: Info) -> Row | None:
    c = ctx(info)
    if not obj.get("threadId"):
        return None
    call = c.service.get_thread(c.project_id, obj["threadId"], include_steps=False)
    return await node_or_none(call, c.thread)


BINDABLES = [query, mutation, score_type, step_type, json_scalar, datetime_scalar]
