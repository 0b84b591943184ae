"""The oracle sub-model: a LangChain chat model that answers only from the text it is given.

:class:`OracleChatModel` finds the benchmark question in its prompt (any position, any
template: an RLM sub-call, LlamaIndex's tree-summarize prompt, a direct call) and computes
the answer from the prompt's text alone (see :mod:`benchmarks.rlm.reading`). It behaves
like a model with a context window:

* above ``context_window`` tokens it refuses: it raises
  :class:`langchain_core.exceptions.ContextOverflowError` (or, with
  ``overflow="refuse"``, answers with a refusal);
* above ``reliable_tokens`` it reads worse as the input grows: each record or fact is
  missed with a probability rising from 0 to ``max_loss`` at the full window (seeded by the
  prompt, so the same prompt gets the same answer);
* each call sleeps a simulated latency (``latency_s`` plus ``latency_per_1k_s`` per thousand
  input tokens): :func:`asyncio.sleep` on the async path, :func:`time.sleep` on the sync one.

Usage is reported in ``usage_metadata`` at four characters per token, and
``response_metadata`` names the model it is priced as (``gpt-4o-mini`` by default), so cost
callbacks and the benchmark price it like that model, and holds the simulated latency
(``simulated_latency_s``).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import zlib
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.exceptions import ContextOverflowError
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field

from benchmarks.rlm import questions as q
from benchmarks.rlm.reading import Reader, answer
from benchmarks.rlm.world import tokens_of
from polyvox.core.usage import make_usage

__all__ = ["REFUSAL", "OracleChatModel", "prompt_text"]

REFUSAL = "I cannot read all of this: the input is longer than my context window."
"""The answer above the window when ``overflow="refuse"``."""


def prompt_text(messages: Sequence[BaseMessage]) -> str:
    """The text of a prompt: every message's text content, in order."""
    parts: list[str] = []
    for message in messages:
        content = message.content
        if isinstance(content, str):
            parts.append(content)
        else:
            parts.extend(
                str(block.get("text", "")) if isinstance(block, dict) else str(block)
                for block in content
            )
    return "\n\n".join(parts)


class OracleChatModel(BaseChatModel):
    """A simulated sub-model that answers the benchmark's questions from its prompt only."""

    model_config = ConfigDict(extra="forbid")

    context_window: int = Field(default=128_000, gt=0)
    """Most input tokens it accepts (gpt-4o-mini's window by default)."""
    reliable_tokens: int = Field(default=8_192, gt=0)
    """Up to this many input tokens it misses nothing."""
    max_loss: float = Field(default=0.4, ge=0.0, le=1.0)
    """The chance of missing a unit at the full window (growing with log2 of the length)."""
    overflow: Literal["raise", "refuse"] = "raise"
    """Above the window: raise ``ContextOverflowError``, or answer :data:`REFUSAL`."""
    latency_s: float = Field(default=0.02, ge=0.0)
    """Simulated seconds per call."""
    latency_per_1k_s: float = Field(default=0.002, ge=0.0)
    """Simulated seconds per thousand input tokens, on top of ``latency_s``."""
    seed: int = 0
    """Mixed into the per-prompt seed of what is missed."""
    priced_as: str = "gpt-4o-mini"
    """The model named in ``response_metadata`` (what cost tracking prices it as)."""
    priced_provider: str = "openai"
    """The provider named in ``response_metadata``."""

    @property
    def _llm_type(self) -> str:
        return "polyvox-bench-oracle"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "context_window": self.context_window,
            "reliable_tokens": self.reliable_tokens,
            "max_loss": self.max_loss,
            "priced_as": self.priced_as,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = self.priced_provider
        params["ls_model_name"] = self.priced_as
        return params

    def loss(self, tokens: int) -> float:
        """The chance of missing each unit in an input of ``tokens`` tokens."""
        if tokens <= self.reliable_tokens:
            return 0.0
        span = math.log2(max(self.context_window / self.reliable_tokens, 2.0))
        return min(self.max_loss, self.max_loss * math.log2(tokens / self.reliable_tokens) / span)

    def latency(self, tokens: int) -> float:
        """The simulated latency of a call with ``tokens`` input tokens."""
        return self.latency_s + self.latency_per_1k_s * tokens / 1000

    def respond(self, messages: Sequence[BaseMessage]) -> tuple[AIMessage, float]:
        """Compute the reply to ``messages`` and its simulated latency (no sleeping).

        Raises:
            ContextOverflowError: Above the window, when ``overflow="raise"``.
        """
        text = prompt_text(messages)
        tokens = tokens_of(text)
        if tokens > self.context_window:
            if self.overflow == "raise":
                raise ContextOverflowError(
                    f"This model's maximum context length is {self.context_window} tokens; "
                    f"the prompt has {tokens} tokens."
                )
            return self._message(REFUSAL, tokens, "length", self.latency_s), self.latency_s
        question = q.parse_question(text)
        if question is None:
            reply = q.CANNOT
        else:
            rng = random.Random(zlib.crc32(text.encode()) ^ self.seed)
            reply = answer(question, Reader(text, self.loss(tokens), rng))
        delay = self.latency(tokens)
        return self._message(reply, tokens, "stop", delay), delay

    def _message(self, content: str, tokens: int, finish: str, delay: float) -> AIMessage:
        return AIMessage(
            content=content,
            usage_metadata=make_usage(tokens, tokens_of(content)),
            response_metadata={
                "model_name": self.priced_as,
                "model_provider": self.priced_provider,
                "finish_reason": finish,
                "blocked": False,
                "simulated_latency_s": delay,
            },
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message, delay = self.respond(messages)
        time.sleep(delay)
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message, delay = self.respond(messages)
        await asyncio.sleep(delay)
        return ChatResult(generations=[ChatGeneration(message=message)])
