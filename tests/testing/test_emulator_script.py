"""Scripted replies: FIFO queue, tool calls, reasoning, refusals, usage, model scoping."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from polyvox.testing import Emulator, Reply, ToolCall, Usage
from tests.testing.emulator_helpers import chat_body, sse_chunks


def ask(client: openai.OpenAI, text: str = "hi", model: str = "gpt-4o") -> str | None:
    result = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": text}]
    )
    return result.choices[0].message.content


def test_fifo_queue_then_auto(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    emulator.script(Reply("first"), "second")
    assert ask(openai_client) == "first"
    assert ask(openai_client) == "second"
    assert ask(openai_client, "again") == "You said: again"


def test_scripted_tool_calls(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    emulator.script(
        Reply(
            tool_calls=[
                ToolCall("lookup", {"q": "Zürich"}, id="call_fixed"),
                ToolCall("count", {"n": 2}),
            ]
        )
    )
    result = openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x"}]
    )
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert calls[0].id == "call_fixed"
    assert json.loads(calls[0].function.arguments) == {"q": "Zürich"}
    assert calls[1].id.startswith("call_")


def test_reasoning_is_sent_like_vllm_and_openrouter(emulator: Emulator, http: httpx.Client) -> None:
    emulator.script(Reply("4", reasoning="2 + 2 is 4"), Reply("4", reasoning="2 + 2 is 4"))
    message = http.post("/v1/chat/completions", json=chat_body()).json()["choices"][0]["message"]
    assert message["reasoning_content"] == message["reasoning"] == "2 + 2 is 4"
    chunks = sse_chunks(http.post("/v1/chat/completions", json=chat_body(stream=True)).text)
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content", "") for c in chunks)
    assert reasoning == "2 + 2 is 4"


def test_usage_overrides(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    emulator.script(
        Reply(
            "ok",
            usage=Usage(
                prompt_tokens=100, completion_tokens=40, cached_tokens=64, reasoning_tokens=30
            ),
        )
    )
    result = openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x"}]
    )
    usage = result.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (100, 40, 140)
    assert usage.prompt_tokens_details
    assert usage.prompt_tokens_details.cached_tokens == 64
    assert usage.completion_tokens_details
    assert usage.completion_tokens_details.reasoning_tokens == 30


def test_refusal_and_finish_reason(emulator: Emulator, http: httpx.Client) -> None:
    emulator.script(Reply(refusal="I can't help with that."), Reply("cut", finish_reason="length"))
    body = http.post("/v1/chat/completions", json=chat_body()).json()
    assert body["choices"][0]["message"]["content"] is None
    assert body["choices"][0]["message"]["refusal"] == "I can't help with that."
    chunks = sse_chunks(http.post("/v1/chat/completions", json=chat_body(stream=True)).text)
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_streamed_refusal(emulator: Emulator, http: httpx.Client) -> None:
    emulator.script(Reply(refusal="No, sorry."))
    chunks = sse_chunks(http.post("/v1/chat/completions", json=chat_body(stream=True)).text)
    assert "".join(c["choices"][0]["delta"].get("refusal") or "" for c in chunks) == "No, sorry."


def test_model_scoped_scripts(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    emulator.script("from big", model="big")
    emulator.script("from anyone")
    assert ask(openai_client, model="small") == "from anyone"
    assert ask(openai_client, model="small") == "You said: hi"
    assert ask(openai_client, model="big") == "from big"


def test_script_applies_limits_too(emulator: Emulator, openai_client: openai.OpenAI) -> None:
    emulator.script("Hello you there")
    result = openai_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x"}], stop=["you"]
    )
    assert result.choices[0].message.content == "Hello "


def test_raw_reply_is_sent_verbatim(emulator: Emulator, http: httpx.Client) -> None:
    body = '{"weird": true,  "spacing": [1, 2]}'
    emulator.script(Reply.raw(body, "application/json; charset=utf-8", status=201))
    response = http.post("/v1/chat/completions", json=chat_body())
    assert response.status_code == 201
    assert response.text == body
    assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_embeddings_only_take_raw_replies(emulator: Emulator, http: httpx.Client) -> None:
    emulator.script(Reply("for chat"))
    embedding = http.post("/v1/embeddings", json={"model": "e", "input": "x"})
    assert embedding.json()["object"] == "list"
    chat = http.post("/v1/chat/completions", json=chat_body()).json()
    assert chat["choices"][0]["message"]["content"] == "for chat"


@pytest.mark.parametrize(
    "reply",
    [
        Reply("x"),
        Reply(
            content=None,
            tool_calls=[ToolCall("f", {"a": [1, {"b": None}]}, id="c1")],
            reasoning="r",
            finish_reason="tool_calls",
            refusal=None,
            usage=Usage(prompt_tokens=1),
        ),
        Reply.raw("data: [DONE]\n\n", "text/event-stream", 200),
    ],
)
def test_reply_json_round_trip(reply: Reply) -> None:
    assert Reply.from_dict(json.loads(json.dumps(reply.to_dict()))) == reply


def test_invalid_requests_do_not_consume_replies(emulator: Emulator, http: httpx.Client) -> None:
    emulator.script("kept")
    assert http.post("/v1/chat/completions", json={"model": "m"}).status_code == 400
    reply = http.post("/v1/chat/completions", json=chat_body()).json()
    assert reply["choices"][0]["message"]["content"] == "kept"


def test_raw_and_rendered_replies_keep_their_order(emulator: Emulator, http: httpx.Client) -> None:
    emulator.script("first", Reply.raw('{"second": true}'), "third")
    answers = [http.post("/v1/chat/completions", json=chat_body()).json() for _ in range(3)]
    assert answers[0]["choices"][0]["message"]["content"] == "first"
    assert answers[1] == {"second": True}
    assert answers[2]["choices"][0]["message"]["content"] == "third"
