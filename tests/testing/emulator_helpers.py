"""Helpers for the emulator tests: SSE parsing and request bodies."""

from __future__ import annotations

import json
from typing import Any


def sse_events(body: str) -> list[str]:
    """Split an SSE body into its ``data:`` payloads (comment lines dropped)."""
    assert body.endswith("\n\n"), "every SSE event ends with a blank line"
    events = []
    for block in body.split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if lines:
            assert all(line.startswith("data: ") for line in lines), block
            events.append("\n".join(line[len("data: ") :] for line in lines))
    return events


def sse_chunks(body: str) -> list[dict[str, Any]]:
    """The JSON chunks of an OpenAI SSE body, checking it ends with ``[DONE]``."""
    events = sse_events(body)
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


def chat_body(text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": text}], **extra}
