"""Rows the database renders as JSON text, for reads whose rows go straight into a response.

A 100-step thread read spent half its storage time turning columns into Python values that
orjson only encoded again. :class:`JSONRow` is one SQL construct, compiled per dialect
(``json_object`` on SQLite, ``row_to_json`` on PostgreSQL), that gives each row's wire
object as text, with the same keys, values and null handling as the Python rendering
(``raw.Reader`` with ``wire`` + ``responses.dumps``): JSON columns embedded as JSON, timestamps
as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (on PostgreSQL without ``.ffffff`` when it is zero, as orjson
writes a datetime).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ColumnElement

from threadline.storage import raw

#: how a column is rendered: as it is, as embedded JSON, or as a UTC timestamp string
Kind = Literal["value", "json", "time"]
#: the wire's time formats on PostgreSQL: orjson's (OPT_UTC_Z), whose fraction is left out when
#: it is zero (on SQLite ``raw.time_fragment`` passes on the stored text, which always has one)
_PG_TIME = """'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"""
_PG_WHOLE_SECOND = """'YYYY-MM-DD"T"HH24:MI:SS"Z"'"""


class Field:
    """One key of the object: ``column`` rendered as ``kind``; a JSON column with ``default``
    (``"{}"`` or ``"[]"``) gives it for SQL NULL and JSON null."""

    def __init__(
        self, key: str, column: Any, kind: Kind = "value", default: str | None = None
    ) -> None:
        if not key.isidentifier() or default not in (None, "{}", "[]"):
            raise ValueError(f"unsupported field {key!r} (default {default!r})")
        self.key, self.column, self.kind, self.default = key, column, kind, default


def fields_of(columns: Sequence[sa.Column[Any]], defaults: dict[str, str]) -> list[Field]:
    """A field per column, named as the column, its kind taken from the column's type."""
    return [
        Field(col.key, col, kind, defaults.get(col.key) if kind == "json" else None)
        for col in columns
        for kind in (raw.column_kind(col),)
    ]


class JSONRow(ColumnElement[str]):
    """The JSON object text of ``fields``, keys in order (a ``Text`` column of the SELECT)."""

    __visit_name__ = "json_row"
    inherit_cache = False  # compiled once by raw.compiled, never through the statement cache
    type = sa.Text()

    def __init__(self, fields: Sequence[Field]) -> None:
        self.fields = tuple(fields)


def _pairs(compiler: SQLCompiler, element: JSONRow, value: Any, **kw: Any) -> str:
    return ", ".join(
        f"'{f.key}', {value(f, compiler.process(f.column, **kw))}" for f in element.fields
    )


def _sqlite_value(field: Field, sql: str) -> str:
    if field.kind == "time":  # stored as naive-UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'
        return f"replace({sql}, ' ', 'T') || 'Z'"
    if field.kind == "json" and field.default is not None:
        return f"json(coalesce(nullif({sql}, 'null'), '{field.default}'))"
    if field.kind == "json":  # json(): embedded as JSON, not as a string
        return f"json({sql})"
    return sql


def _postgres_value(field: Field, sql: str) -> str:
    if field.kind == "time":
        utc = f"{sql} AT TIME ZONE 'UTC'"
        return (
            f"CASE WHEN date_trunc('second', {sql}) = {sql} THEN to_char({utc}, {_PG_WHOLE_SECOND})"
            f" ELSE to_char({utc}, {_PG_TIME}) END"
        )
    if field.kind == "json" and field.default is not None:
        return f"coalesce(nullif({sql}, 'null'::jsonb), '{field.default}'::jsonb)"
    return sql


@compiles(JSONRow, "sqlite")
def _sqlite(element: JSONRow, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_object({_pairs(compiler, element, _sqlite_value, **kw)})"


@compiles(JSONRow, "postgresql")
def _postgres(element: JSONRow, compiler: SQLCompiler, **kw: Any) -> str:
    # row_to_json of a one-row subquery, not json_build_object: PostgreSQL 15 looks up how to
    # render each argument of json_build_object again for every row, and the same 100-step
    # read cost it ~1.6x the CPU (measured over 50,000 rows: 11 scalar columns 166-230 vs 85-114
    # ms, the 8 JSON columns 153 vs 94-101 ms). As text: the driver would otherwise decode it.
    columns = ", ".join(
        f'{_postgres_value(f, compiler.process(f.column, **kw))} AS "{f.key}"'
        for f in element.fields
    )
    return f"(SELECT CAST(row_to_json(_row) AS TEXT) FROM (SELECT {columns}) AS _row)"
