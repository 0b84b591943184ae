"""The messages between the host and the worker: length-prefixed JSON over two pipes.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON (one object
with an ``"op"``). The host's frames keep lone surrogates
(``surrogatepass``); the worker replaces them with U+FFFD, and the host decodes the worker's
frames with ``replace`` and refuses frames over :data:`MAX_WORKER_FRAME_BYTES`.

Host to worker::

    {"op": "init", "context": str, "documents": [{"metadata", "start", "end"}] | null,
     "limits": {...}, "workdir": str}
    {"op": "run", "seq": int, "code": str, "timeout": float}
    {"op": "vars", "seq": int, "timeout": float}
    {"op": "get", "seq": int, "name": str, "max_chars": int, "timeout": float}
    {"op": "reply", "seq": int, "ok": bool, "value": str | [str], "error": str}

Worker to host::

    {"op": "ready", "pid": int, "startup_s": float} | {"op": "failed", "error": str}
    {"op": "subcall", "seq": int, "kind": "llm_query" | "llm_query_batched" | "rlm_query",
     "prompt": str, "prompts": [str], "context": str | null}
    {"op": "result", "seq": int, "output": str, "error": str | null, "truncated": bool,
     "timed_out": bool, "final": str | null, "reads": [[int, int]], "restored": [str]}
    {"op": "vars", "seq": int, "vars": {name: description}}
    {"op": "value", "seq": int, "value": str | null}
"""

from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Mapping
from typing import Any

__all__ = [
    "HEADER",
    "MAX_WORKER_FRAME_BYTES",
    "PipeChannel",
    "ProtocolError",
    "decode_host_frame",
    "encode_frame",
]

HEADER = struct.Struct(">I")
"""The length prefix of a frame."""

MAX_WORKER_FRAME_BYTES = 128 * 1024 * 1024
"""Largest frame the host accepts from a worker."""

_READ_CHUNK = 1 << 20
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class ProtocolError(Exception):
    """A frame was malformed, too large, or the pipe closed in the middle of one."""


def encode_frame(message: Mapping[str, Any], *, replace_surrogates: bool = False) -> bytes:
    """Serialise one message as a frame.

    Args:
        message: A JSON-serialisable mapping with an ``"op"``.
        replace_surrogates: Turn lone surrogates into U+FFFD (the worker's frames) instead of
            passing them through (the host's frames, so a context holding them arrives intact).

    Returns:
        The length prefix and the payload.

    Raises:
        ProtocolError: If the payload does not fit a 4-byte length.
    """
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    if replace_surrogates:
        text = _LONE_SURROGATE.sub("\ufffd", text)
    payload = text.encode("utf-8", "surrogatepass")
    if len(payload) >= 1 << 32:
        raise ProtocolError(f"message of {len(payload)} bytes is too large for a frame")
    return HEADER.pack(len(payload)) + payload


def decode_host_frame(payload: bytes) -> dict[str, Any]:
    """Parse a worker's frame on the host (lone surrogates become U+FFFD).

    Args:
        payload: The bytes after the length prefix.

    Returns:
        The message.

    Raises:
        ProtocolError: If it is not a JSON object with a string ``"op"``.
    """
    return _as_message(payload.decode("utf-8", "replace"))


def _as_message(text: str) -> dict[str, Any]:
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise ProtocolError(f"frame is not JSON: {exc}") from None
    except RecursionError:  # a frame nested deeper than the parser goes
        raise ProtocolError("frame is nested too deeply") from None
    if not isinstance(message, dict) or not isinstance(message.get("op"), str):
        raise ProtocolError("frame is not an object with an 'op'")
    return message


class PipeChannel:
    """The worker's blocking end of the pipes (plain ``os.read``/``os.write`` on raw fds)."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        """Wrap two file descriptors.

        Args:
            read_fd: Where the host's frames arrive.
            write_fd: Where the worker's frames go.
        """
        self._read_fd = read_fd
        self._write_fd = write_fd

    def send(self, message: Mapping[str, Any]) -> None:
        """Write one message.

        Args:
            message: The message.
        """
        self.send_frame(encode_frame(message, replace_surrogates=True))

    def send_frame(self, frame: bytes) -> None:
        """Write one frame made by :func:`encode_frame`.

        Args:
            frame: The frame.
        """
        view = memoryview(frame)
        while view:
            written = os.write(self._write_fd, view)
            view = view[written:]

    def receive(self) -> dict[str, Any]:
        """Read one message, blocking until it has fully arrived.

        Returns:
            The message.

        Raises:
            EOFError: If the host closed the pipe between frames.
            ProtocolError: If it closed it inside a frame, or the frame is malformed.
        """
        header = self._read_exactly(HEADER.size, at_boundary=True)
        (size,) = HEADER.unpack(header)
        payload = self._read_exactly(size, at_boundary=False)
        return _as_message(payload.decode("utf-8", "surrogatepass"))

    def _read_exactly(self, size: int, *, at_boundary: bool) -> bytes:
        buffer = bytearray()
        while len(buffer) < size:
            chunk = os.read(self._read_fd, min(_READ_CHUNK, size - len(buffer)))
            if not chunk:
                if at_boundary and not buffer:
                    raise EOFError("the host closed the pipe")
                raise ProtocolError("the pipe closed inside a frame")
            buffer += chunk
        return bytes(buffer)
