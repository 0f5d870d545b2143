"""The common thread searches, planned once per shape: a metadata containment and/or equality on
plain columns, newest (or oldest) first, one page by limit/offset, and their counts.

``threads.search`` and ``threads.count`` build a fresh SQLAlchemy statement for every request,
which cost more than running it (~1 ms of a 1.3 ms filtered list). Here each *shape* of search
(which columns are compared, how many metadata terms, which plan) is built with Core once,
compiled once per dialect (``raw``), and run with the request's values only. Searches of any
other shape (Literal filters, cursors, wide metadata) return None and take the general path.

Plans. PostgreSQL: ``metadata @> $n`` on the GIN index. SQLite: the hashed term index
(``metadata_index``): holding every term of a simple containment *is* the containment, so
no JSON is read at all. A selective filter (its rarest term held by at most
``filtering.SELECTIVE`` threads) drives the query from that term's holders; a broad one walks the
created-order index and probes the terms for each row until the page is full.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

from threadline.core.filters import Condition
from threadline.storage import raw
from threadline.storage.filtering import SELECTIVE, is_simple_containment
from threadline.storage.metadata_index import OVERFLOW, filter_terms
from threadline.storage.pagination import PageRequest
from threadline.storage.schema import thread_metadata_term_counts as term_counts
from threadline.storage.schema import thread_metadata_terms as terms_table
from threadline.storage.schema import threads

#: the plain columns a fast search may compare for equality (condition field -> column)
COLUMNS = {"participantId": "participant_id", "environment": "environment", "status": "status"}


class Plan:
    """What a fast search needs: its equality columns, metadata and (SQLite) terms."""

    def __init__(self, columns: dict[str, Any], metadata: dict[str, Any] | None) -> None:
        self.columns = columns
        self.metadata = metadata
        self.terms = filter_terms(metadata) if metadata else []


def plan(conditions: Sequence[Condition]) -> Plan | None:
    """A plan when the conditions have a fast shape, else None (use the general path).

    Needs no database, so a caller can tell beforehand that a search will be quick."""
    columns: dict[str, Any] = {}
    metadata: dict[str, Any] | None = None
    for cond in conditions:
        if cond.field in COLUMNS and cond.operator == "eq" and isinstance(cond.value, str):
            if COLUMNS[cond.field] in columns:
                return None
            columns[COLUMNS[cond.field]] = cond.value
        elif (
            cond.field == "metadata"
            and cond.operator in ("contains", "eq")
            and not cond.path
            and metadata is None
            and isinstance(cond.value, dict)
        ):
            metadata = cond.value
        else:
            return None
    if metadata == {}:
        metadata = None
    if metadata is not None and (
        not is_simple_containment(metadata) or len(filter_terms(metadata)) > 8
    ):
        return None
    return Plan(columns, metadata)


def applies(conn: Connection, project_id: str, plan: Plan) -> bool:
    """SQLite's term index answers the plan alone unless some rows were too wide to index."""
    if conn.dialect.name != "sqlite" or plan.metadata is None:
        return True
    return not _has_overflow(conn, project_id)


_OVERFLOW: Any = sa.select(sa.literal_column("1")).where(
    terms_table.c.project_id == sa.bindparam("project_id"),
    terms_table.c.term == sa.bindparam("term"),
)


def _has_overflow(conn: Connection, project_id: str) -> bool:
    return bool(raw.fetchall(conn, _OVERFLOW, {"project_id": project_id, "term": OVERFLOW}))


_HOLDERS = sa.select(term_counts.c.threads).where(
    term_counts.c.project_id == sa.bindparam("project_id"),
    term_counts.c.term == sa.bindparam("term"),
)


def holders(conn: Connection, project_id: str, term: int) -> int:
    """How many threads hold ``term`` (one lookup: triggers keep the number)."""
    found = raw.fetchall(conn, _HOLDERS, {"project_id": project_id, "term": term})
    return int(found[0][0]) if found else 0


def _rarest(conn: Connection, project_id: str, terms: list[int]) -> tuple[int, int]:
    """The term held by fewest threads, and how many hold it."""
    best = (terms[0], -1)
    for term in terms:
        held = holders(conn, project_id, term)
        if best[1] < 0 or held < best[1]:
            best = (term, held)
        if held == 0:
            break
    return best


# --- statements, one per shape ------------------------------------------------------------------

_built: dict[tuple[Any, ...], Any] = {}


def _probe(i: int) -> Any:
    """This row's metadata holds term ``i``."""
    return (
        sa.select(sa.literal_column("1"))
        .where(
            terms_table.c.term == sa.bindparam(f"t{i}"),
            terms_table.c.project_id == threads.c.project_id,
            terms_table.c.thread_id == threads.c.id,
        )
        .exists()
    )


def _where(dialect: str, plan: Plan, driver: int | None) -> list[Any]:
    where: list[Any] = [threads.c.project_id == sa.bindparam("project_id")]
    where += [threads.c[c] == sa.bindparam(f"c_{c}") for c in sorted(plan.columns)]
    if plan.metadata is None:
        return where
    if dialect == "postgresql":
        where.append(threads.c.metadata.op("@>")(sa.bindparam("meta", type_=JSONB)))
        return where
    if driver is not None:
        where.append(
            threads.c.id.in_(
                sa.select(terms_table.c.thread_id).where(
                    terms_table.c.project_id == sa.bindparam("project_id"),
                    terms_table.c.term == sa.bindparam(f"t{driver}"),
                )
            )
        )
    where += [_probe(i) for i in range(len(plan.terms)) if i != driver]
    return where


def _statement(key: tuple[Any, ...], build: Any) -> Any:
    stmt = _built.get(key)
    if stmt is None:
        stmt = _built[key] = build()
    return stmt


def _params(conn: Connection, project_id: str, plan: Plan) -> dict[str, Any]:
    params: dict[str, Any] = {"project_id": project_id}
    params.update({f"c_{c}": v for c, v in plan.columns.items()})
    if plan.metadata is not None:
        if conn.dialect.name == "postgresql":
            params["meta"] = raw.json_param(plan.metadata)
        params.update({f"t{i}": term for i, term in enumerate(plan.terms)})
    return params


def _driver(conn: Connection, project_id: str, plan: Plan) -> tuple[int | None, int | None]:
    """SQLite: (index of the term to drive from, its holder count) when selective enough."""
    if conn.dialect.name != "sqlite" or not plan.terms:
        return None, None
    term, held = _rarest(conn, project_id, plan.terms)
    if held > SELECTIVE:
        return None, held
    return plan.terms.index(term), held


# --- search and count ---------------------------------------------------------------------------


def search(
    conn: Connection,
    project_id: str,
    plan: Plan,
    page: PageRequest,
    column: str,
    select: Any,
) -> tuple[list[dict[str, Any]], bool, int | None] | None:
    """(rows, has_more, total) of one first/limit/offset page ordered by ``column`` (a threads
    column), or None for a page after or before a cursor."""
    if page.after is not None or page.before is not None or not applies(conn, project_id, plan):
        return None
    dialect = conn.dialect.name
    driver, held = _driver(conn, project_id, plan)
    key: tuple[Any, ...] = ("search", dialect, tuple(sorted(plan.columns)), len(plan.terms))
    key += (
        plan.metadata is None,
        driver,
        column,
        page.descending,
        id(select),
    )  # callers pass module-level selects

    def build() -> raw.Reader:
        order: list[Any] = [threads.c[column], threads.c.id]
        if driver is not None:  # a unary + keeps SQLite from walking the order index instead
            order = [sa.literal_column(f"+threads.{c}") for c in (column, "id")]
        stmt = (
            select.where(*_where(dialect, plan, driver))
            .order_by(*(c.desc() if page.descending else c.asc() for c in order))
            .limit(sa.bindparam("limit"))
            .offset(sa.bindparam("offset"))
        )
        return raw.Reader(stmt)

    reader: raw.Reader = _statement(key, build)
    params = _params(conn, project_id, plan)
    params["limit"] = page.size + 1
    params["offset"] = page.offset or 0
    rows = reader.rows(conn, params)
    more = len(rows) > page.size
    total = count(conn, project_id, plan, held=held) if page.include_total else None
    return rows[: page.size], more, total


def count(conn: Connection, project_id: str, plan: Plan, *, held: int | None = None) -> int:
    """How many threads match the plan (check ``applies`` first)."""
    dialect = conn.dialect.name
    if dialect == "sqlite" and plan.terms and not plan.columns:
        return _count_by_terms(conn, project_id, plan)
    key = ("count", dialect, tuple(sorted(plan.columns)), len(plan.terms), plan.metadata is None)

    def build() -> Any:
        driver = 0 if plan.terms else None  # (SQLite) columns and terms: drive from a term
        return sa.select(sa.func.count()).select_from(threads).where(*_where(dialect, plan, driver))

    stmt = _statement(key, build)
    return int(raw.fetchall(conn, stmt, _params(conn, project_id, plan))[0][0])


def _count_by_terms(conn: Connection, project_id: str, plan: Plan) -> int:
    """SQLite: holders of the rarest term that hold the others too, from the term index alone."""
    term, held = _rarest(conn, project_id, plan.terms)
    others = [t for t in plan.terms if t != term]
    if not others or held == 0:
        return held
    key = ("count_terms", len(others))

    def build() -> Any:
        driving = terms_table.alias("driving")
        probes = [
            sa.select(sa.literal_column("1"))
            .where(
                terms_table.c.term == sa.bindparam(f"o{i}"),
                terms_table.c.project_id == driving.c.project_id,
                terms_table.c.thread_id == driving.c.thread_id,
            )
            .exists()
            for i in range(len(others))
        ]
        return (
            sa.select(sa.func.count())
            .select_from(driving)
            .where(
                driving.c.project_id == sa.bindparam("project_id"),
                driving.c.term == sa.bindparam("term"),
                *probes,
            )
        )

    stmt = _statement(key, build)
    params: dict[str, Any] = {"project_id": project_id, "term": term}
    params.update({f"o{i}": t for i, t in enumerate(others)})
    return int(raw.fetchall(conn, stmt, params)[0][0])
