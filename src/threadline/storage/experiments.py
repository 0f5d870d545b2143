"""Experiments on a dataset (optionally a prompt version), and their scored items."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline.core.errors import Conflict, InvalidInput, NotFound
from threadline.core.ids import uuid7
from threadline.core.timeutil import utcnow
from threadline.storage import datasets as dataset_store
from threadline.storage import scores as score_store
from threadline.storage.columns import AnyRow
from threadline.storage.pagination import PageRequest, paginate_where
from threadline.storage.schema import dataset_items, experiment_items, experiments, prompt_versions

FIELDS = ("name", "dataset_id", "prompt_id", "params")
ITEM_FIELDS = (
    "experiment_id",
    "dataset_item_id",
    "experiment_run_id",
    "input",
    "output",
    "metadata",
)
_SELECT = sa.select(experiments.c.id, experiments.c.created_at, *(experiments.c[f] for f in FIELDS))
_ITEMS = sa.select(
    experiment_items.c.id,
    experiment_items.c.created_at,
    *(experiment_items.c[f] for f in ITEM_FIELDS),
)


def to_wire(row: AnyRow) -> dict[str, Any]:
    m = row._mapping
    return {f: m[f] for f in ("id", "created_at", *FIELDS)}


def item_to_wire(row: AnyRow) -> dict[str, Any]:
    m = row._mapping
    out = {f: m[f] for f in ("id", "created_at", *ITEM_FIELDS)}
    out["metadata"] = out["metadata"] or {}
    return out


def _where_id(project_id: str, experiment_id: str) -> Any:
    return sa.and_(experiments.c.project_id == project_id, experiments.c.id == experiment_id)


def _row_exists(conn: Connection, table: sa.Table, project_id: str, row_id: str) -> bool:
    query = sa.select(table.c.id).where(table.c.project_id == project_id, table.c.id == row_id)
    return conn.execute(query).first() is not None


def create(conn: Connection, project_id: str, data: dict[str, Any]) -> dict[str, Any]:
    dataset_id, prompt_id = data.get("dataset_id"), data.get("prompt_id")
    if dataset_id and not dataset_store.exists(conn, project_id, dataset_id):
        raise InvalidInput(f"dataset {dataset_id!r} does not exist", field="dataset_id")
    if prompt_id and not _row_exists(conn, prompt_versions, project_id, prompt_id):
        raise InvalidInput(f"prompt {prompt_id!r} does not exist", field="prompt_id")
    experiment_id = data.get("id") or uuid7()
    if _row_exists(conn, experiments, project_id, experiment_id):
        raise Conflict(f"experiment {experiment_id!r} exists", field="id")
    row = {
        "project_id": project_id,
        "id": experiment_id,
        "created_at": utcnow(),
        **{f: data.get(f) for f in FIELDS},
    }
    conn.execute(experiments.insert(), row)
    out = {k: v for k, v in row.items() if k != "project_id"}
    out["items"] = []
    return out


def get(conn: Connection, project_id: str, experiment_id: str) -> dict[str, Any]:
    """The experiment with its items (each with its scores), oldest item first."""
    row = conn.execute(_SELECT.where(_where_id(project_id, experiment_id))).first()
    if row is None:
        raise NotFound(f"experiment {experiment_id!r} not found")
    experiment = to_wire(row)
    items = [
        item_to_wire(r)
        for r in conn.execute(
            _ITEMS.where(
                experiment_items.c.project_id == project_id,
                experiment_items.c.experiment_id == experiment_id,
            ).order_by(experiment_items.c.created_at, experiment_items.c.id)
        )
    ]
    by_item = score_store.for_experiment_items(conn, project_id, [i["id"] for i in items])
    for item in items:
        item["scores"] = by_item.get(item["id"], [])
    experiment["items"] = items
    return experiment


def delete(conn: Connection, project_id: str, experiment_id: str) -> None:
    result = conn.execute(experiments.delete().where(_where_id(project_id, experiment_id)))
    if result.rowcount == 0:
        raise NotFound(f"experiment {experiment_id!r} not found")


def search(
    conn: Connection, project_id: str, page: PageRequest, *, dataset_id: str | None = None
) -> dict[str, Any]:
    where = [experiments.c.project_id == project_id]
    if dataset_id is not None:
        where.append(experiments.c.dataset_id == dataset_id)
    result = paginate_where(
        conn,
        _SELECT,
        where,
        order_col=experiments.c.created_at,
        id_col=experiments.c.id,
        request=page,
    )
    return result.wire([to_wire(row) for row in result.rows])


def add_item(
    conn: Connection, project_id: str, experiment_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Record one result (input, output, the dataset item it came from) with its scores."""
    if not _row_exists(conn, experiments, project_id, experiment_id):
        raise NotFound(f"experiment {experiment_id!r} not found")
    item_ref = data.get("dataset_item_id")
    if item_ref and not _row_exists(conn, dataset_items, project_id, item_ref):
        raise InvalidInput(f"dataset item {item_ref!r} does not exist", field="dataset_item_id")
    item_id = data.get("id") or uuid7()
    if _row_exists(conn, experiment_items, project_id, item_id):
        raise Conflict(f"experiment item {item_id!r} exists", field="id")
    row = {
        "project_id": project_id,
        "id": item_id,
        "created_at": utcnow(),
        **{f: data.get(f) for f in ITEM_FIELDS},
        "experiment_id": experiment_id,
        "metadata": data.get("metadata") or {},
    }
    conn.execute(experiment_items.insert(), row)
    given = [{**score, "experiment_item_id": item_id} for score in data.get("scores") or []]
    out = {k: v for k, v in row.items() if k != "project_id"}
    out["scores"] = score_store.create_many(conn, project_id, given)
    return out
