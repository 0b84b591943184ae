"""The shared OpenAI-format parsers on tool calls that servers really send oddly."""

from __future__ import annotations

from typing import Any

import pytest

from polyvox.core.openai_format import chunk_from_openai_delta, parse_openai_tool_calls


def _call(function: Any, **extra: Any) -> dict[str, Any]:
    return {"id": "call_1", "type": "function", "function": function, **extra}


@pytest.mark.parametrize(
    "function",
    [
        {"name": "f"},
        {"name": "f", "arguments": None},
        {"name": "f", "arguments": ""},
        {"name": "f", "arguments": "  "},
        {"name": "f", "arguments": "null"},
        {"name": "f", "arguments": "{}"},
        {"name": "f", "arguments": {}},
    ],
)
def test_no_arguments_means_empty_args(function: dict[str, Any]) -> None:
    calls, invalid = parse_openai_tool_calls([_call(function)])
    assert calls == [{"name": "f", "args": {}, "id": "call_1", "type": "tool_call"}]
    assert invalid == []


def test_object_arguments_are_taken_as_they_are() -> None:
    calls, _ = parse_openai_tool_calls([_call({"name": "f", "arguments": {"a": [1, 2]}})])
    assert calls[0]["args"] == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("function", "error"),
    [
        ({"name": "f", "arguments": '{"a": '}, "not valid JSON"),
        ({"name": "f", "arguments": "[1, 2]"}, "not an object"),
        ({"name": "f", "arguments": "3"}, "not an object"),
        ({"arguments": '{"a": 1}'}, "no function name"),
        ({"name": None, "arguments": '{"a": 1}'}, "no function name"),
    ],
)
def test_unusable_calls_become_invalid_tool_calls(function: dict[str, Any], error: str) -> None:
    calls, invalid = parse_openai_tool_calls([_call(function)])
    assert calls == []
    assert len(invalid) == 1
    assert invalid[0]["id"] == "call_1"
    assert error in str(invalid[0]["error"])


def test_entries_that_are_not_function_calls_are_skipped() -> None:
    raw: list[Any] = [None, "x", {"id": "c"}, _call(None), _call({"name": "f"})]
    calls, invalid = parse_openai_tool_calls(raw)
    assert [c["name"] for c in calls] == ["f"]
    assert invalid == []


def test_delta_skips_null_tool_call_fragments() -> None:
    chunk = chunk_from_openai_delta(
        {"tool_calls": [None, {"index": 0, "id": "c", "function": None}]}, chunk_id="x"
    )
    assert [(c["id"], c["name"], c["args"]) for c in chunk.tool_call_chunks] == [("c", None, None)]
