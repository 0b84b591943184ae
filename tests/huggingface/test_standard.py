"""LangChain's standard suites for the Hugging Face classes, against the emulated router and TEI."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests, EmbeddingsIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from polyvox.huggingface import ChatHuggingFace, HuggingFaceEndpointEmbeddings
from polyvox.testing import shared_emulator
from tests.openai.test_standard import SERDES_REASON

MODEL = "meta-llama/Llama-3.3-70B-Instruct"


def router_url() -> str:
    return f"{shared_emulator().url}/huggingface/router/v1"


class TestChatHuggingFaceUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatHuggingFace]:
        return ChatHuggingFace

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": MODEL, "api_key": "hf_test"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"HF_TOKEN": "hf_env", "HF_ROUTER_URL": "http://127.0.0.2:9/v1"},
            {"model": MODEL},
            {"api_key": "hf_env", "base_url": "http://127.0.0.2:9/v1"},
        )

    @pytest.mark.xfail(reason=SERDES_REASON, strict=True, raises=ValueError)
    def test_serdes(self, model: BaseChatModel, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)


class TestChatHuggingFaceIntegration(ChatModelIntegrationTests):
    """The standard integration suite against the emulated Inference Providers router."""

    @property
    def chat_model_class(self) -> type[ChatHuggingFace]:
        return ChatHuggingFace

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": MODEL, "api_key": "hf_test", "base_url": router_url()}

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return False

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "Qwen/Qwen2.5-72B-Instruct"


class TestHuggingFaceEndpointEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[HuggingFaceEndpointEmbeddings]:
        return HuggingFaceEndpointEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "BAAI/bge-m3", "api_key": "hf_test"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"HF_TOKEN": "hf_env", "HF_ROUTER_URL": "http://127.0.0.2:9/v1"},
            {},
            {"api_key": "hf_env", "base_url": "http://127.0.0.2:9/v1"},
        )


class TestHuggingFaceEndpointEmbeddingsIntegration(EmbeddingsIntegrationTests):
    """Against the emulated HF Inference pipeline route (feature-extraction)."""

    @property
    def embeddings_class(self) -> type[HuggingFaceEndpointEmbeddings]:
        return HuggingFaceEndpointEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "BAAI/bge-m3", "api_key": "hf_test", "base_url": router_url()}


class TestTEIEmbeddingsIntegration(EmbeddingsIntegrationTests):
    """Against an emulated self-hosted text-embeddings-inference server."""

    @property
    def embeddings_class(self) -> type[HuggingFaceEndpointEmbeddings]:
        return HuggingFaceEndpointEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": f"{shared_emulator().url}/huggingface/tei"}
