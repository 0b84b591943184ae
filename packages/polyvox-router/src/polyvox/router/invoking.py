"""Invoking through the router: the attempt loop's drivers for ``invoke`` and ``ainvoke``.

Each driver asks the :class:`~polyvox.router.attempts.AttemptLoop` what to try, consults
the deployment's breaker, calls the deployment's model (natively sync or async, as a child
run of the router's), waits before a retry, and reports every outcome back to the loop and
the breaker.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langchain_core.messages import AIMessage, BaseMessage
    from langchain_core.runnables import RunnableConfig

    from polyvox.router.attempts import AttemptLoop
    from polyvox.router.constraints import CallSpec
    from polyvox.router.router import Router

__all__ = ["ainvoke", "invoke"]


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
    board = router.breakers
    deployment = loop.next()
    while deployment is not None:
        name = deployment.name
        if not board.allow(name):
            loop.skipped(deployment)
            deployment = loop.next()
            continue
        loop.begin(deployment)
        retries = 0
        while True:
            start = time.perf_counter()
            try:
                target = router._target(deployment, spec)
                message = target.invoke(messages, config, stop=spec.stop, **spec.kwargs)
            except Exception as exc:
                wait, unhealthy = loop.failed(deployment, exc, time.perf_counter() - start, retries)
                if unhealthy:
                    board.record_failure(name)
                else:
                    board.record_success(name)
                if wait is None:
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
    board = router.breakers
    deployment = loop.next()
    while deployment is not None:
        name = deployment.name
        if not await board.aallow(name):
            loop.skipped(deployment)
            deployment = loop.next()
            continue
        loop.begin(deployment)
        retries = 0
        while True:
            start = time.perf_counter()
            try:
                target = router._target(deployment, spec)
                async with asyncio.timeout(loop.remaining()):  # the router's own timeout
                    message = await target.ainvoke(messages, config, stop=spec.stop, **spec.kwargs)
            except Exception as exc:
                wait, unhealthy = loop.failed(deployment, exc, time.perf_counter() - start, retries)
                if unhealthy:
                    await board.arecord_failure(name)
                else:
                    await board.arecord_success(name)
                if wait is None:
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
