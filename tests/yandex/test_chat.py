"""ChatYandexGPT and YandexGPTEmbeddings against the emulator's gRPC services, through the SDK."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from langchain_core.exceptions import ModelAuthenticationError, ModelRateLimitError
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from pydantic import BaseModel

from polyvox.testing import Emulator, Fault, Reply, ToolCall
from polyvox.yandex import ChatYandexGPT, YandexGPTEmbeddings, YandexRateLimitError, model_uri


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    emulator.reset()
    return emulator


def _model(emu: Emulator, **kwargs: object) -> ChatYandexGPT:
    fields: dict[str, object] = {
        "model": "yandexgpt", "folder_id": "b1gfolder", "api_key": "AQVNtest",
        "base_url": emu.yandex_endpoint, "max_retries": 0, "timeout": 10,
    }  # fmt: skip
    fields.update(kwargs)
    return ChatYandexGPT(**fields)  # type: ignore[arg-type]


def test_model_uris() -> None:
    assert model_uri("yandexgpt", "f") == "gpt://f/yandexgpt/latest"
    assert model_uri("yandexgpt-lite/rc", "f") == "gpt://f/yandexgpt-lite/rc"
    assert model_uri("gpt://x/yandexgpt/deprecated", None) == "gpt://x/yandexgpt/deprecated"
    assert model_uri("text-search-doc", "f", scheme="emb") == "emb://f/text-search-doc/latest"
    with pytest.raises(ValueError, match="YC_FOLDER_ID"):
        model_uri("yandexgpt", None)


def test_invoke_sends_the_uri_and_reads_usage(emu: Emulator) -> None:
    emu.script("Привет!")
    message = _model(emu).invoke("Скажи привет")
    assert message.content == "Привет!"
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_tokens"] > 0
    meta = message.response_metadata
    assert (meta["model_name"], meta["model_provider"], meta["finish_reason"], meta["blocked"]) == (
        "yandexgpt", "yandex", "stop", False,
    )  # fmt: skip
    request = emu.requests[-1]
    assert request.path.endswith("TextGenerationService/Completion")
    assert request.json["modelUri"] == "gpt://b1gfolder/yandexgpt/latest"
    assert request.headers["authorization"] == "Api-Key AQVNtest"


def test_stream_emits_true_deltas_and_usage_once(emu: Emulator) -> None:
    emu.script("один два три четыре")
    chunks = list(_model(emu).stream("считай"))
    assert "".join(str(c.content) for c in chunks) == "один два три четыре"
    assert sum(1 for c in chunks if c.usage_metadata) == 1
    assert chunks[-1].response_metadata["finish_reason"] == "stop"


async def test_async_invoke_and_stream(emu: Emulator) -> None:
    emu.script("async answer", "streamed answer")
    model = _model(emu)
    assert (await model.ainvoke("hi")).content == "async answer"
    text = "".join([str(c.content) async for c in model.astream("hi")])
    assert text == "streamed answer"


def test_tool_calls_round_trip(emu: Emulator) -> None:
    emu.script(Reply(tool_calls=[ToolCall("get_weather", {"city": "Москва"})]), "Солнечно")

    def get_weather(city: str) -> str:
        """Weather in a city."""
        return "sunny"

    model = _model(emu).bind_tools([get_weather], tool_choice="get_weather")
    first = model.invoke("Погода в Москве?")
    assert isinstance(first, AIMessage)
    assert first.tool_calls[0]["name"] == "get_weather"
    assert first.tool_calls[0]["args"] == {"city": "Москва"}
    assert first.tool_calls[0]["id"].startswith("call_")
    assert first.response_metadata["finish_reason"] == "tool_calls"
    sent = emu.requests[-1].json
    assert sent["toolChoice"] == {"functionName": "get_weather"}
    call_id = first.tool_calls[0]["id"]
    answer = model.invoke(
        [HumanMessage("Погода в Москве?"), first, ToolMessage("sunny", tool_call_id=call_id)]
    )
    assert answer.content == "Солнечно"
    history = emu.requests[-1].json["messages"]
    assert history[1]["toolCallList"]["toolCalls"][0]["functionCall"]["name"] == "get_weather"
    assert history[2]["toolResultList"]["toolResults"][0]["functionResult"] == {
        "name": "get_weather", "content": "sunny",
    }  # fmt: skip


def test_structured_output_uses_json_schema(emu: Emulator) -> None:
    class Numbers(BaseModel):
        numbers: list[int]

    emu.script(json.dumps({"numbers": [5, 4, 1]}))
    parsed = _model(emu).with_structured_output(Numbers).invoke("5, 4, a, 1")
    assert parsed == Numbers(numbers=[5, 4, 1])
    assert "jsonSchema" in emu.requests[-1].json


def test_truncated_and_filtered_statuses(emu: Emulator) -> None:
    emu.script(Reply("long text", finish_reason="length"))
    assert _model(emu).invoke("x").response_metadata["finish_reason"] == "length"
    emu.fail(Fault.content_policy())
    blocked = _model(emu).invoke("x")
    assert blocked.response_metadata["blocked"] is True
    assert blocked.response_metadata["alternative_status"] == "ALTERNATIVE_STATUS_CONTENT_FILTER"


def test_token_count_uses_tokenize_completion(emu: Emulator) -> None:
    assert _model(emu).get_num_tokens("one two three") == 3
    assert emu.requests[-1].path.endswith("TokenizerService/TokenizeCompletion")


def test_deferred_batch_polls_the_operation(emu: Emulator) -> None:
    answers = _model(emu).batch(["a", "b"], deferred=True)
    assert [a.content for a in answers] == ["You said: a", "You said: b"]
    assert all(a.response_metadata["deferred"] is True for a in answers)
    paths = [r.path for r in emu.requests]
    assert any(p.endswith("TextGenerationAsyncService/Completion") for p in paths)
    assert any(p.endswith("OperationService/Get") for p in paths)


def test_errors_are_grpc_and_langchain_classes(emu: Emulator) -> None:
    emu.fail(Fault.rate_limit())
    with pytest.raises(ModelRateLimitError) as caught:
        _model(emu).invoke("x")
    assert isinstance(caught.value, grpc.RpcError)
    assert isinstance(caught.value, YandexRateLimitError)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "RESOURCE_EXHAUSTED" in str(caught.value)
    with pytest.raises(ModelAuthenticationError, match="YC_API_KEY"):
        _model(emu, api_key="invalid-key").invoke("x")


def test_unavailable_is_retried_by_the_sdk(emu: Emulator) -> None:
    emu.fail(Fault.server_error(503))
    model = _model(emu, max_retries=1)
    assert model.invoke("again").content == "You said: again"
    calls = [r for r in emu.requests if r.path.endswith("TextGenerationService/Completion")]
    assert len(calls) == 2


def test_secrets_are_not_shown(emu: Emulator) -> None:
    model = _model(emu, api_key="AQVNsecret", iam_token=None)
    assert "AQVNsecret" not in repr(model)
    assert "AQVNsecret" not in json.dumps(model.to_json(), default=str)


def test_environment_variables(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YC_IAM_TOKEN", "t1.token")
    monkeypatch.setenv("YC_FOLDER_ID", "b1genv")
    monkeypatch.setenv("YC_API_ENDPOINT", emu.yandex_endpoint)
    monkeypatch.delenv("YC_API_KEY", raising=False)
    model = ChatYandexGPT(model="yandexgpt-lite", max_retries=0)
    assert model.invoke("env").content == "You said: env"
    request = emu.requests[-1]
    assert request.headers["authorization"] == "Bearer t1.token"
    assert request.json["modelUri"] == "gpt://b1genv/yandexgpt-lite/latest"


def test_embeddings_use_doc_and_query_models(emu: Emulator) -> None:
    embeddings = YandexGPTEmbeddings(
        folder_id="f", api_key="k", base_url=emu.yandex_endpoint, max_retries=0
    )
    docs = embeddings.embed_documents(["Москва", "Париж"])
    query = embeddings.embed_query("Москва")
    assert len(docs) == 2
    assert len(query) == 256
    uris = [r.json["modelUri"] for r in emu.requests]
    assert uris == ["emb://f/text-search-doc/latest"] * 2 + ["emb://f/text-search-query/latest"]


async def test_async_embeddings(emu: Emulator) -> None:
    embeddings = YandexGPTEmbeddings(folder_id="f", api_key="k", base_url=emu.yandex_endpoint)
    assert len(await embeddings.aembed_documents(["a", "b", "c"])) == 3
    assert len(await embeddings.aembed_query("a")) == 256


RECORDED = Path(os.environ.get("POLYVOX_RECORDED_FIXTURES", "/work/shared/fixtures/recorded"))


def _recorded(name: str) -> dict[str, object]:
    path = RECORDED / name
    if not path.exists():
        pytest.skip(f"no recorded fixture {path}")
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_recorded_grpc_completion(emu: Emulator) -> None:
    fixture = _recorded("yandex__grpc_completion.json")
    emu.script(Reply.raw(fixture["response"]["body"], "application/x-ndjson"))  # type: ignore[index]
    message = _model(emu).invoke("hello")
    assert message.content == "Hi there! How are you?"
    assert message.usage_metadata == {"input_tokens": 15, "output_tokens": 8, "total_tokens": 23}
    assert message.response_metadata["model_version"] == "07.03.2024"
    assert message.response_metadata["finish_reason"] == "stop"


def test_recorded_grpc_stream_is_cumulative(emu: Emulator) -> None:
    fixture = _recorded("yandex__grpc_stream_partial.json")
    body = fixture["response"]["body"]  # type: ignore[index]
    last = json.loads(body.strip().splitlines()[-1])
    emu.script(Reply.raw(body, "application/x-ndjson"))
    chunks = list(_model(emu).stream("platypuses"))
    assert "".join(str(c.content) for c in chunks) == last["alternatives"][0]["message"]["text"]
    usage = [c.usage_metadata for c in chunks if c.usage_metadata]
    assert usage == [{"input_tokens": int(last["usage"]["inputTextTokens"]),
                      "output_tokens": int(last["usage"]["completionTokens"]),
                      "total_tokens": int(last["usage"]["totalTokens"])}]  # fmt: skip


def test_recorded_grpc_tool_call(emu: Emulator) -> None:
    fixture = _recorded("yandex__grpc_tool_call.json")
    emu.script(Reply.raw(fixture["response"]["body"], "application/x-ndjson"))  # type: ignore[index]
    message = _model(emu, model="yandexgpt/rc").invoke("do a SOMETHING")
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [
        ("something", {"numbers": [5.0, 4.0, 1.0]})
    ]
    assert message.response_metadata["finish_reason"] == "tool_calls"
    assert message.usage_metadata == {"input_tokens": 100, "output_tokens": 14, "total_tokens": 114}
