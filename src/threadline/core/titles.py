"""Thread titles: from any OpenAI-compatible chat endpoint, or from the first user message.

``THREADLINE_LLM_URL`` (a base URL such as ``https://api.openai.com/v1``, or the full
``.../chat/completions`` URL), ``THREADLINE_LLM_API_KEY`` and ``THREADLINE_LLM_MODEL`` configure
the endpoint. Without a URL the title is the first user message cut to 50 characters (plus
"..."), exactly what the SDK's ``Thread.generate_title()`` computes locally.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from threadline.client.thread import fallback_title
from threadline.core.errors import DomainError
from threadline.settings import Settings
from threadline.storage.messages import TYPE_ROLES

MAX_MESSAGES = 20
MAX_CHARS = 1000
MAX_TITLE = 200
TIMEOUT = 30.0
PROMPT = (
    "Write a short, descriptive title (at most 8 words) for the conversation below. "
    "Reply with the title only: no quotes, no trailing punctuation."
)


class UpstreamError(DomainError):
    """The configured LLM endpoint failed or answered with something unusable."""

    status = 502
    type = "upstream_error"


def _content(output: Any) -> Any:
    if isinstance(output, dict):
        return output.get("content")
    return output


def conversation(steps: Sequence[dict[str, Any]]) -> list[tuple[str, Any]]:
    """(role, content) of a thread's messages in Tyler order: system first, then by sequence."""
    messages = []
    for step in steps:
        role = TYPE_ROLES.get(step["type"])
        if role is None:
            continue
        if role == "tool" and not (
            isinstance(step.get("output"), dict) and step["output"].get("tool_call_id")
        ):
            continue
        messages.append(step)
    messages.sort(
        key=lambda s: (
            s["type"] != "system_message",
            s.get("sequence") is None,
            s.get("sequence") or 0,
        )
    )
    return [(TYPE_ROLES[s["type"]], _content(s.get("output"))) for s in messages]


def chat_url(base: str) -> str:
    url = base.rstrip("/")
    return url if url.endswith("/chat/completions") else url + "/chat/completions"


def _clean(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    title = lines[0] if lines else ""
    title = title.strip().strip("\"'`*").strip()
    if title.lower().startswith("title:"):
        title = title[6:].strip().strip("\"'`*").strip()
    return title[:MAX_TITLE]


async def llm_title(conversation: Sequence[tuple[str, Any]], settings: Settings) -> str:
    assert settings.llm_url
    transcript = "\n".join(
        f"{role}: {content[:MAX_CHARS]}"
        for role, content in conversation[:MAX_MESSAGES]
        if role != "system" and isinstance(content, str) and content
    )
    body = {
        "model": settings.llm_model,
        "messages": [
            {"role": "system", "content": PROMPT},
            {"role": "user", "content": transcript or "(empty conversation)"},
        ],
        "temperature": 0.2,
        "max_tokens": 40,
    }
    headers = {"authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
    url = chat_url(settings.llm_url)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            response = await http.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise UpstreamError(f"the title model at {url} could not be reached: {exc}") from None
    if response.status_code >= 400:
        raise UpstreamError(
            f"the title model at {url} answered {response.status_code}: {response.text[:300]}"
        )
    try:
        text = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise UpstreamError(f"the title model at {url} sent no chat completion") from None
    title = _clean(text) if isinstance(text, str) else ""
    if not title:
        raise UpstreamError(f"the title model at {url} sent an empty title")
    return title


async def make_title(
    conversation: Sequence[tuple[str, Any]], settings: Settings
) -> tuple[str, str]:
    """The title and how it was made: ``llm``, ``first_message`` or ``none`` (nothing to use:
    the title is then "Empty Thread" or "Untitled Thread" and is not stored)."""
    if not conversation:
        return "Empty Thread", "none"
    if settings.llm_url:
        return await llm_title(conversation, settings), "llm"
    title = fallback_title(content for role, content in conversation if role == "user")
    if title is None:
        return "Untitled Thread", "none"
    return title, "first_message"
