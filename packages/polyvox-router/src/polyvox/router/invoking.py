"""Invoking through the router: the attempt loop's drivers for ``invoke`` and ``ainvoke``.

Each driver asks the :class:`~polyvox.router.attempts.AttemptLoop` what to try, consults
the deployment's breaker, calls the deployment's model (natively sync or async, as a child
run of the router's), waits before a retry, and reports every outcome back to the loop and
the breaker.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, TypeGuard

from langchain_core.globals import get_llm_cache

from polyvox.core.chat_model import PolyvoxChatModel
from polyvox.core.invocation import message_from_result
from polyvox.core.langchain_internals import agenerate, generate
from polyvox.router.attempts import areport, report
from polyvox.router.errors import is_caller_refusal

_INVOKE = PolyvoxChatModel.invoke
_AINVOKE = PolyvoxChatModel.ainvoke
_STREAM_KEYS = ("stream", "ls_structured_output_format", "structured_output_format")

if TYPE_CHECKING:
    from langchain_core.messages import AIMessage, BaseMessage
    from langchain_core.runnables import RunnableConfig

    from polyvox.router.attempts import AttemptLoop
    from polyvox.router.constraints import CallSpec
    from polyvox.router.router import Router

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
        and not any(key in spec.kwargs for key in _STREAM_KEYS)
    )


def invoke(
    router: Router,
    loop: AttemptLoop,
    messages: list[BaseMessage],
    spec: CallSpec,
    config: RunnableConfig | None,
) -> AIMessage:
    """Run the attempt loop for one ``invoke`` (sync).

    Args:
        router: The router.
        loop: The call's attempt loop.
        messages: The prompt.
        spec: What the deployment receives.
        config: The child run's config (callbacks), or ``None``.

    Returns:
        The answer, with ``response_metadata["router"]``.
    """
    board, stats = router.breakers, router.stats
    deployment = loop.next()
    while deployment is not None:
        name = deployment.name
        if not loop.admit(deployment):
            deployment = loop.next()
            continue
        if not board.allow(name):
            loop.admission.unreserve(name)
            loop.skipped(deployment)
            deployment = loop.next()
            continue
        loop.begin(deployment)
        retries = 0
        while True:
            start = time.perf_counter()
            loop.admission.start(name)
            try:
                target = router._target(deployment, spec)
                if direct_target(target, spec) and (config is None or "callbacks" not in config):
                    # the router's own direct path: nothing observes this call either
                    result = generate(target, messages, spec.stop, **spec.kwargs)
                    message = message_from_result(result)
                else:
                    message = target.invoke(messages, config, stop=spec.stop, **spec.kwargs)
            except BaseException as exc:
                if not isinstance(exc, Exception) or is_caller_refusal(exc):
                    stats.ended(name)  # interrupted, or refused by a budget: no outcome
                    if isinstance(exc, Exception):
                        board.release(name)  # a probe it was granted goes to the next call
                    raise
                wait, verdict = loop.failed(deployment, exc, time.perf_counter() - start, retries)
                report(board, name, verdict)
                if wait is None or not board.available(name):  # no retry once it opened
                    break
                time.sleep(wait)
                retries += 1
                continue
            board.record_success(name)
            if loop.succeeded(deployment, message, time.perf_counter() - start):
                return loop.finish(name, message)
            break
        deployment = loop.next()
    if loop.overflowed and router.large_input_handler is not None:
        return loop.finish(
            None, router._large_input(messages, loop.plan.request, config), large_input=True
        )
    return loop.exhausted()


async def ainvoke(
    router: Router,
    loop: AttemptLoop,
    messages: list[BaseMessage],
    spec: CallSpec,
    config: RunnableConfig | None,
) -> AIMessage:
    """Run the attempt loop for one ``ainvoke`` (native async).

    Args:
        router: The router.
        loop: The call's attempt loop.
        messages: The prompt.
        spec: What the deployment receives.
        config: The child run's config (callbacks), or ``None``.

    Returns:
        The answer, with ``response_metadata["router"]``.
    """
    board, stats = router.breakers, router.stats
    deployment = loop.next()
    while deployment is not None:
        name = deployment.name
        if not loop.admit(deployment):
            deployment = loop.next()
            continue
        if not await board.aallow(name):
            loop.admission.unreserve(name)
            loop.skipped(deployment)
            deployment = loop.next()
            continue
        loop.begin(deployment)
        retries = 0
        while True:
            start = time.perf_counter()
            cut = asyncio.timeout(loop.remaining())  # the router's own timeout
            loop.admission.start(name)
            try:
                target = router._target(deployment, spec)
                async with cut:
                    if direct_target(target, spec) and (
                        config is None or "callbacks" not in config
                    ):
                        result = await agenerate(target, messages, spec.stop, **spec.kwargs)
                        message = message_from_result(result)
                    else:
                        message = await target.ainvoke(
                            messages, config, stop=spec.stop, **spec.kwargs
                        )
            except BaseException as exc:
                if not isinstance(exc, Exception) or is_caller_refusal(exc):
                    stats.ended(name)  # cancelled, or refused by a budget: no outcome
                    if isinstance(exc, Exception):
                        await board.arelease(name)  # a probe it was granted goes on
                    raise
                latency = time.perf_counter() - start
                wait, verdict = loop.failed(deployment, exc, latency, retries, cut=cut.expired())
                await areport(board, name, verdict)
                if wait is None or not await board.aavailable(name):  # no retry once it opened
                    break
                await asyncio.sleep(wait)
                retries += 1
                continue
            await board.arecord_success(name)
            if loop.succeeded(deployment, message, time.perf_counter() - start):
                return loop.finish(name, message)
            break
        deployment = loop.next()
    if loop.overflowed and router.large_input_handler is not None:
        answer = await router._alarge_input(messages, loop.plan.request, config)
        return loop.finish(None, answer, large_input=True)
    return loop.exhausted()
