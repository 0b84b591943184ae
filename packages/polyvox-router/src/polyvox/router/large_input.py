"""Prompts larger than every window: handing them to the router's large-input handler.

A router with a ``large_input_handler`` (typically the RLM) answers a prompt that fits no
eligible deployment's window through it, sync or async. The handler may call any model, a
cloud one included, so confidential and restricted prompts reach it only when the router
says the handler is local (:func:`refuse_large_input`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable

from polyvox.router.errors import NoDeploymentError
from polyvox.router.request import RouteRequest

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

__all__ = ["LargeInputHandler", "alarge_input", "large_input", "refuse_large_input"]

LargeInputHandler = Callable[[list[BaseMessage], RouteRequest], Any] | Runnable[Any, Any]
"""What handles a prompt larger than every window: a function ``(messages, request)``
returning an ``AIMessage`` or text (an awaitable of one on the async path), or a Runnable
(the RLM) invoked with the messages."""


def large_input(
    handler: LargeInputHandler,
    local: bool,
    messages: list[BaseMessage],
    request: RouteRequest,
    config: RunnableConfig | None,
) -> AIMessage:
    """Hand a prompt larger than every window to the large-input handler.

    Args:
        handler: The router's ``large_input_handler``.
        local: The router's ``large_input_handler_local``.
        messages: The prompt.
        request: The request.
        config: The child run's config.

    Returns:
        The handler's answer.
    """
    refuse_large_input(local, request)
    if isinstance(handler, Runnable):
        return _as_message(handler.invoke(messages, _handler_config(config, request)))
    return _as_message(handler(messages, request))


async def alarge_input(
    handler: LargeInputHandler,
    local: bool,
    messages: list[BaseMessage],
    request: RouteRequest,
    config: RunnableConfig | None,
) -> AIMessage:
    """Async :func:`large_input` (a handler function may return an awaitable).

    Args:
        handler: The router's ``large_input_handler``.
        local: The router's ``large_input_handler_local``.
        messages: The prompt.
        request: The request.
        config: The child run's config.

    Returns:
        The handler's answer.
    """
    refuse_large_input(local, request)
    if isinstance(handler, Runnable):
        return _as_message(await handler.ainvoke(messages, _handler_config(config, request)))
    answer = handler(messages, request)
    if asyncio.iscoroutine(answer) or isinstance(answer, asyncio.Future):
        answer = await answer
    return _as_message(answer)


def refuse_large_input(
    local: bool, request: RouteRequest, reasons: Mapping[str, str] | None = None
) -> None:
    """Refuse to hand data that must stay local to a large-input handler not known to be local.

    The handler (typically an RLM) may call any model, a cloud one included, so
    confidential and restricted prompts reach it only when the router sets
    ``large_input_handler_local=True``.

    Args:
        local: The router's ``large_input_handler_local``.
        request: The request (its sensitivity).
        reasons: Deployment name → why it was dropped, for the error's message.

    Raises:
        NoDeploymentError: The request's data may only go to local models and the handler is
            not declared local.
    """
    if not request.sensitivity.local_only or local:
        return
    lead = (
        f"refusing to hand {request.sensitivity.value} data to the large-input handler: the "
        "prompt fits no local deployment's window, and the handler may call cloud models "
        "(set large_input_handler_local=True on the router if it runs only local models)"
    )
    raise NoDeploymentError(reasons or {}, request, message=lead)


def _handler_config(config: RunnableConfig | None, request: RouteRequest) -> RunnableConfig:
    """The config a Runnable handler gets: the run's, its metadata naming the sensitivity."""
    given: RunnableConfig = config if config is not None else {}
    metadata = {**given.get("metadata", {}), "sensitivity": request.sensitivity.value}
    return {**given, "metadata": metadata}


def _as_message(answer: Any) -> AIMessage:
    if isinstance(answer, AIMessage):
        return answer
    if isinstance(answer, str):
        return AIMessage(content=answer)
    if isinstance(answer, BaseMessage):
        return AIMessage(content=answer.content)
    msg = f"large_input_handler returned {type(answer).__name__}; expected an AIMessage or text"
    raise TypeError(msg)
