"""Active health checks: probe each deployment now and then, and tell its circuit breaker.

Passive checks (the router recording every real call on its :class:`BreakerBoard`) find a
broken deployment only by sending it traffic. A :class:`HealthChecker` probes every
deployment on a timer instead: a failed probe counts as a failure on the breaker, and a
probe of an open breaker past its reset timeout is the half-open probe, so a deployment
that has healed is closed again before any user request has to try it.

A deployment whose breaker refuses calls (open and not yet due, or half-open with its
probes out) is skipped, so checks never hammer a deployment that is known to be down.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from polyvox.router.breaker import BreakerBoard, BreakerState

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable, RunnableConfig

    from polyvox.router.deployment import Deployment

__all__ = ["HealthChecker", "HealthResult", "Probe"]

logger = logging.getLogger("polyvox.router")

Probe = Callable[["Deployment"], Awaitable[object]] | Callable[["Deployment"], object]
"""A health probe: given a deployment, it raises (or returns ``False``) when it is unhealthy.

An ``async def`` probe is awaited; a plain function is called directly by
:meth:`HealthChecker.check_once` and in a worker thread by
:meth:`HealthChecker.acheck_once`.
"""

PROBE_RUN_NAME = "polyvox_health_check"
"""The run name of the default probe's model call (visible to callbacks and tracing)."""


@dataclass(frozen=True, slots=True)
class HealthResult:
    """What one check of one deployment found."""

    deployment: str
    """The deployment's name."""

    ok: bool
    """Whether the probe succeeded (``False`` also when it was skipped)."""

    state: BreakerState
    """The deployment's breaker state after the result was recorded."""

    skipped: bool = False
    """The breaker refused the probe (open and not yet due, or half-open and busy)."""

    latency_s: float | None = None
    """How long the probe took; ``None`` when skipped."""

    error: str | None = None
    """Why the probe failed: the exception's type and message."""


class HealthChecker:
    """Probes deployments and records the outcomes on a :class:`BreakerBoard`.

    The default probe asks each model for one token (``max_tokens=1`` where the model has
    that parameter, otherwise a plain call) with a short prompt; a probe costs that call.
    Run it once with :meth:`check_once` / :meth:`acheck_once`, or every ``interval_s``
    seconds in the background with :meth:`start` and :meth:`stop` (or ``async with``).

    Example:
        ```python
        checker = HealthChecker(router.deployments, router.breakers, interval_s=60)
        async with checker:  # probes every minute until the block ends
            ...
        ```
    """

    def __init__(
        self,
        deployments: Iterable[Deployment],
        board: BreakerBoard,
        *,
        interval_s: float = 30.0,
        probe: Probe | None = None,
        timeout_s: float | None = 10.0,
        prompt: str = "ping",
        on_round: Callable[[dict[str, HealthResult]], object] | None = None,
    ) -> None:
        """Configure the checks (nothing runs yet).

        Args:
            deployments: What to probe.
            board: Where outcomes are recorded.
            interval_s: Seconds between rounds of the background task.
            probe: A custom probe (see :data:`Probe`); the default asks for one token.
            timeout_s: The longest an async probe may take before it counts as failed
                (``None``: no limit). Sync probes rely on the model's own ``timeout``.
            prompt: What the default probe sends.
            on_round: Called with each round's results once they are recorded (for
                metrics or alerts; it runs on the checker's thread or event loop).

        Raises:
            ValueError: ``interval_s`` or ``timeout_s`` not positive, or two deployments
                with the same name.
        """
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0 or None, got {timeout_s}")
        self.deployments: list[Deployment] = list(deployments)
        """What is probed."""
        names = [d.name for d in self.deployments]
        if len(set(names)) != len(names):
            raise ValueError(f"deployment names must be unique, got {names}")
        self.board = board
        """Where outcomes are recorded."""
        self.interval_s = interval_s
        """Seconds between background rounds."""
        self.probe = probe
        """The custom probe, or ``None`` for the one-token call."""
        self.timeout_s = timeout_s
        """Limit on one async probe, in seconds."""
        self.prompt = prompt
        """What the default probe sends."""
        self.on_round = on_round
        """Called with each round's results."""
        self.results: dict[str, HealthResult] = {}
        """The latest result per deployment."""
        self.rounds = 0
        """Completed rounds of checks (by any method)."""
        self._probe_is_async = probe is not None and _is_async(probe)
        self._bound: dict[str, Runnable[Any, Any]] = {}
        self._task: asyncio.Task[None] | None = None

    # ---- one round ------------------------------------------------------------------------

    def check_once(self) -> dict[str, HealthResult]:
        """Probe every deployment once, one after the other, and record the outcomes.

        Returns:
            Deployment name → result.

        Raises:
            TypeError: The custom probe is async (use :meth:`acheck_once`).
        """
        if self._probe_is_async:
            raise TypeError("an async probe runs only through acheck_once() or start()")
        results = {d.name: self._check(d) for d in self.deployments}
        return self._finish(results)

    async def acheck_once(self) -> dict[str, HealthResult]:
        """Probe every deployment once, concurrently, and record the outcomes.

        Returns:
            Deployment name → result.
        """
        found = await asyncio.gather(*(self._acheck(d) for d in self.deployments))
        return self._finish({result.deployment: result for result in found})

    # ---- background task --------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the background task is running."""
        return self._task is not None and not self._task.done()

    def start(self) -> asyncio.Task[None]:
        """Start checking every ``interval_s`` seconds on the running event loop.

        The first round starts at once. Calling it while running returns the same task.

        Returns:
            The background task.

        Raises:
            RuntimeError: No event loop is running.
        """
        if self._task is None or self._task.done():
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._loop(), name="polyvox-health-checker")
        return self._task

    async def stop(self) -> None:
        """Stop the background task (a probe in progress is cancelled)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def __aenter__(self) -> Self:
        """Start the background task."""
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the background task."""
        await self.stop()

    async def _loop(self) -> None:
        while True:
            try:
                await self.acheck_once()
            except Exception:  # a round must not end the checker: log and go on
                logger.exception("health check round failed")
            await asyncio.sleep(self.interval_s)

    # ---- one deployment -------------------------------------------------------------------

    def _check(self, deployment: Deployment) -> HealthResult:
        name, board = deployment.name, self.board
        if not board.allow(name):
            return HealthResult(name, False, board.state(name), skipped=True)
        started = time.perf_counter()
        error = None
        try:
            if self.probe is not None:
                answer = self.probe(deployment)
            else:
                answer = self._model(deployment).invoke(self.prompt, _probe_config())
        except Exception as exc:  # any failure of the probe is the deployment's failure
            error = _describe(exc)
        else:
            error = None if answer is not False else "the probe returned False"
        latency = time.perf_counter() - started
        if error is None:
            board.record_success(name)
        else:
            board.record_failure(name)
        return HealthResult(name, error is None, board.state(name), False, latency, error)

    async def _acheck(self, deployment: Deployment) -> HealthResult:
        name, board = deployment.name, self.board
        if not await board.aallow(name):
            return HealthResult(name, False, await board.astate(name), skipped=True)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_s):
                answer = await self._aprobe(deployment)
        except TimeoutError:
            error: str | None = f"the probe timed out after {self.timeout_s} s"
        except Exception as exc:  # any failure of the probe is the deployment's failure
            error = _describe(exc)
        else:
            error = None if answer is not False else "the probe returned False"
        latency = time.perf_counter() - started
        if error is None:
            await board.arecord_success(name)
        else:
            await board.arecord_failure(name)
        state = await board.astate(name)
        return HealthResult(name, error is None, state, False, latency, error)

    async def _aprobe(self, deployment: Deployment) -> object:
        probe = self.probe
        if probe is None:
            return await self._model(deployment).ainvoke(self.prompt, _probe_config())
        if self._probe_is_async:
            return await probe(deployment)  # type: ignore[misc]
        # A plain-function probe may block (it is user code): keep it off the event loop.
        return await asyncio.to_thread(probe, deployment)

    def _model(self, deployment: Deployment) -> Runnable[Any, Any]:
        """The deployment's model, bound to answer with one token where it can."""
        bound = self._bound.get(deployment.name)
        if bound is None:
            model = deployment.model
            fields = getattr(type(model), "model_fields", {})
            bound = model.bind(max_tokens=1) if "max_tokens" in fields else model
            self._bound[deployment.name] = bound
        return bound

    def _finish(self, results: dict[str, HealthResult]) -> dict[str, HealthResult]:
        self.results.update(results)
        self.rounds += 1
        if self.on_round is not None:
            self.on_round(results)
        return results


def _is_async(probe: Probe) -> bool:
    # A function, or a callable object whose ``__call__`` is a coroutine function.
    return inspect.iscoroutinefunction(probe) or inspect.iscoroutinefunction(type(probe).__call__)


def _probe_config() -> RunnableConfig:
    return {"run_name": PROBE_RUN_NAME, "tags": ["polyvox:health_check"]}


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
