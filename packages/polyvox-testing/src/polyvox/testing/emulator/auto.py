"""The default "auto" behaviour: a deterministic model that does what a test expects.

* With tools on offer (and ``tool_choice`` not ``none``) and a conversation that does not
  end with a tool result, it calls a tool: the forced one, else the tools the prompt names
  (several if parallel calls are allowed), else the first. Arguments come from the tool's
  JSON Schema, filled with the prompt's numbers and quoted strings where they fit.
* After a tool result it answers with text that quotes the result.
* With ``json_schema`` output it answers JSON that satisfies the schema; with
  ``json_object`` a JSON object whose keys are the quoted words of the prompt.
* Otherwise it echoes: ``"You said: <last user message>"``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from polyvox.testing.emulator.conversation import ChatRequest, ToolSpec
from polyvox.testing.emulator.replies import Reply, ToolCall
from polyvox.testing.emulator.schema_values import Hints, generate_value

__all__ = ["auto_reply", "echo_text"]

_KEY = re.compile(r"['\"`\u201c\u2018]([A-Za-z_][A-Za-z0-9_]{0,63})['\"`\u201d\u2019]")


def auto_reply(request: ChatRequest) -> Reply:
    """Answer a request the way the auto behaviour does.

    Args:
        request: The protocol-neutral request.

    Returns:
        The reply (never raw).
    """
    results = request.trailing_tool_results
    if request.tools and request.tool_choice != "none" and not results:
        return Reply(tool_calls=tuple(_tool_calls(request)))
    if request.response_format == "json_schema" and request.response_schema is not None:
        value = generate_value(request.response_schema, Hints(request.last_user_text))
        return Reply(content=json.dumps(value, ensure_ascii=False))
    if request.response_format == "json_object":
        return Reply(content=json.dumps(_json_object(request), ensure_ascii=False))
    if results:
        joined = "; ".join(r.text.strip() for r in results if r.text.strip()) or "no output"
        return Reply(content=f"The tool returned: {joined}")
    return Reply(content=echo_text(request.last_user_text))


def echo_text(text: str) -> str:
    """Return the echo answer for a user message.

    Args:
        text: The user's text.

    Returns:
        ``"You said: <text>"``, or a fixed sentence when the text is blank.
    """
    stripped = text.strip()
    return f"You said: {stripped}" if stripped else "You said nothing."


def _tool_calls(request: ChatRequest) -> list[ToolCall]:
    by_name = {tool.name: tool for tool in request.tools}
    hints = Hints(request.last_user_text)
    if request.forced_tool is not None and request.forced_tool in by_name:
        chosen = [by_name[request.forced_tool]]
    else:
        chosen = _mentioned(request.tools, hints) or [request.tools[0]]
        if not request.parallel_tool_calls:
            chosen = chosen[:1]
    return [ToolCall(name=t.name, args=_arguments(t, hints)) for t in chosen]


def _mentioned(tools: Sequence[ToolSpec], hints: Hints) -> list[ToolSpec]:
    found = [(hints.text.lower().find(t.name.lower()), t) for t in tools if hints.mentions(t.name)]
    return [tool for _, tool in sorted(found, key=lambda pair: pair[0])]


def _arguments(tool: ToolSpec, hints: Hints) -> dict[str, object]:
    schema = tool.parameters or {"type": "object", "properties": {}}
    value = generate_value(schema, hints)
    return value if isinstance(value, dict) else {}


def _json_object(request: ChatRequest) -> dict[str, object]:
    texts = [m.text for m in request.messages if m.role == "system"]
    texts.append(request.last_user_text)
    keys = list(dict.fromkeys(k for text in texts for k in _KEY.findall(text)))
    echo = echo_text(request.last_user_text)
    if not keys:
        return {"response": echo}
    return {key: f"{key}: {echo}" for key in keys}
