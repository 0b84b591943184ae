"""ChatOllama against the emulator's native Ollama protocol: requests, answers, failures."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelConnectionError,
    ModelNotFoundError,
)
from langchain_core.messages import AIMessageChunk, HumanMessage
from langchain_core.tools import tool
from pydantic import BaseModel, ValidationError

from polyvox.ollama import (
    ChatOllama,
    OllamaConnectionError,
    OllamaModelNotFoundError,
    PullProgress,
)
from polyvox.testing import Emulator, Fault, Reply, ToolCall


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def _sent(emulator: Emulator) -> dict[str, Any]:
    chats = [r for r in emulator.requests if r.path == "/api/chat"]
    body = chats[-1].json
    assert isinstance(body, dict)
    return body


def test_invoke_usage_and_metadata(emulator: Emulator, ollama_chat: ChatOllama) -> None:
    message = ollama_chat.invoke("Hello there")
    assert "Hello there" in str(message.content)
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_tokens"] > 0
    assert message.usage_metadata["output_tokens"] > 0
    meta = message.response_metadata
    assert meta["model_provider"] == "ollama"
    assert meta["finish_reason"] == "stop"
    assert meta["blocked"] is False
    assert meta["total_duration"] > 0


def test_num_ctx_is_sized_to_the_request(emulator: Emulator, ollama_chat: ChatOllama) -> None:
    ollama_chat.invoke("hi")
    assert _sent(emulator)["options"]["num_ctx"] == 8192  # not llama3.2's whole 131,072
    shows = [r for r in emulator.requests if r.path == "/api/show"]
    ollama_chat.invoke("again")
    assert len([r for r in emulator.requests if r.path == "/api/show"]) == len(shows) <= 1


def test_num_ctx_can_be_set(emulator: Emulator) -> None:
    model = ChatOllama(model="llama3.2", base_url=emulator.ollama_url, num_ctx=8192)
    model.invoke("hi")
    assert _sent(emulator)["options"]["num_ctx"] == 8192


def test_prompt_beyond_the_window_raises_instead_of_being_cut(emulator: Emulator) -> None:
    model = ChatOllama(model="llama3.2", base_url=emulator.ollama_url, num_ctx=1024)
    with pytest.raises(ContextOverflowError, match="would cut it silently"):
        model.invoke("word " * 5000)
    assert not [r for r in emulator.requests if r.path == "/api/chat"]


def test_options_stop_max_tokens_keep_alive(emulator: Emulator) -> None:
    model = ChatOllama(
        model="llama3.2",
        base_url=emulator.ollama_url,
        temperature=0.1,
        top_k=20,
        seed=3,
        keep_alive="10m",
        options={"mirostat": 2},
    )
    reply = model.invoke("one two three four", stop=["three"], max_tokens=50)
    body = _sent(emulator)
    options = body["options"]
    assert (options["temperature"], options["top_k"], options["seed"], options["mirostat"]) == (
        0.1,
        20,
        3,
        2,
    )
    assert options["stop"] == ["three"]
    assert options["num_predict"] == 50
    assert body["keep_alive"] == "10m"
    assert "three" not in str(reply.content)


def test_stream(emulator: Emulator, ollama_chat: ChatOllama) -> None:
    chunks = list(ollama_chat.stream("tell me about rivers and mountains"))
    assert len(chunks) > 2
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert "rivers and mountains" in str(total.content)
    assert total.usage_metadata is not None
    assert sum(1 for c in chunks if c.usage_metadata) == 1
    assert total.response_metadata["finish_reason"] == "stop"
    assert _sent(emulator)["stream"] is True


async def test_astream_and_ainvoke(emulator: Emulator, ollama_chat: ChatOllama) -> None:
    message = await ollama_chat.ainvoke("async hello")
    assert "async hello" in str(message.content)
    total: AIMessageChunk | None = None
    async for chunk in ollama_chat.astream("async stream"):
        total = chunk if total is None else total + chunk
    assert total is not None
    assert "async stream" in str(total.content)


def test_tool_calls_get_stable_ids(emulator: Emulator, ollama_chat: ChatOllama) -> None:
    bound = ollama_chat.bind_tools([add])
    first = bound.invoke("What is 2 + 3? Use the tool.")
    again = bound.invoke("What is 2 + 3? Use the tool.")
    call = first.tool_calls[0]
    assert call["name"] == "add"
    assert call["args"] == {"a": 2, "b": 3}
    assert call["id"]
    assert call["id"].startswith("call_")
    assert again.tool_calls[0]["id"] == call["id"], "same call at the same turn: same id"
    result = add.invoke(call)
    final = bound.invoke([HumanMessage("What is 2 + 3?"), first, result])
    assert "5" in str(final.content)
    sent = _sent(emulator)["messages"]
    assert sent[1]["tool_calls"] == [{"function": {"name": "add", "arguments": {"a": 2, "b": 3}}}]
    assert sent[2] == {"role": "tool", "content": "5", "tool_name": "add"}
    later = bound.invoke(
        [HumanMessage("What is 2 + 3?"), first, result, HumanMessage("Again: 2 + 3?")]
    )
    assert later.tool_calls[0]["id"] != call["id"], "a later turn gets a new id"


def test_streamed_tool_calls_match_invoke_ids(emulator: Emulator, ollama_chat: ChatOllama) -> None:
    bound = ollama_chat.bind_tools([add])
    invoked = bound.invoke("add 4 and 9")
    total: AIMessageChunk | None = None
    for chunk in bound.stream("add 4 and 9"):
        total = chunk if total is None else total + chunk
    assert total is not None
    assert total.tool_calls == invoked.tool_calls


def test_several_scripted_tool_calls(emulator: Emulator, ollama_chat: ChatOllama) -> None:
    emulator.script(
        Reply(tool_calls=[ToolCall("add", {"a": 1, "b": 2}), ToolCall("add", {"a": 3, "b": 4})])
    )
    message = ollama_chat.bind_tools([add]).invoke("two sums")
    ids = [c["id"] for c in message.tool_calls]
    assert [c["args"] for c in message.tool_calls] == [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    assert len(set(ids)) == 2


class Pet(BaseModel):
    name: str
    age: int


def test_structured_output_uses_format(emulator: Emulator, ollama_chat: ChatOllama) -> None:
    pet = ollama_chat.with_structured_output(Pet).invoke("a pet called 'Rex', age 4")
    assert isinstance(pet, Pet)
    assert _sent(emulator)["format"]["properties"]["age"]["type"] == "integer"
    schema = {"title": "Pet", "type": "object", "properties": {"name": {"type": "string"}}}
    loose = ollama_chat.with_structured_output(schema, method="json_mode").invoke(
        'JSON with "name"'
    )
    assert _sent(emulator)["format"] == "json"
    assert isinstance(loose, dict)
    assert "name" in loose


def test_think(emulator: Emulator) -> None:
    model = ChatOllama(model="qwen3:8b", base_url=emulator.ollama_url, think=True)
    message = model.invoke("why is the sky blue?")
    assert _sent(emulator)["think"] is True
    assert message.additional_kwargs["reasoning_content"]


def test_model_not_pulled_says_what_to_run(emulator: Emulator) -> None:
    model = ChatOllama(model="mistral:7b", base_url=emulator.ollama_url, max_retries=0)
    with pytest.raises(ModelNotFoundError) as info:
        model.invoke("hi")
    assert isinstance(info.value, OllamaModelNotFoundError)
    assert "ollama pull mistral:7b" in str(info.value)


def test_ollama_not_running_says_what_to_run() -> None:
    model = ChatOllama(model="llama3.2", base_url="http://127.0.0.1:9", max_retries=0)
    with pytest.raises(ModelConnectionError) as info:
        model.invoke("hi")
    assert isinstance(info.value, OllamaConnectionError)
    assert isinstance(info.value, ConnectionError)
    assert "ollama serve" in str(info.value)
    assert "127.0.0.1:9" in str(info.value)


def test_wrong_host_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    model = ChatOllama(model="llama3.2", max_retries=0)
    assert model.host == "http://127.0.0.1:9"
    with pytest.raises(ModelConnectionError, match="OLLAMA_HOST"):
        model.invoke("hi")


def test_midstream_error_raises(emulator: Emulator, ollama_chat: ChatOllama) -> None:
    ollama_chat.invoke("warm up the window cache")
    emulator.fail(Fault.stream_error(after=2, message="model runner crashed"))
    with pytest.raises(ModelAPIError, match="model runner crashed"):
        list(ollama_chat.stream("tell me a long story about rivers and mountains"))


def test_broken_stream_raises(emulator: Emulator, ollama_chat: ChatOllama) -> None:
    ollama_chat.invoke("warm up the window cache")
    emulator.fail(Fault.broken_stream(after=2))
    with pytest.raises(ModelConnectionError):
        list(ollama_chat.stream("tell me a long story about rivers and mountains"))


def test_slow_first_token_still_answers(emulator: Emulator, ollama_chat: ChatOllama) -> None:
    ollama_chat.invoke("warm up the window cache")
    emulator.fail(Fault(status=200, first_chunk_delay=0.3))
    assert "".join(c.text for c in ollama_chat.stream("loading model")).strip()


def test_retries_a_503_while_loading(emulator: Emulator) -> None:
    model = ChatOllama(model="llama3.2", base_url=emulator.ollama_url, max_retries=2)
    model.invoke("warm up the window cache")
    emulator.fail(Fault.server_error(503), times=1)
    assert model.invoke("hello after loading").content
    chats = [r for r in emulator.requests if r.path == "/api/chat"]
    assert len(chats) == 3


def test_unknown_parameter_refused() -> None:
    with pytest.raises(ValidationError, match="num_context"):
        ChatOllama(model="llama3.2", num_context=4096)


def test_health_list_and_pull(emulator: Emulator, ollama_chat: ChatOllama) -> None:
    health = ollama_chat.health_check()
    assert health.ok
    assert "is up and llama3.2 is pulled" in health.message
    assert "llama3.2:latest" in ollama_chat.list_models()
    missing = ChatOllama(model="tinyllama", base_url=emulator.ollama_url)
    assert not missing.health_check().ok
    assert "ollama pull tinyllama" in missing.health_check().message
    steps: list[PullProgress] = []
    missing.pull(progress=steps.append)
    assert steps[0].status == "pulling manifest"
    assert steps[-1].status == "success"
    fractions = [s.fraction for s in steps if s.fraction is not None]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert missing.health_check().ok
    assert missing.invoke("hi after pull").content


def test_health_when_down() -> None:
    health = ChatOllama(model="llama3.2", base_url="http://127.0.0.1:9").health_check()
    assert not health.ok
    assert not health.reachable
    assert "ollama serve" in health.message


async def test_async_health_and_pull(emulator: Emulator) -> None:
    model = ChatOllama(model="phi4", base_url=emulator.ollama_url)
    assert not (await model.ahealth_check()).ok
    steps: list[PullProgress] = []
    await model.apull(progress=steps.append)
    assert steps[-1].status == "success"
    assert (await model.ahealth_check()).ok
    assert "phi4:latest" in await model.alist_models()


def test_pull_advice_appears_once(emulator: Emulator) -> None:
    model = ChatOllama(model="mistral:7b", base_url=emulator.ollama_url, max_retries=0)
    with pytest.raises(ModelNotFoundError) as info:
        model.invoke("hi")
    assert str(info.value).count("Pull it first") == 1


def test_health_message_when_down_is_not_nested() -> None:
    message = ChatOllama(model="llama3.2", base_url="http://127.0.0.1:9").health_check().message
    assert message.count("is not reachable") == 1


def test_stream_without_final_part_says_incomplete(
    emulator: Emulator, ollama_chat: ChatOllama
) -> None:
    ollama_chat.invoke("warm up the window cache")
    emulator.fail(Fault.broken_stream(after=2))
    with pytest.raises(ModelConnectionError) as info:
        list(ollama_chat.stream("tell me a long story about rivers and mountains"))
    assert "ollama serve" not in str(info.value)


def test_pulling_an_unknown_model_is_not_found(emulator: Emulator) -> None:
    model = ChatOllama(model="no-such-model", base_url=emulator.ollama_url)
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        model.pull()


async def test_concurrent_first_calls_share_one_show(emulator: Emulator) -> None:
    from polyvox.ollama.context import clear_context_windows

    emulator.ollama_models.add("gemma3:4b", context_length=65536)
    model = ChatOllama(model="gemma3:4b", base_url=emulator.ollama_url)
    clear_context_windows()
    await model.abatch([f"question {i}" for i in range(12)], config={"max_concurrency": 12})
    shows = [r for r in emulator.requests if r.path == "/api/show"]
    assert len(shows) == 1
    assert len([r for r in emulator.requests if r.path == "/api/ps"]) == 1
    assert _sent(emulator)["options"]["num_ctx"] == 8192
