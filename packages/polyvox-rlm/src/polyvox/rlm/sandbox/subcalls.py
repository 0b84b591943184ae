"""The host's side of ``llm_query``, ``llm_query_batched`` and ``rlm_query``.

A cell's code blocks on a sub-call while the host answers it: :func:`answer_subcall` checks
the worker's request (a tampered worker's malformed one is a protocol error), enforces the
cell's sub-call cap itself, awaits the :class:`SubcallHandler` and frames the reply. A
batch of prompts reaches the handler as one ``llm_query_batched`` call, which runs them
concurrently.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from polyvox.rlm.sandbox.protocol import ProtocolError, encode_frame

__all__ = ["SubcallHandler", "answer_subcall"]


@runtime_checkable
class SubcallHandler(Protocol):
    """The host's side of ``llm_query``, ``llm_query_batched`` and ``rlm_query``.

    An exception raised here reaches the cell's code as a ``SubcallError`` (a
    ``RuntimeError``) carrying its type and message; cancellation cancels the cell.
    """

    async def llm_query(self, prompt: str) -> str:
        """Answer one prompt with the sub-model."""
        ...

    async def llm_query_batched(self, prompts: list[str]) -> list[str]:
        """Answer several prompts (concurrently, bounded by the engine), in order."""
        ...

    async def rlm_query(self, prompt: str, context: str | None) -> str:
        """Answer with a child RLM over ``context`` (the prompt itself when ``None``)."""
        ...


async def answer_subcall(
    handler: SubcallHandler, message: dict[str, Any], subcalls: int, limit: int
) -> tuple[bytes, int]:
    """Answer one ``subcall`` message of the worker.

    Args:
        handler: Serves the sub-calls.
        message: The worker's message.
        subcalls: Prompts the cell has sent so far.
        limit: Most prompts a cell may send (``SandboxLimits.max_subcalls_per_cell``).

    Returns:
        The reply frame, and the cell's count of prompts including this request's.

    Raises:
        ProtocolError: For a request that is not a well-formed sub-call.
    """
    kind = message.get("kind")
    prompts: list[str] = []
    prompt = ""
    context: str | None = None
    if kind == "llm_query_batched":
        raw = message.get("prompts")
        if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
            raise ProtocolError("llm_query_batched without a list of str prompts")
        prompts = raw
        count = len(prompts)
    elif kind in ("llm_query", "rlm_query"):
        raw_prompt, raw_context = message.get("prompt"), message.get("context")
        if not isinstance(raw_prompt, str) or not (
            raw_context is None or isinstance(raw_context, str)
        ):
            raise ProtocolError(f"{kind} without a str prompt")
        prompt, context = raw_prompt, raw_context
        count = 1
    else:
        raise ProtocolError(f"unknown sub-call {kind!r}")
    subcalls += count
    seq = message["seq"]
    if subcalls > limit:
        return _reply(seq, ok=False, error="sub-call limit of the cell reached"), subcalls
    try:
        value: str | list[str]
        if kind == "llm_query_batched":
            answers = await handler.llm_query_batched(prompts)
            value = [str(answer) for answer in answers]
            if len(value) != count:
                raise RuntimeError(f"the handler returned {len(value)} answers for {count}")
        elif kind == "llm_query":
            value = str(await handler.llm_query(prompt))
        else:
            value = str(await handler.rlm_query(prompt, context))
    except Exception as exc:  # the cell's code gets the error
        error = f"{kind} failed: {type(exc).__name__}: {exc}"
        return _reply(seq, ok=False, error=error), subcalls
    return _reply(seq, ok=True, value=value), subcalls


def _reply(seq: int, *, ok: bool, value: str | list[str] | None = None, error: str = "") -> bytes:
    return encode_frame({"op": "reply", "seq": seq, "ok": ok, "value": value, "error": error})
