"""The emulator's mutable state: scripted replies, pending faults and the request log.

Tests change it from their own thread while the server reads it from its event loop, so
every access goes through one lock. Scripts and faults may be scoped to a model name: a
scoped entry only serves requests for that model and is preferred over unscoped ones.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.replies import Reply

__all__ = ["EmulatorState", "RecordedRequest"]


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the emulator received."""

    method: str
    """The HTTP method."""

    path: str
    """The URL path, without the query string."""

    query: str = ""
    """The raw query string."""

    headers: Mapping[str, str] = field(default_factory=dict)
    """The request headers, names lower-cased."""

    json: Any = None
    """The parsed JSON body, or ``None`` when there was none or it was not JSON."""

    body: bytes = b""
    """The raw body."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form served by ``GET /_emulator/requests``."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": dict(self.headers),
            "json": self.json,
            "body": self.body.decode("utf-8", errors="replace"),
        }


@dataclass(slots=True)
class _FaultEntry:
    fault: Fault
    remaining: int | None
    model: str | None


class EmulatorState:
    """Scripts, faults and recorded requests, safe to use from several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[str | None, deque[Reply]] = {}
        self._faults: list[_FaultEntry] = []
        self._requests: list[RecordedRequest] = []
        self._reset_hooks: list[Callable[[], None]] = []

    def reset(self) -> None:
        """Forget every script, fault and recorded request, and what protocols remember."""
        with self._lock:
            self._scripts.clear()
            self._faults.clear()
            self._requests.clear()
            hooks = list(self._reset_hooks)
        for hook in hooks:
            hook()

    def on_reset(self, hook: Callable[[], None]) -> None:
        """Have :meth:`reset` call ``hook`` too (a protocol's memory: Anthropic's prompt cache).

        Args:
            hook: Called with no arguments, outside the state's lock.
        """
        with self._lock:
            self._reset_hooks.append(hook)

    def add_replies(self, replies: Iterable[Reply], model: str | None = None) -> None:
        """Queue replies (first in, first out).

        Args:
            replies: The replies.
            model: Serve them only to requests for this model.
        """
        with self._lock:
            self._scripts.setdefault(model, deque()).extend(replies)

    def take_reply(self, model: str | None, *, raw_only: bool = False) -> Reply | None:
        """Pop the next reply for ``model``: a model-scoped one first, then an unscoped one.

        Args:
            model: The model the request asked for.
            raw_only: Only take the next reply if it is raw (endpoints such as embeddings
                can only replay raw bodies; chat takes raw ones before validating).

        Returns:
            The reply, or ``None`` when nothing is queued (the caller answers in auto mode).
        """
        with self._lock:
            for key in (model, None) if model is not None else (None,):
                queue = self._scripts.get(key)
                if not queue:
                    continue
                if raw_only and queue[0].raw_response is None:
                    return None
                return queue.popleft()
            return None

    def pending_replies(self) -> int:
        """Return how many scripted replies are still queued (all models)."""
        with self._lock:
            return sum(len(q) for q in self._scripts.values())

    def add_fault(self, fault: Fault, times: int | None = 1, model: str | None = None) -> None:
        """Register a fault.

        Args:
            fault: The fault.
            times: How many requests it hits; ``None`` for every request until reset.
            model: Only hit requests for this model.

        Raises:
            ValueError: If ``times`` is below 1.
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for no limit)")
        with self._lock:
            self._faults.append(_FaultEntry(fault, times, model))

    def take_fault(self, model: str | None) -> Fault | None:
        """Return the fault for the next request for ``model`` and count it.

        Args:
            model: The model the request asked for (``None`` when it named none).

        Returns:
            The fault, or ``None``. A model-scoped fault wins over an unscoped one.
        """
        with self._lock:
            if not self._faults:
                return None
            scoped = [e for e in self._faults if e.model is not None and e.model == model]
            candidates = scoped or [e for e in self._faults if e.model is None]
            if not candidates:
                return None
            entry = candidates[0]
            if entry.remaining is not None:
                entry.remaining -= 1
                if entry.remaining <= 0:
                    self._faults.remove(entry)
            return entry.fault

    def record(self, request: RecordedRequest) -> None:
        """Append a request to the log.

        Args:
            request: The request.
        """
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the request log, oldest first."""
        with self._lock:
            return list(self._requests)
