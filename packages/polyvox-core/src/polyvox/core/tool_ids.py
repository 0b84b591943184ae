"""Stable ids for tool calls that a provider returns without one (Ollama, Gemini).

LangChain pairs each ``ToolMessage`` with its call by ``tool_call_id``; a provider that
sends no id leaves the pairing to the client. :func:`stable_tool_call_id` makes one that
is the same for the same call at the same point of the same conversation (so retries,
replays and cached answers line up) and differs between turns.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["stable_tool_call_id"]


def stable_tool_call_id(turn: int, index: int, name: str, args: Any) -> str:
    """A stable id for a tool call the provider returned without one.

    Args:
        turn: How many messages preceded the answer.
        index: The call's position in the answer.
        name: The tool's name.
        args: The call's arguments (JSON-able).

    Returns:
        An id like ``call_3f2a...``.
    """
    key = f"{turn}:{index}:{name}:{json.dumps(args, sort_keys=True, default=str)}"
    return "call_" + hashlib.sha256(key.encode()).hexdigest()[:24]
