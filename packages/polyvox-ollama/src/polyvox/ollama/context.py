"""The context window sent as ``options.num_ctx``, and a guard against silent truncation.

Ollama cuts prompts at its default window (2,048 to 8,192 tokens, by version) unless a
request asks for more, and says nothing. polyvox asks for the model's real context length,
read once per server and model from ``/api/show`` (``<architecture>.context_length``),
falling back to the model's profile. A prompt that clearly does not fit raises
``ContextOverflowError`` before it is sent.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

from polyvox.core.errors import ErrorKind
from polyvox.core.profiles import get_profile

if TYPE_CHECKING:
    from polyvox.ollama.server import OllamaServerMixin

__all__ = ["ContextWindows", "check_fits", "context_length_of"]

_CHARS_PER_TOKEN = 4  # a low estimate of tokens: it flags only prompts that clearly overflow


def context_length_of(model_info: Any) -> int | None:
    """Read ``<architecture>.context_length`` from ``/api/show``'s ``model_info``.

    Args:
        model_info: The ``model_info`` mapping (may be ``None``).

    Returns:
        The context length, or ``None`` when the server did not say.
    """
    for key, value in dict(model_info or {}).items():
        if key.endswith(".context_length") and isinstance(value, int) and value > 0:
            return value
    return None


class ContextWindows:
    """Context lengths by (server, model), looked up once per process.

    Concurrent first calls share one ``/api/show``: threads wait on a per-key lock, tasks
    on the first task's future.
    """

    _lock = threading.Lock()
    _key_locks: dict[tuple[str, str], threading.Lock] = {}
    _pending: dict[tuple[str, str], asyncio.Future[int | None]] = {}
    _known: dict[tuple[str, str], int | None] = {}

    def _fallback(self, model: str) -> int | None:
        profile = get_profile("ollama", model)
        return profile.get("max_input_tokens") if profile else None

    def get(self, owner: OllamaServerMixin, model: str) -> int | None:
        """The model's context length on ``owner``'s server (sync).

        Args:
            owner: The chat model (its client and host).
            model: The model name.

        Returns:
            The length, or ``None`` when neither the server nor a profile knows it.
        """
        key = (owner.host, model)
        if key in self._known:
            return self._known[key]
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            if key not in self._known:
                shown = owner.show(model)
                self._known[key] = context_length_of(shown.modelinfo) or self._fallback(model)
        return self._known[key]

    async def aget(self, owner: OllamaServerMixin, model: str) -> int | None:
        """The model's context length on ``owner``'s server (async).

        Args:
            owner: The chat model (its client and host).
            model: The model name.

        Returns:
            The length, or ``None`` when neither the server nor a profile knows it.
        """
        key = (owner.host, model)
        if key in self._known:
            return self._known[key]
        loop = asyncio.get_running_loop()
        pending = self._pending.get(key)
        if pending is not None and pending.get_loop() is loop:
            return await asyncio.shield(pending)
        future: asyncio.Future[int | None] = loop.create_future()
        self._pending[key] = future
        try:
            shown = await owner.ashow(model)
            length = context_length_of(shown.modelinfo) or self._fallback(model)
            self._known[key] = length
            future.set_result(length)
            return length
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        finally:
            if self._pending.get(key) is future:
                del self._pending[key]


def check_fits(request: dict[str, Any]) -> None:
    """Raise when the prompt clearly exceeds the requested window.

    Args:
        request: The ``/api/chat`` request (``options.num_ctx`` set when known).

    Raises:
        OllamaContextOverflowError: When even a low estimate of the prompt's tokens is
            larger than ``num_ctx``.
    """
    window = request["options"].get("num_ctx")
    if not window:
        return
    chars = sum(len(m.get("content") or "") for m in request["messages"])
    estimate = chars // _CHARS_PER_TOKEN
    if estimate > window:
        from polyvox.ollama.errors import OllamaContextOverflowError

        msg = (
            f"the prompt (at least ~{estimate} tokens) does not fit {request['model']}'s "
            f"context window of {window} tokens (num_ctx); Ollama would cut it silently. "
            "Shorten the prompt, raise num_ctx if the model allows it, or route to a "
            "larger-context model."
        )
        error = OllamaContextOverflowError(msg, 400)
        error.provider = "ollama"
        error.kind = ErrorKind.CONTEXT_OVERFLOW
        raise error
