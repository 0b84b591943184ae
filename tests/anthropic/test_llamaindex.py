"""The LlamaIndex class of polyvox-anthropic: the conformance suite, against the emulator."""

from __future__ import annotations

import pytest
from llama_index.core.llms import LLM

from polyvox.anthropic import ChatAnthropic
from polyvox.anthropic.llamaindex import Anthropic
from polyvox.testing import Emulator, shared_emulator
from polyvox.testing.llamaindex_suite import LlamaIndexLLMTests


class TestAnthropicLlamaIndex(LlamaIndexLLMTests):
    """`Anthropic(model=..., base_url=...)`: every ChatAnthropic keyword builds the model."""

    has_tool_calling = True
    has_tool_choice = True
    has_streaming = True
    has_usage = True
    has_image_input = True
    has_agent = True

    def build_llm(self) -> LLM:
        return Anthropic(
            model="claude-haiku-4-5",
            api_key="sk-ant-test",
            base_url=shared_emulator().url,
            max_retries=0,
        )


def test_keywords_build_chat_anthropic_and_metadata_reads_the_profile(
    emulator: Emulator,
) -> None:
    llm = Anthropic(model="claude-sonnet-4-5-20250929", api_key="k", base_url=emulator.url)
    assert type(llm.chat_model) is ChatAnthropic
    assert llm.metadata.context_window == 200_000
    assert llm.metadata.num_output == 64_000
    assert llm.metadata.is_function_calling_model is True
    assert llm.complete("hello").text == "You said: hello"
    assert emulator.requests[-1].json["max_tokens"] == 64_000


def test_unknown_keyword_is_rejected() -> None:
    with pytest.raises(ValueError, match="no_such_option"):
        Anthropic(model="claude-haiku-4-5", api_key="k", no_such_option=1)
