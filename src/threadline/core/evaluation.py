"""Evaluation: scores, generations, datasets with their items, experiments with their items.

Every method is one transaction (``db.read`` / ``db.write``) scoped by ``project_id``. Reads that
return steps fill in the signed URLs of their attachments through ``links``.
"""

from __future__ import annotations

from typing import Any

from threadline.client import types as t
from threadline.core.attachments import page_of
from threadline.core.errors import InvalidInput, NotFound
from threadline.core.files import FileLinks
from threadline.core.filters import Condition, equals, parse_filters
from threadline.storage import datasets, experiments, generations, scores, steps
from threadline.storage.database import Database

#: the fields of a generation payload (the rest of GenerationCreate describes its step)
GENERATION_FIELDS = frozenset(t.Generation.model_fields)


def _descending(order: t.OrderBy | None) -> bool:
    return order is None or order.direction.upper() == "DESC"


def score_values(body: t.ScoreCreate, index: int | None = None) -> dict[str, Any]:
    """Column values of a new score; a generation id is its step id (a generation is a step)."""
    prefix = f"scores[{index}]." if index is not None else ""
    values = body.model_dump(exclude={"generation_id"})
    if body.generation_id is not None:
        if body.step_id is not None and body.step_id != body.generation_id:
            raise InvalidInput(
                "step_id and generation_id name different steps; a generation is a step, "
                "give one of them",
                field=prefix + "generation_id",
            )
        values["step_id"] = body.generation_id
    if values["step_id"] is None and body.experiment_item_id is None:
        raise InvalidInput(
            "a score needs a step_id, a generation_id or an experiment_item_id",
            field=prefix + "step_id",
        )
    return values


class Evaluation:
    def __init__(self, db: Database, links: FileLinks | None = None) -> None:
        self.db = db
        self.links = links

    def _signed(self, result: Any) -> Any:
        return self.links.sign(result) if self.links is not None else result

    # --- scores ------------------------------------------------------------------------------

    async def create_score(self, project_id: str, body: t.ScoreCreate) -> dict[str, Any]:
        created = await self.db.write(
            scores.create_many, project_id, [score_values(body)], quick=True
        )
        return created[0]

    async def create_scores(self, project_id: str, body: t.ScoreBatch) -> list[dict[str, Any]]:
        items = [score_values(s, i) for i, s in enumerate(body.scores)]
        return await self.db.write(
            lambda c: scores.create_many(c, project_id, items, upsert=body.upsert)
        )

    async def get_score(self, project_id: str, score_id: str) -> dict[str, Any]:
        return await self.db.read(scores.get, project_id, score_id)

    async def update_score(
        self, project_id: str, score_id: str, body: t.ScoreUpdate
    ) -> dict[str, Any]:
        changes = body.model_dump(exclude_unset=True)
        for required in ("name", "type", "value"):
            if required in changes and changes[required] is None:
                raise InvalidInput(f"a score's {required} cannot be null", field=required)
        return await self.db.write(scores.update, project_id, score_id, changes)

    async def delete_score(self, project_id: str, score_id: str) -> None:
        await self.db.write(scores.delete, project_id, score_id)

    async def search_scores(self, project_id: str, q: t.ScoreSearch) -> dict[str, Any]:
        conditions = parse_filters("scores", q.filters)
        if q.step_id is not None:
            conditions.append(equals("stepId", q.step_id))
        if q.experiment_item_id is not None:
            conditions.append(equals("experimentItemId", q.experiment_item_id))
        order = q.order_by.column if q.order_by else "createdAt"
        page = page_of(q, descending=_descending(q.order_by))
        return await self.db.read(
            lambda c: scores.search(c, project_id, conditions, page, order_by=order)
        )

    # --- generations -------------------------------------------------------------------------

    async def create_generation(self, project_id: str, body: t.GenerationCreate) -> dict[str, Any]:
        """Log a generation: an llm step (in ``thread_id``, created if missing, or on its own)."""
        given = body.model_dump(exclude_none=True)
        payload = {k: v for k, v in given.items() if k in GENERATION_FIELDS}
        step = {k: v for k, v in given.items() if k not in GENERATION_FIELDS}
        step.update(type="llm", generation=payload)
        step.setdefault("name", body.model)
        return self._signed(await self.db.write(steps.create, project_id, step))  # type: ignore[no-any-return]

    async def get_generation(self, project_id: str, generation_id: str) -> dict[str, Any]:
        step = await self.db.read(steps.get, project_id, generation_id)
        if step.get("generation") is None:
            raise NotFound(f"generation {generation_id!r} not found (that step is not an LLM call)")
        return self._signed(step)  # type: ignore[no-any-return]

    async def search_generations(self, project_id: str, q: t.GenerationSearch) -> dict[str, Any]:
        conditions: list[Condition] = parse_filters("generations", q.filters)
        if q.thread_id is not None:
            conditions.append(equals("threadId", q.thread_id))
        order = q.order_by.column if q.order_by else "createdAt"
        page = page_of(q, descending=_descending(q.order_by))
        result = await self.db.read(
            lambda c: generations.search(c, project_id, conditions, page, order_by=order)
        )
        return self._signed(result)  # type: ignore[no-any-return]

    # --- datasets ----------------------------------------------------------------------------

    async def create_dataset(self, project_id: str, body: t.DatasetCreate) -> dict[str, Any]:
        return await self.db.write(datasets.create, project_id, body.model_dump())

    async def get_dataset(self, project_id: str, dataset_id: str) -> dict[str, Any]:
        return await self.db.read(datasets.get, project_id, dataset_id)

    async def get_dataset_by_name(self, project_id: str, name: str) -> dict[str, Any]:
        return await self.db.read(datasets.get_by_name, project_id, name)

    async def update_dataset(
        self, project_id: str, dataset_id: str, body: t.DatasetUpdate
    ) -> dict[str, Any]:
        changes = body.model_dump(exclude_unset=True)
        return await self.db.write(datasets.update, project_id, dataset_id, changes)

    async def delete_dataset(self, project_id: str, dataset_id: str) -> None:
        await self.db.write(datasets.delete, project_id, dataset_id)

    async def list_datasets(self, project_id: str, q: t.PageQuery) -> dict[str, Any]:
        return await self.db.read(datasets.search, project_id, page_of(q))

    async def create_dataset_item(
        self, project_id: str, dataset_id: str, body: t.DatasetItemCreate
    ) -> dict[str, Any]:
        return await self.db.write(datasets.create_item, project_id, dataset_id, body.model_dump())

    async def add_step_to_dataset(
        self, project_id: str, dataset_id: str, body: t.DatasetItemFromStep
    ) -> dict[str, Any]:
        return await self.db.write(
            datasets.add_step, project_id, dataset_id, body.step_id, body.metadata
        )

    async def add_generation_to_dataset(
        self, project_id: str, dataset_id: str, body: t.DatasetItemFromGeneration
    ) -> dict[str, Any]:
        return await self.db.write(
            datasets.add_generation, project_id, dataset_id, body.generation_id, body.metadata
        )

    async def get_dataset_item(self, project_id: str, item_id: str) -> dict[str, Any]:
        return await self.db.read(datasets.get_item, project_id, item_id)

    async def delete_dataset_item(self, project_id: str, item_id: str) -> dict[str, Any]:
        return await self.db.write(datasets.delete_item, project_id, item_id)

    # --- experiments -------------------------------------------------------------------------

    async def create_experiment(self, project_id: str, body: t.ExperimentCreate) -> dict[str, Any]:
        return await self.db.write(experiments.create, project_id, body.model_dump())

    async def get_experiment(self, project_id: str, experiment_id: str) -> dict[str, Any]:
        return await self.db.read(experiments.get, project_id, experiment_id)

    async def list_experiments(self, project_id: str, q: t.ExperimentSearch) -> dict[str, Any]:
        page = page_of(q)
        return await self.db.read(
            lambda c: experiments.search(c, project_id, page, dataset_id=q.dataset_id)
        )

    async def delete_experiment(self, project_id: str, experiment_id: str) -> None:
        await self.db.write(experiments.delete, project_id, experiment_id)

    async def add_experiment_item(
        self, project_id: str, experiment_id: str, body: t.ExperimentItemCreate
    ) -> dict[str, Any]:
        data = body.model_dump(exclude={"scores"})
        data["scores"] = []
        for index, score in enumerate(body.scores):
            values = score.model_dump(exclude={"generation_id"})
            if score.generation_id is not None:
                values["step_id"] = score.generation_id
            if score.experiment_item_id is not None:
                raise InvalidInput(
                    "a score given with an experiment item is on that item",
                    field=f"scores[{index}].experiment_item_id",
                )
            data["scores"].append(values)
        return await self.db.write(experiments.add_item, project_id, experiment_id, data)
