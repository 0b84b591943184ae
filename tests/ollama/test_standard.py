"""LangChain's standard suites for the Ollama classes, against the emulator's Ollama protocol."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests, EmbeddingsIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from polyvox.ollama import ChatBielik, ChatOllama, OllamaEmbeddings
from polyvox.testing import shared_emulator
from tests.openai.test_standard import SERDES_REASON


class TestChatOllamaUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatOllama]:
        return ChatOllama

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "llama3.2"}

    @property
    def has_tool_choice(self) -> bool:
        return False  # Ollama has no tool_choice

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"OLLAMA_HOST": "http://127.0.0.2:11434", "OLLAMA_API_KEY": "proxy-key"},
            {"model": "llama3.2"},
            {"base_url": "http://127.0.0.2:11434", "api_key": "proxy-key"},
        )

    @pytest.mark.xfail(reason=SERDES_REASON, strict=True, raises=ValueError)
    def test_serdes(self, model: BaseChatModel, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)


class TestChatOllamaIntegration(ChatModelIntegrationTests):
    """The standard integration suite against the emulator's native Ollama protocol.

    Skipped by the suite itself, with reason: the media tests download their media from the
    internet; test_stream_time needs VCR cassettes of a real API.
    """

    @property
    def chat_model_class(self) -> type[ChatOllama]:
        return ChatOllama

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "llama3.2", "base_url": shared_emulator().ollama_url}

    @property
    def has_tool_choice(self) -> bool:
        return False

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "qwen3:8b"


class TestChatBielikIntegration(TestChatOllamaIntegration):
    """Bielik 11B v2.3 (the default tag): its Ollama template has no tools."""

    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def chat_model_class(self) -> type[ChatBielik]:
        return ChatBielik

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"base_url": shared_emulator().ollama_url}


class TestOllamaEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[OllamaEmbeddings]:
        return OllamaEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "nomic-embed-text"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"OLLAMA_HOST": "http://127.0.0.2:11434"},
            {},
            {"base_url": "http://127.0.0.2:11434"},
        )


class TestOllamaEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[OllamaEmbeddings]:
        return OllamaEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "nomic-embed-text", "base_url": shared_emulator().ollama_url}
