"""Datasets and experiments (``client.datasets``, ``client.experiments``) through the SDK on a
real server, on both databases."""

from __future__ import annotations

import pytest

from tests.conftest import Server, new_tenant
from threadline import (
    AsyncClient,
    Client,
    ConflictError,
    NotFoundError,
    UnprocessableEntityError,
)
from threadline.storage.database import Database


def test_dataset_crud_and_items(client: Client) -> None:
    ds = client.datasets.create(name="faq", description="questions", metadata={"owner": "qa"})
    assert (ds.type, ds.items) == ("key_value", [])
    with pytest.raises(ConflictError) as err:
        client.datasets.create(name="faq")
    assert err.value.field == "name"

    item = client.datasets.create_item(
        ds.id, input={"q": "hours?"}, expected_output={"a": "9-5"}, metadata={"src": "manual"}
    )
    assert (item.dataset_id, item.input, item.expected_output) == (
        ds.id,
        {"q": "hours?"},
        {"a": "9-5"},
    )
    assert client.datasets.get_item(item.id) == item
    assert [i.id for i in client.datasets.get(ds.id).items or []] == [item.id]
    assert client.datasets.get_by_name("faq").id == ds.id

    renamed = client.datasets.update(ds.id, name="faq-v2")
    assert (renamed.name, renamed.description, renamed.metadata) == (
        "faq-v2",
        "questions",
        {"owner": "qa"},
    )
    with pytest.raises(NotFoundError):
        client.datasets.get_by_name("faq")
    other = client.datasets.create(name="other", type="generation")
    with pytest.raises(ConflictError):
        client.datasets.update(other.id, name="faq-v2")
    assert {d.name for d in client.datasets.list()} == {"faq-v2", "other"}

    client.datasets.delete_item(item.id)
    with pytest.raises(NotFoundError):
        client.datasets.get_item(item.id)
    client.datasets.delete(ds.id)
    with pytest.raises(NotFoundError):
        client.datasets.get(ds.id)
    with pytest.raises(NotFoundError):
        client.datasets.create_item(ds.id, input={})
    with pytest.raises(UnprocessableEntityError) as err:
        client.datasets.create(name="x", type="table")  # type: ignore[arg-type]
    assert err.value.field == "type"


def test_items_copy_steps_and_generations(client: Client) -> None:
    ds = client.datasets.create(name="golden", type="generation")
    step = client.steps.create(
        thread_id="t-src", type="run", input={"question": "why?"}, output={"answer": "because"}
    )
    generation = client.generations.create(
        model="m",
        messages=[{"role": "user", "content": "hi"}],
        message_completion={"role": "assistant", "content": "hello"},
    )
    from_step = client.datasets.add_step(ds.id, step.id, metadata={"why": "good"})
    assert (from_step.input, from_step.expected_output, from_step.step_id) == (
        {"question": "why?"},
        {"answer": "because"},
        step.id,
    )
    from_gen = client.datasets.add_generation(ds.id, generation.id)
    assert from_gen.input == {"messages": [{"role": "user", "content": "hi"}]}
    assert from_gen.expected_output == {"role": "assistant", "content": "hello"}
    assert from_gen.generation_id == generation.id

    client.threads.delete("t-src")  # the copies outlive their sources
    kept = client.datasets.get(ds.id).items or []
    assert [i.input for i in kept] == [{"question": "why?"}, from_gen.input]

    with pytest.raises(UnprocessableEntityError) as err:
        client.datasets.add_step(ds.id, step.id)
    assert err.value.field == "step_id"
    run = client.steps.create(type="run")
    with pytest.raises(UnprocessableEntityError) as err:
        client.datasets.add_generation(ds.id, run.id)
    assert err.value.field == "generation_id"


def test_experiments_with_scored_items(client: Client) -> None:
    ds = client.datasets.create(name="eval-set")
    item = client.datasets.create_item(ds.id, input={"q": "2+2"}, expected_output={"a": "4"})
    prompt = client.prompts.get_or_create(
        name="math", template_messages=[{"role": "user", "content": "{{q}}"}]
    )
    exp = client.experiments.create(
        name="run-1", dataset_id=ds.id, prompt_id=prompt.id, params={"temperature": 0}
    )
    assert (exp.dataset_id, exp.prompt_id, exp.params, exp.items) == (
        ds.id,
        prompt.id,
        {"temperature": 0},
        [],
    )
    result = client.experiments.add_item(
        exp.id,
        dataset_item_id=item.id,
        input={"q": "2+2"},
        output={"a": "4"},
        scores=[
            {"name": "exact", "value": 1, "type": "CODE"},
            {"name": "judge", "value": 0.5, "type": "AI", "comment": "terse"},
        ],
    )
    assert [(s.name, s.experiment_item_id) for s in result.scores] == [
        ("exact", result.id),
        ("judge", result.id),
    ]
    client.experiments.add_item(exp.id, input={"q": "3+3"}, output={"a": "7"})
    read = client.experiments.get(exp.id)
    assert [len(i.scores) for i in read.items or []] == [2, 0]
    assert read.items and read.items[0].dataset_item_id == item.id
    assert client.scores.list(experiment_item_id=result.id).total_count == 2
    assert [e.id for e in client.experiments.list(dataset_id=ds.id)] == [exp.id]

    bare = client.experiments.create(name="no dataset")
    assert bare.dataset_id is None and bare.params is None
    for kwargs, field in (
        ({"name": "x", "dataset_id": "missing"}, "dataset_id"),
        ({"name": "x", "prompt_id": "missing"}, "prompt_id"),
    ):
        with pytest.raises(UnprocessableEntityError) as err:
            client.experiments.create(**kwargs)  # type: ignore[arg-type]
        assert err.value.field == field
    with pytest.raises(UnprocessableEntityError) as err:
        client.experiments.add_item(exp.id, dataset_item_id="missing")
    assert err.value.field == "dataset_item_id"
    with pytest.raises(UnprocessableEntityError) as err:
        client.experiments.add_item(exp.id, scores=[{"name": "x", "value": 1, "type": "MAYBE"}])
    assert err.value.field == "scores[0].type"

    client.datasets.delete(ds.id)  # its experiments, their items and scores go with it
    with pytest.raises(NotFoundError):
        client.experiments.get(exp.id)
    assert client.scores.list(experiment_item_id=result.id).total_count == 0
    client.experiments.delete(bare.id)
    with pytest.raises(NotFoundError):
        client.experiments.delete(bare.id)


async def test_datasets_are_isolated_between_projects(
    async_client: AsyncClient, server: Server, db: Database
) -> None:
    ds = await async_client.datasets.create(name="shared-name")
    exp = await async_client.experiments.create(name="e", dataset_id=ds.id)
    other = await new_tenant(db)
    async with AsyncClient(server.url, other.api_key) as theirs:
        for call in (
            theirs.datasets.get(ds.id),
            theirs.datasets.get_by_name("shared-name"),
            theirs.experiments.get(exp.id),
            theirs.datasets.delete(ds.id),
        ):
            with pytest.raises(NotFoundError):
                await call
        with pytest.raises(UnprocessableEntityError):
            await theirs.experiments.create(name="e", dataset_id=ds.id)
        theirs_ds = await theirs.datasets.create(name="shared-name")  # names are per project
        await theirs.datasets.delete(theirs_ds.id)
    assert (await async_client.datasets.get_by_name("shared-name")).id == ds.id
    assert (await async_client.experiments.get(exp.id)).dataset_id == ds.id
