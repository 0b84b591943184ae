"""GigaChat's protocol through ``GigaChat``: functions, streaming, stop, blocking, errors.

Against the emulator, which validates requests as GigaChat does (unknown fields, roles,
function results, function schemas), through the real SDK.
"""

from __future__ import annotations

import json
import re
from typing import Any

import gigachat.exceptions
import pytest
from langchain_core.exceptions import ModelInvalidRequestError, ModelRateLimitError
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from pydantic import BaseModel, Field

from polyvox.core.errors import ProviderResponseError
from polyvox.gigachat import (
    GigaChat,
    GigaChatLLM,
    GigaChatRateLimitError,
    GigaChatSchemaError,
    GigaChatUnprocessableEntityError,
)
from polyvox.gigachat.messages import gigachat_schema, to_gigachat_messages
from polyvox.testing import Emulator, Fault, Reply, ToolCall, Usage
from tests.gigachat.conftest import connection


def get_weather(city: str) -> str:
    """Get the weather in a city.

    Args:
        city: The city.
    """
    return "sunny"


class Address(BaseModel):
    """A postal address."""

    city: str
    street: str | None = None


class Person(BaseModel):
    """A person and where they live."""

    name: str = Field(description="The full name")
    address: Address
    tags: dict[str, Any] = Field(default_factory=dict)


def _sent(emulator: Emulator) -> dict[str, Any]:
    body: dict[str, Any] = next(
        r.json for r in reversed(emulator.requests) if r.path.endswith("/chat/completions")
    )
    return body


def test_a_function_call_round_trip(chat: GigaChat, emulator: Emulator) -> None:
    model = chat.bind_tools([get_weather])
    emulator.script(Reply(tool_calls=[ToolCall("get_weather", {"city": "Москва"})]))
    asked = [HumanMessage("Погода в Москве?")]
    call = model.invoke(asked)
    assert call.tool_calls[0]["name"] == "get_weather"
    assert call.tool_calls[0]["args"] == {"city": "Москва"}
    assert call.tool_calls[0]["id"].startswith("call_")
    state = call.additional_kwargs["functions_state_id"]
    assert call.response_metadata["finish_reason"] == "function_call"
    answer = model.invoke(
        [*asked, call, ToolMessage("sunny", tool_call_id=call.tool_calls[0]["id"])]
    )
    assert answer.content
    sent = _sent(emulator)["messages"]
    assert sent[1] == {
        "role": "assistant", "content": "",
        "function_call": {"name": "get_weather", "arguments": {"city": "Москва"}},
        "functions_state_id": state,
    }  # fmt: skip
    assert sent[2] == {"role": "function", "name": "get_weather", "content": '{"result": "sunny"}'}


def test_several_calls_in_one_message_are_sent_one_at_a_time() -> None:
    calls = [{"name": "a", "args": {"x": 1}, "id": "1"}, {"name": "b", "args": {}, "id": "2"}]
    messages = [
        SystemMessage("be brief"),
        HumanMessage("do both"),
        AIMessage("", tool_calls=calls),
        ToolMessage('{"ok": true}', tool_call_id="2"),
        ToolMessage("[1, 2]", tool_call_id="1"),
        SystemMessage("and polite"),
    ]
    sent = to_gigachat_messages(messages)
    assert [(m["role"], m.get("name") or m.get("function_call", {}).get("name")) for m in sent] == [
        ("system", None), ("user", None), ("assistant", "a"), ("function", "a"),
        ("assistant", "b"), ("function", "b"),
    ]  # fmt: skip
    assert sent[0]["content"] == "be brief\n\nand polite"
    assert sent[3]["content"] == '{"result": [1, 2]}'
    assert sent[5]["content"] == '{"ok": true}'


def test_parallel_tool_calls_are_refused(chat: GigaChat) -> None:
    with pytest.raises(ValueError, match="at most one function per answer"):
        chat.bind_tools([get_weather], parallel_tool_calls=True)


def test_nested_schemas_are_reduced_to_what_gigachat_takes(
    chat: GigaChat, emulator: Emulator
) -> None:
    emulator.script(
        Reply(tool_calls=[ToolCall("Person", {"name": "Иван", "address": {"city": "Тверь"}})])
    )
    person = chat.with_structured_output(Person).invoke("Иван из Твери")
    assert person == Person(name="Иван", address=Address(city="Тверь"))
    parameters = _sent(emulator)["functions"][0]["parameters"]
    assert parameters["properties"]["address"]["properties"]["city"] == {"type": "string"}
    assert parameters["properties"]["address"]["properties"]["street"] == {"type": "string"}
    assert parameters["properties"]["tags"] == {"type": "object", "properties": {}}
    assert "$defs" not in json.dumps(parameters)
    assert _sent(emulator)["function_call"] == {"name": "Person"}


def test_the_emulator_refuses_what_gigachat_refuses(chat: GigaChat, emulator: Emulator) -> None:
    raw = {"name": "f", "description": "", "parameters": {"type": "object", "properties": {
        "schema": {"type": "object"}}}}  # fmt: skip
    unreduced = GigaChat(model_kwargs={"functions": [raw]}, **connection(emulator))
    with pytest.raises(GigaChatUnprocessableEntityError) as caught:
        unreduced.invoke("hi")
    assert "Field 'properties.schema.properties' is missing" in str(caught.value)
    chat.invoke("hi", functions=[raw])  # polyvox's reduction makes it acceptable
    assert _sent(emulator)["functions"][0]["parameters"]["properties"]["schema"] == {
        "type": "object",
        "properties": {},
    }
    assert isinstance(caught.value, gigachat.exceptions.UnprocessableEntityError)
    assert isinstance(caught.value, ModelInvalidRequestError)


def test_unknown_request_fields_are_refused(chat: GigaChat, emulator: Emulator) -> None:
    model = GigaChat(
        model_kwargs={"frequency_penalty": 1}, **chat.model_dump(exclude={"model_kwargs"})
    )
    with pytest.raises(GigaChatUnprocessableEntityError, match="Unknown field 'frequency_penalty'"):
        model.invoke("hi")


def test_unions_are_refused_with_the_field_named() -> None:
    class Either(BaseModel):
        value: int | str

    with pytest.raises(GigaChatSchemaError, match=r"Either\.value"):
        gigachat_schema(Either.model_json_schema(), "Either")


def test_streamed_function_call(chat: GigaChat, emulator: Emulator) -> None:
    emulator.script(Reply(tool_calls=[ToolCall("get_weather", {"city": "Омск"})]))
    full: AIMessageChunk | None = None
    for chunk in chat.bind_tools([get_weather]).stream("Погода в Омске?"):
        full = chunk if full is None else full + chunk
    assert full is not None
    assert [(c["name"], c["args"]) for c in full.tool_calls] == [("get_weather", {"city": "Омск"})]
    assert full.response_metadata["finish_reason"] == "function_call"
    assert _sent(emulator)["stream"] is True


@pytest.mark.parametrize("streamed", [False, True])
async def test_functions_state_id_goes_back_on_the_next_turn_async(
    chat: GigaChat, emulator: Emulator, streamed: bool
) -> None:
    """Async, and a streamed call merged from its chunks: the state id is sent back as given."""
    model = chat.bind_tools([get_weather])
    emulator.script(Reply(tool_calls=[ToolCall("get_weather", {"city": "Омск"})]), Reply("ok"))
    asked = [HumanMessage("Погода в Омске?")]
    if streamed:
        chunks = [chunk async for chunk in model.astream(asked)]
        call: AIMessage = chunks[0]
        for chunk in chunks[1:]:
            call = call + chunk
    else:
        call = await model.ainvoke(asked)
    state = call.additional_kwargs["functions_state_id"]
    uuid_like = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert re.fullmatch(uuid_like, state)  # one id, not chunks' ids run together
    result = ToolMessage("sunny", tool_call_id=call.tool_calls[0]["id"])
    assert (await model.ainvoke([*asked, call, result])).content == "ok"
    assert _sent(emulator)["messages"][1]["functions_state_id"] == state


def test_stream_usage_and_cache_reads(chat: GigaChat, emulator: Emulator) -> None:
    emulator.script(Reply("Раз два три", usage=Usage(prompt_tokens=40, cached_tokens=30)))
    chunks = list(chat.stream("считай"))
    assert [c.usage_metadata is not None for c in chunks].count(True) == 1
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    assert full.usage_metadata is not None
    assert full.usage_metadata["input_token_details"] == {"cache_read": 30}
    assert full.content == "Раз два три"


@pytest.mark.parametrize("stream", [False, True])
def test_stop_sequences_are_applied(chat: GigaChat, emulator: Emulator, stream: bool) -> None:
    emulator.script(Reply("один, два, три, четыре"))
    if stream:
        text = "".join(str(c.content) for c in chat.stream("считай", stop=["три"]))
    else:
        text = str(chat.invoke("считай", stop=["три"]).content)
    assert text == "один, два, "
    assert "stop" not in _sent(emulator)


def test_blacklist_is_blocked(chat: GigaChat, emulator: Emulator) -> None:
    emulator.fail(Fault.content_policy())
    answer = chat.invoke("что-то запрещённое")
    assert answer.response_metadata["finish_reason"] == "blacklist"
    assert answer.response_metadata["blocked"] is True


def test_a_429_is_retried_after_what_gigachat_asked(emulator: Emulator) -> None:
    model = GigaChat(max_retries=1, **connection(emulator))
    emulator.fail(Fault.rate_limit(retry_after=0.1))
    assert model.invoke("hi").content
    emulator.fail(Fault.rate_limit(retry_after=0.1), times=2)
    with pytest.raises(GigaChatRateLimitError) as caught:
        model.invoke("hi")
    assert isinstance(caught.value, gigachat.exceptions.RateLimitError)
    assert isinstance(caught.value, ModelRateLimitError)
    assert caught.value.retry_after == 0.1


def test_a_stream_without_finish_reason_is_refused(chat: GigaChat, emulator: Emulator) -> None:
    chunk = {"choices": [{"delta": {"content": "Hel"}, "index": 0}], "created": 1, "model": "m",
             "object": "chat.completion"}  # fmt: skip
    frames = f"data: {json.dumps(chunk)}\n\n"
    emulator.script(Reply.raw(frames, content_type="text/event-stream"))
    with pytest.raises(ProviderResponseError, match="without a finish_reason"):
        list(chat.stream("hi"))


def test_tokens_are_counted_by_gigachat(chat: GigaChat, emulator: Emulator) -> None:
    assert chat.get_num_tokens("один два три") == 3
    assert emulator.requests[-1].path == "/api/v1/tokens/count"
    assert emulator.requests[-1].json == {"model": "GigaChat-2-Max", "input": ["один два три"]}


def test_balance_and_models(chat: GigaChat) -> None:
    assert chat.get_balance().balance[0].usage == "GigaChat"
    assert "GigaChat-2-Max" in [m.id_ for m in chat.get_models().data]


async def test_async_methods(chat: GigaChat) -> None:
    assert (await chat.atokens_count(["a b"]))[0].tokens == 2
    assert (await chat.aget_balance()).balance
    assert (await chat.aget_models()).data


def test_sampling_parameters_are_sent(emulator: Emulator) -> None:
    model = GigaChat(
        temperature=0.3, top_p=0.9, max_tokens=50, repetition_penalty=1.1,
        profanity_check=True, flags=["f"], **connection(emulator),
    )  # fmt: skip
    model.invoke("hi")
    sent = _sent(emulator)
    assert {k: sent[k] for k in ("temperature", "top_p", "max_tokens", "repetition_penalty",
                                 "profanity_check", "flags")} == {
        "temperature": 0.3, "top_p": 0.9, "max_tokens": 50, "repetition_penalty": 1.1,
        "profanity_check": True, "flags": ["f"],
    }  # fmt: skip


def test_the_llm(emulator: Emulator) -> None:
    llm = GigaChatLLM(**connection(emulator))
    assert llm.invoke("Продолжи: раз, два") == "You said: Продолжи: раз, два"


@pytest.mark.parametrize(
    "delta",
    [
        {"role": "assistant", "content": "При"},
        {"content": ""},
        {"content": "", "functions_state_id": "77d3fb14-457a-46ba-937e-8d856156d003"},
        {"content": "", "reasoning_content": "думаю"},
        {"content": "", "function_call": {"name": "get_weather", "arguments": {"city": "Омск"}}},
    ],
)
@pytest.mark.parametrize("last", [False, True])
def test_the_sdks_chunks_read_as_their_json(delta: dict[str, Any], last: bool) -> None:
    """Text-only chunks are read from the SDK's objects directly: the same chunk as the JSON's."""
    from gigachat.models import ChatCompletionChunk

    from polyvox.gigachat.responses import StreamReader

    choice: dict[str, Any] = {"delta": delta, "index": 0}
    event: dict[str, Any] = {"choices": [choice], "created": 1, "model": "GigaChat-2:2.0.28",
                             "object": "chat.completion"}  # fmt: skip
    if last:
        choice["finish_reason"] = "stop"
        event["usage"] = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    sdk_chunk = ChatCompletionChunk.model_validate(event)
    read = StreamReader(model="GigaChat-2", turn=1, where="here").read(sdk_chunk)
    [fed] = StreamReader(model="GigaChat-2", turn=1, where="here").feed(event)
    assert read.message == fed.message
    assert read.generation_info == fed.generation_info
    assert read.message.content == delta["content"]
