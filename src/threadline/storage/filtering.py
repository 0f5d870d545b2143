"""Compiles core filter conditions to SQLAlchemy expressions, for SQLite and PostgreSQL.

The only dialect branches are JSON containment and array overlap (PostgreSQL's jsonb operators
versus SQLite's ``json_each``) and date arithmetic; everything else is portable Core.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from threadline.core import integers
from threadline.core.filters import Condition
from threadline.storage import aggregates, term_stats
from threadline.storage.metadata_index import OVERFLOW, exact_leaf, filter_terms
from threadline.storage.schema import (
    participants,
    prompt_lineages,
    prompt_versions,
    scores,
    steps,
    thread_metadata_terms,
    threads,
)

Expr = ColumnElement[Any]


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_SCALAR_OPS: dict[str, Callable[[Expr, Any], Expr]] = {
    "eq": lambda col, value: col == value,
    "neq": lambda col, value: col.is_distinct_from(value),
    "gt": lambda col, value: col > value,
    "gte": lambda col, value: col >= value,
    "lt": lambda col, value: col < value,
    "lte": lambda col, value: col <= value,
    "in": lambda col, value: col.in_(value),
    "nin": lambda col, value: sa.or_(col.is_(None), col.not_in(value)),
    "ilike": lambda col, value: col.ilike(_like_pattern(value), escape="\\"),
    "nilike": lambda col, value: sa.or_(
        col.is_(None), sa.not_(col.ilike(_like_pattern(value), escape="\\"))
    ),
}


def _compare(col: Expr, op: str, value: Any) -> Expr:
    """Scalar comparison with null-inclusive negations (``neq`` keeps rows where col is null)."""
    return _SCALAR_OPS[op](col, value)


def _positive(op: str) -> str:
    return {"neq": "eq", "nin": "in", "nilike": "ilike", "nis": "is"}.get(op, op)


def json_path_compare(col: Any, path: Sequence[str], op: str, value: Any, dialect: str) -> Expr:
    """Compare the JSON value at ``path`` inside ``col`` (Literal's ``path`` filters)."""
    if op in ("eq", "neq") and not exact_leaf(value):
        return _as_written(col, path, op, value, dialect)
    target = col[tuple(path)] if len(path) > 1 else col[path[0]]
    if op in ("is", "nis"):
        if value is None:
            cond: Expr = target.as_string().is_(None)
        else:
            cond = target.as_boolean() == value
        return sa.not_(cond) if op == "nis" else cond
    if op in ("in", "nin"):
        return _compare(target.as_string(), op, [str(v) for v in value])
    if isinstance(value, bool):
        return _compare(target.as_boolean(), op, value)
    if isinstance(value, int | float) and op in ("eq", "neq", "gt", "gte", "lt", "lte"):
        return _compare(target.as_float(), op, float(value))
    return _compare(target.as_string(), op, value)


def _as_written(col: Any, path: Sequence[str], op: str, value: int, dialect: str) -> Expr:
    """``eq``/``neq`` of an integer beyond 2^53, on its digits: compared as floats, its
    neighbours would match too (and SQLite reads integers beyond 64 bits as floats). The
    number or a string of the same digits matches, as other values' text comparisons do."""
    where = sa.bindparam(None, list(path), type_=sa.JSON.JSONPathType)
    if dialect == "postgresql":  # #>>: the text of the jsonb value, unquoted
        return _compare(col.op("#>>")(where), op, str(value))
    forms = [str(value), f'"{value}"']  # SQLite's ->: the JSON text as written
    return _compare(col.op("->")(where), "in" if op == "eq" else "nin", forms)


def json_contains(col: Expr, value: dict[str, Any], dialect: str) -> Expr:
    """``col @> value`` with PostgreSQL jsonb semantics, on both databases."""
    if dialect == "postgresql":
        return col.op("@>")(sa.bindparam(None, value, type_=JSONB))
    return _sqlite_contains(col, value, f"je_{getattr(col, 'name', 'doc')}")


# Alias names follow the filter's shape (never a global counter): the same filter shape gives the
# same SQL text, so SQLAlchemy's compiled-statement cache is hit instead of recompiling each time.
def _sqlite_contains(expr: Any, value: Any, name: str) -> Expr:
    if isinstance(value, dict):
        parts = []
        for i, (key, item) in enumerate(value.items()):
            each = sa.func.json_each(expr).table_valued(
                "key", "value", "type", "atom", "fullkey", name=f"{name}_{i}"
            )
            parts.append(
                sa.select(sa.literal(1))
                .select_from(each)
                .where(each.c.key == key, _sqlite_element(expr, each, item))
                .exists()
            )
        return sa.and_(sa.true(), *parts)
    if isinstance(value, list):
        parts = []
        for i, item in enumerate(value):
            each = sa.func.json_each(expr).table_valued(
                "key", "value", "type", "atom", "fullkey", name=f"{name}_{i}"
            )
            parts.append(
                sa.select(sa.literal(1))
                .select_from(each)
                .where(_sqlite_element(expr, each, item))
                .exists()
            )
        return sa.and_(sa.true(), *parts)
    raise ValueError("containment needs an object or array")


def _sqlite_element(doc: Any, each: Any, value: Any) -> Expr:
    """``each`` (a ``json_each`` row of ``doc``) holds ``value``."""
    kind_col: Expr = each.c.type
    if value is None:
        return kind_col == "null"
    if isinstance(value, bool):
        return kind_col == ("true" if value else "false")
    if isinstance(value, int) and not integers.in_range(value):
        # SQLite reads an integer beyond 64 bits as the nearest float, which its neighbours
        # share: compare the literal as written (``doc -> fullkey`` is the element's JSON text)
        return sa.and_(kind_col == "integer", doc.op("->")(each.c.fullkey) == str(value))
    if isinstance(value, int | float):
        return sa.and_(each.c.type.in_(("integer", "real")), each.c.atom == value)
    if isinstance(value, str):
        return sa.and_(each.c.type == "text", each.c.atom == value)
    kind = "object" if isinstance(value, dict) else "array"
    inner = _sqlite_contains(each.c.value, value, each.name)
    return sa.case((each.c.type == kind, inner), else_=sa.false())


def json_array_overlaps(col: Expr, values: list[str], dialect: str) -> Expr:
    """The JSON array in ``col`` shares at least one string with ``values``."""
    if dialect == "postgresql":
        return col.op("?|")(sa.cast(sa.literal(values, type_=sa.ARRAY(sa.Text)), sa.ARRAY(sa.Text)))
    each = sa.func.json_each(col).table_valued("value", name=f"ov_{getattr(col, 'name', 'list')}")
    return sa.select(sa.literal(1)).select_from(each).where(each.c.value.in_(values)).exists()


def thread_metadata_contains(value: dict[str, Any], dialect: str) -> Expr:
    """Containment on threads.metadata; on SQLite narrowed by the term index first."""
    exact = json_contains(threads.c.metadata, value, dialect)
    if dialect == "postgresql":
        return exact
    terms = filter_terms(value)
    if not terms:
        return exact
    # One primary-key probe of the term index per term and row (rows too wide to index carry
    # the OVERFLOW term instead and are always candidates). When every leaf of the filter sits
    # under object keys only, holding the terms is the containment itself: the json_each
    # recheck is then needed only for OVERFLOW rows. Selective filters also get a driving
    # candidate list from threads.search (see metadata_candidates).
    has_terms = [_term_probe([term, OVERFLOW]) for term in terms]
    if not is_simple_containment(value):
        return sa.and_(*has_terms, exact)
    return sa.and_(*has_terms, sa.or_(sa.not_(_term_probe([OVERFLOW])), exact))


def _term_probe(terms: list[int]) -> Expr:
    return (
        sa.select(sa.literal(1))
        .where(
            thread_metadata_terms.c.project_id == threads.c.project_id,
            thread_metadata_terms.c.term.in_(terms),
            thread_metadata_terms.c.created_at == threads.c.created_at,
            thread_metadata_terms.c.thread_id == threads.c.id,
        )
        .exists()
    )


def is_simple_containment(value: Any) -> bool:
    """Only scalars under nested object keys (no arrays, no empty objects), each one its term
    tells exactly (``metadata_index.exact_leaf``): holding the terms is the containment."""
    if not isinstance(value, dict) or not value:
        return False
    return all(
        is_simple_containment(v)
        if isinstance(v, dict)
        else not isinstance(v, list) and exact_leaf(v)
        for v in value.values()
    )


#: a metadata filter whose rarest term is held by at most this many threads drives the query
SELECTIVE = 5000


def rarest_term(conn: Any, project_id: str, value: dict[str, Any]) -> tuple[int, int] | None:
    """SQLite: the term of a containment filter held by fewest threads, and how many hold it."""
    terms = filter_terms(value)
    if conn.dialect.name != "sqlite" or not terms:
        return None
    return term_stats.rarest(conn, project_id, terms)


def term_candidates(project_id: str, term: int) -> Expr:
    """Threads holding ``term`` (or too wide to be indexed): a short list to drive a query.

    The containment test (:func:`thread_metadata_contains`) still decides each candidate."""
    return threads.c.id.in_(
        sa.select(thread_metadata_terms.c.thread_id).where(
            thread_metadata_terms.c.project_id == project_id,
            thread_metadata_terms.c.term.in_([term, OVERFLOW]),
        )
    )


def metadata_candidates(
    conn: Any, project_id: str, value: dict[str, Any], *, always: bool = False
) -> Expr | None:
    """SQLite: the rarest term's candidates, if few enough (or in any case with ``always``,
    as for counts). Driving from that list beats walking the project in created order."""
    found = rarest_term(conn, project_id, value)
    if found is None or (found[1] > SELECTIVE and not always):
        return None
    return term_candidates(project_id, found[0])


def _json_field(col: Any, cond: Condition, dialect: str, *, metadata_index: bool = False) -> Expr:
    if cond.path:
        return json_path_compare(col, cond.path, cond.operator, cond.value, dialect)
    contains = (
        thread_metadata_contains(cond.value, dialect)
        if metadata_index
        else json_contains(col, cond.value, dialect)
    )
    return sa.not_(contains) if cond.operator == "neq" else contains


def _step_match(cond: Condition, dialect: str) -> Expr:
    op = _positive(cond.operator)
    if cond.field == "stepType":
        inner = _compare(steps.c.type, op, cond.value)
    elif cond.field == "stepName":
        inner = _compare(steps.c.name, op, cond.value)
    elif cond.path:
        inner = json_path_compare(steps.c.output, cond.path, op, cond.value, dialect)
    else:
        inner = _compare(sa.cast(steps.c.output, sa.Text), op, cond.value)
    exists = (
        sa.select(sa.literal(1))
        .where(
            steps.c.project_id == threads.c.project_id,
            steps.c.thread_id == threads.c.id,
            inner,
        )
        .exists()
    )
    return exists if op == cond.operator else sa.not_(exists)


def _list_field(col: Any, cond: Condition, dialect: str) -> Expr:
    overlap = json_array_overlaps(col, cond.value, dialect)
    return overlap if cond.operator == "in" else sa.not_(overlap)


def _thread_condition(cond: Condition, dialect: str) -> Expr:
    simple: dict[str, Any] = {
        "id": threads.c.id,
        "createdAt": threads.c.created_at,
        "updatedAt": threads.c.updated_at,
        "name": threads.c.name,
        "environment": threads.c.environment,
        "status": threads.c.status,
        "participantId": threads.c.participant_id,
    }
    if cond.field in simple:
        return _compare(simple[cond.field], cond.operator, cond.value)
    if cond.field == "metadata":
        return _json_field(threads.c.metadata, cond, dialect, metadata_index=True)
    if cond.field == "tags":
        return _list_field(threads.c.tags, cond, dialect)
    if cond.field == "participantIdentifiers":
        people = participants.alias("filter_participants")  # the outer query joins participants
        matching = sa.select(people.c.id).where(
            people.c.project_id == threads.c.project_id,
            people.c.identifier.in_(cond.value),
        )
        if cond.operator == "in":
            return threads.c.participant_id.in_(matching)
        return sa.or_(threads.c.participant_id.is_(None), threads.c.participant_id.not_in(matching))
    if cond.field in ("stepType", "stepName", "stepOutput"):
        return _step_match(cond, dialect)
    if cond.field == "tokenCount":
        return _compare(aggregates.thread_token_count(), cond.operator, cond.value)
    if cond.field == "duration":
        return _compare(aggregates.thread_duration(dialect), cond.operator, cond.value)
    if cond.field == "scoreValue":
        scored = steps.alias("scored_steps")
        link = [scored.c.project_id == threads.c.project_id, scored.c.thread_id == threads.c.id]
        return _score_match(cond, scored.join(scores, _scores_of(scored)), link)
    raise ValueError(f"thread field {cond.field}")


def _step_condition(cond: Condition, dialect: str) -> Expr:
    simple: dict[str, Any] = {
        "id": steps.c.id,
        "name": steps.c.name,
        "type": steps.c.type,
        "environment": steps.c.environment,
        "createdAt": steps.c.created_at,
        "startTime": steps.c.start_time,
        "endTime": steps.c.end_time,
        "parentId": steps.c.parent_id,
        "threadId": steps.c.thread_id,
        "error": steps.c.error,
    }
    if cond.field in simple:
        return _compare(simple[cond.field], cond.operator, cond.value)
    if cond.field in ("input", "output", "metadata"):
        return _json_field(steps.c[cond.field], cond, dialect)
    if cond.field == "tags":
        return _list_field(steps.c.tags, cond, dialect)
    if cond.field == "participantIdentifier":
        identifier = (
            sa.select(participants.c.identifier)
            .select_from(threads.join(participants, participants.c.id == threads.c.participant_id))
            .where(
                threads.c.project_id == steps.c.project_id,
                threads.c.id == steps.c.thread_id,
                participants.c.project_id == steps.c.project_id,
            )
            .scalar_subquery()
        )
        return _compare(identifier, cond.operator, cond.value)
    raise ValueError(f"step field {cond.field}")


def _participant_condition(cond: Condition, dialect: str) -> Expr:
    simple: dict[str, Any] = {
        "id": participants.c.id,
        "createdAt": participants.c.created_at,
        "identifier": participants.c.identifier,
    }
    if cond.field in simple:
        return _compare(simple[cond.field], cond.operator, cond.value)
    if cond.field == "metadata":
        return _json_field(participants.c.metadata, cond, dialect)
    if cond.field == "lastEngaged":
        return _compare(aggregates.participant_last_engaged(), cond.operator, cond.value)
    if cond.field == "threadCount":
        return _compare(aggregates.participant_thread_count(), cond.operator, cond.value)
    if cond.field == "tokenCount":
        return _compare(aggregates.participant_token_count(), cond.operator, cond.value)
    raise ValueError(f"participant field {cond.field}")


# --- scores and generations (generations are llm steps; their payload is steps.generation) ---


def _scores_of(step_table: Any) -> Expr:
    return sa.and_(
        scores.c.project_id == step_table.c.project_id, scores.c.step_id == step_table.c.id
    )


def _score_match(cond: Condition, source: Any, link: list[Expr]) -> Expr:
    """The row has a score (named ``path``, if given) whose value matches; ``neq`` negates."""
    op = _positive(cond.operator)
    where = [*link, _compare(scores.c.value, op, float(cond.value))]
    if cond.path:
        where.append(scores.c.name == ".".join(cond.path))
    found = sa.select(sa.literal(1)).select_from(source).where(*where).exists()
    return found if op == cond.operator else sa.not_(found)


def _participant_match(cond: Condition, project_id: Expr, thread_id: Expr) -> Expr:
    """The thread ``thread_id`` has a participant whose id or identifier matches."""
    op = _positive(cond.operator)
    owner, people = threads.alias("pm_threads"), participants.alias("pm_people")
    source = owner.join(
        people,
        sa.and_(people.c.project_id == owner.c.project_id, people.c.id == owner.c.participant_id),
    )
    match = sa.or_(
        _compare(people.c.id, op, cond.value), _compare(people.c.identifier, op, cond.value)
    )
    found = (
        sa.select(sa.literal(1))
        .select_from(source)
        .where(owner.c.project_id == project_id, owner.c.id == thread_id, match)
        .exists()
    )
    return found if op == cond.operator else sa.not_(found)


def _score_condition(cond: Condition, dialect: str) -> Expr:
    simple: dict[str, Any] = {
        "id": scores.c.id,
        "createdAt": scores.c.created_at,
        "updatedAt": scores.c.updated_at,
        "name": scores.c.name,
        "type": scores.c.type,
        "value": scores.c.value,
        "comment": scores.c.comment,
        "stepId": scores.c.step_id,
        "experimentItemId": scores.c.experiment_item_id,
    }
    if cond.field in simple:
        return _compare(simple[cond.field], cond.operator, cond.value)
    if cond.field == "tags":
        return _list_field(scores.c.tags, cond, dialect)
    owner = steps.alias("score_steps")
    thread_id = (
        sa.select(owner.c.thread_id)
        .where(owner.c.project_id == scores.c.project_id, owner.c.id == scores.c.step_id)
        .correlate(scores)  # also from inside the participant EXISTS, two levels down
        .scalar_subquery()
    )
    if cond.field == "threadId":
        return _compare(thread_id, cond.operator, cond.value)
    if cond.field == "participant":
        return _participant_match(cond, scores.c.project_id, thread_id)
    raise ValueError(f"score field {cond.field}")


def _generation_condition(cond: Condition, dialect: str) -> Expr:
    gen = steps.c.generation
    if cond.field in ("id", "createdAt", "threadId"):
        col = {"id": steps.c.id, "createdAt": steps.c.created_at, "threadId": steps.c.thread_id}
        return _compare(col[cond.field], cond.operator, cond.value)
    if cond.field in ("type", "model", "provider"):
        return _compare(gen[cond.field].as_string(), cond.operator, cond.value)
    numbers = {
        "duration": "duration",
        "tokenCount": "token_count",
        "inputTokenCount": "input_token_count",
        "outputTokenCount": "output_token_count",
    }
    if cond.field in numbers:
        return _compare(gen[numbers[cond.field]].as_float(), cond.operator, cond.value)
    if cond.field == "error":
        return _compare(
            sa.func.coalesce(gen["error"].as_string(), steps.c.error), cond.operator, cond.value
        )
    if cond.field == "promptId":
        return _compare(gen["prompt_id"].as_string(), cond.operator, cond.value)
    if cond.field == "promptVersion":
        version = (
            sa.select(prompt_versions.c.version)
            .where(
                prompt_versions.c.project_id == steps.c.project_id,
                prompt_versions.c.id == gen["prompt_id"].as_string(),
            )
            .scalar_subquery()
        )
        return _compare(version, cond.operator, cond.value)
    if cond.field == "promptLineage":
        op = _positive(cond.operator)
        source = prompt_versions.join(
            prompt_lineages,
            sa.and_(
                prompt_lineages.c.project_id == prompt_versions.c.project_id,
                prompt_lineages.c.id == prompt_versions.c.lineage_id,
            ),
        )
        found = (
            sa.select(sa.literal(1))
            .select_from(source)
            .where(
                prompt_versions.c.project_id == steps.c.project_id,
                prompt_versions.c.id == gen["prompt_id"].as_string(),
                sa.or_(
                    _compare(prompt_lineages.c.id, op, cond.value),
                    _compare(prompt_lineages.c.name, op, cond.value),
                ),
            )
            .exists()
        )
        return found if op == cond.operator else sa.not_(found)
    if cond.field == "tags":
        return _list_field(steps.c.tags, cond, dialect)
    if cond.field == "metadata":
        return _json_field(steps.c.metadata, cond, dialect)
    if cond.field == "score":
        return _score_match(cond, scores, [_scores_of(steps)])
    if cond.field == "participant":
        return _participant_match(cond, steps.c.project_id, steps.c.thread_id)
    raise ValueError(f"generation field {cond.field}")


_COMPILERS: dict[str, Callable[[Condition, str], Expr]] = {
    "threads": _thread_condition,
    "steps": _step_condition,
    "participants": _participant_condition,
    "scores": _score_condition,
    "generations": _generation_condition,
}


def compile_conditions(resource: str, conditions: Sequence[Condition], dialect: str) -> list[Expr]:
    """SQL expressions (to AND together) for the parsed conditions on ``resource``."""
    compile_one = _COMPILERS[resource]
    return [compile_one(cond, dialect) for cond in conditions]
