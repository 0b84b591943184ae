"""Token counts from Anthropic's ``/v1/messages/count_tokens`` (what ``get_num_tokens`` uses).

Claude's tokenizer is not published; the count endpoint is free and exact. Each count is
one request (sync: LangChain's counting methods are sync). Where the endpoint cannot be
reached (no network, a timeout), the count falls back to polyvox's documented estimate
with a warning, as for models without a tokenizer; any other error (a bad key, an unknown
model) is raised, mapped like the chat model's errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from polyvox.core.token_counting import EstimateCounter, TokenCounter

__all__ = ["CountTokensCounter", "UnreachableError", "count_request"]


class UnreachableError(Exception):
    """The count endpoint could not be reached: counts fall back to the estimate."""

    def __init__(self, counter: EstimateCounter) -> None:
        """Carry the estimate to fall back on.

        Args:
            counter: The estimate, whose reason names the endpoint.
        """
        super().__init__(counter.reason)
        self.counter = counter
        """The estimate to count with instead."""


def count_request(model: Any, body: Mapping[str, Any]) -> int:
    """Count a request's input tokens with the model's client.

    Args:
        model: A ``ChatAnthropic`` (its client, URL and error mapping).
        body: ``model``, ``messages`` and optionally ``system``, ``tools``, ``thinking``.

    Returns:
        ``input_tokens`` (0 when the API leaves it out).

    Raises:
        UnreachableError: When the endpoint cannot be reached (connection or timeout).
        AnthropicError: (mapped, as the chat model's errors) for any other failure.
    """
    from polyvox.anthropic._sdk import sdk

    anthropic = sdk()
    try:
        counted = model.client.messages.count_tokens(**body)
    except anthropic.APIConnectionError as exc:  # APITimeoutError included
        where = model.base_url or "api.anthropic.com"
        reason = (
            f"Anthropic's count_tokens endpoint at {where} could not be reached "
            f"({type(exc).__name__})"
        )
        raise UnreachableError(EstimateCounter(reason)) from exc
    except anthropic.AnthropicError as exc:
        raise model._fail(exc) from exc
    return int(getattr(counted, "input_tokens", 0) or 0)


class CountTokensCounter(TokenCounter):
    """Counts with ``count_tokens``; it has counts but no token ids."""

    exact = True

    def __init__(self, model: Any) -> None:
        """Count for ``model``.

        Args:
            model: A ``ChatAnthropic``.
        """
        self.model = model
        """The chat model whose client and name are used."""

    def count(self, texts: Sequence[str]) -> int:
        """The tokens of ``texts``, counted by the API as one user message.

        The count includes the few tokens Anthropic adds to frame a message: it errs high
        by those, never low.

        Args:
            texts: The texts.

        Returns:
            The total (the estimate, with a warning once, when the endpoint cannot be
            reached).
        """
        blocks = [{"type": "text", "text": t} for t in texts if t]
        if not blocks:
            return 0
        body = {"model": self.model.model, "messages": [{"role": "user", "content": blocks}]}
        try:
            return count_request(self.model, body)
        except UnreachableError as exc:
            return exc.counter.count(texts)
