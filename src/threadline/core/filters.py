"""The filter grammar shared by every surface: a list of ``{field, operator, value, path?}``.

This is Literal AI's grammar (see shared/reference/literalai-wire.md section 4). Each resource
declares which fields it offers and of what kind; the kind decides the operators and the value
type. Parsing validates a request's filters into :class:`Condition` objects (raising
:class:`InvalidInput` that names the offending element); ``storage.filtering`` compiles them to SQL
for both databases. LangGraph's metadata containment is the ``metadata`` field with operator
``contains`` (and no path).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from threadline.core.errors import InvalidInput
from threadline.core.timeutil import parse_timestamp

Kind = Literal[
    "id", "string", "number", "datetime", "string_list", "json", "step_match", "score_match"
]

OPERATORS: dict[Kind, frozenset[str]] = {
    "id": frozenset({"eq", "neq", "in", "nin"}),
    "string": frozenset({"eq", "neq", "ilike", "nilike", "in", "nin"}),
    "number": frozenset({"eq", "neq", "gt", "gte", "lt", "lte"}),
    "datetime": frozenset({"gt", "gte", "lt", "lte"}),
    "string_list": frozenset({"in", "nin"}),
    "json": frozenset(
        {"eq", "neq", "ilike", "nilike", "gt", "gte", "lt", "lte", "in", "nin", "is", "nis"}
    ),
    "step_match": frozenset({"eq", "neq", "ilike", "nilike", "in", "nin"}),
    # a score value of the row (path: only scores with that name), e.g. threads' scoreValue
    "score_match": frozenset({"eq", "neq", "gt", "gte", "lt", "lte"}),
}
#: operators allowed on a json field when no ``path`` is given: containment of an object.
JSON_ROOT_OPERATORS = frozenset({"contains", "eq", "neq"})


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Kind
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Condition:
    field: str
    kind: Kind
    operator: str
    value: Any
    path: tuple[str, ...] = ()


def _fields(*specs: FieldSpec) -> dict[str, FieldSpec]:
    table: dict[str, FieldSpec] = {}
    for spec in specs:
        for name in (spec.name, *spec.aliases):
            table[name] = spec
    return table


RESOURCES: dict[str, dict[str, FieldSpec]] = {
    "threads": _fields(
        FieldSpec("id", "id"),
        FieldSpec("createdAt", "datetime", ("created_at",)),
        FieldSpec("updatedAt", "datetime", ("updated_at",)),
        FieldSpec("name", "string"),
        FieldSpec("environment", "string"),
        FieldSpec("status", "string"),
        FieldSpec("metadata", "json"),
        FieldSpec("tags", "string_list"),
        FieldSpec("participantId", "id", ("participant_id",)),
        FieldSpec("participantIdentifiers", "string_list", ("participant_identifiers",)),
        FieldSpec("stepType", "step_match", ("step_type",)),
        FieldSpec("stepName", "step_match", ("step_name",)),
        FieldSpec("stepOutput", "step_match", ("step_output",)),
        FieldSpec("tokenCount", "number", ("token_count",)),
        FieldSpec("duration", "number"),
        FieldSpec("scoreValue", "score_match", ("score_value",)),
    ),
    "steps": _fields(
        FieldSpec("id", "id"),
        FieldSpec("name", "string"),
        FieldSpec("type", "string"),
        FieldSpec("environment", "string"),
        FieldSpec("input", "json"),
        FieldSpec("output", "json"),
        FieldSpec("metadata", "json"),
        FieldSpec("participantIdentifier", "string", ("participant_identifier",)),
        FieldSpec("createdAt", "datetime", ("created_at",)),
        FieldSpec("startTime", "datetime", ("start_time",)),
        FieldSpec("endTime", "datetime", ("end_time",)),
        FieldSpec("parentId", "id", ("parent_id",)),
        FieldSpec("threadId", "id", ("thread_id",)),
        FieldSpec("error", "string"),
        FieldSpec("tags", "string_list"),
    ),
    "participants": _fields(
        FieldSpec("id", "id"),
        FieldSpec("createdAt", "datetime", ("created_at",)),
        FieldSpec("identifier", "string"),
        FieldSpec("metadata", "json"),
        FieldSpec("lastEngaged", "datetime", ("last_engaged",)),
        FieldSpec("threadCount", "number", ("thread_count",)),
        FieldSpec("tokenCount", "number", ("token_count",)),
    ),
    "scores": _fields(
        FieldSpec("id", "id"),
        FieldSpec("createdAt", "datetime", ("created_at",)),
        FieldSpec("updatedAt", "datetime", ("updated_at",)),
        FieldSpec("name", "string"),
        FieldSpec("type", "string"),
        FieldSpec("value", "number"),
        FieldSpec("comment", "string"),
        FieldSpec("tags", "string_list"),
        FieldSpec("participant", "string"),  # the thread participant's id or identifier
        FieldSpec("stepId", "id", ("step_id", "generationId", "generation_id")),
        FieldSpec("threadId", "id", ("thread_id",)),
        FieldSpec(
            "experimentItemId",
            "id",
            ("experiment_item_id", "datasetExperimentItemId", "dataset_experiment_item_id"),
        ),
    ),
    "generations": _fields(
        FieldSpec("id", "id"),
        FieldSpec("createdAt", "datetime", ("created_at",)),
        FieldSpec("type", "string"),
        FieldSpec("model", "string"),
        FieldSpec("provider", "string"),
        FieldSpec("duration", "number"),
        FieldSpec("tokenCount", "number", ("token_count",)),
        FieldSpec("inputTokenCount", "number", ("input_token_count",)),
        FieldSpec("outputTokenCount", "number", ("output_token_count",)),
        FieldSpec("promptId", "id", ("prompt_id",)),
        FieldSpec("promptLineage", "string", ("prompt_lineage",)),  # lineage id or name
        FieldSpec("promptVersion", "number", ("prompt_version",)),
        FieldSpec("tags", "string_list"),
        FieldSpec("metadata", "json"),
        FieldSpec("score", "score_match"),
        FieldSpec("participant", "string"),
        FieldSpec("threadId", "id", ("thread_id",)),
        FieldSpec("error", "string"),
    ),
}


def _fail(index: int, part: str, message: str) -> InvalidInput:
    return InvalidInput(message, field=f"filters[{index}].{part}")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_value(index: int, spec: FieldSpec, op: str, value: Any, has_path: bool) -> Any:
    """Validate (and normalise) the value for the field kind and operator."""
    where = f"filter on {spec.name!r} with operator {op!r}"
    if op in ("in", "nin"):
        if not isinstance(value, list) or not value:
            raise _fail(index, "value", f"{where} needs a non-empty list")
        if spec.kind != "json" and not all(isinstance(v, str) for v in value):
            raise _fail(index, "value", f"{where} needs a list of strings")
        return value
    if spec.kind in ("number", "score_match") or (
        spec.kind == "json" and op in ("gt", "gte", "lt", "lte")
    ):
        if spec.kind == "json" and isinstance(value, str):
            return value
        if not _number(value):
            raise _fail(index, "value", f"{where} needs a finite number")
        return value
    if spec.kind == "datetime":
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise _fail(index, "value", f"{where} needs an ISO-8601 timestamp")
        return parse_timestamp(value, field=f"filters[{index}].value")
    if op in ("is", "nis"):
        if not isinstance(value, bool) and value is not None:
            raise _fail(index, "value", f"{where} needs true, false or null")
        return value
    if spec.kind == "json" and not has_path:
        if not isinstance(value, dict):
            raise _fail(index, "value", f"{where} without a path needs a JSON object")
        return value
    if op in ("ilike", "nilike"):
        if not isinstance(value, str):
            raise _fail(index, "value", f"{where} needs a string")
        return value
    if spec.kind in ("id", "string", "step_match"):
        if not isinstance(value, str):
            raise _fail(index, "value", f"{where} needs a string")
        return value
    if spec.kind == "json":
        if value is not None and not isinstance(value, str | int | float | bool):
            raise _fail(index, "value", f"{where} needs a string, number or boolean")
        return value
    return value


def parse_filters(resource: str, filters: Iterable[Mapping[str, Any] | Any]) -> list[Condition]:
    """Validate a list of filters for ``resource`` into conditions (joined with AND)."""
    fields = RESOURCES[resource]
    conditions: list[Condition] = []
    for index, raw in enumerate(filters):
        item = raw if isinstance(raw, Mapping) else raw.model_dump()
        name = item.get("field")
        op = item.get("operator")
        path_text = item.get("path")
        if not isinstance(name, str) or name not in fields:
            offered = ", ".join(sorted({s.name for s in fields.values()}))
            raise _fail(index, "field", f"unknown {resource} filter field {name!r}; use {offered}")
        spec = fields[name]
        if path_text is not None and not isinstance(path_text, str):
            raise _fail(index, "path", "path must be a string")
        path = tuple(p for p in (path_text or "").split(".") if p)
        if path and spec.kind not in ("json", "step_match", "score_match"):
            raise _fail(index, "path", f"field {spec.name!r} takes no path")
        allowed = JSON_ROOT_OPERATORS if spec.kind == "json" and not path else OPERATORS[spec.kind]
        if not isinstance(op, str) or op not in allowed:
            raise _fail(
                index,
                "operator",
                f"operator {op!r} is not valid for {spec.name!r}; use {', '.join(sorted(allowed))}",
            )
        value = _check_value(index, spec, op, item.get("value"), bool(path))
        conditions.append(Condition(spec.name, spec.kind, op, value, path))
    return conditions


def metadata_containment(value: Any, *, field: str = "metadata") -> Condition:
    """LangGraph-style ``metadata`` containment as a condition on the ``metadata`` field."""
    if not isinstance(value, dict):
        raise InvalidInput(f"{field} must be a JSON object", field=field)
    return Condition("metadata", "json", "contains", value)


def equals(field: str, value: str | datetime) -> Condition:
    """A plain equality condition for the simple query parameters (participant_id, status...)."""
    return Condition(field, "id", "eq", value)
