"""Datasets (key_value or generation) and their items.

An item made from a step or a generation *copies* its input and output, so that deleting the
step later leaves the item whole; the source id is kept as a plain reference.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from threadline.core.errors import Conflict, InvalidInput, NotFound
from threadline.core.ids import uuid7
from threadline.core.timeutil import utcnow
from threadline.storage.columns import AnyRow
from threadline.storage.pagination import PageRequest, paginate_where
from threadline.storage.schema import dataset_items, datasets, steps

DATASET_FIELDS = ("name", "description", "metadata", "type")
ITEM_FIELDS = (
    "dataset_id",
    "input",
    "expected_output",
    "intermediary_steps",
    "metadata",
    "step_id",
    "generation_id",
)
_DATASETS = sa.select(
    datasets.c.id,
    datasets.c.created_at,
    datasets.c.updated_at,
    *(datasets.c[f] for f in DATASET_FIELDS),
)
_ITEMS = sa.select(
    dataset_items.c.id, dataset_items.c.created_at, *(dataset_items.c[f] for f in ITEM_FIELDS)
)


def dataset_to_wire(row: AnyRow) -> dict[str, Any]:
    m = row._mapping
    out = {f: m[f] for f in ("id", "created_at", "updated_at", *DATASET_FIELDS)}
    out["metadata"] = out["metadata"] or {}
    return out


def item_to_wire(row: AnyRow) -> dict[str, Any]:
    m = row._mapping
    out = {f: m[f] for f in ("id", "created_at", *ITEM_FIELDS)}
    out["metadata"] = out["metadata"] or {}
    return out


def _where_id(project_id: str, dataset_id: str) -> Any:
    return sa.and_(datasets.c.project_id == project_id, datasets.c.id == dataset_id)


def _name_taken(conn: Connection, project_id: str, name: str) -> bool:
    query = sa.select(datasets.c.id).where(
        datasets.c.project_id == project_id, datasets.c.name == name
    )
    return conn.execute(query).first() is not None


def create(conn: Connection, project_id: str, data: dict[str, Any]) -> dict[str, Any]:
    if _name_taken(conn, project_id, data["name"]):
        raise Conflict(f"a dataset named {data['name']!r} exists", field="name")
    dataset_id = data.get("id") or uuid7()
    if conn.execute(sa.select(datasets.c.id).where(_where_id(project_id, dataset_id))).first():
        raise Conflict(f"dataset {dataset_id!r} exists", field="id")
    now = utcnow()
    row = {
        "project_id": project_id,
        "id": dataset_id,
        "name": data["name"],
        "description": data.get("description"),
        "metadata": data.get("metadata") or {},
        "type": data.get("type") or "key_value",
        "created_at": now,
        "updated_at": now,
    }
    conn.execute(datasets.insert(), row)
    out = {k: v for k, v in row.items() if k != "project_id"}
    out["items"] = []
    return out


def items_of(conn: Connection, project_id: str, dataset_id: str) -> list[dict[str, Any]]:
    query = _ITEMS.where(
        dataset_items.c.project_id == project_id, dataset_items.c.dataset_id == dataset_id
    ).order_by(dataset_items.c.created_at, dataset_items.c.id)
    return [item_to_wire(r) for r in conn.execute(query)]


def _with_items(conn: Connection, project_id: str, row: AnyRow | None, what: str) -> dict[str, Any]:
    if row is None:
        raise NotFound(f"dataset {what} not found")
    dataset = dataset_to_wire(row)
    dataset["items"] = items_of(conn, project_id, dataset["id"])
    return dataset


def get(conn: Connection, project_id: str, dataset_id: str) -> dict[str, Any]:
    row = conn.execute(_DATASETS.where(_where_id(project_id, dataset_id))).first()
    return _with_items(conn, project_id, row, repr(dataset_id))


def get_by_name(conn: Connection, project_id: str, name: str) -> dict[str, Any]:
    row = conn.execute(
        _DATASETS.where(datasets.c.project_id == project_id, datasets.c.name == name)
    ).first()
    return _with_items(conn, project_id, row, f"named {name!r}")


def exists(conn: Connection, project_id: str, dataset_id: str) -> bool:
    query = sa.select(datasets.c.id).where(_where_id(project_id, dataset_id))
    return conn.execute(query).first() is not None


def update(
    conn: Connection, project_id: str, dataset_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Apply the fields present; absent fields are kept."""
    current = conn.execute(_DATASETS.where(_where_id(project_id, dataset_id))).first()
    if current is None:
        raise NotFound(f"dataset {dataset_id!r} not found")
    values = {k: changes[k] for k in DATASET_FIELDS if k in changes and changes[k] is not None}
    renamed = "name" in values and values["name"] != current._mapping["name"]
    if renamed and _name_taken(conn, project_id, values["name"]):
        raise Conflict(f"a dataset named {values['name']!r} exists", field="name")
    if "metadata" in changes and changes["metadata"] is None:
        values["metadata"] = {}
    if "description" in changes:
        values["description"] = changes["description"]
    values["updated_at"] = utcnow()
    conn.execute(datasets.update().where(_where_id(project_id, dataset_id)).values(**values))
    return get(conn, project_id, dataset_id)


def delete(conn: Connection, project_id: str, dataset_id: str) -> None:
    """Delete a dataset with its items and experiments."""
    result = conn.execute(datasets.delete().where(_where_id(project_id, dataset_id)))
    if result.rowcount == 0:
        raise NotFound(f"dataset {dataset_id!r} not found")


def search(conn: Connection, project_id: str, page: PageRequest) -> dict[str, Any]:
    where = [datasets.c.project_id == project_id]
    result = paginate_where(
        conn,
        _DATASETS,
        where,
        order_col=datasets.c.created_at,
        id_col=datasets.c.id,
        request=page,
    )
    return result.wire([dataset_to_wire(row) for row in result.rows])


# --- items -----------------------------------------------------------------------------------


def create_item(
    conn: Connection, project_id: str, dataset_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    if not exists(conn, project_id, dataset_id):
        raise NotFound(f"dataset {dataset_id!r} not found")
    item_id = data.get("id") or uuid7()
    taken = sa.select(dataset_items.c.id).where(
        dataset_items.c.project_id == project_id, dataset_items.c.id == item_id
    )
    if conn.execute(taken).first():
        raise Conflict(f"dataset item {item_id!r} exists", field="id")
    row = {
        "project_id": project_id,
        "id": item_id,
        "created_at": utcnow(),
        **{f: data.get(f) for f in ITEM_FIELDS},
        "dataset_id": dataset_id,
        "metadata": data.get("metadata") or {},
    }
    conn.execute(dataset_items.insert(), row)
    conn.execute(
        datasets.update().where(_where_id(project_id, dataset_id)).values(updated_at=utcnow())
    )
    return {k: v for k, v in row.items() if k != "project_id"}


def _step_row(conn: Connection, project_id: str, step_id: str, field: str) -> Any:
    row = conn.execute(
        sa.select(steps.c.input, steps.c.output, steps.c.generation).where(
            steps.c.project_id == project_id, steps.c.id == step_id
        )
    ).first()
    if row is None:
        raise InvalidInput(f"{field.removesuffix('_id')} {step_id!r} does not exist", field=field)
    return row._mapping


def add_step(
    conn: Connection, project_id: str, dataset_id: str, step_id: str, metadata: dict[str, Any]
) -> dict[str, Any]:
    """A new item copying the step's input (as input) and output (as expected output)."""
    step = _step_row(conn, project_id, step_id, "step_id")
    data = {
        "input": step["input"],
        "expected_output": step["output"],
        "metadata": metadata,
        "step_id": step_id,
    }
    return create_item(conn, project_id, dataset_id, data)


def add_generation(
    conn: Connection,
    project_id: str,
    dataset_id: str,
    generation_id: str,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """A new item copying a generation: its messages (or prompt) and its completion."""
    generation = _step_row(conn, project_id, generation_id, "generation_id")["generation"]
    if not generation:
        raise InvalidInput(f"step {generation_id!r} has no generation", field="generation_id")
    if generation.get("type") == "completion":
        given = {"prompt": generation.get("prompt")}
        expected: Any = {"completion": generation.get("completion")}
    else:
        given = {"messages": generation.get("messages") or []}
        expected = generation.get("message_completion")
    data = {
        "input": given,
        "expected_output": expected,
        "metadata": metadata,
        "generation_id": generation_id,
        "step_id": generation_id,
    }
    return create_item(conn, project_id, dataset_id, data)


def get_item(conn: Connection, project_id: str, item_id: str) -> dict[str, Any]:
    row = conn.execute(
        _ITEMS.where(dataset_items.c.project_id == project_id, dataset_items.c.id == item_id)
    ).first()
    if row is None:
        raise NotFound(f"dataset item {item_id!r} not found")
    return item_to_wire(row)


def delete_item(conn: Connection, project_id: str, item_id: str) -> dict[str, Any]:
    item = get_item(conn, project_id, item_id)
    conn.execute(
        dataset_items.delete().where(
            dataset_items.c.project_id == project_id, dataset_items.c.id == item_id
        )
    )
    return item
