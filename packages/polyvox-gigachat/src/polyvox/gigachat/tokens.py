"""Token counts from GigaChat's own ``tokens/count`` (what ``get_num_tokens`` uses).

GigaChat's tokenizer runs on Sber's servers; ``tokens/count`` is exact and counts several
texts in one request. LangChain's counting methods are sync: each count is one request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polyvox.core.token_counting import TokenCounter

__all__ = ["TokensCountCounter"]


class TokensCountCounter(TokenCounter):
    """Counts with ``tokens/count``; it has counts but no token ids."""

    exact = True

    def __init__(self, model: Any) -> None:
        """Count for ``model``.

        Args:
            model: The ``GigaChat`` whose ``tokens_count`` (client, credentials, model name)
                is used.
        """
        self.model = model
        """The chat model."""

    def count(self, texts: Sequence[str]) -> int:
        """The tokens of ``texts``, counted by GigaChat in one request.

        Args:
            texts: The texts.

        Returns:
            The total.
        """
        given = [t for t in texts if t]
        if not given:
            return 0
        return sum(int(row.tokens or 0) for row in self.model.tokens_count(given))
