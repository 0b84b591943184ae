"""When to use an RLM instead of a direct call, and the router's large-input hook.

:func:`should_use_rlm` compares a high estimate of the prompt's tokens (about three
characters per token, :func:`polyvox.costs.tracking.estimate.estimate_tokens`) with the
model's context window: the catalog's entry, else the model's LangChain profile
(``max_input_tokens``), else :data:`DEFAULT_CONTEXT_WINDOW`.

:class:`RLMInputHandler` (made by :func:`rlm_large_input_handler`) answers a conversation too
long for a model with a :class:`~polyvox.rlm.rlm.RecursiveLanguageModel`: the conversation
becomes the REPL's ``context`` and the question asks for a reply to its last user message.
It matches ``polyvox.router``'s ``large_input_handler(messages, request)`` hook without
importing the router (``request`` may be any object).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import Runnable

from polyvox.rlm.windows import DEFAULT_CONTEXT_WINDOW, context_window_of

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import RunnableConfig

    from polyvox.costs.catalog import ModelCatalog
    from polyvox.rlm.inputs import RLMResult
    from polyvox.rlm.rlm import RecursiveLanguageModel

__all__ = [
    "DEFAULT_CONTEXT_WINDOW",
    "RLMInputHandler",
    "context_window_of",
    "conversation_to_input",
    "rlm_large_input_handler",
    "should_use_rlm",
]

_SHORT_QUESTION_CHARS = 4000


def should_use_rlm(
    messages: Sequence[BaseMessage] | Sequence[str] | str,
    model: BaseChatModel | str,
    *,
    margin: float = 0.8,
    catalog: ModelCatalog | None = None,
) -> bool:
    """Tell whether a prompt is too long for a model, so an RLM should answer it.

    Args:
        messages: The prompt: messages, strings, or one string.
        model: The model that would get it (a chat model or a model name).
        margin: The share of the window the prompt may fill (room is left for the answer).
        catalog: Where the model's window is looked up (the default catalog).

    Returns:
        True when the estimated prompt tokens exceed ``margin`` times the window.

    Raises:
        ValueError: ``margin`` is not in (0, 1].
    """
    from polyvox.costs.tracking.estimate import estimate_tokens

    if not 0 < margin <= 1:
        raise ValueError(f"margin must be in (0, 1], got {margin}")
    prompt: Sequence[BaseMessage] | Sequence[str] = (
        [messages] if isinstance(messages, str) else messages
    )
    return estimate_tokens(prompt) > margin * context_window_of(model, catalog)


def conversation_to_input(messages: Sequence[BaseMessage]) -> dict[str, str]:
    """Turn a conversation into an RLM input: the transcript as context, a question about it.

    Args:
        messages: The conversation.

    Returns:
        ``{"question": ..., "context": ...}``.
    """
    parts = [f"[{m.type}]\n{m.text}" for m in messages]
    context = "\n\n".join(parts)
    last_user = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
    question = (
        "`context` holds a conversation; each message starts with its role in brackets "
        "([system], [human], [ai], [tool]). Write the assistant's reply to the last [human] "
        "message, following the [system] instructions."
    )
    if last_user and len(last_user) <= _SHORT_QUESTION_CHARS:
        question += f"\n\nThe last [human] message is:\n{last_user}"
    return {"question": question, "context": context}


class RLMInputHandler(Runnable[Sequence[BaseMessage], AIMessage]):
    """Answers a too-long conversation with an RLM (the router's ``large_input_handler``).

    A Runnable, so the router calls it with its run's config (callbacks and metadata reach
    every model call of the RLM) and natively in async code; it is also a plain callable
    ``(messages, request) -> AIMessage``.
    """

    def __init__(self, rlm: RecursiveLanguageModel) -> None:
        """Create the handler.

        Args:
            rlm: The RLM that answers.
        """
        self.rlm = rlm
        """The RLM that answers."""

    def invoke(
        self,
        input: Sequence[BaseMessage],
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Answer synchronously.

        Args:
            input: The conversation.
            config: The run's config (callbacks, metadata).
            **kwargs: Not used.

        Returns:
            The answer as an ``AIMessage``.
        """
        return _message(self.rlm.invoke(conversation_to_input(input), config))

    async def ainvoke(
        self,
        input: Sequence[BaseMessage],
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Answer natively in async code.

        Args:
            input: The conversation.
            config: The run's config (callbacks, metadata).
            **kwargs: Not used.

        Returns:
            The answer as an ``AIMessage``.
        """
        return _message(await self.rlm.ainvoke(conversation_to_input(input), config))

    def __call__(self, messages: Sequence[BaseMessage], request: Any = None) -> AIMessage:
        """Answer as a plain ``(messages, request)`` hook.

        Args:
            messages: The conversation.
            request: The router's request (not needed; any object is accepted).

        Returns:
            The answer as an ``AIMessage``.
        """
        return self.invoke(messages)


def rlm_large_input_handler(rlm: RecursiveLanguageModel) -> RLMInputHandler:
    """A ``large_input_handler`` for ``polyvox.router`` that answers with ``rlm``.

    Args:
        rlm: The RLM.

    Returns:
        A Runnable taking the conversation and returning an ``AIMessage`` (also callable as
        ``handler(messages, request)``).
    """
    return RLMInputHandler(rlm)


def _message(result: RLMResult) -> AIMessage:
    # The usage goes in response_metadata, not usage_metadata: every model call of the run
    # was already reported (and recorded by cost handlers) on its own, and a total here
    # would be counted a second time by anything that sums usage_metadata.
    return AIMessage(
        content=result.answer,
        response_metadata={
            "model_name": result.trajectory.model,
            "model_provider": "polyvox-rlm",
            "finish_reason": "stop",
            "rlm_usage": result.usage.as_dict(),
        },
    )
