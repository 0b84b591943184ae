"""LangChain's standard chat-model integration suite against the emulator.

The client is ``langchain_openai.ChatOpenAI`` (the reference OpenAI integration, only
used here to check the emulator): if the emulator's auto behaviour satisfies the suite
through it, any faithful OpenAI integration can pass the same suite against it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from polyvox.testing import shared_emulator

langchain_openai = pytest.importorskip("langchain_openai")


class TestEmulatorWithReferenceClient(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[Any]:
        return langchain_openai.ChatOpenAI

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": "gpt-4o-mini",
            "api_key": "sk-test",
            "base_url": shared_emulator().openai_base_url,
            "stream_usage": True,
            "max_retries": 0,
            # langchain-openai caches one async client per process; each test has its own
            # event loop, so give every model a fresh one.
            "http_async_client": httpx.AsyncClient(),
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
        return {"invoke": ["reasoning_output", "cache_read_input"], "stream": []}

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> Any:
        from polyvox.testing import Reply, Usage

        shared_emulator().script(Reply("4", reasoning="2 + 2", usage=Usage(reasoning_tokens=3)))
        return self._invoke(stream=stream)

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> Any:
        from polyvox.testing import Reply, Usage

        shared_emulator().script(Reply("ok", usage=Usage(prompt_tokens=50, cached_tokens=40)))
        return self._invoke(stream=stream)

    def _invoke(self, *, stream: bool) -> Any:
        model = self.chat_model_class(**self.chat_model_params)
        if not stream:
            return model.invoke("hi")
        full = None
        for chunk in model.stream("hi"):
            full = chunk if full is None else full + chunk
        return full
