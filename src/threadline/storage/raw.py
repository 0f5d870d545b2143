"""Hot-path statements: built once with SQLAlchemy Core, run on the driver's own cursor.

SQLAlchemy's per-execute work (cache key, parameter and result processing, Row objects) cost
more than the database on the hottest requests (a thread create spent ~60% of its time there).
Here a Core statement is compiled once per dialect to the driver's SQL text and positional
parameter order, and run straight on the DBAPI connection inside the caller's transaction. So
the SQL is still written once for both databases; only the values cross in driver form, which
:func:`json_param` / :func:`time_param` give and :func:`json_value` / :func:`time_value` read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

_ZERO = timedelta(0)
_compiled: dict[tuple[int, str], tuple[str, tuple[str, ...]]] = {}
_defaults: dict[tuple[int, str], dict[str, Any]] = {}
_keep: list[Any] = []  # statements compiled here stay alive, so their id() is never reused


def compiled(conn: Connection, stmt: Any) -> tuple[str, tuple[str, ...]]:
    """The statement's SQL text for this connection's dialect and its parameter names in order."""
    key = (id(stmt), conn.dialect.name)
    found = _compiled.get(key)
    if found is None:
        comp = stmt.compile(dialect=conn.dialect)
        names = tuple(comp.positiontup or ())
        found = (str(comp), names)
        # values the statement carries itself (literals, the OFFSET SQLite adds to a LIMIT)
        _defaults[key] = {
            name: bind.effective_value
            for name, bind in comp.binds.items()
            if not bind.required and name in names
        }
        _compiled[key] = found
        _keep.append(stmt)
    return found


def _values(conn: Connection, stmt: Any, names: tuple[str, ...], params: Any) -> tuple[Any, ...]:
    try:
        return tuple(params[n] for n in names)
    except KeyError:
        defaults = _defaults[(id(stmt), conn.dialect.name)]
        return tuple(params[n] if n in params else defaults[n] for n in names)


def _cursor(conn: Connection) -> Any:
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def _wrapped(conn: Connection, sql: str, exc: Exception) -> Exception:
    """A driver error as SQLAlchemy's exception of the same kind (IntegrityError, DataError, ...),
    so the storage boundary maps it as it maps every other statement's."""
    base = conn.dialect.loaded_dbapi.Error
    if isinstance(exc, base):
        return sa.exc.DBAPIError.instance(sql, None, exc, base, hide_parameters=True)
    return exc


#: ``connection.info`` key: how many statements a ``one_statement`` write has run
ONE_STATEMENT = "threadline_one_statement"


class OneStatementBroken(RuntimeError):
    """A write promised to run one statement (``Database.write(one_statement=True)``) and tried
    a second: a bug in the caller's promise, caught before the statement runs."""


def count_statement(conn: Connection) -> None:
    """Count a statement of a ``one_statement`` write; refuse a second one."""
    info = conn.info
    if ONE_STATEMENT in info:
        if info[ONE_STATEMENT]:
            raise OneStatementBroken("a one-statement write tried to run a second statement")
        info[ONE_STATEMENT] = 1


def execute(conn: Connection, stmt: Any, params: Mapping[str, Any] | None = None) -> Any:
    """Run ``stmt`` with named ``params`` (already in driver form); returns the DBAPI cursor."""
    count_statement(conn)
    sql, names = compiled(conn, stmt)
    cur = _cursor(conn)
    try:
        cur.execute(sql, _values(conn, stmt, names, params or {}) if names else ())
    except Exception as exc:
        raise _wrapped(conn, sql, exc) from exc
    return cur


def executemany(conn: Connection, stmt: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    count_statement(conn)
    sql, names = compiled(conn, stmt)
    cur = _cursor(conn)
    try:
        cur.executemany(sql, [_values(conn, stmt, names, row) for row in rows])
    except Exception as exc:
        raise _wrapped(conn, sql, exc) from exc


def fetchall(conn: Connection, stmt: Any, params: Mapping[str, Any] | None = None) -> list[Any]:
    cur = execute(conn, stmt, params)
    rows: list[Any] = cur.fetchall()
    cur.close()
    return rows


def insert(table: sa.Table, columns: Sequence[str]) -> Any:
    """An INSERT of exactly ``columns`` (each a parameter of the same name)."""
    return table.insert().values({c: sa.bindparam(c) for c in columns})


# Statements whose columns vary by request, built once per shape: a statement built per call
# would be compiled again, and kept alive by ``_keep``, every time.
_shapes: dict[tuple[str, str, tuple[str, ...]], Any] = {}


def shape(kind: str, table: sa.Table, columns: tuple[str, ...], build: Any) -> Any:
    """The statement ``build()`` makes for this kind, table and columns, built once."""
    key = (kind, table.name, columns)
    stmt = _shapes.get(key)
    if stmt is None:
        stmt = _shapes[key] = build()
    return stmt


def insert_of(table: sa.Table, columns: Iterable[str]) -> Any:
    """:func:`insert`, built once per table and columns (a row dict gives its keys)."""
    cols = tuple(columns)
    return shape("insert", table, cols, lambda: insert(table, cols))


def recordset(table: sa.Table, columns: tuple[str, ...], *extra: sa.ColumnClause[Any]) -> Any:
    """PostgreSQL: the rows of the JSON array parameter ``rows`` (objects keyed by column, as
    :func:`json_rows` gives them) as a table of ``columns`` of ``table`` and ``extra``."""
    rows = sa.bindparam("rows", type_=postgresql.JSONB)
    typed = [sa.column(c, table.c[c].type) for c in columns]
    return (
        sa.func.jsonb_to_recordset(rows)
        .table_valued(*typed, *extra)
        .render_derived(with_types=True)
    )


def rows_insert(table: sa.Table, columns: tuple[str, ...]) -> Any:
    """PostgreSQL: ``INSERT`` of the rows of the JSON array parameter ``rows`` (each with
    ``columns``; :func:`json_rows`): one statement for any number of rows."""
    given = recordset(table, columns)
    return table.insert().from_select(columns, sa.select(*(given.c[c] for c in columns)))


def json_rows(table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> str:
    """The ``rows`` parameter of a :func:`recordset`: rows of ``table`` (column name -> Python
    value, JSON columns as values) as one JSON array; timestamps in UTC, naive ones taken as
    UTC (as :func:`time_param` stores them)."""
    _, time_cols = _column_kinds(table)
    out = []
    for row in rows:
        found = time_cols.intersection(row)
        if found:
            row = dict(row)
            for key in found:
                value = row[key]
                if value is not None:
                    row[key] = _time_param(value, False)
        out.append(row)
    return orjson.dumps(out, option=orjson.OPT_NON_STR_KEYS).decode()


def update_of(table: sa.Table, columns: Iterable[str]) -> Any:
    """An UPDATE of exactly ``columns`` of the row ``project_id = :p_project AND id = :p_id``,
    built once per table and columns."""
    cols = tuple(columns)

    def build() -> Any:
        where = (
            table.c.project_id == sa.bindparam("p_project"),
            table.c.id == sa.bindparam("p_id"),
        )
        return table.update().where(*where).values({c: sa.bindparam(c) for c in cols})

    return shape("update", table, cols, build)


def exists_of(table: sa.Table) -> Any:
    """``SELECT id`` of the row ``project_id = :project_id AND id = :id`` (empty if none)."""

    def build() -> Any:
        where = (table.c.project_id == sa.bindparam("project_id"), table.c.id == sa.bindparam("id"))
        return sa.select(table.c.id).where(*where)

    return shape("exists", table, (), build)


# --- values in driver form ---------------------------------------------------------------------


def json_param(value: Any) -> str | None:
    """A JSON column's parameter: its text (both drivers take text for JSON/JSONB)."""
    if value is None:
        return None
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def time_param(conn: Connection, value: datetime | None) -> Any:
    """A timestamp parameter: naive-UTC text on SQLite (as SQLAlchemy stores it), aware on PG."""
    if value is None:
        return None
    return _time_param(value, conn.dialect.name == "sqlite")


def _time_param(value: datetime, sqlite: bool) -> Any:
    if sqlite:
        offset = value.utcoffset()
        if offset:  # naive or UTC: the wall time is UTC already
            value = value - offset
        return value.replace(tzinfo=None).isoformat(" ", "microseconds")
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if value.utcoffset() == _ZERO else value.astimezone(UTC)


def json_value(raw: Any) -> Any:
    """A JSON column as read on SQLite, which gives its text (PostgreSQL's codec has decoded it
    already: don't call this there, a JSON string would be decoded twice)."""
    if isinstance(raw, str):
        return orjson.loads(raw)
    return raw


def json_fragment(raw: Any) -> Any:
    """A JSON column for a response only: SQLite's text is passed through unparsed."""
    if isinstance(raw, str):
        return orjson.Fragment(raw)
    return raw


def time_fragment(raw: Any) -> Any:
    """A timestamp for a response only: SQLite's text becomes the wire form without a datetime."""
    if isinstance(raw, str):
        return orjson.Fragment(f'"{raw[:10]}T{raw[11:]}Z"')
    return time_value(raw)


def time_value(raw: Any) -> datetime | None:
    """A timestamp as read: SQLite gives naive-UTC text, PostgreSQL an aware datetime."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return datetime.fromisoformat(raw).replace(tzinfo=UTC)
    if raw.tzinfo is None:
        return raw.replace(tzinfo=UTC)  # type: ignore[no-any-return]
    return raw.astimezone(UTC)  # type: ignore[no-any-return]


def column_kind(column: Any) -> Literal["json", "time", "value"]:
    """How a column's values are read and rendered, by its type: JSON, a timestamp, or as is."""
    kind: Any = column.type
    if isinstance(kind, sa.TypeDecorator):
        kind = kind.impl_instance if hasattr(kind, "impl_instance") else kind.impl
    if isinstance(kind, sa.JSON):
        return "json"
    if isinstance(kind, sa.DateTime):
        return "time"
    return "value"


class Reader:
    """A SELECT compiled once, whose rows come back as dicts keyed by column label with JSON
    decoded and timestamps aware (the same values SQLAlchemy's result processing gives)."""

    def __init__(self, stmt: Any) -> None:
        self.stmt = stmt
        self.names = tuple(c.key for c in stmt.selected_columns)
        kinds: list[tuple[int, Any, Any]] = []
        for i, col in enumerate(stmt.selected_columns):
            kind = column_kind(col)
            if kind == "json":
                kinds.append((i, json_value, json_fragment))
            elif kind == "time":
                kinds.append((i, time_value, time_fragment))
        # PostgreSQL's codec has decoded JSON already (a JSON string column value is a str there)
        self._to_dict = {
            "sqlite": _row_function(self.names, {i: value for i, value, _ in kinds}),
            "postgresql": _row_function(
                self.names, {i: value for i, value, _ in kinds if value is not json_value}
            ),
        }
        self._to_wire = _row_function(self.names, {i: wire for i, _, wire in kinds})
        # for responses, JSON columns are read as their text: PostgreSQL then skips decoding
        # jsonb into Python objects that orjson would only encode again
        json_columns = {i for i, value, _ in kinds if value is json_value}
        self.wire_stmt = stmt.with_only_columns(
            *(
                sa.cast(col, sa.Text).label(col.key) if i in json_columns else col
                for i, col in enumerate(stmt.selected_columns)
            ),
            maintain_column_froms=True,
        )

    def rows(
        self, conn: Connection, params: Mapping[str, Any] | None = None, *, wire: bool = False
    ) -> list[dict[str, Any]]:
        """The rows; with ``wire`` JSON and timestamps are left as response fragments (only
        for results that go straight into a response: they cannot be inspected)."""
        if wire:
            return [self._to_wire(row) for row in fetchall(conn, self.wire_stmt, params)]
        to_dict = self._to_dict[conn.dialect.name]
        return [to_dict(row) for row in fetchall(conn, self.stmt, params)]


def _row_function(names: Sequence[str], converters: Mapping[int, Any]) -> Any:
    """``row -> dict``, generated as one dict display (a loop over the columns per row cost
    twice as much on a 100-step thread read)."""
    env = {f"c{i}": fn for i, fn in converters.items()}
    items = []
    for i, name in enumerate(names):
        value = f"r[{i}]"
        if i in converters:
            value = f"(None if r[{i}] is None else c{i}(r[{i}]))"
        items.append(f"{name!r}: {value}")
    code = "def convert(r):\n    return {" + ", ".join(items) + "}\n"
    exec(code, env)  # only column names of our own statements and the converters above
    return env["convert"]


_KINDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {}


def _column_kinds(table: sa.Table) -> tuple[frozenset[str], frozenset[str]]:
    found = _KINDS.get(table.name)
    if found is None:
        json_cols, time_cols = set(), set()
        for col in table.c:
            kind: Any = col.type
            if isinstance(kind, sa.TypeDecorator):
                kind = kind.impl_instance if hasattr(kind, "impl_instance") else kind.impl
            if isinstance(kind, sa.JSON):
                json_cols.add(col.name)
            elif isinstance(kind, sa.DateTime):
                time_cols.add(col.name)
        found = _KINDS[table.name] = (frozenset(json_cols), frozenset(time_cols))
    return found


def rows_params(
    conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], fixed: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Rows of ``table`` that all have the same keys, as driver parameters, with ``fixed``
    (values already in driver form) on every row: ``row_params`` with the keys sorted out
    once (a batch of 1,000 steps spent 9 ms preparing its rows one by one)."""
    if not rows:
        return []
    json_cols, time_cols = _column_kinds(table)
    keys = set(rows[0]).difference(fixed)
    json_keys = sorted(json_cols.intersection(keys))
    time_keys = sorted(time_cols.intersection(keys))
    dumps, sqlite = orjson.dumps, conn.dialect.name == "sqlite"
    out = []
    for row in rows:
        params = {**row, **fixed}
        for key in json_keys:
            value = row[key]
            if value is not None:
                params[key] = dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
        for key in time_keys:
            value = row[key]
            if value is not None:
                params[key] = _time_param(value, sqlite)
        out.append(params)
    return out


def row_params(conn: Connection, table: sa.Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of ``table`` (column name -> Python value) as driver parameters."""
    json_cols, time_cols = _column_kinds(table)
    out = dict(row)
    for key in json_cols.intersection(row):
        out[key] = json_param(row[key])
    for key in time_cols.intersection(row):
        out[key] = time_param(conn, row[key])
    return out
