"""How every family calls a LangChain chat model (polyvox's or a partner package's).

The raw-SDK baselines differ per provider; the LangChain side does not: a whole
``stream()`` joined into text, and ``abatch()`` at a fixed concurrency.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.harness.compare import Batch

__all__ = ["abatch_call", "stream_call"]


def stream_call(model: Any, prompt: str) -> Callable[[], str]:
    """A call that streams ``prompt`` through ``model`` and returns the joined text."""

    def call() -> str:
        return "".join(str(chunk.content) for chunk in model.stream(prompt))

    return call


def abatch_call(model: Any, prompt: str, concurrency: int) -> Batch:
    """A batch of ``n`` copies of ``prompt`` through ``model.abatch`` at ``concurrency``."""

    async def run(n: int) -> list[str]:
        out = await model.abatch([prompt] * n, config={"max_concurrency": concurrency})
        return [str(m.content) for m in out]

    return run
