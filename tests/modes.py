"""Calling a LangChain chat model each way code does: one helper for the tests' call matrices."""

from __future__ import annotations

from typing import Any

MODES = ("invoke", "ainvoke", "stream", "astream")
"""The four ways of calling a chat model (``"batch"`` is accepted too)."""


async def call_as(model: Any, mode: str, prompt: str = "hi", **kwargs: Any) -> str:
    """Call ``model`` with ``prompt`` in ``mode`` and return the answer's text.

    Args:
        model: A chat model (or a router).
        mode: ``invoke``, ``ainvoke``, ``stream``, ``astream`` or ``batch``.
        prompt: The prompt.
        **kwargs: Passed to the call (``config=``, call keywords).

    Returns:
        The text (streams joined).
    """
    if mode == "invoke":
        return str(model.invoke(prompt, **kwargs).content)
    if mode == "ainvoke":
        return str((await model.ainvoke(prompt, **kwargs)).content)
    if mode == "stream":
        return "".join(str(chunk.content) for chunk in model.stream(prompt, **kwargs))
    if mode == "astream":
        return "".join([str(chunk.content) async for chunk in model.astream(prompt, **kwargs)])
    if mode == "batch":
        return "".join(str(answer.content) for answer in model.batch([prompt], **kwargs))
    raise ValueError(f"unknown mode {mode!r}")
