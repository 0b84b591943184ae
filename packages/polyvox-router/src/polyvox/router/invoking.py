"""Invoking through the router: the attempt loop's drivers for ``invoke`` and ``ainvoke``.

Each driver runs :meth:`AttemptLoop.run <polyvox.router.attempt_loop.AttemptLoop.run>`
and carries out what it asks: a call to the deployment's model (natively sync or async, as
a child run of the router's) reported back as its outcome, and the rest through
:mod:`polyvox.router.effects`. The drivers decide nothing.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, TypeGuard

from langchain_core.globals import get_llm_cache

from polyvox.core.chat_model import PolyvoxChatModel
from polyvox.core.invocation import message_from_result
from polyvox.core.langchain_internals import agenerate, generate
from polyvox.router.actions import Answered, Call, Failed
from polyvox.router.effects import aperform, perform

if TYPE_CHECKING:
    from langchain_core.messages import AIMessage, BaseMessage
    from langchain_core.runnables import RunnableConfig

    from polyvox.router.actions import Outcome, Reply
    from polyvox.router.attempt_loop import AttemptLoop
    from polyvox.router.constraints import CallSpec
    from polyvox.router.routing import Routing

_INVOKE = PolyvoxChatModel.invoke
_AINVOKE = PolyvoxChatModel.ainvoke
_STREAM_KEYS = ("stream", "ls_structured_output_format", "structured_output_format")

__all__ = ["ainvoke", "direct_target", "invoke"]


def direct_target(target: Any, spec: CallSpec) -> TypeGuard[PolyvoxChatModel]:
    """Whether the router, on its own direct path, may call the deployment's ``_generate``.

    The router's direct path already established that nothing observes the call (no
    callbacks, tracer, cache or rate limiter in the config or the environment). What is
    left to check is the deployment's own settings: a bare polyvox model (not a binding)
    with no callbacks, cache, rate limiter, streaming or v1 output of its own. Then its
    ``invoke`` would take the same direct path, and calling ``_generate`` saves doing the
    checks twice. A class that overrides ``invoke`` or ``ainvoke`` is called through them.
    """
    return (
        isinstance(target, PolyvoxChatModel)
        # a subclass overriding invoke/ainvoke expects to be called through them
        and type(target).invoke is _INVOKE
        and type(target).ainvoke is _AINVOKE
        and not target.callbacks
        and not target.verbose
        and target.rate_limiter is None
        and target.output_version != "v1"
        and not target.streaming
        and (target.cache is False or (target.cache is None and get_llm_cache() is None))
        and (not spec.kwargs or spec.kwargs.keys().isdisjoint(_STREAM_KEYS))
    )


def invoke(
    routing: Routing,
    loop: AttemptLoop,
    messages: list[BaseMessage],
    spec: CallSpec,
    config: RunnableConfig | None,
) -> AIMessage:
    """Run the attempt loop for one ``invoke`` (sync).

    Args:
        routing: The router's settings and shared state.
        loop: The call's attempt loop.
        messages: The prompt.
        spec: What the deployment receives.
        config: The child run's config (callbacks), or ``None``.

    Returns:
        The answer, with ``response_metadata["router"]``.
    """
    direct = config is None or "callbacks" not in config  # nothing observes the call
    flow = loop.run()
    reply: Reply = None
    while True:
        try:
            action = flow.send(reply)
        except StopIteration as done:
            answer: AIMessage = done.value
            return answer
        if type(action) is Call:
            reply = _call(routing, action, messages, spec, config, direct)
        else:
            reply = perform(action, routing, messages, config)


async def ainvoke(
    routing: Routing,
    loop: AttemptLoop,
    messages: list[BaseMessage],
    spec: CallSpec,
    config: RunnableConfig | None,
) -> AIMessage:
    """Run the attempt loop for one ``ainvoke`` (native async).

    Args:
        routing: The router's settings and shared state.
        loop: The call's attempt loop.
        messages: The prompt.
        spec: What the deployment receives.
        config: The child run's config (callbacks), or ``None``.

    Returns:
        The answer, with ``response_metadata["router"]``.
    """
    direct = config is None or "callbacks" not in config
    flow = loop.run()
    reply: Reply = None
    while True:
        try:
            action = flow.send(reply)
        except StopIteration as done:
            answer: AIMessage = done.value
            return answer
        if type(action) is Call:
            reply = await _acall(routing, action, messages, spec, config, direct)
        else:
            reply = await aperform(action, routing, messages, config)


def _call(
    routing: Routing,
    call: Call,
    messages: list[BaseMessage],
    spec: CallSpec,
    config: RunnableConfig | None,
    direct: bool,
) -> Outcome:
    start = time.perf_counter()
    try:
        target = routing.target(call.deployment, spec)
        if direct and direct_target(target, spec):
            # the router's own direct path: nothing observes this call either
            message = message_from_result(generate(target, messages, spec.stop, **spec.kwargs))
        else:
            message = target.invoke(messages, config, stop=spec.stop, **spec.kwargs)
    except BaseException as exc:  # the loop decides, and re-raises what is not a failure
        return Failed(exc, time.perf_counter() - start)
    return Answered(message, time.perf_counter() - start)


async def _acall(
    routing: Routing,
    call: Call,
    messages: list[BaseMessage],
    spec: CallSpec,
    config: RunnableConfig | None,
    direct: bool,
) -> Outcome:
    start = time.perf_counter()
    cut = asyncio.timeout(call.remaining())  # the router's own timeout
    try:
        target = routing.target(call.deployment, spec)
        async with cut:
            if direct and direct_target(target, spec):
                result = await agenerate(target, messages, spec.stop, **spec.kwargs)
                message = message_from_result(result)
            else:
                message = await target.ainvoke(messages, config, stop=spec.stop, **spec.kwargs)
    except BaseException as exc:  # the loop decides, and re-raises what is not a failure
        return Failed(exc, time.perf_counter() - start, cut=cut.expired())
    return Answered(message, time.perf_counter() - start)
