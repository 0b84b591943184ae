"""Carrying out the attempt loop's actions other than calls: breakers, waits, large inputs.

Every driver needs these, and only the sync and async forms differ (breaker state in
Redis is read natively by either); the call itself is each driver's own
(:mod:`polyvox.router.invoking`, :mod:`polyvox.router.streaming`).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from polyvox.router.actions import Allow, Available, LargeInput, Record, Release, Wait
from polyvox.router.large_input import alarge_input, large_input

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from langchain_core.runnables import RunnableConfig

    from polyvox.router.actions import Action, Reply
    from polyvox.router.routing import Routing

__all__ = ["aperform", "perform"]


def perform(
    action: Action,
    routing: Routing,
    messages: list[BaseMessage],
    config: RunnableConfig | None,
) -> Reply:
    """Carry out one action other than a call (sync).

    Args:
        action: What the attempt loop asks.
        routing: The router's breakers and large-input handler.
        messages: The prompt (for the large-input handler).
        config: The child run's config (for the large-input handler).

    Returns:
        The reply to send back to the loop.

    Raises:
        TypeError: For a :class:`~polyvox.router.actions.Call` (the driver's own).
    """
    if type(action) is Allow:
        return routing.breakers.allow(action.name)
    if type(action) is Record:
        if action.failure:
            routing.breakers.record_failure(action.name)
        else:
            routing.breakers.record_success(action.name)
        return None
    if type(action) is Available:
        return routing.breakers.available(action.name)
    if type(action) is Wait:
        time.sleep(action.seconds)
        return None
    if type(action) is Release:
        routing.breakers.release(action.name)
        return None
    if type(action) is LargeInput:
        handler = routing.large_input_handler
        assert handler is not None
        local = routing.large_input_handler_local
        return large_input(handler, local, messages, action.request, config)
    raise TypeError(f"the driver carries out {action!r} itself")


async def aperform(
    action: Action,
    routing: Routing,
    messages: list[BaseMessage],
    config: RunnableConfig | None,
) -> Reply:
    """Carry out one action other than a call (native async).

    Args:
        action: What the attempt loop asks.
        routing: The router's breakers and large-input handler.
        messages: The prompt (for the large-input handler).
        config: The child run's config (for the large-input handler).

    Returns:
        The reply to send back to the loop.

    Raises:
        TypeError: For a :class:`~polyvox.router.actions.Call` (the driver's own).
    """
    if type(action) is Allow:
        return await routing.breakers.aallow(action.name)
    if type(action) is Record:
        if action.failure:
            await routing.breakers.arecord_failure(action.name)
        else:
            await routing.breakers.arecord_success(action.name)
        return None
    if type(action) is Available:
        return await routing.breakers.aavailable(action.name)
    if type(action) is Wait:
        await asyncio.sleep(action.seconds)
        return None
    if type(action) is Release:
        await routing.breakers.arelease(action.name)
        return None
    if type(action) is LargeInput:
        handler = routing.large_input_handler
        assert handler is not None
        local = routing.large_input_handler_local
        return await alarge_input(handler, local, messages, action.request, config)
    raise TypeError(f"the driver carries out {action!r} itself")
