"""Sending a pre-rendered event stream, with the stream faults applied.

A protocol renders its whole answer as a list of frames (complete SSE events or NDJSON
lines) and hands them here. Without timing or breakage the frames go out as one body,
the fastest path; otherwise they are streamed with the requested delays, cut off after
``break_after`` frames (the connection is dropped) or followed, after ``error_after``
frames, by the protocol's error frame.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence

from starlette.responses import Response, StreamingResponse

from polyvox.testing.emulator.faults import Fault

__all__ = ["StreamBrokenError", "send_frames"]


class StreamBrokenError(ConnectionAbortedError):
    """Raised inside the server to drop a connection mid-response (a fault, not a bug)."""


def send_frames(
    frames: Sequence[bytes],
    fault: Fault | None,
    *,
    content_type: str,
    tail: Sequence[bytes] = (),
    error_frame: Callable[[Fault], bytes] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Answer with frames, applying the stream faults.

    Args:
        frames: The data frames, in order.
        fault: The pending fault, or ``None``.
        content_type: The ``Content-Type`` header.
        tail: Frames that close the stream (``data: [DONE]``); not sent when it breaks.
        error_frame: Renders the protocol's mid-stream error event.
        headers: Extra headers.

    Returns:
        The response.
    """
    extra = dict(headers or {})
    timed = fault is not None and (
        fault.first_chunk_delay > 0
        or fault.chunk_delay > 0
        or fault.break_after is not None
        or (fault.error_after is not None and error_frame is not None)
    )
    if not timed or fault is None:
        response = Response(b"".join([*frames, *tail]), 200, extra)
        response.headers["content-type"] = content_type
        return response
    streaming = StreamingResponse(_frames(frames, tail, fault, error_frame), 200, extra)
    streaming.headers["content-type"] = content_type
    return streaming


async def _frames(
    frames: Sequence[bytes],
    tail: Sequence[bytes],
    fault: Fault,
    error_frame: Callable[[Fault], bytes] | None,
) -> AsyncIterator[bytes]:
    if fault.first_chunk_delay > 0:
        await asyncio.sleep(fault.first_chunk_delay)
    for index, frame in enumerate(frames):
        if fault.break_after is not None and index >= fault.break_after:
            raise StreamBrokenError("polyvox emulator: stream broken on purpose")
        if fault.error_after is not None and error_frame is not None and index >= fault.error_after:
            yield error_frame(fault)
            for closing in tail:
                yield closing
            return
        if index and fault.chunk_delay > 0:
            await asyncio.sleep(fault.chunk_delay)
        yield frame
    if fault.break_after is not None:
        raise StreamBrokenError("polyvox emulator: stream broken on purpose")
    if fault.error_after is not None and error_frame is not None:
        yield error_frame(fault)
    for closing in tail:
        yield closing


class _QuietBrokenStreams(logging.Filter):
    """Drops uvicorn's traceback for connections the emulator drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not _is_broken(exc)


def _is_broken(exc: BaseException | None) -> bool:
    if isinstance(exc, StreamBrokenError):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return all(_is_broken(e) for e in exc.exceptions)
    return False


logging.getLogger("uvicorn.error").addFilter(_QuietBrokenStreams())
