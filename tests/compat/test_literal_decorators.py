"""literalai's decorators and context managers (``client.thread``, ``client.step``, ``client.run``,
``client.message``) followed by ``client.flush()``: the thread tree reads back as the app built it.
Everything here travels the SDK's background batching (``AddStep`` documents of ``ingestStep``),
which may deliver steps before their thread's ``upsertThread`` and children before parents.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.compat.test_literal_api import call
from tests.conftest import Server, Tenant


def tree(thread: Any) -> dict[str, tuple[str, str | None]]:
    """step name -> (type, parent step name)."""
    names = {s.id: s.name for s in thread.steps}
    return {s.name: (s.type, names.get(s.parent_id)) for s in thread.steps}


def test_decorators_build_the_thread_tree(literal: Any) -> None:
    client = literal

    @client.step(type="tool", name="lookup")
    def lookup(q: str, k: int = 3) -> list[str]:
        return [q] * k

    @client.step(type="llm", name="answer")
    def answer(docs: list[str]) -> str:
        return f"{len(docs)} docs"

    @client.run(name="agent")
    def agent(question: str) -> str:
        client.message(content=question, type="user_message", name="user")
        return answer(lookup(question, k=2))

    with client.thread(name="Support chat", tags=["support"], metadata={"tier": "pro"}) as thread:
        result = agent("where is my refund?")
        thread_id = thread.id
    client.flush()
    assert result == "2 docs"

    read = client.api.get_thread(thread_id)
    assert (read.name, read.tags, read.metadata) == ("Support chat", ["support"], {"tier": "pro"})
    assert tree(read) == {
        "agent": ("run", None),
        "user": ("user_message", "agent"),
        "lookup": ("tool", "agent"),
        "answer": ("llm", "agent"),
    }
    steps = {s.name: s for s in read.steps}
    assert steps["lookup"].input == {"args": ["where is my refund?"], "kwargs": {"k": 2}} or steps[
        "lookup"
    ].input == {"q": "where is my refund?", "k": 2}
    assert steps["lookup"].output == {"content": ["where is my refund?"] * 2}
    assert steps["agent"].output == {"content": "2 docs"}  # the run's output is persisted
    assert steps["user"].output == {"content": "where is my refund?"}
    assert all(s.start_time and s.end_time for s in read.steps)


def test_step_error_is_recorded(literal: Any) -> None:
    client = literal

    @client.step(type="tool", name="flaky")
    def flaky() -> None:
        raise ValueError("backend down")

    with client.thread(name="errors") as thread, pytest.raises(ValueError):
        flaky()
    client.flush()
    (step,) = client.api.get_thread(thread.id).steps
    assert step.name == "flaky" and step.error == "backend down"


def test_environment_comes_from_x_env(
    server: Server, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.compat.literal import LiteralClient

    monkeypatch.delenv("LITERAL_ENV", raising=False)  # restored after the test
    client = LiteralClient(api_key=tenant.api_key, url=server.url, environment="staging")
    try:
        with client.thread(name="staged") as thread:
            client.message(content="hi", type="user_message")
        client.flush()
        (step,) = client.api.get_thread(thread.id).steps
        assert step.environment == "staging"
        monkeypatch.delenv("LITERAL_ENV")
        made = client.api.create_step(thread_id=thread.id, type="run", name="default env")
        assert client.api.get_step(made.id).environment == "prod"  # the documented default
    finally:
        client.flush_and_stop()


def test_many_messages_are_batched_and_all_persisted(literal: Any) -> None:
    client = literal
    with client.thread(name="batched") as thread:
        for i in range(12):  # 5 + 5 + 2 ingestStep documents
            client.message(content=f"m{i}", type="assistant_message", name=f"m{i}")
    client.flush()
    read = client.api.get_thread(thread.id)
    assert sorted(s.name for s in read.steps) == sorted(f"m{i}" for i in range(12))


async def test_async_client_decorators(aliteral: Any) -> None:
    client = aliteral

    @client.step(type="retrieval", name="fetch")
    async def fetch(q: str) -> dict[str, Any]:
        return {"hits": [q]}

    async with client.thread(name="async chat") as thread:
        hits = await fetch("x")
    await client.flush()
    assert hits == {"hits": ["x"]}
    read = await call(client.api.get_thread, thread.id)
    (step,) = read.steps
    assert (read.name, step.name, step.type, step.output) == (
        "async chat",
        "fetch",
        "retrieval",
        {"hits": ["x"]},
    )


def test_readme_example_runs(server: Server, tenant: Tenant, tmp_path: Path) -> None:
    """The README's Literal AI example, as written, with only the two variables it names set."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (block,) = [
        b
        for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S)
        if "from literalai import" in b
    ]
    script = tmp_path / "literal_example.py"
    script.write_text("import warnings\nwarnings.simplefilter('ignore')\n" + block)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITERAL_")}
    env.update(LITERAL_API_URL=server.url, LITERAL_API_KEY=tenant.api_key)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(ast.literal_eval(done.stdout.strip().splitlines()[-1])) == ["", "lookup"]
