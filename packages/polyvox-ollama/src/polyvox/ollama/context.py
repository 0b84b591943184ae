"""The context window sent as ``options.num_ctx``, sized to each request, and an overflow guard.

Ollama cuts prompts at its default window (2,048 to 8,192 tokens, by version) unless a
request asks for more, and says nothing, so polyvox always sends ``num_ctx``. It does not
send the model's whole context length, though: Ollama allocates the KV cache for the whole
window when it loads the model (for a 128K window, several GB even for a 3B model, which
spills onto the CPU on ordinary GPUs), and a request with another ``num_ctx`` than the
loaded one reloads the model. So the window is sized to the request:

* the need: a high estimate of the prompt's tokens (:func:`estimate_tokens`) plus the
  output limit (``num_predict``, else :data:`OUTPUT_RESERVE`);
* the step: the smallest of 8K, 16K, 32K, ... (:func:`window_step`) that holds the need,
  never more than the model's context length (from ``/api/show``, else its profile);
* growth only: each ``(host, model)`` has one window per process, which grows to the step
  a request needs and never shrinks, so requests do not reload the model back and forth;
* no reload where one can be avoided: when the window must grow (and on a model's first
  request), the window the server has the model loaded with (``/api/ps``'s
  ``context_length``) is used when it holds the need, else the Modelfile's ``num_ctx``
  (``/api/show``'s ``parameters``) when it does, else the step;
* an explicit ``num_ctx`` (on the model, in ``options`` or as a call keyword) wins and is
  sent as it is;
* a prompt that clearly does not fit the window sent raises ``ContextOverflowError``
  before it is sent (:func:`check_fits`, with a *low* estimate).

The caches are module-level, shared on purpose by every model instance of the process (a
context length and a loaded model belong to a server, not to an instance):

* ``/api/show``: the context length and Modelfile ``num_ctx``, by ``(host, model)``, for
  the process's lifetime. Failed lookups are not kept.
* ``/api/ps``: the loaded models' windows, by host, for :data:`PS_TTL` seconds; it is asked
  only when a window is first chosen or must grow, and a server that does not answer it
  counts as having nothing loaded.
* the chosen windows, by ``(host, model)``: they grow under a lock, so concurrent requests
  (threads or tasks) only ever raise them.
* keys: the server's URL as the instance has it and the model's name as requested
  (``llama3.2`` and ``llama3.2:latest`` are two entries).
* threads and tasks: concurrent lookups of a key share one request. Threads wait on a lock
  of the key; tasks on the first task's future in their event loop (tasks of other loops
  make their own request). Reads take no lock.

:func:`clear_context_windows` empties all three (after replacing a model on the server
with one of another context length, say).
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from polyvox.core.errors import ErrorKind
from polyvox.core.profiles import get_profile

if TYPE_CHECKING:
    from polyvox.ollama.server import OllamaServerMixin

__all__ = [
    "IMAGE_TOKENS",
    "MIN_WINDOW",
    "OUTPUT_RESERVE",
    "PS_TTL",
    "ModelWindow",
    "acontext_window",
    "arequest_window",
    "check_fits",
    "clear_context_windows",
    "context_length_of",
    "context_window",
    "estimate_tokens",
    "modelfile_num_ctx",
    "request_window",
    "window_step",
]

MIN_WINDOW = 8192
"""The smallest window sent (unless the model's own is smaller); the steps double from it."""

OUTPUT_RESERVE = 4096
"""Tokens kept for the answer when the request sets no output limit (``num_predict``)."""

IMAGE_TOKENS = 1024
"""Tokens counted per image in the prompt (vision models use 256 to about 1,000)."""

PS_TTL = 2.0
"""Seconds an ``/api/ps`` answer is reused for."""

_CHARS_PER_TOKEN = 4  # a low estimate of tokens: it flags only prompts that clearly overflow
_BYTES_PER_TOKEN = 3  # a high estimate: the window must hold the prompt
_TOKENS_PER_MESSAGE = 8  # the chat template's role markers

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")
_Key = tuple[str, str]  # (host, model)


@dataclass(frozen=True, slots=True)
class ModelWindow:
    """What ``/api/show`` says of a model's window."""

    length: int | None
    """The context length it was trained for (else its profile's); ``None``: unknown."""

    modelfile: int | None = None
    """The Modelfile's ``num_ctx``: the window Ollama loads it with for requests that set
    none."""


class _Lookups(Generic[_K, _V]):
    """Values fetched once per key (for ``ttl`` seconds, or for good), shared by all callers.

    Concurrent first lookups of a key share one fetch: threads through a lock of the key,
    tasks through the first task's future in their event loop. Failed fetches are not kept.
    """

    def __init__(self, ttl: float | None = None) -> None:
        self._ttl = ttl
        self._values: dict[_K, tuple[_V, float]] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[_K, threading.Lock] = {}
        self._pending: dict[tuple[_K, asyncio.AbstractEventLoop], asyncio.Future[_V]] = {}

    def _fresh(self, key: _K) -> tuple[_V, float] | None:
        entry = self._values.get(key)
        if entry is None or (self._ttl is not None and time.monotonic() - entry[1] >= self._ttl):
            return None
        return entry

    def get(self, key: _K, fetch: Callable[[], _V]) -> _V:
        if entry := self._fresh(key):
            return entry[0]
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            if entry := self._fresh(key):
                return entry[0]
            value = fetch()
            self._values[key] = (value, time.monotonic())
            return value

    async def aget(self, key: _K, fetch: Callable[[], Awaitable[_V]]) -> _V:
        loop = asyncio.get_running_loop()
        slot = (key, loop)
        while True:
            if entry := self._fresh(key):
                return entry[0]
            pending = self._pending.get(slot)
            if pending is None:
                break
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not pending.cancelled() or (task is not None and task.cancelling()):
                    raise
                # the task fetching was cancelled, not this one: fetch it here
        future: asyncio.Future[_V] = loop.create_future()
        self._pending[slot] = future
        try:
            value = await fetch()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        else:
            self._values[key] = (value, time.monotonic())
            future.set_result(value)
            return value
        finally:
            del self._pending[slot]

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


_shown: _Lookups[_Key, ModelWindow] = _Lookups()
"""``/api/show``'s window facts by (host, model)."""

_running: _Lookups[str, dict[str, int]] = _Lookups(ttl=PS_TTL)
"""``/api/ps``: loaded model (normalized name) → its window, by host."""

_chosen: dict[_Key, int] = {}
"""The window each (host, model) is sent with: it only grows."""

_chosen_lock = threading.Lock()


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


def modelfile_num_ctx(parameters: str | None) -> int | None:
    """Read ``num_ctx`` from ``/api/show``'s ``parameters`` (one ``name value`` a line).

    Args:
        parameters: The ``parameters`` text (may be ``None``).

    Returns:
        The Modelfile's ``num_ctx``, or ``None`` when it sets none.
    """
    for line in (parameters or "").splitlines():
        name, _, value = line.strip().partition(" ")
        if name == "num_ctx" and value.strip().isdigit() and int(value) > 0:
            return int(value)
    return None


def _model_window(shown: Any, model: str) -> ModelWindow:
    modelfile = modelfile_num_ctx(shown.parameters)
    if length := context_length_of(shown.modelinfo):
        return ModelWindow(length, modelfile)
    profile = get_profile("ollama", model)
    return ModelWindow(profile.get("max_input_tokens") if profile else None, modelfile)


def _show(owner: OllamaServerMixin, model: str) -> ModelWindow:
    return _shown.get((owner.host, model), lambda: _model_window(owner.show(model), model))


async def _ashow(owner: OllamaServerMixin, model: str) -> ModelWindow:
    async def fetch() -> ModelWindow:
        return _model_window(await owner.ashow(model), model)

    return await _shown.aget((owner.host, model), fetch)


def context_window(owner: OllamaServerMixin, model: str) -> int | None:
    """The model's context length on ``owner``'s server, from the cache or ``/api/show``.

    Args:
        owner: The chat model (its client and host).
        model: The model name.

    Returns:
        The length, or ``None`` when neither the server nor a profile knows it.
    """
    return _show(owner, model).length


async def acontext_window(owner: OllamaServerMixin, model: str) -> int | None:
    """Async :func:`context_window`.

    Args:
        owner: The chat model (its client and host).
        model: The model name.

    Returns:
        The length, or ``None`` when neither the server nor a profile knows it.
    """
    return (await _ashow(owner, model)).length


def clear_context_windows() -> None:
    """Forget every context length, loaded window and chosen window found so far.

    The next call of each model asks ``/api/show`` (and ``/api/ps``) again and sizes its
    window afresh. Lookups in flight finish and store their answer.
    """
    _shown.clear()
    _running.clear()
    with _chosen_lock:
        _chosen.clear()


# ---- sizing ------------------------------------------------------------------------------


def _text_size(text: Any) -> int:
    if not isinstance(text, str):
        return 0
    return len(text) if text.isascii() else len(text.encode())


def estimate_tokens(request: Mapping[str, Any]) -> int:
    """A high estimate of the prompt's tokens: the window must hold at least this many.

    Counts a token per 3 bytes of UTF-8 text (messages, thinking, tool calls, tool
    definitions, the output schema), :data:`IMAGE_TOKENS` per image and a few tokens per
    message for the chat template. Tokenizers average 4 or more characters a token on
    English and 2 to 3 on Polish or code, so this overshoots on purpose.

    Args:
        request: The ``/api/chat`` request.

    Returns:
        The estimate, in tokens.
    """
    size = 0
    images = 0
    messages = request.get("messages") or ()
    for message in messages:
        size += _text_size(message.get("content")) + _text_size(message.get("thinking"))
        if calls := message.get("tool_calls"):
            size += len(json.dumps(calls, ensure_ascii=False).encode())
        images += len(message.get("images") or ())
    for extra in (request.get("tools"), request.get("format")):
        if extra:
            size += len(json.dumps(extra, ensure_ascii=False).encode())
    return (
        math.ceil(size / _BYTES_PER_TOKEN)
        + _TOKENS_PER_MESSAGE * len(messages)
        + IMAGE_TOKENS * images
    )


def _low_estimate(request: Mapping[str, Any]) -> int:
    return sum(len(m.get("content") or "") for m in request["messages"]) // _CHARS_PER_TOKEN


def _need(request: Mapping[str, Any]) -> int:
    limit = request["options"].get("num_predict")
    reserve = limit if isinstance(limit, int) and limit > 0 else OUTPUT_RESERVE
    return estimate_tokens(request) + reserve


def window_step(need: int, maximum: int | None = None) -> int:
    """The smallest step (8K, 16K, 32K, ...) holding ``need`` tokens, at most ``maximum``.

    Args:
        need: The tokens the window must hold.
        maximum: The model's context length (``None``: unknown, no cap).

    Returns:
        The window.
    """
    step = MIN_WINDOW
    while step < need:
        step *= 2
    return min(step, maximum) if maximum else step


def _name_key(name: str) -> str:
    """``llama3.2`` and ``llama3.2:latest`` are one model to the server."""
    name = name.strip().lower()
    return name if ":" in name.rpartition("/")[2] else f"{name}:latest"


def _loaded_windows(response: Any) -> dict[str, int]:
    windows: dict[str, int] = {}
    for entry in getattr(response, "models", None) or ():
        name = entry.model or entry.name
        length = entry.context_length
        if name and isinstance(length, int) and length > 0:
            windows[_name_key(name)] = length
    return windows


def _ps(owner: OllamaServerMixin) -> dict[str, int]:
    def fetch() -> dict[str, int]:
        try:
            return _loaded_windows(owner.client.ps())
        except owner._errors():
            return {}  # an old server or a proxy without /api/ps: nothing known loaded

    return _running.get(owner.host, fetch)


async def _aps(owner: OllamaServerMixin) -> dict[str, int]:
    async def fetch() -> dict[str, int]:
        try:
            return _loaded_windows(await owner.async_client.ps())
        except owner._errors():
            return {}

    return await _running.aget(owner.host, fetch)


def _settled(key: _Key, request: Mapping[str, Any], need: int, shown: ModelWindow) -> int | None:
    """The window, when no ``/api/ps`` answer can change it; else ``None``."""
    maximum = shown.length
    chosen = _chosen.get(key)
    if chosen is not None and (need <= chosen or (maximum is not None and chosen >= maximum)):
        return chosen
    if maximum and _low_estimate(request) > maximum:
        return maximum  # check_fits raises: nothing is sent, nothing grows
    return None


def _grow(key: _Key, need: int, shown: ModelWindow, loaded: int | None) -> int:
    """Choose a window for ``need`` (the loaded one, the Modelfile's, else the step); grow."""
    maximum = shown.length
    modelfile = shown.modelfile
    if modelfile and maximum:
        modelfile = min(modelfile, maximum)  # what Ollama loads for a Modelfile beyond it
    target = window_step(need, maximum)
    for candidate in (loaded, modelfile):
        if candidate and need <= candidate and (not maximum or candidate <= maximum):
            target = candidate
            break
    with _chosen_lock:
        current = _chosen.get(key)
        if current is None or current < target:
            _chosen[key] = current = target
        return current


def request_window(owner: OllamaServerMixin, request: Mapping[str, Any]) -> int:
    """The ``num_ctx`` to send with ``request`` when it sets none (see the module's notes).

    Args:
        owner: The chat model (its client and host).
        request: The ``/api/chat`` request (``model``, ``messages``, ``options``...).

    Returns:
        The window, in tokens.
    """
    model = request["model"]
    key = (owner.host, model)
    shown = _show(owner, model)
    need = _need(request)
    if (window := _settled(key, request, need, shown)) is not None:
        return window
    loaded = _ps(owner).get(_name_key(model))
    return _grow(key, need, shown, loaded)


async def arequest_window(owner: OllamaServerMixin, request: Mapping[str, Any]) -> int:
    """Async :func:`request_window`.

    Args:
        owner: The chat model (its client and host).
        request: The ``/api/chat`` request.

    Returns:
        The window in tokens.
    """
    model = request["model"]
    key = (owner.host, model)
    shown = await _ashow(owner, model)
    need = _need(request)
    if (window := _settled(key, request, need, shown)) is not None:
        return window
    loaded = (await _aps(owner)).get(_name_key(model))
    return _grow(key, need, shown, loaded)


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
    estimate = _low_estimate(request)
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
