"""A GGUF model loaded in this process by llama.cpp's server, through ``xllamacpp``.

``xllamacpp`` (the ``llamacpp`` extra) embeds llama.cpp's own server: ``Server(params)``
loads the GGUF and runs its inference loop on a thread of its own; ``handle_chat_completions``
/ ``handle_completions`` / ``handle_embeddings`` take an OpenAI request body and answer
through a callback (once, or once per chunk for a stream). Those calls block their caller
until the server's loop thread has finished (without holding the GIL).

A :class:`LoadedModel` is one such server. It is loaded lazily, on its first request, and
shared: every model instance with the same file and settings (:class:`LlamaCppSettings`)
takes a lease on the same one through :mod:`polyvox.core.clients`, and the last of them to
``close()`` unloads it. Nothing here converts messages: the in-process transport
(:mod:`polyvox.openai.inprocess`) hands the request bodies that ``ChatOpenAI`` builds to the
server and its answers back, so both ways to reach llama.cpp share every line of conversion.
"""

from __future__ import annotations

import atexit
import ctypes
import importlib
import json
import os
import signal
import threading
import urllib.request
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from secrets import token_urlsafe
from types import ModuleType
from typing import Any, Literal

__all__ = [
    "GGUF_MAGIC",
    "LlamaCppLoadError",
    "LlamaCppSettings",
    "LlamaCppTemplateError",
    "LoadedModel",
    "check_gguf",
    "keep_signal_handlers",
    "xllamacpp",
]

GGUF_MAGIC = b"GGUF"
"""The first four bytes of every GGUF file."""

Endpoint = Literal["chat", "completions", "embeddings"]
"""Which of the server's entry points a request goes to."""


class LlamaCppLoadError(RuntimeError):
    """llama.cpp could not load a GGUF file (corrupt, too new, too big for the memory)."""


class LlamaCppTemplateError(ValueError):
    """A request needs what the GGUF's chat template cannot do (tools, for one)."""


def xllamacpp() -> ModuleType:
    """The ``xllamacpp`` module, or an error naming the extra that installs it.

    Raises:
        ModuleNotFoundError: ``xllamacpp`` is not installed.
    """
    from polyvox.core.extras import require

    require("xllamacpp", "llamacpp", packages=("polyvox-openai",))
    return importlib.import_module("xllamacpp")


def check_gguf(path: str | os.PathLike[str]) -> Path:
    """The absolute path of a readable GGUF file, checked before anything loads it.

    Args:
        path: The file.

    Returns:
        The resolved path.

    Raises:
        FileNotFoundError: There is no such file.
        ValueError: It is not a GGUF file (a directory, an HTML error page saved by a
            failed download, a truncated file).
    """
    resolved = Path(path).expanduser().resolve()
    if not resolved.exists():
        msg = f"model_path {str(path)!r} does not exist (resolved to {resolved})"
        raise FileNotFoundError(msg)
    if not resolved.is_file():
        msg = f"model_path {str(path)!r} is not a file: pass the .gguf file itself"
        raise ValueError(msg)
    with resolved.open("rb") as handle:
        head = handle.read(len(GGUF_MAGIC))
    if head != GGUF_MAGIC:
        msg = (
            f"model_path {str(path)!r} is not a GGUF file (it starts with {head!r}, not "
            f"{GGUF_MAGIC!r}): download the .gguf again, or convert the model with "
            "llama.cpp's convert_hf_to_gguf.py"
        )
        raise ValueError(msg)
    return resolved


@dataclass(frozen=True)
class LlamaCppSettings:
    """What makes two loaded models the same: instances with equal settings share one."""

    model_path: str
    """The GGUF file, absolute."""

    n_ctx: int
    """Context size in tokens, shared by the parallel slots; 0 is the model's own."""

    n_gpu_layers: int | None
    """Layers offloaded to a GPU; ``None`` is llama.cpp's default (as many as fit)."""

    n_threads: int | None
    """CPU threads for generation and prompt processing; ``None`` is llama.cpp's choice."""

    n_parallel: int
    """Requests decoded at once (llama.cpp's slots); more queue in the server."""

    embedding: bool
    """Whether the server computes embeddings (mean-pooled) besides generating."""

    chat_template: str | None
    """A Jinja chat template replacing the GGUF's own; ``None`` uses the GGUF's."""

    alias: str
    """The model name the server reports in its answers."""

    verbose: bool
    """Whether llama.cpp logs at info level (else it prints errors only)."""

    def params(self, api_key: str) -> Any:
        """The ``xllamacpp.CommonParams`` for these settings.

        Args:
            api_key: The key the server's loopback HTTP port will demand.

        Returns:
            The parameters.
        """
        xlc = xllamacpp()
        params = xlc.CommonParams()
        params.model.path = self.model_path
        params.model_alias = {self.alias}
        params.n_ctx = self.n_ctx
        params.n_parallel = self.n_parallel
        if self.n_gpu_layers is not None:
            params.n_gpu_layers = self.n_gpu_layers
        if self.n_threads is not None:
            params.cpuparams.n_threads = self.n_threads
            params.cpuparams_batch.n_threads = self.n_threads
        if self.embedding:
            params.embedding = True
            params.pooling_type = xlc.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
        if self.chat_template is not None:
            params.chat_template = self.chat_template
        params.verbosity = 3 if self.verbose else 1  # 3 info, 1 errors only
        params.api_keys = [api_key]
        return params


@contextmanager
def keep_signal_handlers() -> Iterator[None]:
    """Put back the process's SIGINT/SIGTERM handlers after llama.cpp's server starts.

    The server installs its own (to stop its loop, as the ``llama-server`` program wants):
    in a library that would turn Ctrl-C into a silently stopped model instead of Python's
    ``KeyboardInterrupt``. The handlers are saved and restored with ``sigaction`` into an
    opaque buffer (larger than any ``struct sigaction``), which works from any thread,
    unlike :func:`signal.signal`.
    """
    if os.name != "posix":  # pragma: no cover - Windows: llama.cpp adds a console handler
        yield
        return
    libc = ctypes.CDLL(None, use_errno=True)
    saved: dict[int, Any] = {}
    for signum in (int(signal.SIGINT), int(signal.SIGTERM)):
        buffer = ctypes.create_string_buffer(1024)
        if libc.sigaction(signum, None, buffer) == 0:
            saved[signum] = buffer
    try:
        yield
    finally:
        for signum, buffer in saved.items():
            libc.sigaction(signum, buffer, None)


_loaded: weakref.WeakSet[LoadedModel] = weakref.WeakSet()


@atexit.register
def _unload_all() -> None:
    """Stop every server's loop thread before the interpreter tears itself down."""
    for model in list(_loaded):
        model.close()


class LoadedModel:
    """One GGUF file loaded by llama.cpp's server, loaded on first use.

    Thread-safe: requests from any thread (and any event loop) run on the server's slots.
    """

    def __init__(self, settings: LlamaCppSettings) -> None:
        """Prepare (not load) the model.

        Args:
            settings: The file and the settings it is loaded with.
        """
        self.settings = settings
        """The file and its load settings."""
        self._server: Any = None
        self._caps: dict[str, Any] = {}
        self._api_key = token_urlsafe(24)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._running = 0
        self._closed = False
        # xllamacpp's calls block their caller until the server's loop thread is done; a
        # stream read chunk by chunk, and every async call, needs that wait to happen
        # elsewhere. These threads only wait (without the GIL) and forward the server's
        # callbacks; bounded, not one per call: beyond them, requests queue here instead of
        # in the server, which has only n_parallel slots anyway.
        self._waiters = ThreadPoolExecutor(
            max_workers=max(4, 2 * settings.n_parallel),
            thread_name_prefix=f"llamacpp-{Path(settings.model_path).stem}",
        )
        _loaded.add(self)

    # ---- loading -------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory now."""
        return self._server is not None

    def _load(self) -> Any:
        """The server, loaded on first use (the caller holds ``_lock``)."""
        if self._closed:
            msg = f"{Path(self.settings.model_path).name} was unloaded (close()); make a new model"
            raise RuntimeError(msg)
        if self._server is None:
            xlc = xllamacpp()
            params = self.settings.params(self._api_key)
            try:
                with keep_signal_handlers():
                    self._server = xlc.Server(params)
            except RuntimeError as exc:
                raise LlamaCppLoadError(self._load_failure()) from exc
            self._caps = self._props()
        return self._server

    def _load_failure(self) -> str:
        s = self.settings
        return (
            f"llama.cpp could not load {s.model_path} (n_ctx={s.n_ctx}, "
            f"n_gpu_layers={s.n_gpu_layers}, n_parallel={s.n_parallel}); the lines it "
            "printed above say why. Usual causes: a truncated or corrupt download, a GGUF "
            f"made by a newer llama.cpp than xllamacpp {xllamacpp().__version__} carries "
            "(pip install -U xllamacpp), or too little memory (lower n_ctx or n_gpu_layers)"
        )

    def _props(self) -> dict[str, Any]:
        """The server's ``/props`` (chat template and its capabilities), once per load.

        xllamacpp has no call for them, so they come from the server's own loopback
        port, which the random key of this load protects.
        """
        request = urllib.request.Request(
            f"{self._server.listening_address}/props",
            headers={"Authorization": f"Bearer {self._api_key}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            props = json.load(response)
        return props if isinstance(props, dict) else {}

    def load(self) -> None:
        """Load the model now rather than on the first request.

        Raises:
            LlamaCppLoadError: llama.cpp could not load the file.
            ModuleNotFoundError: ``xllamacpp`` is not installed.
        """
        with self._lock:
            self._load()

    @property
    def capabilities(self) -> dict[str, bool]:
        """What the GGUF's chat template supports (``supports_tools``, ...), once loaded."""
        self.load()
        caps = self._caps.get("chat_template_caps")
        return {str(k): bool(v) for k, v in caps.items()} if isinstance(caps, dict) else {}

    # ---- requests ------------------------------------------------------------------

    @contextmanager
    def _serving(self) -> Iterator[Any]:
        with self._lock:
            server = self._load()
            self._running += 1
        try:
            yield server
        finally:
            with self._lock:
                self._running -= 1
                self._idle.notify_all()

    def call(self, endpoint: Endpoint, body: bytes, on_data: Callable[[bytes], bool]) -> None:
        """Run one request in the calling thread, which waits until it is answered.

        Args:
            endpoint: The entry point.
            body: The OpenAI request body (JSON).
            on_data: Called with the answer (an error is ``{"error": ...}``), or with each
                chunk of a stream; returning ``True`` stops the stream.

        Raises:
            ValueError: llama.cpp refused the request (``invalid_argument``).
            LlamaCppLoadError: The model could not be loaded.
        """
        with self._serving() as server:
            if endpoint == "embeddings":
                on_data(server.handle_embeddings(body))
            elif endpoint == "completions":
                server.handle_completions(body, on_data)
            else:
                server.handle_chat_completions(body, on_data)

    def submit(
        self,
        endpoint: Endpoint,
        body: bytes,
        on_data: Callable[[bytes], bool],
        on_done: Callable[[BaseException | None], None],
    ) -> None:
        """Run one request on a waiter thread; ``on_done`` follows the last ``on_data``.

        Args:
            endpoint: The entry point.
            body: The OpenAI request body (JSON).
            on_data: As for :meth:`call` (it runs on the waiter thread).
            on_done: Called once at the end, with the exception if the call raised.
        """

        def run() -> None:
            try:
                self.call(endpoint, body, on_data)
            except BaseException as exc:
                on_done(exc)
            else:
                on_done(None)

        self._waiters.submit(run)

    def close(self) -> None:
        """Unload the model once the requests running on it are answered.

        Later requests raise; calling ``close()`` again does nothing.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            while self._running:
                self._idle.wait()
            server, self._server = self._server, None
        self._waiters.shutdown(wait=True)
        del server  # the C++ server's destructor stops its loop thread and frees the model
