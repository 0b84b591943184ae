"""``YandexGPT``: YandexGPT as a LangChain text-completion ``LLM``."""

from __future__ import annotations

from typing import ClassVar

from langchain_core.language_models import BaseChatModel

from polyvox.core.llm import ChatModelLLM
from polyvox.yandex.chat_models import ChatYandexGPT

__all__ = ["YandexGPT"]


class YandexGPT(ChatModelLLM):
    """A LangChain ``LLM`` (text in, text out) over :class:`ChatYandexGPT`.

    Named as langchain-community's ``YandexGPT``; it takes the chat model's parameters.

    Example:
        .. code-block:: python

            from polyvox.yandex import YandexGPT

            YandexGPT(model="yandexgpt-lite", folder_id="b1g...").invoke("Продолжи: небо")
    """

    chat_model_class: ClassVar[type[BaseChatModel] | None] = ChatYandexGPT
