"""Cursor (``first/after/before``) and offset (``limit/offset``) pagination over any select."""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from threadline.core.errors import InvalidInput
from threadline.core.timeutil import isoformat, parse_timestamp
from threadline.storage.columns import AnyRow

DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class PageRequest:
    first: int | None = None
    after: str | None = None
    before: str | None = None
    limit: int | None = None
    offset: int | None = None
    descending: bool = True
    include_total: bool = True

    @property
    def size(self) -> int:
        return self.first or self.limit or DEFAULT_PAGE_SIZE


def encode_cursor(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode_cursor(cursor: str, field: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise InvalidInput(f"{field}: not a cursor returned by this server", field=field) from None
    if not isinstance(payload, dict):
        raise InvalidInput(f"{field}: not a cursor returned by this server", field=field)
    return payload


@dataclass
class PageResult:
    rows: list[AnyRow]
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None
    total_count: int | None

    def page_info(self) -> dict[str, Any]:
        return {
            "has_next_page": self.has_next_page,
            "has_previous_page": self.has_previous_page,
            "start_cursor": self.start_cursor,
            "end_cursor": self.end_cursor,
        }

    def wire(self, data: list[dict[str, Any]]) -> dict[str, Any]:
        """The page as list endpoints answer it: ``data`` (this page's rows, as wire dicts),
        ``page_info`` and ``total_count``."""
        return {"data": data, "page_info": self.page_info(), "total_count": self.total_count}


def paginate(
    conn: Connection,
    query: sa.Select[Any],
    *,
    order_col: ColumnElement[Any],
    id_col: ColumnElement[Any],
    request: PageRequest,
    count_query: sa.Select[Any] | None,
    keyset: bool = True,
    sort_value: Callable[[AnyRow], Any] | None = None,
    unindexed_order: bool = False,
) -> PageResult:
    """Run one page of ``query`` ordered by ``(order_col, id_col)``.

    With ``keyset`` the cursor holds the last row's sort key (stable under inserts, uses the
    index); otherwise (sorting by a computed value) it holds an offset. ``unindexed_order`` keeps
    SQLite from walking the sort index (when a selective filter should drive the query instead).
    """
    size = request.size
    desc = request.descending
    backwards = request.before is not None and request.after is None
    cursor_text = request.before if backwards else request.after
    offset = request.offset or 0
    q = query
    if cursor_text is not None:
        field = "before" if backwards else "after"
        payload = decode_cursor(cursor_text, field)
        if keyset and "k" in payload:
            value, last_id = _cursor_key(payload["k"], field)
            key = sa.tuple_(order_col, id_col)
            bound = sa.tuple_(sa.literal(value, order_col.type), sa.literal(last_id))
            q = q.where(key > bound if desc == backwards else key < bound)
        elif "o" in payload and isinstance(payload["o"], int) and payload["o"] >= 0:
            offset = max(payload["o"] - size, 0) if backwards else payload["o"]
            backwards = False
        else:
            raise InvalidInput(f"{field}: not a cursor returned by this server", field=field)
    ascending = desc == backwards
    sort_key: tuple[ColumnElement[Any], ColumnElement[Any]] = (order_col, id_col)
    if unindexed_order:  # SQLite: a unary + makes the term unusable for an index
        sort_key = (_unindexed(order_col), _unindexed(id_col))
    q = q.order_by(*(c.asc() if ascending else c.desc() for c in sort_key))
    q = q.limit(size + 1)
    if offset:
        q = q.offset(offset)
    rows = list(conn.execute(q).all())
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()

    def cursor_for(row: AnyRow, position: int) -> str:
        if keyset:
            value = sort_value(row) if sort_value else row._mapping[str(order_col.key)]
            if isinstance(value, datetime):
                value = isoformat(value)
            return encode_cursor({"k": [value, row._mapping[str(id_col.key)]]})
        return encode_cursor({"o": offset + position})

    total = None
    if request.include_total and count_query is not None:
        total = int(conn.execute(count_query).scalar_one())
    return PageResult(
        rows=rows,
        has_next_page=True if backwards else more,
        has_previous_page=(more if backwards else (cursor_text is not None or offset > 0)),
        start_cursor=cursor_for(rows[0], 0) if rows else None,
        end_cursor=cursor_for(rows[-1], len(rows)) if rows else None,
        total_count=total,
    )


def paginate_where(
    conn: Connection,
    query: sa.Select[Any],
    where: Sequence[ColumnElement[bool]],
    *,
    order_col: ColumnElement[Any],
    id_col: ColumnElement[Any],
    request: PageRequest,
    keyset: bool = True,
) -> PageResult:
    """One page of ``query`` filtered by ``where``; its total counts the ``id_col`` rows that
    match ``where`` (the count need not join what ``query`` adds to its rows)."""
    return paginate(
        conn,
        query.where(*where),
        order_col=order_col,
        id_col=id_col,
        request=request,
        count_query=count_of(sa.select(id_col).where(*where)),
        keyset=keyset,
    )


def offset_page_info(
    rows: Sequence[dict[str, Any]], more: bool, request: PageRequest, order_key: str
) -> dict[str, Any]:
    """``PageResult.page_info`` of a first or offset page read without ``paginate``: the same
    keyset cursors (``order_key`` and ``id`` of the first and last rows)."""

    def cursor(row: dict[str, Any]) -> str:
        value = row[order_key]
        if isinstance(value, datetime):
            value = isoformat(value)
        return encode_cursor({"k": [value, row["id"]]})

    offset = request.offset or 0
    return {
        "has_next_page": more,
        "has_previous_page": offset > 0,
        "start_cursor": cursor(rows[0]) if rows else None,
        "end_cursor": cursor(rows[-1]) if rows else None,
    }


def _unindexed(col: ColumnElement[Any]) -> ColumnElement[Any]:
    """``+table.column``: the same value, but SQLite will not walk an index to sort by it."""
    return sa.literal_column(f"+{col.table.name}.{col.name}")


def _cursor_key(key: Any, field: str) -> tuple[Any, str]:
    if not (isinstance(key, list) and len(key) == 2 and isinstance(key[1], str)):
        raise InvalidInput(f"{field}: not a cursor returned by this server", field=field)
    value = key[0]
    if isinstance(value, str):
        with contextlib.suppress(InvalidInput):
            value = parse_timestamp(value, field=field)
    return value, key[1]


def count_of(query: sa.Select[Any]) -> sa.Select[Any]:
    """``SELECT count(*)`` over the rows of ``query``."""
    return sa.select(sa.func.count()).select_from(query.order_by(None).subquery())


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
