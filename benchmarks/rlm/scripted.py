"""Scripted root models: chat models that write a fixed strategy's REPL code, turn by turn.

:class:`ScriptedRootModel` is a real LangChain chat model for the RLM's root. It finds the
benchmark question in the messages the RLM sends it, counts its own earlier turns, and
writes the next cell of its strategy (:mod:`benchmarks.rlm.scripts`): first a probe, then
the strategy's cells, each ending in ``FINAL(answer)`` (the multi-hop strategy takes two
cells and reads the first one's printed result from the REPL output fed back).

It measures the RLM's mechanics (the REPL, sub-calls, recursion, accounting, concurrency),
not a model's reasoning: the strategy is fixed in advance, it never looks at the gold
answer, and all understanding of the text is left to the sub-model it calls.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field

from benchmarks.rlm import questions as q
from benchmarks.rlm.oracle import OracleChatModel, prompt_text
from benchmarks.rlm.scripts import Mode, Plan, probe, step_code
from benchmarks.rlm.world import tokens_of
from polyvox.core.usage import make_usage

__all__ = ["MODES", "ChildModel", "ScriptedRootModel"]

MODES: dict[int, Mode] = {0: "code", 1: "subcalls", 2: "recursive"}
"""The strategy for each RLM depth the benchmark runs."""

_FALLBACK = "try:\n    answer\nexcept NameError:\n    answer = NOT_FOUND\nFINAL(answer)\n"
_CHARS = re.compile(r"CONTEXT_CHARS=(\d+)")
_STATED_CHARS = re.compile(r"(\d[\d,]*) characters")


class ScriptedRootModel(BaseChatModel):
    """A root model that writes a fixed strategy's code for the benchmark's questions."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode = "subcalls"
    """``code`` (depth 0), ``subcalls`` (depth 1) or ``recursive`` (depth 2)."""
    chunk_chars: int = Field(default=16_000, gt=0)
    """Characters of context per sub-call."""
    fanout: int = Field(default=4, ge=2)
    """The most big parts the recursive strategy hands to child RLMs."""
    latency_s: float = Field(default=0.02, ge=0.0)
    """Simulated seconds per turn."""
    priced_as: str = "gpt-4o-mini"
    """The model named in ``response_metadata`` (what cost tracking prices it as)."""
    priced_provider: str = "openai"
    """The provider named in ``response_metadata``."""

    @property
    def _llm_type(self) -> str:
        return "polyvox-bench-scripted-root"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"mode": self.mode, "chunk_chars": self.chunk_chars, "fanout": self.fanout}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = self.priced_provider
        params["ls_model_name"] = self.priced_as
        return params

    def next_cell(self, messages: Sequence[BaseMessage]) -> tuple[str, str]:
        """The next turn's description and code, from the conversation so far."""
        question = _find_question(messages)
        turn = sum(isinstance(m, AIMessage) for m in messages)
        if question is None:
            return "no question I know", f"answer = {q.CANNOT!r}\nFINAL(answer)\n"
        if turn == 0:
            return "probe the context", probe(self.chunk_chars)
        seen = _feedback(messages)
        plan = Plan(
            question,
            self.mode,
            _context_chars(messages, seen),
            chunk_chars=self.chunk_chars,
            fanout=self.fanout,
        )
        cells = 2 if question.kind == "multihop" and self.mode != "code" else 1
        if turn > cells:
            return "answer with what the REPL holds", _FALLBACK
        return f"{self.mode} strategy, cell {turn} of {cells}", step_code(plan, turn, seen)

    def _reply(self, messages: Sequence[BaseMessage]) -> AIMessage:
        what, code = self.next_cell(messages)
        text = f"Next: {what}.\n\n```repl\n{code}```"
        return AIMessage(
            content=text,
            usage_metadata=make_usage(tokens_of(prompt_text(messages)), tokens_of(text)),
            response_metadata={
                "model_name": self.priced_as,
                "model_provider": self.priced_provider,
                "finish_reason": "stop",
                "blocked": False,
                "simulated_latency_s": self.latency_s,
            },
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self._reply(messages)
        time.sleep(self.latency_s)
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self._reply(messages)
        await asyncio.sleep(self.latency_s)
        return ChatResult(generations=[ChatGeneration(message=message)])


class ChildModel(BaseChatModel):
    """The model below the root in a recursive run: a coder for child RLMs, a reader otherwise.

    The RLM uses one model per depth, both for the root turns of child RLMs and for plain
    sub-calls at that depth. A real model does both; here a conversation that carries the
    RLM's system prompt goes to :attr:`coder` (it writes the child's code) and a plain prompt
    goes to :attr:`reader` (the oracle answers from the text).
    """

    model_config = ConfigDict(extra="forbid")

    coder: ScriptedRootModel
    """Writes the code of a child RLM (it sees the ``(part k of n)`` mark and never splits)."""
    reader: OracleChatModel
    """Answers plain sub-calls from their text."""

    @property
    def _llm_type(self) -> str:
        return "polyvox-bench-child"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return self.reader._get_ls_params(stop=stop, **kwargs)

    def _pick(self, messages: Sequence[BaseMessage]) -> BaseChatModel:
        return self.coder if any(isinstance(m, SystemMessage) for m in messages) else self.reader

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._pick(messages)._generate(messages, stop, run_manager, **kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await self._pick(messages)._agenerate(messages, stop, run_manager, **kwargs)


def _find_question(messages: Sequence[BaseMessage]) -> q.Question | None:
    """The question of the first human message that asks one (else of any message)."""
    ordered = [m for m in messages if isinstance(m, HumanMessage)] + list(messages)
    for message in ordered:
        found = q.parse_question(prompt_text([message]))
        if found is not None:
            return found
    return None


def _feedback(messages: Sequence[BaseMessage]) -> str:
    """Everything the RLM sent after the model's first turn (the REPL output)."""
    first = next((i for i, m in enumerate(messages) if isinstance(m, AIMessage)), len(messages))
    return prompt_text([m for m in messages[first + 1 :] if not isinstance(m, AIMessage)])


def _context_chars(messages: Sequence[BaseMessage], seen: str) -> int:
    """The context's length: as the probe printed it, else as the RLM's prompt stated it."""
    printed = _CHARS.findall(seen)
    if printed:
        return int(printed[-1])
    stated = _STATED_CHARS.search(prompt_text(messages))
    return int(stated.group(1).replace(",", "")) if stated else 10**9
