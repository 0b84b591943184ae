"""Every recorded Gemini interaction, replayed byte for byte through the SDK and polyvox's parser.

The emulator sends each recorded body exactly as recorded; ``google-genai`` reads it as it
reads the real API, and the assertions are on what ``ChatGoogleGenerativeAI`` and
``GoogleGenerativeAIEmbeddings`` make of it. Then the same bodies with fields removed or
null: never a ``KeyError`` or ``TypeError``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from langchain_core.exceptions import ModelNotFoundError

from polyvox.google import ChatGoogleGenerativeAI, GoogleGenerativeAIEmbeddings
from polyvox.testing import Emulator, Reply
from tests.conftest import recorded, recorded_names
from tests.openai.conftest import replay


def _chat(emulator: Emulator, model: str = "gemini-2.5-flash") -> ChatGoogleGenerativeAI:
    return ChatGoogleGenerativeAI(
        model=model, api_key="test-key", base_url=emulator.gemini_base_url, max_retries=0
    )


def _body(name: str) -> dict[str, Any]:
    return json.loads(recorded(name)["response"]["body"])  # type: ignore[no-any-return]


def test_every_recording_is_covered() -> None:
    assert recorded_names("gemini__") == [
        "gemini__chat_basic",
        "gemini__chat_thinking_usage",
        "gemini__count_tokens",
        "gemini__embeddings",
        "gemini__embeddings_error_404",
        "gemini__function_call",
        "gemini__raw_json_grounding",
        "gemini__safety_blocked",
        "gemini__stream_function_call",
        "gemini__stream_text",
    ]


def test_chat_basic(emulator: Emulator) -> None:
    replay(emulator, "gemini__chat_basic")
    message = _chat(emulator).invoke("Hello!")
    assert message.content == "Hello! How can I help you today?"
    assert message.usage_metadata == {
        "input_tokens": 9,
        "output_tokens": 43,
        "total_tokens": 52,
        "input_token_details": {"cache_read": 0},
        "output_token_details": {"reasoning": 34},
    }
    meta = message.response_metadata
    assert (meta["model_name"], meta["model_provider"], meta["finish_reason"]) == (
        "gemini-2.5-flash",
        "google",
        "STOP",
    )
    assert meta["blocked"] is False
    assert message.id == "bzlXaa_EE_aHqtsPi_zw8Ao"


def test_thinking_usage_and_signature(emulator: Emulator) -> None:
    rec = replay(emulator, "gemini__chat_thinking_usage")
    parts = json.loads(rec["response"]["body"])["candidates"][0]["content"]["parts"]
    message = _chat(emulator, "gemini-3-pro-preview").invoke("How do I cross the street?")
    assert message.content == parts[1]["text"]
    assert message.additional_kwargs["reasoning_content"] == parts[0]["text"]
    signature = message.additional_kwargs["__gemini_text_thought_signature__"]
    assert base64.b64decode(signature) == base64.b64decode(parts[1]["thoughtSignature"])
    assert message.usage_metadata == {
        "input_tokens": 29,
        "output_tokens": 1737,
        "total_tokens": 1766,
        "input_token_details": {"cache_read": 0},
        "output_token_details": {"reasoning": 1001},
    }


def test_function_call(emulator: Emulator) -> None:
    replay(emulator, "gemini__function_call")
    message = _chat(emulator, "gemini-2.0-flash").invoke("What is the largest city?")
    assert message.content == ""
    assert len(message.tool_calls) == 1
    call = message.tool_calls[0]
    assert (call["name"], call["args"]) == ("get_user_country", {})
    assert call["id"]
    assert call["id"].startswith("call_")
    replay(emulator, "gemini__function_call")
    assert _chat(emulator, "gemini-2.0-flash").invoke("x").tool_calls[0]["id"] == call["id"]
    assert message.usage_metadata is not None
    assert message.usage_metadata["total_tokens"] == 38


def test_stream_function_call(emulator: Emulator) -> None:
    replay(emulator, "gemini__stream_function_call")
    chunks = list(_chat(emulator, "gemini-2.0-flash").stream("temperature of the capital?"))
    full = chunks[0]
    for chunk in chunks[1:]:
        full += chunk
    assert [(c["name"], c["args"]) for c in full.tool_calls] == [
        ("get_capital", {"country": "France"})
    ]
    assert full.usage_metadata is not None
    assert (full.usage_metadata["input_tokens"], full.usage_metadata["output_tokens"]) == (52, 5)
    assert full.response_metadata["finish_reason"] == "STOP"


def test_stream_text_counts_usage_once(emulator: Emulator) -> None:
    replay(emulator, "gemini__stream_text")
    chunks = list(_chat(emulator, "gemini-2.0-flash-exp").stream("capital of France?"))
    assert [c.content for c in chunks if c.content] == ["The", " capital of France", " is Paris.\n"]
    with_usage = [c for c in chunks if c.usage_metadata]
    assert len(with_usage) == 1, "usage repeated in every event is counted once"
    full = chunks[0]
    for chunk in chunks[1:]:
        full += chunk
    assert full.content == "The capital of France is Paris.\n"
    assert full.usage_metadata == {
        "input_tokens": 13,
        "output_tokens": 8,
        "total_tokens": 21,
        "input_token_details": {"cache_read": 0},
    }


async def test_stream_text_async(emulator: Emulator) -> None:
    replay(emulator, "gemini__stream_text")
    text = ""
    async for chunk in _chat(emulator, "gemini-2.0-flash-exp").astream("capital of France?"):
        text += str(chunk.content)
    assert text == "The capital of France is Paris.\n"


def test_safety_blocked(emulator: Emulator) -> None:
    replay(emulator, "gemini__safety_blocked")
    message = _chat(emulator, "gemini-1.5-flash").invoke("Tell me a joke")
    assert message.content == ""
    meta = message.response_metadata
    assert meta["blocked"] is True
    assert (meta["finish_reason"], meta["block_reason"]) == ("SAFETY", "SAFETY")
    assert meta["safety_ratings"][0] == {
        "blocked": True,
        "category": "HARM_CATEGORY_HATE_SPEECH",
        "probability": "LOW",
    }
    assert message.usage_metadata == {
        "input_tokens": 14,
        "output_tokens": 0,
        "total_tokens": 14,
        "input_token_details": {"cache_read": 0},
    }


def test_grounding_and_tool_use_prompt_tokens(emulator: Emulator) -> None:
    replay(emulator, "gemini__raw_json_grounding")
    message = _chat(emulator).invoke("first sentence?")
    assert str(message.content).startswith("Pydantic AI is a Python agent framework")
    assert message.usage_metadata == {
        "input_tokens": 32 + 2395,
        "output_tokens": 41 + 47,
        "total_tokens": 2515,
        "input_token_details": {"cache_read": 0},
        "output_token_details": {"reasoning": 47},
    }
    grounding = message.response_metadata["grounding_metadata"]
    assert grounding["grounding_chunks"][0]["web"]["uri"] == "https://ai.pydantic.dev"


def test_count_tokens(emulator: Emulator) -> None:
    replay(emulator, "gemini__count_tokens")
    assert _chat(emulator).get_num_tokens("The quick brown fox jumps over the lazydog.") == 12


def test_embeddings(emulator: Emulator) -> None:
    rec = replay(emulator, "gemini__embeddings")
    embeddings = GoogleGenerativeAIEmbeddings(
        model="gemini-embedding-2-preview", api_key="k", base_url=emulator.gemini_base_url
    )
    vector = embeddings.embed_query("Hello, world!")
    expected = json.loads(rec["response"]["body"])["embeddings"][0]["values"]
    assert vector == expected
    sent = emulator.last_request
    assert sent is not None
    assert sent.json is not None
    assert sent.json["requests"][0]["taskType"] == "RETRIEVAL_QUERY"


def test_embeddings_error_404(emulator: Emulator) -> None:
    rec = replay(emulator, "gemini__embeddings_error_404")
    embeddings = GoogleGenerativeAIEmbeddings(
        model="nonexistent-model", api_key="k", base_url=emulator.gemini_base_url, max_retries=0
    )
    with pytest.raises(ModelNotFoundError) as caught:
        embeddings.embed_query("Hello, world!")
    message = json.loads(rec["response"]["body"])["error"]["message"]
    assert str(caught.value) == f"google: 404 NOT_FOUND: {message}"
    assert caught.value.code == 404  # type: ignore[attr-defined]


# ---- the same bodies with fields missing or null ---------------------------------------


def _without(body: Any, path: tuple[str | int, ...], *, null: bool) -> Any:
    copy = json.loads(json.dumps(body))
    target = copy
    for key in path[:-1]:
        target = target[key]
    if null:
        target[path[-1]] = None
    else:
        del target[path[-1]]
    return copy


_PATHS: list[tuple[str, tuple[str | int, ...]]] = [
    ("gemini__chat_basic", ("usageMetadata",)),
    ("gemini__chat_basic", ("usageMetadata", "candidatesTokenCount")),
    ("gemini__chat_basic", ("usageMetadata", "thoughtsTokenCount")),
    ("gemini__chat_basic", ("usageMetadata", "totalTokenCount")),
    ("gemini__chat_basic", ("modelVersion",)),
    ("gemini__chat_basic", ("responseId",)),
    ("gemini__chat_basic", ("candidates", 0, "content")),
    ("gemini__chat_basic", ("candidates", 0, "content", "parts")),
    ("gemini__chat_basic", ("candidates", 0, "content", "parts", 0, "text")),
    ("gemini__chat_basic", ("candidates", 0, "finishReason")),
    ("gemini__function_call", ("candidates", 0, "content", "parts", 0, "functionCall", "args")),
    ("gemini__function_call", ("candidates", 0, "content", "parts", 0, "functionCall", "name")),
    ("gemini__safety_blocked", ("candidates", 0, "safetyRatings")),
]


@pytest.mark.parametrize("null", [False, True], ids=["missing", "null"])
@pytest.mark.parametrize(("name", "path"), _PATHS, ids=[f"{n}:{p}" for n, p in _PATHS])
def test_missing_or_null_fields_are_not_errors(
    emulator: Emulator, name: str, path: tuple[str | int, ...], null: bool
) -> None:
    body = _without(_body(name), path, null=null)
    emulator.script(Reply.raw(json.dumps(body)))
    message = _chat(emulator).invoke("x")
    assert isinstance(message.content, str)
    assert message.response_metadata["model_provider"] == "google"
    if path == ("usageMetadata",):
        assert message.usage_metadata is None


def test_prompt_blocked_outright(emulator: Emulator) -> None:
    body = {
        "promptFeedback": {
            "blockReason": "PROHIBITED_CONTENT",
            "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH"}],
        },
        "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
        "modelVersion": "gemini-2.5-flash",
    }
    emulator.script(Reply.raw(json.dumps(body)))
    message = _chat(emulator).invoke("something prohibited")
    meta = message.response_metadata
    assert (meta["blocked"], meta["block_reason"]) == (True, "PROHIBITED_CONTENT")
    assert meta["prompt_feedback"]["block_reason"] == "PROHIBITED_CONTENT"
    assert message.content == ""


@pytest.mark.parametrize("reason", ["RECITATION", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII"])
def test_every_safety_finish_reason_is_blocked(emulator: Emulator, reason: str) -> None:
    body = _body("gemini__safety_blocked")
    body["candidates"][0]["finishReason"] = reason
    emulator.script(Reply.raw(json.dumps(body)))
    meta = _chat(emulator).invoke("x").response_metadata
    assert (meta["blocked"], meta["finish_reason"], meta["block_reason"]) == (True, reason, reason)


def test_stream_without_finish_reason_is_refused(emulator: Emulator) -> None:
    body = recorded("gemini__stream_text")["response"]["body"]
    cut = body[: body.rindex("data: ")]  # the last event, with the finish reason, is lost
    emulator.script(Reply.raw(cut, content_type="text/event-stream"))
    from polyvox.core.errors import ProviderResponseError

    with pytest.raises(ProviderResponseError, match="without a finish reason"):
        list(_chat(emulator).stream("x"))
