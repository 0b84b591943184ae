"""Every parser against GigaChat's genuine responses (``shared/fixtures/recorded``).

The v1 recordings (what polyvox calls) are replayed byte for byte by the emulator to
``GigaChat`` through the real SDK, the OAuth exchange included, with exact assertions on what
polyvox reads from them. The v2 recordings (``/api/v2/chat/completions``, the SDK's
``chat.create``) are fed to the same parsers, which read both shapes. Every body is also read
with its fields missing or ``null``.
"""

from __future__ import annotations

import json
from typing import Any

import gigachat.exceptions
import pytest
from langchain_core.exceptions import ModelNotFoundError
from langchain_core.messages import AIMessageChunk, HumanMessage
from pydantic import BaseModel

from polyvox.gigachat import GigaChat, GigaChatEmbeddings, GigaChatNotFoundError
from polyvox.gigachat.responses import StreamReader, message_from_gigachat, usage_from_gigachat
from polyvox.testing import Emulator
from polyvox.testing.emulator.gigachat_protocol import tokens_for
from tests.conftest import recorded, recorded_names
from tests.gigachat.conftest import connection, replay


def _body(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(recorded(name)["response"]["body"])
    return data


def _events(name: str) -> list[dict[str, Any]]:
    body = recorded(name)["response"]["body"]
    return [
        json.loads(line[5:])
        for line in body.splitlines()
        if line.startswith("data:") and line[5:].strip() != "[DONE]"
    ]


def test_every_gigachat_recording_is_covered() -> None:
    assert set(recorded_names("gigachat__")) == {
        "gigachat__chat_basic", "gigachat__chat_json_schema", "gigachat__embeddings",
        "gigachat__error_404_no_such_model", "gigachat__models_list", "gigachat__oauth_token",
        "gigachat__stream", "gigachat__tokens_count", "gigachat__v2_chat_basic",
        "gigachat__v2_code_interpreter_cached_tokens", "gigachat__v2_function_call",
        "gigachat__v2_stream",
    }  # fmt: skip


def test_oauth_token_is_used_until_it_expires(emulator: Emulator) -> None:
    rec = recorded("gigachat__oauth_token")
    tokens_for(emulator.state).replay(rec["response"]["body"])
    chat = GigaChat(model="GigaChat", max_retries=0, **connection(emulator))
    chat.invoke("hello")
    chat.invoke("again")
    oauth = [r for r in emulator.requests if r.path == "/api/v2/oauth"]
    assert len(oauth) == 1
    assert oauth[0].body == b"scope=GIGACHAT_API_PERS"
    assert oauth[0].headers["authorization"].startswith("Basic ")
    assert len(oauth[0].headers["rquid"]) == 36
    calls = [r for r in emulator.requests if r.path == "/api/v1/chat/completions"]
    assert [r.headers["authorization"] for r in calls] == ["Bearer REDACTED"] * 2
    token = chat.client._store.token
    assert token is not None
    assert (token.access_token, token.expires_at) == ("REDACTED", 4102444800000)


def test_chat_basic(chat: GigaChat, emulator: Emulator) -> None:
    replay(emulator, "gigachat__chat_basic")
    answer = chat.invoke("Say 'Hello' and nothing else")
    assert answer.content == "Hello."
    assert answer.usage_metadata == {
        "input_tokens": 17, "output_tokens": 3, "total_tokens": 20,
        "input_token_details": {"cache_read": 2},
    }  # fmt: skip
    meta = answer.response_metadata
    assert meta["model_name"] == "GigaChat:2.0.28.2"
    assert (meta["model_provider"], meta["finish_reason"], meta["blocked"]) == (
        "gigachat", "stop", False,
    )  # fmt: skip
    assert meta["created"] == 1768996171
    assert answer.tool_calls == []


def test_chat_json_schema(chat: GigaChat, emulator: Emulator) -> None:
    class Answer(BaseModel):
        answer: str
        n: int

    replay(emulator, "gigachat__chat_json_schema")
    parsed = chat.with_structured_output(Answer, method="json_schema").invoke("Return it")
    assert parsed == Answer(answer="ok", n=3)
    sent = emulator.requests[-1].json
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["schema"]["required"] == ["answer", "n"]


def test_stream(chat: GigaChat, emulator: Emulator) -> None:
    replay(emulator, "gigachat__stream")
    full: AIMessageChunk | None = None
    for chunk in chat.stream("Count from 1 to 3"):
        full = chunk if full is None else full + chunk
    assert full is not None
    assert full.content == (
        "$1\\, 2\\, 3$  \n\n**Подробный разбор:**\n- Начинаем счёт с единицы."  # noqa: RUF001
        "\n- Добавляем следующее число — двойку.\n- Заканчиваем счётом числом три."
    )
    assert full.usage_metadata == {
        "input_tokens": 17, "output_tokens": 42, "total_tokens": 59,
        "input_token_details": {"cache_read": 2},
    }  # fmt: skip
    assert full.response_metadata["finish_reason"] == "stop"
    assert full.response_metadata["model_name"] == "GigaChat:2.0.28.2"


async def test_astream(chat: GigaChat, emulator: Emulator) -> None:
    replay(emulator, "gigachat__stream")
    parts = [chunk.content async for chunk in chat.astream("Count from 1 to 3")]
    assert "".join(str(p) for p in parts).endswith("числом три.")


def test_error_404(chat: GigaChat, emulator: Emulator) -> None:
    replay(emulator, "gigachat__error_404_no_such_model")
    with pytest.raises(GigaChatNotFoundError) as caught:
        chat.invoke("Hello")
    error = caught.value
    assert isinstance(error, gigachat.exceptions.NotFoundError)
    assert isinstance(error, ModelNotFoundError)
    assert error.status_code == 404
    assert "GigaChat answered 404" in str(error)
    assert "No such model" in str(error)


def test_models_list(chat: GigaChat, emulator: Emulator) -> None:
    replay(emulator, "gigachat__models_list")
    ids = [m.id_ for m in chat.get_models().data]
    assert ids[:4] == ["GigaChat", "GigaChat-2", "GigaChat-2-Max", "GigaChat-2-Max-preview"]
    assert "EmbeddingsGigaR" in ids


def test_tokens_count(chat: GigaChat, emulator: Emulator) -> None:
    replay(emulator, "gigachat__tokens_count")
    counts = chat.tokens_count(["First text", "Second text"])
    assert [(c.tokens, c.characters) for c in counts] == [(2, 10), (2, 11)]


def test_embeddings(emulator: Emulator) -> None:
    replay(emulator, "gigachat__embeddings")
    embeddings = GigaChatEmbeddings(**connection(emulator))
    vector = embeddings.embed_query("Hello, world!")
    expected = _body("gigachat__embeddings")["data"][0]["embedding"]
    assert vector == expected
    assert vector[0] == 0.53857421875


def test_v2_chat_basic() -> None:
    message = message_from_gigachat(_body("gigachat__v2_chat_basic"), model="m", turn=1)
    assert message.content == "Hello"
    assert message.usage_metadata == {
        "input_tokens": 19, "output_tokens": 2, "total_tokens": 21,
        "input_token_details": {"cache_read": 0},
    }  # fmt: skip
    assert message.response_metadata["model_name"] == "GigaChat-3-Ultra:32.3.18.5"
    assert message.response_metadata["finish_reason"] == "stop"


def test_v2_cached_tokens() -> None:
    data = _body("gigachat__v2_code_interpreter_cached_tokens")
    message = message_from_gigachat(data, model="m", turn=1)
    assert message.content == "The sum of the first 20 prime numbers is 639."
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_token_details"] == {"cache_read": 3710}
    assert message.additional_kwargs["functions_state_id"] == "019e8374-4195-79f1-98ec-55a4de3ab317"


def test_v2_function_call() -> None:
    message = message_from_gigachat(_body("gigachat__v2_function_call"), model="m", turn=1)
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("get_order_status", {"order_id": "A-1024"})
    ]
    assert (
        message.tool_calls[0]["id"]
        == message_from_gigachat(_body("gigachat__v2_function_call"), model="m", turn=1).tool_calls[
            0
        ]["id"]
    )  # stable: the same call at the same turn gets the same id
    assert message.response_metadata["finish_reason"] == "function_call"


def test_v2_stream() -> None:
    reader = StreamReader(model="m", turn=1, where="here")
    chunks = [c.message for event in _events("gigachat__v2_stream") for c in reader.feed(event)]
    reader.finish()
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    assert full.content == "1, 2, 3"
    assert isinstance(full, AIMessageChunk)
    assert full.usage_metadata is not None
    assert full.usage_metadata["total_tokens"] == 27


# ---- missing and null fields ----------------------------------------------------------

_V1 = ("choices", "usage", "model", "created", "object")
_V2 = ("messages", "usage", "model", "created_at", "finish_reason")
_DROPS = [(name, drop) for name in ("gigachat__chat_basic", "gigachat__chat_json_schema")
          for drop in _V1] + [(name, drop) for name in ("gigachat__v2_chat_basic",
                                                       "gigachat__v2_function_call")
                              for drop in _V2]  # fmt: skip


@pytest.mark.parametrize(("name", "drop"), _DROPS)
@pytest.mark.parametrize("how", ["missing", "null"])
def test_missing_or_null_fields_are_read_as_absent(name: str, drop: str, how: str) -> None:
    data = _body(name)
    assert drop in data
    if how == "missing":
        del data[drop]
    else:
        data[drop] = None
    message = message_from_gigachat(data, model="asked", turn=1)
    meta = message.response_metadata
    assert meta["model_provider"] == "gigachat"
    if drop == "model":
        assert meta["model_name"] == "asked"
    if drop == "usage":
        assert message.usage_metadata is None
    if drop in ("choices", "messages"):
        assert (message.content, message.tool_calls) == ("", [])


@pytest.mark.parametrize(
    "message",
    [
        {},
        {"content": None, "role": None},
        {"function_call": None},
        {"function_call": {"name": "f"}},
        {"function_call": {"name": "f", "arguments": None}},
        {"function_call": {"name": "f", "arguments": '{"a": 1}'}},
    ],
)
def test_message_with_missing_fields(message: dict[str, Any]) -> None:
    data = {"choices": [{"message": message, "index": 0, "finish_reason": None}]}
    result = message_from_gigachat(data, model="m", turn=0)
    assert result.content == ""
    for call in result.tool_calls:
        assert call["name"] == "f"
        assert call["args"] in ({}, {"a": 1})


@pytest.mark.parametrize(
    "usage",
    [
        {},
        {"prompt_tokens": None, "completion_tokens": None},
        {"prompt_tokens": 5, "completion_tokens": 2, "precached_prompt_tokens": None},
        {"input_tokens": 5, "output_tokens": None, "input_tokens_details": None},
    ],
)
def test_usage_with_missing_or_null_counts(usage: dict[str, Any]) -> None:
    result = usage_from_gigachat(usage)
    if result is not None:
        assert result["total_tokens"] == result["input_tokens"] + result["output_tokens"]


@pytest.mark.parametrize("drop", ["choices", "usage", "model", "created"])
def test_stream_chunks_with_missing_fields(drop: str) -> None:
    events = _events("gigachat__stream")
    for event in events:
        event.pop(drop, None)
    reader = StreamReader(model="asked", turn=1, where="here")
    for event in events:
        list(reader.feed(event))
    if drop == "choices":
        with pytest.raises(Exception, match="without a finish_reason"):
            reader.finish()
    else:
        reader.finish()


def test_blacklist_is_blocked() -> None:
    data = {"choices": [{"message": {"content": "Не могу.", "role": "assistant"}, "index": 0,  # noqa: RUF001
                         "finish_reason": "blacklist"}]}  # fmt: skip
    meta = message_from_gigachat(data, model="m", turn=0).response_metadata
    assert (meta["finish_reason"], meta["blocked"]) == ("blacklist", True)


def test_turn_changes_the_tool_call_id() -> None:
    data = _body("gigachat__v2_function_call")
    first = message_from_gigachat(data, model="m", turn=1).tool_calls[0]["id"]
    later = message_from_gigachat(data, model="m", turn=3).tool_calls[0]["id"]
    assert first != later
    assert HumanMessage("x").content == "x"
