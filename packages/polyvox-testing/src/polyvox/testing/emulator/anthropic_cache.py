"""Anthropic's prompt cache, remembered between requests as the API remembers it.

A request marks cache breakpoints with ``cache_control`` on tools, system blocks and
message content blocks, or once at the top level (automatic caching: the breakpoint goes
on the last block). The prompt is read in the API's order (tools, then system, then
messages) as a list of blocks; the prefix up to each breakpoint is a cache entry of that
model, kept for its ``ttl`` (``"5m"``, the default, or ``"1h"``) and refreshed by every use.

For each request, the longest earlier prefix found at a breakpoint or up to
:data:`LOOKBACK` blocks before one is *read* (``cache_read_input_tokens``); the rest of the
prompt up to the last breakpoint is *written* (``cache_creation_input_tokens``, split by
lifetime as ``ephemeral_5m_input_tokens`` and ``ephemeral_1h_input_tokens``). A prefix
shorter than the model's minimum (:func:`minimum_tokens`: 1,024 to 4,096 tokens) is not
cached, without error, as the API does. Tokens are counted as the emulator counts prompts
(:mod:`.tokens`).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from polyvox.testing.emulator.tokens import count_tokens

__all__ = [
    "LOOKBACK",
    "MAX_BREAKPOINTS",
    "TTL_SECONDS",
    "CacheBreakpointError",
    "CacheUse",
    "PromptCache",
    "minimum_tokens",
]

TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
"""How long an entry lives after its last use, by ``cache_control.ttl``."""

LOOKBACK = 20
"""How many blocks before a breakpoint the API looks for an earlier cached prefix."""

MAX_BREAKPOINTS = 4
"""The most ``cache_control`` blocks a request may carry."""

_MINIMUMS = (
    ("claude-opus-4-6", 4096), ("claude-opus-4-5", 4096), ("claude-haiku-4-5", 4096),
    ("claude-opus-4-7", 2048), ("claude-3-5-haiku", 2048), ("claude-3-haiku", 2048),
)  # fmt: skip
_DEFAULT_MINIMUM = 1024


def minimum_tokens(model: str) -> int:
    """The shortest prefix the model caches (Anthropic's documented minimums).

    Args:
        model: The model id (a dated snapshot matches its alias).

    Returns:
        4,096 for Claude Opus 4.5/4.6 and Haiku 4.5, 2,048 for Opus 4.7 and the Haiku 3
        models, 1,024 for the others.
    """
    return next((n for prefix, n in _MINIMUMS if model.startswith(prefix)), _DEFAULT_MINIMUM)


class CacheBreakpointError(ValueError):
    """A request the API refuses for its cache breakpoints (the 400's message)."""


@dataclass(frozen=True, slots=True)
class CacheUse:
    """What one request read from and wrote to the cache, in tokens."""

    read: int = 0
    """Tokens served from the cache."""

    written_5m: int = 0
    """Tokens written with the 5-minute lifetime."""

    written_1h: int = 0
    """Tokens written with the 1-hour lifetime."""

    @property
    def written(self) -> int:
        """All tokens written."""
        return self.written_5m + self.written_1h


@dataclass(frozen=True, slots=True)
class _Block:
    digest: str
    """The hash of the prompt up to and including this block."""
    tokens: int
    """The tokens of the prompt up to and including this block."""
    ttl: str | None
    """The breakpoint's lifetime, when the block carries ``cache_control``."""


def _ttl(mark: Any) -> str | None:
    if not isinstance(mark, Mapping):
        return None
    ttl = mark.get("ttl") or "5m"
    if ttl not in TTL_SECONDS:
        raise CacheBreakpointError(f"cache_control.ttl: Input should be '5m' or '1h', got {ttl!r}")
    return str(ttl)


def _tokens(block: Mapping[str, Any]) -> int:
    kind = block.get("type")
    if kind == "text":
        return count_tokens(str(block.get("text") or ""))
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, str):
            return count_tokens(content)
        return sum(_tokens(b) for b in content or () if isinstance(b, Mapping))
    if kind == "tool_use":
        return count_tokens(str(block.get("name") or "")) + count_tokens(
            json.dumps(block.get("input") or {})
        )
    source = block.get("source")
    if isinstance(source, Mapping) and isinstance(source.get("data"), str):
        # an image or document by value: counted by its size, not its base64 text
        return max(1, len(source["data"]) // 1000)
    return count_tokens(json.dumps(block, sort_keys=True))


def _prompt_blocks(body: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The request's blocks in the API's cache order, each with where it stands."""
    for tool in body.get("tools") or ():
        if isinstance(tool, Mapping):
            yield "tool", tool
    system = body.get("system")
    if isinstance(system, str) and system:
        yield "system", {"type": "text", "text": system}
    elif isinstance(system, list):
        for block in system:
            if isinstance(block, Mapping):
                yield "system", block
    for message in body.get("messages") or ():
        if not isinstance(message, Mapping):
            continue
        content = message.get("content")
        role = str(message.get("role"))
        if isinstance(content, str):
            yield role, {"type": "text", "text": content}
        else:
            for block in content or ():
                if isinstance(block, Mapping):
                    yield role, block


def _blocks(body: Mapping[str, Any]) -> list[_Block]:
    """Hash and count the prompt block by block; mark the breakpoints."""
    out: list[_Block] = []
    digest = hashlib.sha256(str(body.get("model", "")).encode())
    total = 0
    for where, block in _prompt_blocks(body):
        plain = {k: v for k, v in block.items() if k != "cache_control"}
        digest.update(json.dumps([where, plain], sort_keys=True, default=str).encode())
        total += _tokens(plain) if where != "tool" else count_tokens(json.dumps(plain))
        out.append(_Block(digest.hexdigest(), total, _ttl(block.get("cache_control"))))
    marked = sum(1 for b in out if b.ttl is not None)
    if marked > MAX_BREAKPOINTS:
        raise CacheBreakpointError(
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {marked}."
        )
    automatic = _ttl(body.get("cache_control"))
    if automatic is not None and out and out[-1].ttl is None:
        last = out[-1]
        out[-1] = _Block(last.digest, last.tokens, automatic)
    return out


class PromptCache:
    """The prefixes each model has cached, with their expiry; safe across threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Start empty.

        Args:
            clock: Seconds, monotonic (tests pass a fake one to expire entries).
        """
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, str]] = {}

    def clear(self) -> None:
        """Forget every entry (the emulator's reset)."""
        with self._lock:
            self._entries.clear()

    def use(self, body: Mapping[str, Any]) -> CacheUse | None:
        """Read and write the cache for one Messages API request.

        Args:
            body: The request (already checked otherwise).

        Returns:
            What it read and wrote; ``None`` when it marks no breakpoint (then the usage
            reports no cache at all, as the API's does).

        Raises:
            CacheBreakpointError: Over :data:`MAX_BREAKPOINTS` breakpoints, or an unknown
                ``ttl``.
        """
        blocks = _blocks(body)
        marks = [i for i, b in enumerate(blocks) if b.ttl is not None]
        if not marks:
            return None
        minimum = minimum_tokens(str(body.get("model", "")))
        now = self._clock()
        with self._lock:
            hit = self._longest_hit(blocks, marks, now)
            read = blocks[hit].tokens if hit is not None else 0
            written = {"5m": 0, "1h": 0}
            done = read
            for i in marks:
                block = blocks[i]
                assert block.ttl is not None
                if block.tokens < minimum:
                    continue
                if block.tokens > done:
                    written[block.ttl] += block.tokens - done
                    done = block.tokens
                self._entries[block.digest] = (now + TTL_SECONDS[block.ttl], block.ttl)
        return CacheUse(read=read, written_5m=written["5m"], written_1h=written["1h"])

    def _longest_hit(self, blocks: list[_Block], marks: list[int], now: float) -> int | None:
        """The last block ending a live cached prefix near a breakpoint; refreshes it."""
        for mark in reversed(marks):
            for i in range(mark, max(mark - LOOKBACK, -1), -1):
                entry = self._entries.get(blocks[i].digest)
                if entry is None:
                    continue
                expiry, ttl = entry
                if expiry <= now:
                    del self._entries[blocks[i].digest]
                    continue
                self._entries[blocks[i].digest] = (now + TTL_SECONDS[ttl], ttl)
                return i
        return None
