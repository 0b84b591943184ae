"""LangChain's standard test suites (langchain-tests, pinned) for ``GigaChat`` and its embeddings.

The integration suites run against the polyvox emulator speaking GigaChat's protocol (the
OAuth exchange included), through the real ``gigachat`` SDK and real HTTP on loopback.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_tests.integration_tests import ChatModelIntegrationTests, EmbeddingsIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from polyvox.gigachat import GigaChat, GigaChatEmbeddings
from polyvox.testing import Reply, Usage, shared_emulator
from tests.gigachat.conftest import connection
from tests.openai.test_standard import SERDES_REASON

KEY = "Y2xpZW50OnNlY3JldA=="  # base64 of client:secret

ANY_OF_SEVERAL = (
    "GigaChat's API forces one named function (function_call={'name': ...}) but has no "
    "'call any of these': tool_choice='any' with several tools is refused with a ValueError "
    "saying so, as langchain-gigachat does (allow_any_tool_choice_fallback=True sends 'auto')"
)


class TestGigaChatUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[GigaChat]:
        return GigaChat

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "GigaChat-2-Max", "api_key": KEY}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"GIGACHAT_CREDENTIALS": KEY, "GIGACHAT_BASE_URL": "http://127.0.0.1:1/api/v1"},
            {"model": "GigaChat-2-Max"},
            {"api_key": KEY, "base_url": "http://127.0.0.1:1/api/v1"},
        )

    @pytest.mark.xfail(reason=SERDES_REASON, strict=True, raises=ValueError)
    def test_serdes(self, model: BaseChatModel, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)

    @pytest.mark.xfail(reason=ANY_OF_SEVERAL, strict=True, raises=ValueError)
    def test_bind_tool_pydantic(self, model: BaseChatModel, my_adder_tool: Any) -> None:
        super().test_bind_tool_pydantic(model, my_adder_tool)


class TestGigaChatIntegration(ChatModelIntegrationTests):
    """The standard integration suite against the emulator."""

    @property
    def chat_model_class(self) -> type[GigaChat]:
        return GigaChat

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "GigaChat-2-Max", **connection(shared_emulator())}

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "GigaChat-2-Pro"

    @property
    def has_tool_choice(self) -> bool:
        return True

    @pytest.mark.xfail(reason=ANY_OF_SEVERAL, strict=True, raises=ValueError)
    def test_tool_choice(self, model: BaseChatModel) -> None:
        super().test_tool_choice(model)

    @property
    def supported_usage_metadata_details(self) -> dict[str, list[Any]]:
        return {"invoke": ["cache_read_input"], "stream": ["cache_read_input"]}

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        shared_emulator().script(
            Reply("Cached.", usage=Usage(prompt_tokens=900, cached_tokens=800))
        )
        model = GigaChat(**self.chat_model_params)
        if not stream:
            return model.invoke([HumanMessage("hi")])
        full: AIMessageChunk | None = None
        for chunk in model.stream([HumanMessage("hi")]):
            full = chunk if full is None else full + chunk
        assert full is not None
        return full


class TestGigaChatEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[GigaChatEmbeddings]:
        return GigaChatEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "Embeddings", "api_key": KEY}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"GIGACHAT_CREDENTIALS": KEY, "GIGACHAT_BASE_URL": "http://127.0.0.1:1/api/v1"},
            {"model": "Embeddings"},
            {"api_key": KEY, "base_url": "http://127.0.0.1:1/api/v1"},
        )


class TestGigaChatEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[GigaChatEmbeddings]:
        return GigaChatEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "Embeddings", **connection(shared_emulator())}
