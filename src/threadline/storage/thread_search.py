"""The common thread searches, planned once per shape: a metadata containment and/or equality on
plain columns, newest (or oldest) first, one page by limit/offset, and their counts.

``threads.search`` and ``threads.count`` build a fresh SQLAlchemy statement for every request,
which cost more than running it (~1 ms of a 1.3 ms filtered list). Here each *shape* of search
(which columns are compared, how many metadata terms, which plan) is built with Core once,
compiled once per dialect (``raw``), and run with the request's values only. Searches of any
other shape (Literal filters, cursors, wide metadata) return None and take the general path.

Plans, the same on both databases: the hashed term index (``metadata_index``). Holding every
term of a simple containment *is* the containment, so no JSON is read at all. A page either
*drives* from the holders of the filter's rarest term (reads all of them, then sorts) or *walks*
the created-order index and probes the terms of each row until the page is full, which reads
about ``(offset + limit) * threads / holders`` rows. :func:`drives` picks the cheaper one.
Counts read the term index alone. (PostgreSQL's GIN index answered ``metadata @> $n`` with a
bitmap of every holder, then a sort: ~11 ms for a filter held by 20,000 of 100,000 threads.)

Holder counts (``term_stats``) are one lookup on both databases: SQLite's triggers keep them in
``thread_metadata_term_counts`` (migration 0007); PostgreSQL's statement triggers append deltas
that are folded into the same table every second (0013), so that creates holding a common term
(``channel=web``) never wait on one hot counter row.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import isqrt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline.core.filters import Condition
from threadline.storage import raw, term_stats
from threadline.storage.filtering import is_simple_containment
from threadline.storage.metadata_index import OVERFLOW, filter_terms
from threadline.storage.pagination import PageRequest
from threadline.storage.schema import thread_metadata_term_counts as term_counts
from threadline.storage.schema import thread_metadata_terms as terms_table
from threadline.storage.schema import threads

#: the plain columns a fast search may compare for equality (condition field -> column)
COLUMNS = {"participantId": "participant_id", "environment": "environment", "status": "status"}

#: drive from the rarest term's holders when holders**2 <= (offset + limit + 1) * threads * DENSITY:
#: the cost of walking one row over that of driving one holder, measured at 100,000 threads
#: (PostgreSQL ~1.5 us / ~3.5 us, SQLite ~0.4 us / ~2.7 us; bench notes in drive_limit)
DENSITY = {"postgresql": 0.4, "sqlite": 0.15}


class Plan:
    """What a fast search needs: its equality columns, metadata and terms."""

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
    """The term index answers the plan alone unless some rows were too wide to index."""
    if plan.metadata is None:
        return True
    return not _has_overflow(conn, project_id)


_OVERFLOW: Any = sa.select(sa.literal_column("1")).where(
    terms_table.c.project_id == sa.bindparam("project_id"),
    terms_table.c.term == sa.bindparam("term"),
)


def _has_overflow(conn: Connection, project_id: str) -> bool:
    return bool(raw.fetchall(conn, _OVERFLOW, {"project_id": project_id, "term": OVERFLOW}))


# --- estimates ----------------------------------------------------------------------------------

_SIZE_SQLITE = sa.text("SELECT max(rowid) FROM threads")  # rowids only grow: O(log n)
# what the planner does: the row density of the last ANALYZE times the table's current pages
_SIZE_PG = sa.text(
    "SELECT reltuples, relpages, pg_relation_size(oid) / current_setting('block_size')::int "
    "FROM pg_class WHERE oid = 'threads'::regclass"
)


def _lone_total(dialect: str) -> Any:
    """A lone term's holders: SQLite's trigger-kept number; on PostgreSQL the folded number
    plus the deltas not yet folded (term_stats)."""
    if dialect == "sqlite":
        return sa.select(term_counts.c.threads).where(
            term_counts.c.project_id == sa.bindparam("project_id"),
            term_counts.c.term == sa.bindparam("t0"),
        )
    return sa.select(term_stats.folded_holders(sa.bindparam("project_id"), sa.bindparam("t0")))


#: (project has rows too wide to index, a lone term's holders), in one round trip
_LONE_COUNT = {
    dialect: sa.select(
        _OVERFLOW.exists().label("overflow_"), _lone_total(dialect).scalar_subquery()
    )
    for dialect in ("sqlite", "postgresql")
}


def size(conn: Connection) -> int:
    """About how many threads the database holds (all projects), cheaply."""
    if conn.dialect.name == "sqlite":
        return int(raw.fetchall(conn, _SIZE_SQLITE)[0][0] or 0)
    tuples, pages, now = raw.fetchall(conn, _SIZE_PG)[0]
    if pages > 0 and tuples >= 0:
        return int(tuples / pages * now)
    return int(now) * 20  # never analyzed yet: a typical density


def drive_limit(dialect: str, rows: int, threads: int) -> int:
    """The most holders a page of ``rows`` (offset + limit + 1) drives from, of ``threads``.

    Driving reads every holder of the rarest term and sorts them; walking the ordered index
    reads ~``rows * threads / holders`` rows: drive when holders**2 <= rows * threads * DENSITY.
    Measured with limit 20 at 100,000 threads, terms held by random subsets (PostgreSQL, SQLite):
    100 holders: walk 37 / 9 ms, drive 0.8 / 0.13 ms; 1,000: walk 2.4 / 0.9 ms, drive 4.4 / 2.7
    ms; 20,000: walk 0.5 / 0.06 ms, drive 46 / 34 ms. The rule assumes the holders are spread
    over time; a term held only by old threads makes the walk read every newer one."""
    return isqrt(int(rows * threads * DENSITY[dialect]))


# --- statements, one per shape ------------------------------------------------------------------

_built: dict[tuple[Any, ...], Any] = {}


def _fenced(query: Any, dialect: str) -> Any:
    """PostgreSQL: ``OFFSET 0`` keeps the planner from turning the subquery into a join of its
    own choosing. Statements are prepared, and a generic plan (no values, so no idea how many
    hold a term) turned a walk that reads ~100 rows into a drive that sorts 20,000 (67 ms)."""
    return query.offset(sa.literal_column("0")) if dialect == "postgresql" else query


def _probe(i: int, dialect: str) -> Any:
    """This row's metadata holds term ``i`` (one key of the term index)."""
    query: Any = sa.select(sa.literal_column("1")).where(
        terms_table.c.project_id == threads.c.project_id,
        terms_table.c.term == sa.bindparam(f"t{i}"),
        terms_table.c.created_at == threads.c.created_at,
        terms_table.c.thread_id == threads.c.id,
    )
    return _fenced(query, dialect).exists()


def _where(plan: Plan, driver: int | None, dialect: str) -> list[Any]:
    where: list[Any] = [threads.c.project_id == sa.bindparam("project_id")]
    where += [threads.c[c] == sa.bindparam(f"c_{c}") for c in sorted(plan.columns)]
    if driver is not None:
        holding = sa.select(terms_table.c.thread_id).where(
            terms_table.c.project_id == sa.bindparam("project_id"),
            terms_table.c.term == sa.bindparam(f"t{driver}"),
        )
        where.append(threads.c.id.in_(_fenced(holding, dialect)))
    where += [_probe(i, dialect) for i in range(len(plan.terms)) if i != driver]
    return where


def _statement(key: tuple[Any, ...], build: Any) -> Any:
    stmt = _built.get(key)
    if stmt is None:
        stmt = _built[key] = build()
    return stmt


def _params(project_id: str, plan: Plan) -> dict[str, Any]:
    params: dict[str, Any] = {"project_id": project_id}
    params.update({f"c_{c}": v for c, v in plan.columns.items()})
    params.update({f"t{i}": term for i, term in enumerate(plan.terms)})
    return params


class _Choice:
    """A page's plan: the term to drive from (None: walk), the rarest term and its holders."""

    def __init__(self, driver: int | None, term: int, held: int) -> None:
        self.driver = driver
        self.term = term
        self.held = held


def _choose(conn: Connection, project_id: str, plan: Plan, rows: int) -> _Choice:
    limit = drive_limit(conn.dialect.name, rows, size(conn))
    term, held = term_stats.rarest(conn, project_id, plan.terms)
    driver = plan.terms.index(term) if held <= limit else None
    return _Choice(driver, term, held)


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
    if page.after is not None or page.before is not None:
        return None
    if plan.terms and column == "created_at":
        return _search_in_created_order(conn, project_id, plan, page, select)
    if not applies(conn, project_id, plan):
        return None
    dialect = conn.dialect.name
    offset = page.offset or 0
    choice = _choose(conn, project_id, plan, offset + page.size + 1) if plan.terms else None
    driver = choice.driver if choice else None
    key: tuple[Any, ...] = ("search", dialect, tuple(sorted(plan.columns)), len(plan.terms))
    key += (driver, column, page.descending, id(select))  # callers pass module-level selects

    def build() -> raw.Reader:
        order: list[Any] = [threads.c[column], threads.c.id]
        if driver is not None and dialect == "sqlite":  # a unary + keeps SQLite from walking
            order = [sa.literal_column(f"+threads.{c}") for c in (column, "id")]  # the index
        return _paged(select.where(*_where(plan, driver, dialect)), order, page)

    reader: raw.Reader = _statement(key, build)
    rows = reader.rows(conn, _page_params(project_id, plan, page))
    more = len(rows) > page.size
    total = None
    if page.include_total:
        if not more and (offset == 0 or rows):  # this page holds the last match
            total = offset + len(rows)
        else:
            total = count(conn, project_id, plan, rarest=choice)
    return rows[: page.size], more, total


def _paged(stmt: Any, order: Sequence[Any], page: PageRequest) -> raw.Reader:
    """``stmt`` ordered by ``order`` (in the page's direction), one page of it."""
    ordered = stmt.order_by(*(c.desc() if page.descending else c.asc() for c in order))
    return raw.Reader(ordered.limit(sa.bindparam("limit")).offset(sa.bindparam("offset")))


def _page_params(project_id: str, plan: Plan, page: PageRequest) -> dict[str, Any]:
    """The plan's parameters, and a page one row longer than asked (to tell if more follow)."""
    params = _params(project_id, plan)
    params["limit"] = page.size + 1
    params["offset"] = page.offset or 0
    return params


def _search_in_created_order(
    conn: Connection, project_id: str, plan: Plan, page: PageRequest, select: Any
) -> tuple[list[dict[str, Any]], bool, int | None] | None:
    """A page in creation order read from one term's holders in the term index's key order
    (the rarest term's, when there are several; each holder is probed for the other terms):
    it stops when the page is full, however many threads hold the term.

    One statement also answers whether the project has rows too wide to index (then None: the
    general path) and, for a lone term, the total: one round trip instead of three."""
    dialect = conn.dialect.name
    offset = page.offset or 0
    rarest: _Choice | None = None
    driver = 0
    if len(plan.terms) > 1:
        term, held = term_stats.rarest(conn, project_id, plan.terms)
        driver = plan.terms.index(term)
        rarest = _Choice(driver, term, held)
    key: tuple[Any, ...] = ("ordered", dialect, tuple(sorted(plan.columns)), len(plan.terms))
    key += (driver,)
    key += (page.descending, id(select))  # callers pass module-level selects
    lone = len(plan.terms) == 1 and not plan.columns and page.include_total
    key += (lone,)

    def build() -> raw.Reader:
        held = terms_table.alias("held")
        extra = [_OVERFLOW.exists().label("overflow_")]
        if lone:
            extra.append(_lone_total(dialect).scalar_subquery().label("total_"))
        where: list[Any] = [
            held.c.project_id == sa.bindparam("project_id"),
            held.c.term == sa.bindparam(f"t{driver}"),
            threads.c.project_id == held.c.project_id,
            threads.c.id == held.c.thread_id,
        ]
        where += [threads.c[c] == sa.bindparam(f"c_{c}") for c in sorted(plan.columns)]
        where += [_probe(i, dialect) for i in range(len(plan.terms)) if i != driver]
        order = (held.c.created_at, held.c.thread_id)
        return _paged(select.add_columns(*extra).where(*where), order, page)

    reader: raw.Reader = _statement(key, build)
    params = _page_params(project_id, plan, page)
    params["term"] = OVERFLOW
    rows = reader.rows(conn, params)
    if rows[0]["overflow_"] if rows else not applies(conn, project_id, plan):
        return None
    more = len(rows) > page.size
    total = None
    if page.include_total:
        if not more and (offset == 0 or rows):  # this page holds the last match
            total = offset + len(rows)
        elif lone and rows:
            total = int(rows[0]["total_"] or 0)
        else:
            total = count(conn, project_id, plan, rarest=rarest)
    return rows[: page.size], more, total


def count_if_applies(conn: Connection, project_id: str, plan: Plan) -> int | None:
    """How many threads match, or None when the project has rows too wide for the term index
    (``applies``); a lone term is answered with the overflow check in one statement."""
    if len(plan.terms) != 1 or plan.columns:
        return count(conn, project_id, plan) if applies(conn, project_id, plan) else None
    params = {"project_id": project_id, "term": OVERFLOW, "t0": plan.terms[0]}
    overflow, total = raw.fetchall(conn, _LONE_COUNT[conn.dialect.name], params)[0]
    return None if overflow else int(total or 0)


def count(conn: Connection, project_id: str, plan: Plan, *, rarest: _Choice | None = None) -> int:
    """How many threads match the plan (check ``applies`` first); ``rarest``: from a search."""
    if not plan.terms:
        key: tuple[Any, ...] = ("count", conn.dialect.name, tuple(sorted(plan.columns)))
        stmt = _statement(key, lambda: _count_statement(plan, None, conn.dialect.name))
        return int(raw.fetchall(conn, stmt, _params(project_id, plan))[0][0])
    if rarest is None:
        term, held = term_stats.rarest(conn, project_id, plan.terms)
        rarest = _Choice(None, term, held)
    if rarest.held == 0:
        return 0
    if plan.columns:  # drive from the rarest term, compare the columns on the threads row
        driver = plan.terms.index(rarest.term)
        key = ("count", conn.dialect.name, tuple(sorted(plan.columns)), len(plan.terms), driver)
        stmt = _statement(key, lambda: _count_statement(plan, driver, conn.dialect.name))
        return int(raw.fetchall(conn, stmt, _params(project_id, plan))[0][0])
    others = [t for t in plan.terms if t != rarest.term]
    if not others:
        return rarest.held
    return _count_by_terms(conn, project_id, rarest.term, others)


def _count_statement(plan: Plan, driver: int | None, dialect: str) -> Any:
    return sa.select(sa.func.count()).select_from(threads).where(*_where(plan, driver, dialect))


def _count_by_terms(conn: Connection, project_id: str, term: int, others: list[int]) -> int:
    """Holders of ``term`` that hold the ``others`` too, from the term index alone."""
    dialect = conn.dialect.name
    key = ("count_terms", dialect, len(others))

    def build() -> Any:
        driving = terms_table.alias("driving")
        probes = [
            _fenced(
                sa.select(sa.literal_column("1")).where(
                    terms_table.c.project_id == driving.c.project_id,
                    terms_table.c.term == sa.bindparam(f"o{i}"),
                    terms_table.c.created_at == driving.c.created_at,
                    terms_table.c.thread_id == driving.c.thread_id,
                ),
                dialect,
            ).exists()
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
