"""HTTP transports that answer the ``openai`` SDK from a model loaded in this process.

``ChatLlamaCpp(model_path=...)`` is the same ``ChatOpenAI`` as ``ChatLlamaCpp(base_url=...)``:
it builds the same request body, and reads the same answer, errors and stream. Only the
SDK's transport differs: instead of a socket, :class:`InProcessTransport` (sync) and
:class:`AsyncInProcessTransport` (async) hand the body to llama.cpp's server in this
process (:class:`~polyvox.openai.llamacpp_local.LoadedModel`) and turn its answer into the
HTTP response llama-server would have sent: a JSON body, an error status, or an SSE stream.

The async transport is native: the request runs on the loaded model's waiter threads and
each callback of the server's is forwarded to the event loop with
``call_soon_threadsafe`` into an :class:`asyncio.Queue`; the loop never blocks, and a
consumer that stops reading stops the generation at the next token.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import httpx2

if TYPE_CHECKING:
    from polyvox.openai.llamacpp_local import Endpoint, LoadedModel

__all__ = ["IN_PROCESS_URL", "AsyncInProcessTransport", "InProcessTransport"]

IN_PROCESS_URL = "http://llamacpp.in-process/v1"
"""The base URL the SDK is given; no request to it ever leaves the process."""

_ENDPOINTS: dict[str, Endpoint] = {
    "/v1/chat/completions": "chat",
    "/v1/completions": "completions",
    "/v1/embeddings": "embeddings",
}
_DONE = b"data: [DONE]\n\n"
_END = object()  # the last item of a stream's queue


def _route(request: httpx2.Request) -> tuple[Endpoint | None, bool]:
    """The endpoint of a request, and whether it asks for a stream."""
    endpoint = _ENDPOINTS.get(request.url.path) if request.method == "POST" else None
    streaming = False
    if endpoint is not None and endpoint != "embeddings":
        try:
            streaming = bool(json.loads(request.content).get("stream"))
        except (ValueError, AttributeError):
            streaming = False  # the server answers a malformed body with its own error
    return endpoint, streaming


def _error_status(data: bytes) -> int | None:
    """The HTTP status of an ``{"error": {...}}`` answer, ``None`` for any other answer."""
    if not data.startswith(b'{"error"'):
        return None
    try:
        error = json.loads(data)["error"]
        code = int(error.get("code") or 500) if isinstance(error, dict) else 500
    except (ValueError, KeyError, TypeError):
        return 500
    return code if 400 <= code < 600 else 500


def _json_response(request: httpx2.Request, status: int, data: bytes) -> httpx2.Response:
    return httpx2.Response(
        status, content=data, headers={"content-type": "application/json"}, request=request
    )


def _not_found(request: httpx2.Request) -> httpx2.Response:
    message = f"{request.method} {request.url.path} is not served by an in-process llama.cpp model"
    body = {"error": {"code": 404, "message": message, "type": "not_found_error"}}
    return _json_response(request, 404, json.dumps(body).encode())


def _refused(request: httpx2.Request, exc: ValueError) -> httpx2.Response:
    """llama.cpp's ``invalid_argument`` for a request, as llama-server answers it (400)."""
    body = {"error": {"code": 400, "message": str(exc), "type": "invalid_request_error"}}
    return _json_response(request, 400, json.dumps(body).encode())


def _sse(request: httpx2.Request, stream: Any) -> httpx2.Response:
    return httpx2.Response(
        200, headers={"content-type": "text/event-stream"}, stream=stream, request=request
    )


def _event(chunk: bytes) -> bytes:
    return b"data: " + chunk + b"\n\n"


class InProcessTransport(httpx2.BaseTransport):
    """The sync transport: answers in the calling thread, streams through a waiter thread."""

    def __init__(self, model: LoadedModel) -> None:
        """Serve requests from ``model``.

        Args:
            model: The loaded (or lazily loading) model.
        """
        self._model = model

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one SDK request from the model.

        Args:
            request: The SDK's request.

        Returns:
            The response llama-server would have sent.
        """
        endpoint, streaming = _route(request)
        if endpoint is None:
            return _not_found(request)
        body = request.read()
        if streaming:
            return self._stream(request, endpoint, body)
        answer: list[bytes] = []

        def keep(data: bytes) -> bool:
            answer.append(data)
            return False

        try:
            self._model.call(endpoint, body, keep)
        except ValueError as exc:
            return _refused(request, exc)
        data = b"".join(answer)
        return _json_response(request, _error_status(data) or 200, data)

    def _stream(self, request: httpx2.Request, endpoint: Endpoint, body: bytes) -> httpx2.Response:
        items: queue.SimpleQueue[Any] = queue.SimpleQueue()
        stop = threading.Event()

        def on_data(data: bytes) -> bool:
            items.put(data)
            return stop.is_set()

        def on_done(exc: BaseException | None) -> None:
            items.put(exc if exc is not None else _END)

        self._model.submit(endpoint, body, on_data, on_done)
        first = items.get()
        if isinstance(first, ValueError):
            return _refused(request, first)
        if isinstance(first, BaseException):
            raise first
        if first is not _END and (status := _error_status(first)) is not None:
            stop.set()
            return _json_response(request, status, first)
        return _sse(request, _SyncEvents(first, items, stop))


class _SyncEvents(httpx2.SyncByteStream):
    """A stream's chunks as SSE events, read from the waiter thread's queue."""

    def __init__(self, first: Any, items: queue.SimpleQueue[Any], stop: threading.Event) -> None:
        self._first = first
        self._items = items
        self._stop = stop

    def __iter__(self) -> Iterator[bytes]:
        item = self._first
        while item is not _END:
            if isinstance(item, BaseException):
                raise httpx2.ReadError(f"llama.cpp failed mid-stream: {item}") from item
            yield _event(item)
            item = self._items.get()
        yield _DONE

    def close(self) -> None:
        """Stop the generation at the next token when the reader stops early."""
        self._stop.set()


class AsyncInProcessTransport(httpx2.AsyncBaseTransport):
    """The async transport: the server's callbacks feed an asyncio queue on the loop."""

    def __init__(self, model: LoadedModel) -> None:
        """Serve requests from ``model``.

        Args:
            model: The loaded (or lazily loading) model.
        """
        self._model = model

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one SDK request from the model without blocking the event loop.

        Args:
            request: The SDK's request.

        Returns:
            The response llama-server would have sent.
        """
        endpoint, streaming = _route(request)
        if endpoint is None:
            return _not_found(request)
        body = await request.aread()
        loop = asyncio.get_running_loop()
        items: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def forward(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(items.put_nowait, item)
            except RuntimeError:  # the loop was closed: nobody is reading any more
                stop.set()

        def on_data(data: bytes) -> bool:
            forward(data)
            return stop.is_set()

        def on_done(exc: BaseException | None) -> None:
            forward(exc if exc is not None else _END)

        self._model.submit(endpoint, body, on_data, on_done)
        try:
            first = await items.get()
        except asyncio.CancelledError:
            stop.set()
            raise
        if isinstance(first, ValueError):
            return _refused(request, first)
        if isinstance(first, BaseException):
            raise first
        if first is not _END and (status := _error_status(first)) is not None:
            stop.set()
            return _json_response(request, status, first)
        if not streaming:
            if first is _END:  # pragma: no cover - the server always answers once
                raise httpx2.ReadError("llama.cpp finished without an answer")
            return _json_response(request, 200, first)
        return _sse(request, _AsyncEvents(first, items, stop))


class _AsyncEvents(httpx2.AsyncByteStream):
    """A stream's chunks as SSE events, awaited from the loop's queue."""

    def __init__(self, first: Any, items: asyncio.Queue[Any], stop: threading.Event) -> None:
        self._first = first
        self._items = items
        self._stop = stop

    async def __aiter__(self) -> AsyncIterator[bytes]:
        item = self._first
        try:
            while item is not _END:
                if isinstance(item, BaseException):
                    raise httpx2.ReadError(f"llama.cpp failed mid-stream: {item}") from item
                yield _event(item)
                item = await self._items.get()
        finally:
            if item is not _END:
                self._stop.set()
        yield _DONE

    async def aclose(self) -> None:
        """Stop the generation at the next token when the reader stops early."""
        self._stop.set()
