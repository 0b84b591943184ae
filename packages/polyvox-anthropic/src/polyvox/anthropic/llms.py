"""``AnthropicLLM``: Claude as a LangChain text-completion ``LLM``."""

from __future__ import annotations

from typing import ClassVar

from langchain_core.language_models import BaseChatModel

from polyvox.anthropic.chat_models import ChatAnthropic
from polyvox.core.llm import ChatModelLLM

__all__ = ["AnthropicLLM"]


class AnthropicLLM(ChatModelLLM):
    """A LangChain ``LLM`` (text in, text out) over :class:`ChatAnthropic`.

    Takes every ``ChatAnthropic`` parameter (the anchor's ``AnthropicLLM`` talks to the
    same Messages API).

    Example:
        .. code-block:: python

            from polyvox.anthropic import AnthropicLLM

            llm = AnthropicLLM(model="claude-haiku-4-5", temperature=0)
            llm.invoke("Complete: the capital of Poland is")
    """

    chat_model_class: ClassVar[type[BaseChatModel] | None] = ChatAnthropic
