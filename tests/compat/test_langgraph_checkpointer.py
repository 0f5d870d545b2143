"""End to end: a real LangGraph StateGraph (``add_messages``, ``interrupt()``) checkpoints through
ThreadlineSaver into a real server process, is resumed with ``Command(resume=...)``, and
langgraph-sdk reads the same state and history back through the threads API."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, StateSnapshot, interrupt
from langgraph_sdk.client import LangGraphClient, SyncLangGraphClient
from typing_extensions import TypedDict

from tests.conftest import Server, Tenant
from threadline import AsyncClient, Client
from threadline.langgraph import ThreadlineSaver


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    name: str


def greet(state: State) -> dict[str, Any]:
    return {"messages": [AIMessage("Hello! Who are you?", id="greet")]}


def ask(state: State) -> dict[str, Any]:
    name = interrupt({"question": "What is your name?"})
    return {"name": name, "messages": [HumanMessage(name, id="answer")]}


def finish(state: State) -> dict[str, Any]:
    return {"messages": [AIMessage(f"Nice to meet you, {state['name']}.", id="bye")]}


def build(saver: ThreadlineSaver) -> Any:
    graph = StateGraph(State)
    graph.add_node("greet", greet)
    graph.add_node("ask", ask)
    graph.add_node("finish", finish)
    graph.add_edge(START, "greet")
    graph.add_edge("greet", "ask")
    graph.add_edge("ask", "finish")
    graph.add_edge("finish", END)
    return graph.compile(checkpointer=saver)


def dumped(values: dict[str, Any]) -> dict[str, Any]:
    """LangGraph's state values as the threads API shows them (messages as dicts)."""
    return {k: [m.model_dump() for m in v] if k == "messages" else v for k, v in values.items()}


def assert_same_state(sdk: dict[str, Any], local: StateSnapshot) -> None:
    """langgraph-sdk's view of a checkpoint equals LangGraph's own StateSnapshot of it."""
    configurable = local.config["configurable"]
    assert sdk["checkpoint"]["checkpoint_id"] == configurable["checkpoint_id"]
    parent = local.parent_config["configurable"]["checkpoint_id"] if local.parent_config else None
    assert (sdk["parent_checkpoint"] or {}).get("checkpoint_id") == parent
    # a channel that was never written shows in LangGraph's own view with its empty default
    # (the graph knows it, a checkpoint does not): only the input checkpoint's ``messages: []``
    expected = {k: v for k, v in dumped(local.values).items() if v != [] or k in sdk["values"]}
    assert sdk["values"] == expected
    assert sdk["next"] == list(local.next)
    assert [t["id"] for t in sdk["tasks"]] == [t.id for t in local.tasks]
    assert [t["name"] for t in sdk["tasks"]] == [t.name for t in local.tasks]
    assert [[i["value"] for i in t["interrupts"]] for t in sdk["tasks"]] == [
        [i.value for i in t.interrupts] for t in local.tasks
    ]
    for key in ("source", "step", "parents"):
        assert sdk["metadata"][key] == (local.metadata or {})[key]


async def test_graph_with_interrupt_and_resume(
    lg_server: Server, tenant: Tenant, lg: LangGraphClient
) -> None:
    saver = ThreadlineSaver(client=AsyncClient(lg_server.url, tenant.api_key))
    graph = build(saver)
    thread_id = str(uuid.uuid4())
    config = {"configurable": {"thread_id": thread_id}}

    result = await graph.ainvoke({"messages": [HumanMessage("hi", id="hi")]}, config)
    assert result["__interrupt__"][0].value == {"question": "What is your name?"}

    # waiting on interrupt(): the threads API shows what LangGraph itself sees
    local = await graph.aget_state(config)
    assert local.next == ("ask",)
    state = await lg.threads.get_state(thread_id)
    assert_same_state(dict(state), local)
    assert [i["value"] for i in state["interrupts"]] == [{"question": "What is your name?"}]
    assert state["interrupts"][0]["id"] == local.interrupts[0].id
    thread = await lg.threads.get(thread_id)
    assert thread["status"] == "interrupted"
    assert list(thread["interrupts"]) == [local.tasks[0].id]
    assert [m["content"] for m in thread["values"]["messages"]] == ["hi", "Hello! Who are you?"]

    # resume: the graph finishes from the checkpoint it reads back from the server
    result = await graph.ainvoke(Command(resume="Ada"), config)
    assert [m.content for m in result["messages"]] == [
        "hi",
        "Hello! Who are you?",
        "Ada",
        "Nice to meet you, Ada.",
    ]
    assert isinstance(result["messages"][3], AIMessage)

    local = await graph.aget_state(config)
    state = await lg.threads.get_state(thread_id)
    assert_same_state(dict(state), local)
    assert state["next"] == [] and state["interrupts"] == []
    assert state["values"]["name"] == "Ada"
    thread = await lg.threads.get(thread_id)
    assert thread["status"] == "idle"
    assert thread["interrupts"] == {}

    # history, newest first: every checkpoint of the run, each as LangGraph sees it
    history = await lg.threads.get_history(thread_id, limit=50)
    local_history = [s async for s in graph.aget_state_history(config)]
    assert len(history) == len(local_history) == 5  # input, then after __start__ and each node
    for sdk_state, local_state in zip(history, local_history, strict=True):
        assert_same_state(dict(sdk_state), local_state)
    assert [h["metadata"]["source"] for h in history] == ["loop"] * 4 + ["input"]
    # the interrupted checkpoint keeps its interrupt in history
    asked = next(h for h in history if h["next"] == ["ask"])
    assert asked["tasks"][0]["interrupts"][0]["value"] == {"question": "What is your name?"}
    await saver.aclose()


def test_sync_graph_reads_back_through_the_sdk(
    lg_server: Server, tenant: Tenant, lg_sync: SyncLangGraphClient
) -> None:
    """The same flow with ``invoke`` (the saver's sync methods) and a ``threadline.Client``."""
    with Client(lg_server.url, tenant.api_key) as client:
        saver = ThreadlineSaver(client=client)
        graph = build(saver)
        thread_id = str(uuid.uuid4())
        config = {"configurable": {"thread_id": thread_id}}
        graph.invoke({"messages": [("user", "hi")]}, config)
        assert lg_sync.threads.get(thread_id)["status"] == "interrupted"
        graph.invoke(Command(resume="Bo"), config)
        state = lg_sync.threads.get_state(thread_id)
        assert_same_state(dict(state), graph.get_state(config))
        assert state["values"]["messages"][-1]["content"] == "Nice to meet you, Bo."
        assert state["values"]["messages"][-1]["type"] == "ai"
        history = lg_sync.threads.get_history(thread_id, limit=50)
        local_history = list(graph.get_state_history(config))
        assert [h["checkpoint"]["checkpoint_id"] for h in history] == [
            s.config["configurable"]["checkpoint_id"] for s in local_history
        ]
        assert lg_sync.threads.get(thread_id)["status"] == "idle"
        # and the native SDK reads the same thread
        assert client.threads.state(thread_id).values["name"] == "Bo"
