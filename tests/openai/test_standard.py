"""LangChain's standard test suites (langchain-tests, pinned) for the OpenAI classes.

The integration suites run against the polyvox emulator speaking the OpenAI protocol,
through the real ``openai`` SDK and real HTTP on loopback.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests, EmbeddingsIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from polyvox.openai import ChatOpenAI, ChatOpenRouter, OpenAIEmbeddings
from polyvox.testing import shared_emulator

SERDES_REASON = (
    "langchain-core 1.7's load(allowed_objects='all') only admits the classes in its own "
    "mapping of langchain-ai partner packages, so no third-party class can be loaded that way; "
    "the dump still matches the snapshot, and test_serialization.py round-trips polyvox "
    "models with an explicit allowed_objects list"
)


class TestChatOpenAIUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatOpenAI]:
        return ChatOpenAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "gpt-4o-mini", "api_key": "sk-test"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"OPENAI_API_KEY": "sk-from-env", "OPENAI_BASE_URL": "http://127.0.0.1:1/v1"},
            {"model": "gpt-4o-mini"},
            {"api_key": "sk-from-env", "base_url": "http://127.0.0.1:1/v1"},
        )

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @pytest.mark.xfail(reason=SERDES_REASON, strict=True, raises=ValueError)
    def test_serdes(self, model: BaseChatModel, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)


class TestChatOpenRouterUnit(TestChatOpenAIUnit):
    @property
    def chat_model_class(self) -> type[ChatOpenRouter]:
        return ChatOpenRouter

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"OPENROUTER_API_KEY": "sk-or-env"},
            {"model": "openai/gpt-4.1"},
            {"api_key": "sk-or-env"},
        )


class TestChatOpenAIIntegration(ChatModelIntegrationTests):
    """The standard integration suite against the emulator.

    Skipped by the suite itself, with reason: the PDF, audio, image, image/PDF tool-message
    and Anthropic-input tests download their media from the internet, which no test here may
    reach (test_requests.py covers those conversions with local data: test_multimodal_parts,
    test_anthropic_style_history_is_converted); test_stream_time needs VCR cassettes of a
    real API.
    """

    @property
    def chat_model_class(self) -> type[ChatOpenAI]:
        return ChatOpenAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": "gpt-4o-mini",
            "api_key": "sk-test",
            "base_url": shared_emulator().openai_base_url,
        }

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "gpt-4.1-mini"

    @property
    def supported_usage_metadata_details(self) -> dict[str, list[Any]]:
        return {"invoke": [], "stream": []}


class TestOpenAIEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[OpenAIEmbeddings]:
        return OpenAIEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "text-embedding-3-small", "api_key": "sk-test"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return ({"OPENAI_API_KEY": "sk-from-env"}, {}, {"api_key": "sk-from-env"})


class TestOpenAIEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[OpenAIEmbeddings]:
        return OpenAIEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {
            "model": "text-embedding-3-small",
            "api_key": "sk-test",
            "base_url": shared_emulator().openai_base_url,
        }
