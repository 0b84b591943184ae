"""LangChain messages → Ollama's native ``/api/chat`` messages (``to_ollama_messages``)."""

from __future__ import annotations

import base64
from typing import Any

import ollama
import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
)

from polyvox.ollama import ChatOllama
from polyvox.ollama.messages import to_ollama_messages
from polyvox.testing import Emulator
from tests.conftest import recorded, recorded_names

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n not really a picture").decode()
DATA_URL = f"data:image/png;base64,{PNG}"


def _call(name: str, args: dict[str, Any], call_id: str | None) -> ToolCall:
    return ToolCall(name=name, args=args, id=call_id, type="tool_call")


def _one(message: BaseMessage) -> dict[str, Any]:
    [converted] = to_ollama_messages([message])
    return converted


def _sdk_accepts(messages: list[dict[str, Any]]) -> None:
    """The SDK's ``Message`` takes each message and writes it back unchanged.

    ``client.chat`` validates dict messages into ``Message`` (images wrapped as ``Image``,
    empty fields left out) and sends what they serialise to.
    """
    for message in messages:
        given = {key: value for key, value in message.items() if value}
        if "images" in given:
            given["images"] = [ollama.Image(value=image) for image in given["images"]]
        sdk_message = ollama.Message.model_validate(given)
        sent = sdk_message.model_dump(exclude_none=True)
        assert sent == {key: value for key, value in message.items() if value}


# ---- each kind of message -------------------------------------------------------------------


def test_system_human_and_ai_text() -> None:
    converted = to_ollama_messages(
        [SystemMessage("Be brief."), HumanMessage("Hi", name="ola"), AIMessage("Hello!")]
    )
    assert converted == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
    ]
    _sdk_accepts(converted)


def test_chat_messages_keep_their_role_and_developer_is_system() -> None:
    converted = to_ollama_messages(
        [ChatMessage(role="developer", content="rules"), ChatMessage(role="user", content="q")]
    )
    assert converted == [
        {"role": "system", "content": "rules"},
        {"role": "user", "content": "q"},
    ]


def test_chunks_convert_like_their_messages() -> None:
    assert _one(AIMessageChunk(content="part")) == {"role": "assistant", "content": "part"}


def test_tool_calls_keep_their_arguments_as_objects() -> None:
    args = {"city": "Łódź", "days": [1, 2], "units": {"temp": "C", "wind": None}}
    converted = _one(AIMessage("", tool_calls=[_call("weather", args, "c1")]))
    assert converted == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"function": {"name": "weather", "arguments": args}}],
    }
    sent = converted["tool_calls"][0]["function"]["arguments"]
    assert isinstance(sent, dict)
    assert sent is not args, "a copy: the request never aliases the message's arguments"
    _sdk_accepts([converted])


def test_tool_calls_beside_text_and_without_arguments() -> None:
    converted = _one(AIMessage("Let me look.", tool_calls=[_call("now", {}, "c1")]))
    assert converted == {
        "role": "assistant",
        "content": "Let me look.",
        "tool_calls": [{"function": {"name": "now", "arguments": {}}}],
    }


def test_tool_results_are_named_by_their_call_or_their_own_name() -> None:
    converted = to_ollama_messages(
        [
            AIMessage("", tool_calls=[_call("add", {"a": 2}, "c1"), _call("mul", {"a": 3}, "c2")]),
            ToolMessage("4", tool_call_id="c1"),
            ToolMessage("9", tool_call_id="c2", name="multiply_tool"),
            ToolMessage("?", tool_call_id="unknown"),
        ]
    )
    assert converted[1:] == [
        {"role": "tool", "content": "4", "tool_name": "add"},
        {"role": "tool", "content": "9", "tool_name": "multiply_tool"},
        {"role": "tool", "content": "?"},
    ]
    _sdk_accepts(converted)


def test_reasoning_is_not_sent_back() -> None:
    message = AIMessage(
        [{"type": "reasoning", "reasoning": "2 + 2..."}, {"type": "text", "text": "4"}],
        additional_kwargs={"reasoning_content": "2 + 2..."},
    )
    assert _one(message) == {"role": "assistant", "content": "4"}


def test_anthropic_and_responses_tool_blocks_become_calls_once() -> None:
    anthropic = AIMessage(
        [
            {"type": "thinking", "thinking": "use add"},
            {"type": "tool_use", "id": "t1", "name": "add", "input": {"a": 1}},
            {"type": "tool_use", "id": "t2", "name": "mul", "input": {"a": 2}},
        ],
        tool_calls=[_call("add", {"a": 1}, "t1")],
    )
    responses = AIMessage(
        [{"type": "function_call", "call_id": "f1", "name": "neg", "arguments": '{"a": 5}'}]
    )
    converted = to_ollama_messages([anthropic, responses, ToolMessage("-5", tool_call_id="f1")])
    assert [c["function"] for c in converted[0]["tool_calls"]] == [
        {"name": "add", "arguments": {"a": 1}},
        {"name": "mul", "arguments": {"a": 2}},
    ]
    assert converted[1]["tool_calls"] == [{"function": {"name": "neg", "arguments": {"a": 5}}}]
    assert converted[2] == {"role": "tool", "content": "-5", "tool_name": "neg"}


def test_anthropic_tool_results_become_tool_messages_first() -> None:
    converted = to_ollama_messages(
        [
            AIMessage("", tool_calls=[_call("add", {"a": 1}, "t1"), _call("mul", {"a": 2}, "t2")]),
            HumanMessage(
                [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "2"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "t2",
                        "content": [{"type": "text", "text": "4"}],
                    },
                    {"type": "text", "text": "and now?"},
                ]
            ),
            HumanMessage([{"type": "tool_result", "tool_use_id": "t1", "content": "again"}]),
        ]
    )
    assert converted[1:] == [
        {"role": "tool", "content": "2", "tool_name": "add"},
        {"role": "tool", "content": "4", "tool_name": "mul"},
        {"role": "user", "content": "and now?"},
        {"role": "tool", "content": "again", "tool_name": "add"},
    ]


# ---- content: empty, lists, images ----------------------------------------------------------


@pytest.mark.parametrize("content", ["", []])
def test_empty_content_is_an_empty_string(content: Any) -> None:
    assert _one(HumanMessage(content)) == {"role": "user", "content": ""}


def test_none_content_is_an_empty_string() -> None:
    message = AIMessage.model_construct(content=None, tool_calls=[_call("now", {}, "c1")])
    assert _one(message)["content"] == ""


def test_text_parts_are_joined_by_newlines() -> None:
    message = HumanMessage(
        [
            "first",
            {"type": "text", "text": "second"},
            {"type": "json", "json": {"k": [1, 2]}},
            {"guard_content": {"text": {"text": "guarded"}}},
        ]
    )
    assert _one(message) == {"role": "user", "content": 'first\nsecond\n{"k": [1, 2]}\nguarded'}


@pytest.mark.parametrize(
    "block",
    [
        {"type": "image", "base64": PNG, "mime_type": "image/png"},
        {"type": "image", "url": DATA_URL},
        {"type": "image", "source_type": "base64", "data": PNG, "mime_type": "image/png"},
        {"type": "image_url", "image_url": {"url": DATA_URL}},
        {"type": "image_url", "image_url": DATA_URL},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"image": {"format": "png", "source": {"bytes": base64.b64decode(PNG)}}},
        {"type": "media", "mime_type": "image/png", "data": base64.b64decode(PNG)},
    ],
    ids=[
        "v1-base64",
        "v1-data-url",
        "v0-base64",
        "openai",
        "openai-str",
        "anthropic",
        "bedrock",
        "vertex",
    ],
)
def test_images_go_beside_the_text_as_base64(block: dict[str, Any]) -> None:
    converted = _one(HumanMessage([{"type": "text", "text": "What is this?"}, block]))
    assert converted == {"role": "user", "content": "What is this?", "images": [PNG]}
    _sdk_accepts([converted])


def test_several_images_keep_their_order_and_tool_results_may_carry_them() -> None:
    other = base64.b64encode(b"GIF89a").decode()
    converted = to_ollama_messages(
        [
            HumanMessage(
                [
                    {"type": "image", "base64": PNG, "mime_type": "image/png"},
                    "compare",
                    {"type": "image", "base64": other, "mime_type": "image/gif"},
                ]
            ),
            ToolMessage(
                [{"type": "text", "text": "shot"}, {"type": "image_url", "image_url": DATA_URL}],
                tool_call_id="c9",
                name="screenshot",
            ),
        ]
    )
    assert converted == [
        {"role": "user", "content": "compare", "images": [PNG, other]},
        {"role": "tool", "content": "shot", "images": [PNG], "tool_name": "screenshot"},
    ]


# ---- what Ollama cannot take ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "match"),
    [
        ({"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}, "not URLs"),
        ({"type": "image", "url": "https://example.com/a.png"}, "not URLs"),
        ({"type": "image", "source": {"type": "url", "url": "https://x/a.png"}}, "not URLs"),
        ({"type": "image", "file_id": "file-1"}, "file's id"),
        ({"type": "image_url", "image_url": {"url": "data:image/png;base64"}}, "not a data URL"),
        ({"type": "file", "base64": PNG, "mime_type": "application/pdf"}, "'file' content part"),
        ({"type": "audio", "base64": PNG, "mime_type": "audio/wav"}, "'audio' content part"),
        ({"type": "input_audio", "input_audio": {"data": PNG, "format": "wav"}}, "input_audio"),
        ({"type": "video", "base64": PNG, "mime_type": "video/mp4"}, "'video' content part"),
        ({"type": "media", "mime_type": "application/pdf", "data": b"%PDF"}, "application/pdf"),
        ({"type": "citation", "url": "https://x"}, "'citation' content part"),
        ({"text": "no type"}, "without a type"),
        ({"type": "text"}, "without its text"),
    ],
)
def test_content_ollama_cannot_take_is_refused(block: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        to_ollama_messages([HumanMessage(["look:", block])])


# ---- against the wire and the recordings ----------------------------------------------------


def test_an_image_reaches_the_server_as_base64(emulator: Emulator, ollama_chat: ChatOllama) -> None:
    ollama_chat.invoke(
        [
            HumanMessage(
                [{"type": "text", "text": "describe"}, {"type": "image_url", "image_url": DATA_URL}]
            )
        ]
    )
    chats = [r for r in emulator.requests if r.path == "/api/chat"]
    body = chats[-1].json
    assert isinstance(body, dict)
    assert body["messages"] == [{"role": "user", "content": "describe", "images": [PNG]}]


@pytest.mark.parametrize("name", recorded_names("ollama__"))
def test_recorded_conversations_keep_their_roles_and_texts(name: str) -> None:
    """The recordings are of Ollama's /v1 endpoint: their messages, sent natively instead."""
    sent = recorded(name)["request"]["json"]["messages"]
    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    messages = [kinds[m["role"]](m["content"]) for m in sent]
    converted = to_ollama_messages(messages)
    assert converted == [{"role": m["role"], "content": m["content"]} for m in sent]
    _sdk_accepts(converted)
