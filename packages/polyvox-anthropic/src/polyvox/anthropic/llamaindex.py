"""The LlamaIndex LLM for Claude (needs the ``llamaindex`` extra).

Named like LlamaIndex's own (``llama_index.llms.anthropic.Anthropic``), so switching is one
import line; it is the core bridge over :class:`ChatAnthropic`, so every parameter of that
is accepted. Anthropic has no embeddings API (its documentation points to Voyage AI); use
another provider's embeddings, e.g. ``polyvox.openai.llamaindex.OpenAIEmbedding``.
"""

from __future__ import annotations

from typing import ClassVar

from langchain_core.language_models import BaseChatModel

from polyvox.core.extras import require

require("llama_index.core", "llamaindex", packages=("polyvox-anthropic", "polyvox-core"))

from polyvox.anthropic.chat_models import ChatAnthropic  # noqa: E402
from polyvox.core.llamaindex import LangChainLLM  # noqa: E402

__all__ = ["Anthropic"]


class Anthropic(LangChainLLM):
    """A LlamaIndex function-calling LLM over :class:`ChatAnthropic`.

    Example:
        .. code-block:: python

            from polyvox.anthropic.llamaindex import Anthropic

            llm = Anthropic(model="claude-haiku-4-5")
            llm.complete("Hello").text
    """

    chat_model_class: ClassVar[type[BaseChatModel] | None] = ChatAnthropic

    @classmethod
    def class_name(cls) -> str:
        """The class name LlamaIndex uses in serialisation and traces."""
        return "polyvox_anthropic_llm"
