"""Token counting: the model's own tokenizer where polyvox can run it, else an estimate.

LangChain's default ``get_num_tokens`` falls back to a GPT-2 tokenizer from
``transformers`` and raises ``ImportError`` without it. polyvox chat models count with a
:class:`TokenCounter` instead:

* a provider's tokenizer: OpenAI's encodings (``o200k_base``, ``cl100k_base``) through
  ``tiktoken``, or llama.cpp's and vLLM's ``/tokenize`` endpoint
  (:mod:`polyvox.openai.tokenize`); exact for the text.
* :class:`EstimateCounter`: one token per :data:`CHARS_PER_TOKEN` characters, rounded up,
  when no tokenizer can be had (``tiktoken`` not installed, its encoding not downloadable
  offline, a model whose tokenizer runs only on its server, such as Ollama's). Most
  tokenizers average nearer four characters a token in English, so the estimate errs high:
  trimming a conversation to it keeps within the window. The first estimate for each reason
  warns once (:class:`TokenEstimateWarning`).

Messages are counted as OpenAI documents for its chat models: each message costs
:data:`TOKENS_PER_MESSAGE` tokens of framing plus its role, content and name (a name one
more), and the answer's priming :data:`REPLY_PRIMING`. Tool calls count their name and
arguments, tool results their call id, tools their JSON schema, an image part
:data:`IMAGE_TOKENS` (:data:`IMAGE_TOKENS_LOW` at ``detail="low"``); these are close, not
exact, since OpenAI renders them in a format it does not publish.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = [
    "CHARS_PER_TOKEN",
    "IMAGE_TOKENS",
    "IMAGE_TOKENS_LOW",
    "REPLY_PRIMING",
    "TOKENS_PER_MESSAGE",
    "EstimateCounter",
    "IdsCounter",
    "TokenCounter",
    "TokenEstimateWarning",
    "TokenizerUnavailableError",
    "count_openai_messages",
    "estimate_tokens",
]

CHARS_PER_TOKEN = 3
"""Characters per token in the estimate (rounded up per text)."""

TOKENS_PER_MESSAGE = 3
"""Framing tokens of each message (OpenAI's count for its current chat models)."""

TOKENS_PER_NAME = 1
"""Extra tokens for a message's ``name``."""

REPLY_PRIMING = 3
"""Tokens that prime the answer (``<|start|>assistant<|message|>``)."""

IMAGE_TOKENS = 765
"""An image part at ``detail="high"``/``"auto"``: a 1024x1024 image's cost in OpenAI's
published formula (85 plus 170 for each of four 512-pixel tiles); the real size is not
fetched."""

IMAGE_TOKENS_LOW = 85
"""An image part at ``detail="low"`` (OpenAI's fixed cost)."""


class TokenEstimateWarning(UserWarning):
    """Token counts are estimated (no tokenizer for the model could be had); once a reason."""


class TokenizerUnavailableError(RuntimeError):
    """Token ids were asked for, but no tokenizer for the model could be had.

    Counting still works (``get_num_tokens`` estimates); ids cannot be estimated.
    """


_warned: set[str] = set()
_warned_lock = threading.Lock()


def _warn_once(reason: str) -> None:
    with _warned_lock:
        if reason in _warned:
            return
        _warned.add(reason)
    depth, frame = 1, sys._getframe(1)
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(
        ("polyvox.", "langchain_core.")
    ):  # point at the caller's line, past polyvox and LangChain (trim_messages)
        depth, frame = depth + 1, frame.f_back
    warnings.warn(
        f"{reason}: token counts are estimated at one token per {CHARS_PER_TOKEN} characters "
        "(erring high). This warning is shown once.",
        TokenEstimateWarning,
        stacklevel=depth + 1,
    )


def estimate_tokens(text: str) -> int:
    """The estimated tokens of a text: one per :data:`CHARS_PER_TOKEN` characters, rounded up.

    Args:
        text: The text.

    Returns:
        The estimate (0 for an empty text).
    """
    return math.ceil(len(text) / CHARS_PER_TOKEN)


class TokenCounter:
    """Counts (and, where it can, encodes) text for one model."""

    exact: bool = False
    """Whether counts come from the model's tokenizer (rather than an estimate)."""

    def encode(self, text: str) -> list[int] | None:
        """The token ids of ``text``, or ``None`` when this counter has no tokenizer.

        Args:
            text: The text.

        Returns:
            The ids, or ``None``.
        """
        return None

    def count(self, texts: Sequence[str]) -> int:
        """The tokens of several texts together (each encoded on its own).

        Args:
            texts: The texts.

        Returns:
            The total.
        """
        raise NotImplementedError


class EstimateCounter(TokenCounter):
    """The documented estimate, warning once for its reason."""

    def __init__(self, reason: str) -> None:
        """Estimate, saying why on the first count.

        Args:
            reason: Why no tokenizer could be had (the warning's first sentence).
        """
        self.reason = reason
        """Why the counts are estimated."""

    def count(self, texts: Sequence[str]) -> int:
        """The estimate for ``texts`` (warns once per reason).

        Args:
            texts: The texts.

        Returns:
            The estimated total.
        """
        _warn_once(self.reason)
        return sum(estimate_tokens(t) for t in texts)


class IdsCounter(TokenCounter):
    """Counts with a function returning token ids (``custom_get_token_ids``)."""

    exact = True

    def __init__(self, get_ids: Callable[[str], list[int]]) -> None:
        """Count with ``get_ids``.

        Args:
            get_ids: Text to token ids.
        """
        self.get_ids = get_ids
        """Text to token ids."""

    def encode(self, text: str) -> list[int]:
        """The ids ``get_ids`` gives.

        Args:
            text: The text.

        Returns:
            The ids.
        """
        return self.get_ids(text)

    def count(self, texts: Sequence[str]) -> int:
        """The tokens of ``texts``.

        Args:
            texts: The texts.

        Returns:
            The total.
        """
        return sum(len(self.get_ids(t)) for t in texts if t)


def _texts_of_content(content: Any, texts: list[str]) -> int:
    """Append the content's texts; return the fixed tokens of its images."""
    if isinstance(content, str):
        texts.append(content)
        return 0
    fixed = 0
    for part in content if isinstance(content, list) else ():
        if not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url":
            image = part.get("image_url")
            low = isinstance(image, Mapping) and image.get("detail") == "low"
            fixed += IMAGE_TOKENS_LOW if low else IMAGE_TOKENS
    return fixed


def count_openai_messages(
    messages: Sequence[Mapping[str, Any]],
    counter: TokenCounter,
    tools: Sequence[Mapping[str, Any]] = (),
) -> int:
    """The tokens of a chat request in OpenAI's form (see the module's counting rules).

    Args:
        messages: The ``messages`` of a chat-completions request.
        counter: Counts the texts.
        tools: The request's ``tools`` (OpenAI form).

    Returns:
        The prompt's tokens, the answer's priming included.
    """
    texts: list[str] = []
    fixed = REPLY_PRIMING
    for message in messages:
        fixed += TOKENS_PER_MESSAGE
        texts.append(str(message.get("role") or ""))
        fixed += _texts_of_content(message.get("content"), texts)
        if name := message.get("name"):
            fixed += TOKENS_PER_NAME
            texts.append(str(name))
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping):
                texts.append(str(function.get("name") or ""))
                texts.append(str(function.get("arguments") or ""))
        if call_id := message.get("tool_call_id"):
            texts.append(str(call_id))
    texts.extend(json.dumps(tool, separators=(",", ":")) for tool in tools)
    return fixed + counter.count([t for t in texts if t])
