"""The context window sent as ``options.num_ctx``, and a guard against silent truncation.

Ollama cuts prompts at its default window (2,048 to 8,192 tokens, by version) unless a
request asks for more, and says nothing. polyvox asks for the model's real context length,
read from ``/api/show`` (``<architecture>.context_length``), falling back to the model's
profile. A prompt that clearly does not fit raises ``ContextOverflowError`` before it is
sent.

The lengths are kept in one module-level cache, shared on purpose by every model instance
of the process (a context length belongs to a model on a server, not to an instance):

* what: the length :func:`context_window` and :func:`acontext_window` found, or ``None``
  when neither the server nor a profile knows it. Failed lookups are not kept.
* key: ``(host, model)``, the server's URL as the instance has it and the model's name as
  requested (``llama3.2`` and ``llama3.2:latest`` are two entries).
* lifetime: the process's. Nothing expires it; :func:`clear_context_windows` empties it
  (after replacing a model on the server with one of another context length, say).
* threads and tasks: concurrent first lookups of a key share one ``/api/show``. Threads
  wait on a lock of the key; tasks on the first task's future in their event loop (tasks of
  other loops make their own request). Reads take no lock.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

from polyvox.core.errors import ErrorKind
from polyvox.core.profiles import get_profile

if TYPE_CHECKING:
    from polyvox.ollama.server import OllamaServerMixin

__all__ = [
    "acontext_window",
    "check_fits",
    "clear_context_windows",
    "context_length_of",
    "context_window",
]

_CHARS_PER_TOKEN = 4  # a low estimate of tokens: it flags only prompts that clearly overflow

_Key = tuple[str, str]  # (host, model)

_windows: dict[_Key, int | None] = {}
"""The cache: context length by (host, model)."""

_lock = threading.Lock()
"""Guards ``_key_locks`` and the clearing of ``_windows``."""

_key_locks: dict[_Key, threading.Lock] = {}
"""One lock per key, held by the thread asking ``/api/show`` for it."""

_pending: dict[tuple[str, str, asyncio.AbstractEventLoop], asyncio.Future[int | None]] = {}
"""The lookup in flight per key and event loop, awaited by the loop's other tasks."""


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


def _length(shown: Any, model: str) -> int | None:
    if length := context_length_of(shown.modelinfo):
        return length
    profile = get_profile("ollama", model)
    return profile.get("max_input_tokens") if profile else None


def context_window(owner: OllamaServerMixin, model: str) -> int | None:
    """The model's context length on ``owner``'s server, from the cache or ``/api/show``.

    Args:
        owner: The chat model (its client and host).
        model: The model name.

    Returns:
        The length, or ``None`` when neither the server nor a profile knows it.
    """
    key = (owner.host, model)
    if key in _windows:
        return _windows[key]
    with _lock:
        key_lock = _key_locks.setdefault(key, threading.Lock())
    with key_lock:
        if key not in _windows:
            _windows[key] = _length(owner.show(model), model)
        return _windows[key]


async def acontext_window(owner: OllamaServerMixin, model: str) -> int | None:
    """Async :func:`context_window`.

    Args:
        owner: The chat model (its client and host).
        model: The model name.

    Returns:
        The length, or ``None`` when neither the server nor a profile knows it.
    """
    key = (owner.host, model)
    if key in _windows:
        return _windows[key]
    loop = asyncio.get_running_loop()
    slot = (*key, loop)
    pending = _pending.get(slot)
    if pending is not None:
        return await asyncio.shield(pending)
    future: asyncio.Future[int | None] = loop.create_future()
    _pending[slot] = future
    try:
        length = _length(await owner.ashow(model), model)
        _windows[key] = length
        future.set_result(length)
        return length
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # mark retrieved: waiters re-raise it, nobody else must
        raise
    finally:
        del _pending[slot]


def clear_context_windows() -> None:
    """Forget every context length looked up so far.

    The next call of each model asks ``/api/show`` again. Lookups in flight finish and
    store their answer.
    """
    with _lock:
        _windows.clear()


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
