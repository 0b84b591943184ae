"""The two baselines the RLM is compared with: one direct call, and LlamaIndex tree_summarize.

* :func:`direct`: the whole context and the question in one prompt to the sub-model. Above
  its context window the call is refused (``ContextOverflowError``): the answer is then
  empty and the note says so. Below it, long inputs are read worse (the oracle degrades).
* :func:`tree_summarize`: LlamaIndex's ``TreeSummarize`` response synthesizer over the
  context cut into chunks, with the model bridged by :func:`polyvox.core.llamaindex.
  to_llamaindex`. Each chunk is answered, then the answers are packed and answered again
  until one remains. Its prompt helper is set to the same chunk size as the RLM's sub-calls,
  splits on newlines and has no overlap (LlamaIndex's defaults fill the whole window, split
  on spaces and overlap chunks by 10 %, which would cut records in two and count some twice),
  so the comparison is about the method, not about chunking.
"""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.exceptions import ContextOverflowError
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from benchmarks.rlm.generators import Task
from benchmarks.rlm.world import CHARS_PER_TOKEN, tokens_of

__all__ = ["Outcome", "direct", "line_chunks", "load_llamaindex", "tree_summarize"]

TREE_NUM_OUTPUT = 256
"""Tokens LlamaIndex reserves for each answer."""


@dataclass
class Outcome:
    """What a method answered."""

    answer: str
    """The answer ("" when there is none)."""
    note: str = ""
    """Why the answer is missing or partial (a refusal, a limit)."""
    context_read: float | None = None
    """Share of the context's characters the method read, when it knows."""
    peak_prompt_tokens: int | None = None
    """The largest prompt it sent, when the calls do not tell (a refused call)."""


def direct_prompt(task: Task) -> str:
    """The prompt of a direct call: the whole context, then the question."""
    return f"{task.text}\n\nAnswer from the text above.\nQuestion: {task.question}"


async def direct(task: Task, model: BaseChatModel) -> Outcome:
    """Ask ``model`` about the whole context in one call.

    Args:
        task: The task.
        model: The model (its instance callbacks see the call).

    Returns:
        The answer; empty with a note when the model refused the input as too long.
    """
    prompt = direct_prompt(task)
    try:
        reply = await model.ainvoke([HumanMessage(prompt)])
    except ContextOverflowError as exc:
        return Outcome("", f"refused: {exc}", 0.0, tokens_of(prompt))
    return Outcome(reply.text, "", 1.0)


def line_chunks(text: str, chunk_chars: int) -> list[str]:
    """``text`` in pieces of at most about ``chunk_chars``, cut after a newline."""
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = min(start + chunk_chars, len(text))
        if end < len(text):
            cut = text.rfind("\n", start, end)
            if cut > start:
                end = cut + 1
        chunks.append(text[start:end])
        start = end
    return chunks


def load_llamaindex() -> None:
    """Import LlamaIndex now, so that its import time is not charged to the first run."""
    import llama_index.core.response_synthesizers  # noqa: F401

    import polyvox.core.llamaindex  # noqa: F401


def _count_tokens(text: str) -> list[int]:
    """LlamaIndex tokenizer under the benchmark's convention (only the length is used)."""
    return [0] * tokens_of(text)


async def tree_summarize(task: Task, model: BaseChatModel, *, chunk_chars: int) -> Outcome:
    """Answer with LlamaIndex ``TreeSummarize`` over chunks of the context.

    Args:
        task: The task.
        model: The LangChain model, bridged to LlamaIndex.
        chunk_chars: Characters of context per call (as for the RLM's sub-calls).

    Returns:
        The final answer; empty with a note when a call was refused.
    """
    from llama_index.core.indices.prompt_helper import PromptHelper
    from llama_index.core.response_synthesizers import TreeSummarize

    from polyvox.core.llamaindex import to_llamaindex

    window = chunk_chars // CHARS_PER_TOKEN + 200 + TREE_NUM_OUTPUT  # chunk + template + answer
    llm = to_llamaindex(model, context_window=window, num_output=TREE_NUM_OUTPUT)
    helper = PromptHelper(
        context_window=window,
        num_output=TREE_NUM_OUTPUT,
        chunk_overlap_ratio=0.0,
        tokenizer=_count_tokens,
        separator="\n",
    )
    synthesizer = TreeSummarize(llm=llm, prompt_helper=helper, use_async=True)
    try:
        answer = await synthesizer.aget_response(
            query_str=task.question, text_chunks=line_chunks(task.text, chunk_chars)
        )
    except ContextOverflowError as exc:
        return Outcome("", f"refused: {exc}", None)
    return Outcome(str(answer), "", 1.0)
