"""A cheap, deterministic stand-in for a tokenizer.

A "token" is a run of word characters or a run of punctuation, with the whitespace before
it: ``"You said: hi"`` is ``["You", " said", ":", " hi"]``. Joining the pieces gives the
text back, so the same pieces serve for counting, for ``max_tokens`` truncation and for
splitting a streamed answer into deltas.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["count_prompt_tokens", "count_tokens", "split_tokens", "truncate_tokens"]

_TOKEN = re.compile(r"\s*(?:\w+|[^\w\s]+)|\s+")

_PER_MESSAGE = 3
"""Framing tokens per message (OpenAI's counting rule of thumb)."""


def split_tokens(text: str) -> list[str]:
    """Split text into tokens; ``"".join(split_tokens(t)) == t``.

    Args:
        text: The text.

    Returns:
        The tokens, each with its leading whitespace.
    """
    return _TOKEN.findall(text)


def count_tokens(text: str | None) -> int:
    """Count the tokens of a text.

    Args:
        text: The text (``None`` counts 0).

    Returns:
        The count.
    """
    if not text:
        return 0
    return len(_TOKEN.findall(text))


def truncate_tokens(text: str, limit: int) -> tuple[str, bool]:
    """Keep the first ``limit`` tokens of a text.

    Args:
        text: The text.
        limit: The most tokens to keep.

    Returns:
        The kept text and whether anything was cut.
    """
    pieces = _TOKEN.findall(text)
    if len(pieces) <= limit:
        return text, False
    return "".join(pieces[: max(limit, 0)]), True


def count_prompt_tokens(parts: Iterable[str], *, messages: int = 1) -> int:
    """Count the input tokens of a request.

    Args:
        parts: Every text the request carries (message contents, names, tool schemas).
        messages: The number of messages, for the per-message framing overhead.

    Returns:
        The count (at least 1).
    """
    return max(1, sum(count_tokens(p) for p in parts) + _PER_MESSAGE * messages + _PER_MESSAGE)
