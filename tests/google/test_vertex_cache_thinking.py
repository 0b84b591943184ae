"""Vertex AI through the SDK, cached-content tokens and ``thinking_level``, against the emulator.

Vertex AI is the same SDK with ``vertexai=True``: the project and location go in the path
(``/v1beta1/projects/{p}/locations/{l}/publishers/google/models/...``) and the caller's
Google credentials in an ``Authorization: Bearer`` header; express mode (an API key, no
project) uses ``/publishers/google/models/...``.
"""

from __future__ import annotations

from typing import Any

import pytest
from google.genai import errors as genai_errors
from google.oauth2.credentials import Credentials

from polyvox.google import (
    ChatGoogleGenerativeAI,
    GoogleGenerativeAIEmbeddings,
    GoogleInvalidRequestError,
)
from polyvox.testing import Emulator, Reply, Usage

VERTEX = "/v1beta1/projects/my-project/locations/us-central1/publishers/google/models"


def _vertex(emulator: Emulator, cls: type[Any] = ChatGoogleGenerativeAI, **fields: Any) -> Any:
    model = "gemini-embedding-001" if cls is GoogleGenerativeAIEmbeddings else "gemini-2.5-flash"
    return cls(
        model=model,
        vertexai=True,
        project="my-project",
        location="us-central1",
        credentials=Credentials(token="ya29.test-token"),
        base_url=emulator.url,
        **fields,
    )


def _last(emulator: Emulator) -> Any:
    request = emulator.last_request
    assert request is not None
    return request


# ---- Vertex AI -------------------------------------------------------------------------------


async def test_vertex_chat_paths_and_credentials(emulator: Emulator) -> None:
    model = _vertex(emulator, max_retries=0)
    assert model.invoke("hi").content == "You said: hi"
    request = _last(emulator)
    assert request.path == f"{VERTEX}/gemini-2.5-flash:generateContent"
    assert request.headers["authorization"] == "Bearer ya29.test-token"
    assert "x-goog-api-key" not in request.headers
    assert "".join(str(c.content) for c in model.stream("streamed")) == "You said: streamed"
    assert _last(emulator).path == f"{VERTEX}/gemini-2.5-flash:streamGenerateContent"
    answer = await model.ainvoke("async")
    assert answer.content == "You said: async"
    assert answer.response_metadata["model_provider"] == "google"
    assert model.get_num_tokens("How many tokens is this?") > 0
    assert _last(emulator).path == f"{VERTEX}/gemini-2.5-flash:countTokens"


def test_vertex_embeddings(emulator: Emulator) -> None:
    embeddings = _vertex(emulator, GoogleGenerativeAIEmbeddings, output_dimensionality=8)
    vectors = embeddings.embed_documents(["a cat", "a dog"])
    assert [len(v) for v in vectors] == [8, 8]
    assert _last(emulator).path.startswith(f"{VERTEX}/gemini-embedding-001:")


def test_vertex_settings_from_the_environment(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "my-project")
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", "us-central1")
    model = ChatGoogleGenerativeAI(
        model="gemini-2.5-flash",
        credentials=Credentials(token="ya29.env"),
        base_url=emulator.url,
        max_retries=0,
    )
    assert (model.vertexai, model.project, model.location) == (True, "my-project", "us-central1")
    model.invoke("hi")
    assert _last(emulator).path == f"{VERTEX}/gemini-2.5-flash:generateContent"


def test_vertex_express_mode_with_an_api_key(emulator: Emulator) -> None:
    model = ChatGoogleGenerativeAI(
        model="gemini-2.5-flash",
        vertexai=True,
        api_key="express-key",
        base_url=emulator.url,
        max_retries=0,
    )
    model.invoke("hi")
    request = _last(emulator)
    assert request.path == "/v1beta1/publishers/google/models/gemini-2.5-flash:generateContent"
    assert request.headers["x-goog-api-key"] == "express-key"


def test_credentials_are_never_serialised(emulator: Emulator) -> None:
    model = _vertex(emulator)
    assert "credentials" not in model.model_dump()
    assert "ya29" not in repr(model)


# ---- cached content ---------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_cached_content_tokens_are_cache_reads(emulator: Emulator, stream: bool) -> None:
    model = ChatGoogleGenerativeAI(
        model="gemini-2.5-flash",
        api_key="test-key",
        base_url=emulator.gemini_base_url,
        cached_content="cachedContents/abc123",
        max_retries=0,
    )
    usage = Usage(prompt_tokens=5_000, completion_tokens=20, cached_tokens=4_096)
    emulator.script(Reply("from the cache", usage=usage))
    if stream:
        chunks = list(model.stream("summarise the cached document"))
        message: Any = chunks[0]
        for chunk in chunks[1:]:
            message += chunk
        assert sum(1 for c in chunks if c.usage_metadata) == 1
    else:
        message = model.invoke("summarise the cached document")
    assert _last(emulator).json["cachedContent"] == "cachedContents/abc123"
    assert message.usage_metadata == {
        "input_tokens": 5_000,
        "output_tokens": 20,
        "total_tokens": 5_020,
        "input_token_details": {"cache_read": 4_096},
    }


# ---- thinking_level -----------------------------------------------------------------------------


def _gemini3(emulator: Emulator, **fields: Any) -> ChatGoogleGenerativeAI:
    return ChatGoogleGenerativeAI(
        model="gemini-3-pro-preview",
        api_key="test-key",
        base_url=emulator.gemini_base_url,
        max_retries=0,
        **fields,
    )


def _thinking_config(emulator: Emulator) -> dict[str, Any]:
    config = _last(emulator).json["generationConfig"]["thinkingConfig"]
    assert isinstance(config, dict)
    return config


def test_thinking_level_is_sent_and_can_change_per_call(emulator: Emulator) -> None:
    model = _gemini3(emulator, thinking_level="low", include_thoughts=True)
    emulator.script(Reply("4", reasoning="2 + 2", usage=Usage(reasoning_tokens=12)))
    message = model.invoke("2 + 2?")
    # the SDK writes the enum in upper case and the fields inside in snake_case
    assert _thinking_config(emulator) == {"include_thoughts": True, "thinking_level": "LOW"}
    assert message.additional_kwargs["reasoning_content"] == "2 + 2"
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_token_details"] == {"reasoning": 12}
    model.invoke("harder", thinking_level="high")
    assert _thinking_config(emulator)["thinking_level"] == "HIGH"
    model.invoke("again")
    assert _thinking_config(emulator)["thinking_level"] == "LOW", "a call changes only itself"


@pytest.mark.parametrize("level", ["minimal", "low", "medium", "high"])
async def test_every_thinking_level_streams(emulator: Emulator, level: str) -> None:
    model = _gemini3(emulator, thinking_level=level)
    text = "".join([str(c.content) async for c in model.astream("hi")])
    assert text == "You said: hi"
    assert _thinking_config(emulator) == {"thinking_level": level.upper()}


def test_a_budget_and_a_level_together_are_refused_as_the_api_refuses_them(
    emulator: Emulator,
) -> None:
    model = _gemini3(emulator, thinking_level="low", thinking_budget=1024)
    with pytest.raises(GoogleInvalidRequestError, match="only one of thinking budget") as caught:
        model.invoke("hi")
    assert isinstance(caught.value, genai_errors.ClientError)
    assert caught.value.code == 400


def test_an_unknown_thinking_level_is_refused_before_the_call() -> None:
    with pytest.raises(ValueError, match="thinking_level"):
        ChatGoogleGenerativeAI(model="gemini-3-pro-preview", api_key="k", thinking_level="max")  # type: ignore[arg-type]
