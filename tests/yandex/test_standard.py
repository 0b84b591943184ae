"""LangChain's standard suites for ChatYandexGPT and YandexGPTEmbeddings, against the emulator.

The emulator serves the foundation-models gRPC services on a real ``grpc.server``; the
official ``yandex-ai-studio-sdk`` talks to it unmodified.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests, EmbeddingsIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests

from polyvox.testing import shared_emulator
from polyvox.yandex import ChatYandexGPT, YandexGPTEmbeddings
from tests.openai.test_standard import SERDES_REASON

_ENV = {"YC_API_KEY": "AQVNenv", "YC_FOLDER_ID": "b1genv", "YC_API_ENDPOINT": "127.0.0.2:9"}
_FROM_ENV = {"api_key": "AQVNenv", "folder_id": "b1genv", "base_url": "127.0.0.2:9"}


def _endpoint() -> dict[str, Any]:
    return {"folder_id": "b1gfolder", "api_key": "AQVNtest",
            "base_url": shared_emulator().yandex_endpoint, "max_retries": 0}  # fmt: skip


class TestChatYandexGPTUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatYandexGPT]:
        return ChatYandexGPT

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "yandexgpt", "folder_id": "b1gfolder", "api_key": "AQVNtest"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return _ENV, {"model": "yandexgpt"}, _FROM_ENV

    @pytest.mark.xfail(reason=SERDES_REASON, strict=True, raises=ValueError)
    def test_serdes(self, model: BaseChatModel, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)


class TestChatYandexGPTIntegration(ChatModelIntegrationTests):
    """The standard integration suite against the emulator's Yandex gRPC services.

    Skipped by the suite itself, with reason: the media tests download their media from the
    internet (and the completion API takes text only); test_stream_time needs VCR
    cassettes of a real API.
    """

    @property
    def chat_model_class(self) -> type[ChatYandexGPT]:
        return ChatYandexGPT

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "yandexgpt", **_endpoint()}

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return False

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "yandexgpt-lite"


class TestYandexGPTEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[YandexGPTEmbeddings]:
        return YandexGPTEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"folder_id": "b1gfolder", "api_key": "AQVNtest"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return _ENV, {}, _FROM_ENV


class TestYandexGPTEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[YandexGPTEmbeddings]:
        return YandexGPTEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return _endpoint()
