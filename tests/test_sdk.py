"""SDK behaviour that does not depend on the database: parity, configuration, errors."""

from __future__ import annotations

import inspect

import pytest

from tests.conftest import free_port
from threadline import APIConnectionError, AsyncClient, Client, ThreadlineError
from threadline.client import _async, _sync

RESOURCES = ("threads", "steps", "users", "keys")


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_")
    }


def test_sync_and_async_clients_have_the_same_methods() -> None:
    compared = 0
    pairs = [(_sync.Client, _async.AsyncClient)] + [
        (getattr(_sync, name), getattr(_async, name))
        for name in (
            "Threads",
            "Steps",
            "Users",
            "Keys",
            "Scores",
            "Attachments",
            "Generations",
            "Datasets",
            "Experiments",
            "Prompts",
            "Checkpoints",
        )
    ]
    for sync_cls, async_cls in pairs:
        sync_methods, async_methods = _public(sync_cls), _public(async_cls)
        assert set(sync_methods) == set(async_methods), sync_cls
        for name, sig in sync_methods.items():
            other = async_methods[name]
            assert list(sig.parameters) == list(other.parameters), (sync_cls, name)
            for param, value in sig.parameters.items():
                assert value.default == other.parameters[param].default, (sync_cls, name, param)
                assert value.kind == other.parameters[param].kind
            if name not in ("close",):
                compared += 1
    assert compared > 25


def test_missing_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("THREADLINE_API_KEY", raising=False)
    with pytest.raises(ThreadlineError, match="THREADLINE_API_KEY"):
        Client("http://127.0.0.1:1")


def test_environment_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_URL", "http://example.invalid:9/")
    monkeypatch.setenv("THREADLINE_API_KEY", "k" * 20)
    with Client() as client:
        assert client.base_url == "http://example.invalid:9"
    assert Client("http://other:1", "x" * 20).base_url == "http://other:1"


def test_unreachable_server_is_a_connection_error() -> None:
    port = free_port()
    with (
        Client(f"http://127.0.0.1:{port}", "k" * 20, max_retries=1) as client,
        pytest.raises(APIConnectionError),
    ):
        client.threads.list()


async def test_unreachable_server_async() -> None:
    port = free_port()
    async with AsyncClient(f"http://127.0.0.1:{port}", "k" * 20, max_retries=0) as client:
        with pytest.raises(APIConnectionError):
            await client.threads.count()
