"""Token counts from the Gemini API's own ``countTokens`` (what ``get_num_tokens`` uses).

Gemini's tokenizer runs on Google's servers; ``countTokens`` is free and exact. Each count
is one request (sync: LangChain's counting methods are sync).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polyvox.core.token_counting import TokenCounter

__all__ = ["CountTokensCounter", "count_contents"]


def count_contents(model: Any, contents: list[dict[str, Any]]) -> int:
    """Count Gemini ``contents`` with the model's client.

    Args:
        model: A ``ChatGoogleGenerativeAI`` (its client, model name and error mapping).
        contents: The contents.

    Returns:
        ``totalTokens`` (0 when the API leaves it out).

    Raises:
        GoogleAPIError: (or another mapped class) when the call fails.
    """
    from polyvox.google._sdk import genai_errors, transport_errors

    try:
        response = model.client.models.count_tokens(model=model.model, contents=contents)
    except (genai_errors().APIError, *transport_errors()) as exc:
        raise model._fail(exc) from exc
    return int(response.total_tokens or 0)


class CountTokensCounter(TokenCounter):
    """Counts with ``countTokens``; it has counts but no token ids."""

    exact = True

    def __init__(self, model: Any) -> None:
        """Count for ``model``.

        Args:
            model: A ``ChatGoogleGenerativeAI``.
        """
        self.model = model
        """The chat model whose client and name are used."""

    def count(self, texts: Sequence[str]) -> int:
        """The tokens of ``texts``, counted by the API in one request.

        Args:
            texts: The texts.

        Returns:
            The total.
        """
        parts = [{"text": t} for t in texts if t]
        if not parts:
            return 0
        return count_contents(self.model, [{"role": "user", "parts": parts}])
