"""LangChain's standard test suites (langchain-tests, pinned) for ``ChatAnthropic``.

The integration suite runs against the polyvox emulator speaking the Anthropic Messages
protocol, through the real ``anthropic`` SDK and real HTTP on loopback.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from polyvox.anthropic import ChatAnthropic
from polyvox.testing import Reply, Usage, shared_emulator
from tests.openai.test_standard import SERDES_REASON


class TestChatAnthropicUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatAnthropic]:
        return ChatAnthropic

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "claude-haiku-4-5", "api_key": "sk-ant-test"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"ANTHROPIC_API_KEY": "sk-ant-env", "ANTHROPIC_BASE_URL": "http://127.0.0.1:1"},
            {"model": "claude-haiku-4-5"},
            {"api_key": "sk-ant-env", "base_url": "http://127.0.0.1:1"},
        )

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @pytest.mark.xfail(reason=SERDES_REASON, strict=True, raises=ValueError)
    def test_serdes(self, model: BaseChatModel, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)


class TestChatAnthropicIntegration(ChatModelIntegrationTests):
    """The standard integration suite against the emulator.

    Skipped by the suite itself, with reason: the tests that download PDFs, audio or
    images from the internet (no test here may reach it; test_messages.py covers those
    conversions with local data) and test_stream_time (needs VCR cassettes of a real API).
    The cache-usage tests script the emulator's usage (Anthropic reports cache reads and
    writes apart from the input tokens).
    """

    @property
    def chat_model_class(self) -> type[ChatAnthropic]:
        return ChatAnthropic

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": "claude-haiku-4-5",
            "api_key": "sk-ant-test",
            "base_url": shared_emulator().url,
        }

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "claude-sonnet-4-5"

    @property
    def supported_usage_metadata_details(self) -> dict[str, list[Any]]:
        both = ["cache_read_input", "cache_creation_input"]
        return {"invoke": both, "stream": both}

    def _cached(self, usage: Usage, *, stream: bool) -> AIMessage:
        """A call whose answer reports prompt-cache use, as Anthropic's does."""
        emulator = shared_emulator()
        emulator.script(Reply("Cached answer.", usage=usage))
        model = ChatAnthropic(**self.chat_model_params)
        system = [{"type": "text", "text": "Long instructions. " * 50,
                   "cache_control": {"type": "ephemeral"}}]  # fmt: skip
        messages = [SystemMessage(system), HumanMessage("hi")]  # type: ignore[arg-type]
        if not stream:
            return model.invoke(messages)
        full: AIMessageChunk | None = None
        for chunk in model.stream(messages):
            full = chunk if full is None else full + chunk
        assert full is not None
        return full

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        return self._cached(Usage(prompt_tokens=1200, cached_tokens=1100), stream=stream)

    def invoke_with_cache_creation_input(self, *, stream: bool = False) -> AIMessage:
        return self._cached(Usage(prompt_tokens=1200, cache_creation_tokens=1100), stream=stream)
