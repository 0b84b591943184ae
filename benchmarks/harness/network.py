"""How many new TCP connections a client opens per call (keep-alive or not)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["connects_per_call"]


def connects_per_call(calls: Mapping[str, Callable[[], object]], n: int = 5) -> dict[str, float]:
    """Count the ``connect`` calls each client makes over ``n`` calls (untimed).

    A client that drops its connection after each call pays a new TCP (and, against a
    real provider, TLS) handshake every time; one that keeps it alive pays none. This
    briefly wraps ``socket.socket.connect`` and restores it before anything is timed.

    Args:
        calls: Client name → a call (each already made once, so pools are warm).
        n: Calls per client.

    Returns:
        Client name → new connections per call.
    """
    count = 0
    original = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        nonlocal count
        count += 1
        original(self, address)

    out: dict[str, float] = {}
    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    try:
        for name, call in calls.items():
            count = 0
            for _ in range(n):
                call()
            out[name] = count / n
    finally:
        socket.socket.connect = original  # type: ignore[method-assign]
    return out
