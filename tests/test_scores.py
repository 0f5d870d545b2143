"""Scores (``client.scores``) through the SDK on a real server, on both databases."""

from __future__ import annotations

import pytest

from tests.conftest import Server, new_tenant
from threadline import AsyncClient, Client, ConflictError, NotFoundError, UnprocessableEntityError
from threadline.storage.database import Database


def _scored_step(client: Client, thread_id: str = "t-scored") -> str:
    client.threads.create(id=thread_id, name="scored")
    return client.steps.create(thread_id=thread_id, type="llm", name="answer").id


def test_create_update_delete_score(client: Client) -> None:
    step_id = _scored_step(client)
    score = client.scores.create(
        name="helpfulness", value=0.8, type="HUMAN", step_id=step_id, comment="good", tags=["qa"]
    )
    assert (score.name, score.value, score.type, score.comment) == (
        "helpfulness",
        0.8,
        "HUMAN",
        "good",
    )
    assert score.step_id == step_id and score.tags == ["qa"]
    assert client.scores.get(score.id) == score

    updated = client.scores.update(score.id, value=0)
    assert updated.value == 0 and updated.comment == "good"  # an absent comment is kept
    assert client.scores.update(score.id, comment=None).comment is None
    assert client.scores.update(score.id, type="AI").type == "AI"

    client.scores.delete(score.id)
    with pytest.raises(NotFoundError):
        client.scores.get(score.id)
    with pytest.raises(NotFoundError):
        client.scores.delete(score.id)


def test_bad_scores_get_clear_422s(client: Client) -> None:
    step_id = _scored_step(client)
    with pytest.raises(UnprocessableEntityError) as err:
        client.scores.create(name="x", value=1, type="GREAT", step_id=step_id)  # type: ignore[arg-type]
    assert err.value.field == "type" and "HUMAN" in err.value.message
    with pytest.raises(UnprocessableEntityError) as err:
        client.scores.create(name="x", value=1, type="AI")
    assert err.value.field == "step_id"
    with pytest.raises(UnprocessableEntityError) as err:
        client.scores.create(name="x", value=1, type="AI", step_id="no-such-step")
    assert err.value.field == "step_id" and "does not exist" in err.value.message
    with pytest.raises(UnprocessableEntityError) as err:
        client.scores.create(name="", value=1, type="AI", step_id=step_id)
    assert err.value.field == "name"
    with pytest.raises(UnprocessableEntityError) as err:
        client.scores.create(name="x", value=1, type="AI", step_id=step_id, generation_id="other")
    assert err.value.field == "generation_id"
    with pytest.raises(UnprocessableEntityError) as err:
        client.scores.update(
            client.scores.create(name="x", value=1, type="AI", step_id=step_id).id, value=None
        )  # type: ignore[arg-type]
    assert err.value.field == "value"


def test_batch_is_all_or_nothing(client: Client) -> None:
    step_id = _scored_step(client)
    made = client.scores.create_many(
        [{"name": f"s{i}", "value": i, "type": "CODE", "step_id": step_id} for i in range(5)]
    )
    assert [s.value for s in made] == [0, 1, 2, 3, 4]
    with pytest.raises(UnprocessableEntityError) as err:
        client.scores.create_many(
            [
                {"name": "ok", "value": 1, "type": "AI", "step_id": step_id},
                {"name": "bad", "value": 1, "type": "AI", "step_id": "missing"},
            ]
        )
    assert err.value.field == "scores[1].step_id"
    assert client.scores.list(step_id=step_id).total_count == 5


def test_batch_upsert_is_idempotent(client: Client) -> None:
    step_id = _scored_step(client)
    batch = [
        {"id": f"s{i}", "name": "q", "value": i, "type": "AI", "step_id": step_id} for i in range(3)
    ]
    first = client.scores.create_many(batch, upsert=True)
    again = client.scores.create_many(batch, upsert=True)  # an ingestion retry
    assert [s.id for s in again] == [s.id for s in first] == ["s0", "s1", "s2"]
    assert client.scores.list(step_id=step_id).total_count == 3
    changed = client.scores.create_many(
        [{**batch[0], "value": 9, "comment": "re-rated"}], upsert=True
    )
    assert (changed[0].value, changed[0].comment) == (9, "re-rated")
    with pytest.raises(ConflictError) as err:  # without upsert, a taken id is a conflict
        client.scores.create_many(batch[:1])
    assert err.value.field == "id"


def test_list_with_filters_and_order(client: Client) -> None:
    step_id = _scored_step(client)
    user = client.threads.create(id="t-other", participant_identifier="carol")
    other_step = client.steps.create(thread_id=user.id, type="run").id
    for i, name in enumerate(["accuracy", "accuracy", "tone"]):
        client.scores.create(name=name, value=i / 2, type="AI", step_id=step_id, tags=[name])
    client.scores.create(name="accuracy", value=0.9, type="HUMAN", step_id=other_step)

    def names(**kw: object) -> list[tuple[str, float]]:
        return [(s.name, s.value) for s in client.scores.list(**kw)]  # type: ignore[arg-type]

    assert names(order_by="value", order="asc") == [
        ("accuracy", 0.0),
        ("accuracy", 0.5),
        ("accuracy", 0.9),
        ("tone", 1.0),
    ]
    assert len(names(filters=[{"field": "name", "operator": "eq", "value": "accuracy"}])) == 3
    assert names(filters=[{"field": "value", "operator": "gte", "value": 0.9}]) == [
        ("accuracy", 0.9),  # newest first
        ("tone", 1.0),
    ]
    assert names(filters=[{"field": "type", "operator": "eq", "value": "HUMAN"}]) == [
        ("accuracy", 0.9)
    ]
    assert names(filters=[{"field": "participant", "operator": "eq", "value": "carol"}]) == [
        ("accuracy", 0.9)
    ]
    assert len(names(filters=[{"field": "tags", "operator": "in", "value": ["tone"]}])) == 1
    assert len(names(filters=[{"field": "threadId", "operator": "eq", "value": "t-scored"}])) == 3
    page = client.scores.list(first=2, order="asc")
    assert len(page.data) == 2 and page.total_count == 4 and len(list(page)) == 4
    with pytest.raises(UnprocessableEntityError) as err:
        client.scores.list(filters=[{"field": "value", "operator": "ilike", "value": "x"}])
    assert err.value.field == "filters[0].operator"


def test_threads_and_steps_expose_their_scores(client: Client) -> None:
    step_id = _scored_step(client)
    second = client.steps.create(thread_id="t-scored", type="run").id
    client.scores.create(name="user-feedback", value=1, type="HUMAN", step_id=step_id)
    client.scores.create(name="latency", value=3, type="CODE", step_id=second)
    thread = client.threads.get("t-scored")
    assert thread.scores is not None and {s.name for s in thread.scores} == {
        "user-feedback",
        "latency",
    }
    by_step = {s.id: [x.name for x in s.scores or []] for s in thread.steps or []}
    assert by_step == {step_id: ["user-feedback"], second: ["latency"]}
    assert [s.name for s in client.steps.get(step_id).scores or []] == ["user-feedback"]
    listed = client.steps.list(thread_id="t-scored")
    assert sorted(len(s.scores or []) for s in listed) == [1, 1]

    client.threads.create(id="t-unrated")
    feedback = {"field": "scoreValue", "operator": "eq", "value": 1, "path": "user-feedback"}
    assert [t.id for t in client.threads.list(filters=[feedback])] == ["t-scored"]
    low = {**feedback, "operator": "lt"}
    assert client.threads.count(filters=[low]) == 0


def test_scores_go_with_their_step_and_thread(client: Client) -> None:
    step_id = _scored_step(client)
    kept = client.steps.create(thread_id="t-scored", type="run").id
    gone = client.scores.create(name="a", value=1, type="AI", step_id=step_id)
    stays = client.scores.create(name="b", value=1, type="AI", step_id=kept)
    client.steps.delete(step_id)
    with pytest.raises(NotFoundError):
        client.scores.get(gone.id)
    assert client.scores.get(stays.id).name == "b"
    client.threads.delete("t-scored")
    with pytest.raises(NotFoundError):
        client.scores.get(stays.id)


async def test_scores_are_isolated_between_projects(
    client: Client, server: Server, db: Database
) -> None:
    step_id = _scored_step(client)
    mine = client.scores.create(name="mine", value=1, type="AI", step_id=step_id)
    other = await new_tenant(db)
    async with AsyncClient(server.url, other.api_key) as theirs:
        with pytest.raises(NotFoundError):
            await theirs.scores.get(mine.id)
        with pytest.raises(NotFoundError):
            await theirs.scores.delete(mine.id)
        with pytest.raises(UnprocessableEntityError):  # my step is not theirs to score
            await theirs.scores.create(name="x", value=1, type="AI", step_id=step_id)
        await theirs.threads.create(id="t-scored")
        their_step = (await theirs.steps.create(thread_id="t-scored")).id
        await theirs.scores.create(name="theirs", value=2, type="AI", step_id=their_step)
        assert (await theirs.scores.list()).total_count == 1
        await theirs.threads.delete("t-scored")  # the same thread id, in their project
    assert [s.name for s in client.scores.list()] == ["mine"]
