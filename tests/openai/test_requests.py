"""What polyvox sends: parameters, stop sequences, overrides, tools, presets and content parts."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool

from polyvox.openai import (
    ChatCloudRu,
    ChatLlamaCpp,
    ChatOpenAI,
    ChatOpenRouter,
    ChatTogether,
    ChatVLLM,
)
from polyvox.testing import Emulator


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def _sent(emulator: Emulator) -> dict[str, Any]:
    body = emulator.requests[-1].json
    assert isinstance(body, dict)
    return body


def test_standard_parameters_are_sent(emulator: Emulator) -> None:
    model = ChatOpenAI(
        model="gpt-4o-mini",
        api_key="k",
        base_url=emulator.openai_base_url,
        temperature=0.2,
        max_tokens=50,
        top_p=0.9,
        seed=7,
        stop=["END"],
    )
    model.invoke([SystemMessage("be brief"), HumanMessage("hi", name="ann")])
    body = _sent(emulator)
    assert body["model"] == "gpt-4o-mini"
    assert body["temperature"] == 0.2
    assert body["max_completion_tokens"] == 50
    assert "max_tokens" not in body
    assert (body["top_p"], body["seed"], body["stop"]) == (0.9, 7, ["END"])
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi", "name": "ann"},
    ]
    assert emulator.requests[-1].headers["authorization"] == "Bearer k"


def test_call_stop_replaces_model_stop_and_is_honoured(
    emulator: Emulator, chat: ChatOpenAI
) -> None:
    reply = chat.bind(stop=["two"]).invoke("one two three")
    assert _sent(emulator)["stop"] == ["two"]
    assert "two" not in str(reply.content)


def test_per_call_model_override(emulator: Emulator, chat: ChatOpenAI) -> None:
    reply = chat.invoke("hi", model="gpt-4.1")
    assert _sent(emulator)["model"] == "gpt-4.1"
    assert reply.response_metadata["model_name"] == "gpt-4.1"
    assert chat._get_ls_params(model="gpt-4.1")["ls_model_name"] == "gpt-4.1"


def test_extra_fields_travel_in_the_body(emulator: Emulator) -> None:
    model = ChatVLLM(model="qwen", base_url=emulator.openai_base_url, model_kwargs={"top_k": 20})
    model.invoke("hi", min_p=0.05, max_tokens=9)
    body = _sent(emulator)
    assert (body["top_k"], body["min_p"], body["max_tokens"]) == (20, 0.05, 9)
    assert "max_completion_tokens" not in body


def test_tool_choice_forms(emulator: Emulator, chat: ChatOpenAI) -> None:
    chat.bind_tools([add], tool_choice="any").invoke("add 2 and 3")
    assert _sent(emulator)["tool_choice"] == "required"
    chat.bind_tools([add], tool_choice="add", parallel_tool_calls=False).invoke("add 2 and 3")
    body = _sent(emulator)
    assert body["tool_choice"] == {"type": "function", "function": {"name": "add"}}
    assert body["parallel_tool_calls"] is False
    assert body["tools"][0]["function"]["name"] == "add"
    with pytest.raises(ValueError, match="names no bound tool"):
        chat.bind_tools([add], tool_choice="subtract")


def test_tool_round_trip_messages(emulator: Emulator, chat: ChatOpenAI) -> None:
    bound = chat.bind_tools([add])
    first = bound.invoke("What is 2 + 3? Use the tool.")
    call = first.tool_calls[0]
    assert call["name"] == "add"
    assert call["args"] == {"a": 2, "b": 3}
    result = add.invoke(call)
    final = bound.invoke([HumanMessage("What is 2 + 3?"), first, result])
    assert "5" in str(final.content)
    sent = _sent(emulator)["messages"]
    assert sent[1]["role"] == "assistant"
    assert sent[1]["content"] is None
    assert sent[1]["tool_calls"][0]["id"] == call["id"]
    assert sent[2] == {"role": "tool", "tool_call_id": call["id"], "content": "5", "name": "add"}


def test_json_mode_and_function_calling_requests(emulator: Emulator, chat: ChatOpenAI) -> None:
    schema = {
        "title": "Pet",
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "required": ["name"],
    }
    out = chat.with_structured_output(schema, method="json_mode").invoke(
        'Reply in JSON with "name"'
    )
    assert _sent(emulator)["response_format"] == {"type": "json_object"}
    assert isinstance(out, dict)
    out = chat.with_structured_output(schema, method="function_calling").invoke(
        "a pet called 'Rex'"
    )
    assert _sent(emulator)["tool_choice"] == {"type": "function", "function": {"name": "Pet"}}
    assert out == {"name": "Rex"}
    with pytest.raises(ValueError, match="method must be one of"):
        chat.with_structured_output(schema, method="xml")  # type: ignore[arg-type]


def test_multimodal_parts(emulator: Emulator, chat: ChatOpenAI) -> None:
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    pdf = base64.b64encode(b"%PDF-1.4 fake").decode()
    chat.invoke(
        [
            HumanMessage(
                content=[
                    {"type": "text", "text": "Describe these."},
                    {"type": "image", "base64": png, "mime_type": "image/png"},
                    {"type": "image", "url": "https://example.com/cat.jpg"},
                    {
                        "type": "file",
                        "base64": pdf,
                        "mime_type": "application/pdf",
                        "filename": "a.pdf",
                    },
                ]
            )
        ]
    )
    parts = _sent(emulator)["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "Describe these."}
    assert parts[1] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}}
    assert parts[2] == {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
    assert parts[3]["type"] == "file"
    assert parts[3]["file"]["file_data"] == f"data:application/pdf;base64,{pdf}"


def test_anthropic_style_history_is_converted(emulator: Emulator, chat: ChatOpenAI) -> None:
    history = [
        HumanMessage("What is 2 + 3?"),
        AIMessage(
            content=[
                {"type": "text", "text": "Let me add."},
                {"type": "tool_use", "id": "t1", "name": "add", "input": {"a": 2, "b": 3}},
            ],
            tool_calls=[{"name": "add", "args": {"a": 2, "b": 3}, "id": "t1", "type": "tool_call"}],
        ),
        ToolMessage(content=[{"type": "text", "text": "5"}], tool_call_id="t1"),
    ]
    chat.bind_tools([add]).invoke(history)
    sent = _sent(emulator)["messages"]
    assert sent[1]["content"] == "Let me add."
    assert sent[1]["tool_calls"][0]["function"]["name"] == "add"
    assert sent[2]["role"] == "tool"


class _Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


def test_streaming_flag_streams_invoke_and_reports_tokens(emulator: Emulator) -> None:
    model = ChatOpenAI(model="m", api_key="k", base_url=emulator.openai_base_url, streaming=True)
    handler = _Tokens()
    reply = model.invoke("count the rivers", config={"callbacks": [handler]})
    assert _sent(emulator)["stream"] is True
    assert len(handler.tokens) > 1
    assert "".join(handler.tokens) == reply.content
    assert reply.usage_metadata is not None


def test_stream_usage_can_be_turned_off(emulator: Emulator) -> None:
    model = ChatOpenAI(
        model="m", api_key="k", base_url=emulator.openai_base_url, stream_usage=False
    )
    chunks = list(model.stream("hi"))
    assert "stream_options" not in _sent(emulator)
    assert not any(c.usage_metadata for c in chunks)


@pytest.mark.parametrize(
    ("cls", "provider", "default_url", "key_env"),
    [
        (ChatOpenRouter, "openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
        (ChatCloudRu, "cloudru", "https://foundation-models.api.cloud.ru/v1", "CLOUDRU_API_KEY"),
        (ChatLlamaCpp, "llamacpp", "http://127.0.0.1:8080/v1", "LLAMACPP_API_KEY"),
        (ChatVLLM, "vllm", "http://127.0.0.1:8000/v1", "VLLM_API_KEY"),
        (ChatTogether, "together", "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    ],
)
def test_preset_defaults(
    monkeypatch: pytest.MonkeyPatch,
    cls: type[ChatOpenAI],
    provider: str,
    default_url: str,
    key_env: str,
) -> None:
    for var in (key_env, f"{provider.upper()}_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(key_env, "sk-env")
    model = cls(model="m")
    assert model.base_url == default_url
    assert model.api_key is not None
    assert model.api_key.get_secret_value() == "sk-env"
    assert model.provider == provider
    assert model._get_ls_params()["ls_provider"] == provider


def test_local_presets_need_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLAMACPP_API_KEY", raising=False)
    monkeypatch.delenv("VLLM_API_KEY", raising=False)
    assert ChatLlamaCpp().api_key is None
    assert ChatVLLM(model="m").api_key is None


def test_openrouter_attribution_headers(emulator: Emulator) -> None:
    model = ChatOpenRouter(
        model="openai/gpt-4.1",
        api_key="k",
        base_url=emulator.openai_base_url,
        site_url="https://example.org",
        app_name="polyvox-tests",
    )
    reply = model.invoke("hi")
    headers = emulator.requests[-1].headers
    assert headers["http-referer"] == "https://example.org"
    assert headers["x-title"] == "polyvox-tests"
    assert reply.response_metadata["model_provider"] == "openrouter"


def test_clients_are_reused(chat: ChatOpenAI) -> None:
    assert chat.client is chat.client
    assert chat.async_client is chat.async_client
