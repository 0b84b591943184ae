"""The attempt loop: retries on the same deployment, then fallback in ranked order.

:class:`AttemptLoop` holds one call's state and makes every decision (what to try next,
whether to retry and how long to wait, which typed fallback applies, what to record); the
drivers here (:func:`invoke`, :func:`ainvoke`) and in :mod:`polyvox.router.streaming` only
call the deployments, natively sync or async, and wait.

Rules, in order:

- a deployment on probation with its calls in flight at the limit is put behind the other
  candidates (recorded as ``held_back``, see :mod:`polyvox.router.admission`);
- a deployment whose breaker refuses the call is skipped (recorded as ``breaker_open``);
- a budget's refusal is raised at once, as itself (no retry, no fallback, no breaker);
- a retryable failure (rate limit, server error, timeout, connection) is retried on the
  same deployment up to ``max_retries`` times, unless its breaker opened meanwhile,
  waiting what the provider asked (``Retry-After``) or a short backoff; when it asks for
  longer than ``max_retry_wait_s``, the router does not wait and falls back at once;
- a context overflow falls back to ``context_overflow_fallback`` or, by default, to the
  remaining candidates with a larger window; a content-filter error or a blocked answer
  (``response_metadata["blocked"]``) to ``content_policy_fallback``;
- a programming error (a ``TypeError``, ``ValueError``, ``LookupError`` or
  ``AttributeError`` that is no provider's answer, see
  :func:`~polyvox.router.errors.is_programming_error`) is neither retried nor counted on
  the breaker: it would happen again, and says nothing of the deployment's health;
- anything else falls back to the next ranked candidate (when ``fallbacks`` is on): a
  request one provider rejects, another may accept;
- typed fallbacks only ever use deployments that passed the request's filters, so data
  that must stay local never reaches a cloud deployment on the way.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from langchain_core.exceptions import ModelTimeoutError
from langchain_core.messages import AIMessage

from polyvox.core.errors import ErrorKind
from polyvox.router.admission import Admission, HeldBack
from polyvox.router.errors import (
    CONTENT_FILTER,
    PROGRAMMING_ERROR,
    AllDeploymentsFailedError,
    error_kind,
    is_content_filter_error,
    is_programming_error,
    retry_after_of,
)

if TYPE_CHECKING:
    from polyvox.router.breaker import BreakerBoard
    from polyvox.router.constraints import Facts
    from polyvox.router.deployment import Deployment
    from polyvox.router.request import RouteRequest
    from polyvox.router.router import Router

__all__ = ["Attempt", "AttemptLoop", "Plan", "areport", "health", "report"]

BLOCKED = "blocked"
"""The outcome of an answer the provider's content filter blocked."""

BREAKER_OPEN = "breaker_open"
"""The outcome of a deployment skipped because its circuit breaker refused the call."""

HELD_BACK = "held_back"
"""The outcome of a deployment put behind the other candidates because its last call failed
and :attr:`~polyvox.router.Router.probation_max_in_flight` calls are already in flight to it
(see :mod:`polyvox.router.admission`)."""

_RETRYABLE = frozenset(
    {ErrorKind.RATE_LIMIT, ErrorKind.API, ErrorKind.TIMEOUT, ErrorKind.CONNECTION}
)
# Failures that say something about the deployment's health (they count on its breaker);
# a rejected request (invalid, too long, filtered) shows the deployment answering fine.
_UNHEALTHY = _RETRYABLE | {
    ErrorKind.AUTHENTICATION,
    ErrorKind.PERMISSION_DENIED,
    ErrorKind.NOT_FOUND,
}
_BACKOFF_BASE_S = 0.05


@dataclass(frozen=True, slots=True)
class Attempt:
    """One call to one deployment (or one skipped because its breaker was open)."""

    deployment: str
    """The deployment's name."""

    outcome: str
    """``ok``, ``blocked``, ``breaker_open``, ``content_filter``, ``interrupted``,
    ``programming_error`` or an
    :class:`~polyvox.core.errors.ErrorKind` value (``rate_limit``, ``api``, ...)."""

    error: str | None = None
    """The failure, briefly (type and message)."""

    latency_s: float = 0.0
    """Seconds the call took."""

    retry_after: float | None = None
    """Seconds the provider asked to wait, when it said."""

    def as_dict(self) -> dict[str, Any]:
        """The attempt as it appears in ``response_metadata["router"]["attempts"]``."""
        return {
            "deployment": self.deployment,
            "outcome": self.outcome,
            "error": self.error,
            "latency_s": self.latency_s,
            "retry_after": self.retry_after,
        }


@dataclass(slots=True)
class Plan:
    """The routing decision for one call: the order to try, and what the filters kept."""

    request: RouteRequest
    """The request's constraints."""

    order: list[Deployment]
    """Deployments to try, best first."""

    eligible: frozenset[str]
    """Names of every deployment that passed the filters (typed fallbacks pick from these)."""


class AttemptLoop:
    """The state and decisions of one call's attempts (shared by every driver)."""

    __slots__ = (
        "admission",
        "attempts",
        "blocked",
        "calls",
        "deadline",
        "last_error",
        "overflowed",
        "plan",
        "queue",
        "restarts",
        "router",
        "tried",
    )

    def __init__(self, router: Router, plan: Plan) -> None:
        """Start a call.

        Args:
            router: The router (its settings, statistics and facts).
            plan: The routing decision.
        """
        self.router = router
        self.plan = plan
        self.queue: deque[Deployment] = deque(plan.order)
        self.tried: set[str] = set()
        self.admission = Admission(router.stats, router.probation_max_in_flight, len(plan.order))
        self.attempts: list[Attempt] = []
        self.calls = 0
        self.last_error: BaseException | None = None
        self.blocked: tuple[str, AIMessage] | None = None
        self.overflowed = False
        self.restarts: list[dict[str, Any]] = []
        timeout = router.timeout
        self.deadline = time.monotonic() + timeout if timeout is not None else None

    # ---- choosing ---------------------------------------------------------------------------

    def next(self) -> Deployment | None:
        """The next deployment to try, or ``None`` when the chain (or ``max_attempts``) ends."""
        limit = self.router.max_attempts
        while self.queue:
            if limit is not None and self.calls >= limit:
                return None
            if self.deadline is not None and time.monotonic() >= self.deadline:
                return None
            deployment = self.queue.popleft()
            if deployment.name not in self.tried:
                return deployment
        return None

    def remaining(self) -> float | None:
        """Seconds left before the router's ``timeout`` (``None``: no timeout)."""
        if self.deadline is None:
            return None
        return max(self.deadline - time.monotonic(), 0.0)

    def begin(self, deployment: Deployment) -> None:
        """Note that ``deployment`` is about to be called."""
        self.tried.add(deployment.name)
        self.calls += 1

    def skipped(self, deployment: Deployment) -> None:
        """Note that ``deployment``'s breaker refused the call."""
        self.tried.add(deployment.name)
        self.attempts.append(Attempt(deployment.name, BREAKER_OPEN, "circuit breaker open"))

    def admit(self, deployment: Deployment) -> bool:
        """Whether ``deployment`` may be called now (:class:`~polyvox.router.admission.Admission`).

        One held back is put behind the other candidates, not dropped, and noted once as a
        ``held_back`` attempt.
        """
        verdict = self.admission.admit(deployment, self.queue)
        if verdict is HeldBack.FIRST_TIME:
            self.attempts.append(
                Attempt(
                    deployment.name,
                    HELD_BACK,
                    f"its last call failed and {self.router.probation_max_in_flight} calls to "
                    "it are in flight (probation_max_in_flight)",
                )
            )
        return verdict is None

    # ---- outcomes ---------------------------------------------------------------------------

    def failed(
        self,
        deployment: Deployment,
        exc: BaseException,
        latency: float,
        retries: int,
        *,
        cut: bool = False,
    ) -> tuple[float | None, bool | None]:
        """Record a failed call and decide what comes next.

        Args:
            deployment: The deployment that failed.
            exc: Its failure.
            latency: Seconds the call took.
            retries: Retries already made on this deployment in this call.
            cut: The router's own ``timeout`` cut the call (not the deployment's).

        Returns:
            ``(wait, health)``: seconds to wait before retrying the same deployment
            (``None``: move on), and what the failure says of the deployment's health,
            for its breaker (see :func:`health`).
        """
        router = self.router
        if cut:  # the router ran out of time: the deployment may well be healthy
            error = f"cut by the router's timeout of {router.timeout} s"
            self._record_failure(deployment, error, ErrorKind.TIMEOUT.value, latency, None)
            self.last_error = exc
            return None, None
        if is_programming_error(exc):  # would fail again, and says nothing of its health
            self._record_failure(deployment, _brief(exc), PROGRAMMING_ERROR, latency, None)
            self.last_error = exc
            if not router.fallbacks:
                self.queue.clear()
            return None, None
        kind = error_kind(exc)
        filtered = kind not in _RETRYABLE and is_content_filter_error(exc)
        outcome = CONTENT_FILTER if filtered else kind.value
        retry_after = retry_after_of(exc)
        unhealthy = kind in _UNHEALTHY and not filtered
        self._record_failure(
            deployment, _brief(exc), outcome, latency, retry_after, unhealthy=unhealthy
        )
        self.last_error = exc
        left = self.remaining()
        if kind in _RETRYABLE and retries < router.max_retries:
            wait = (
                _backoff(retries, router.max_retry_wait_s) if retry_after is None else retry_after
            )
            if wait <= router.max_retry_wait_s and (left is None or wait < left):
                return wait, unhealthy
        if kind is ErrorKind.CONTEXT_OVERFLOW:
            self._after_overflow(deployment)
        elif filtered:
            self._after_content_policy()
        elif not router.fallbacks:
            self.queue.clear()
        return None, unhealthy

    def _record_failure(
        self,
        deployment: Deployment,
        error: str,
        outcome: str,
        latency: float,
        retry_after: float | None,
        *,
        unhealthy: bool = False,
    ) -> None:
        self.attempts.append(Attempt(deployment.name, outcome, error, latency, retry_after))
        self.router.stats.record(
            deployment.name,
            ok=False,
            latency_s=latency,
            agent=self.plan.request.agent,
            error=outcome,
            unhealthy=unhealthy,
        )

    def succeeded(
        self,
        deployment: Deployment,
        message: AIMessage,
        latency: float,
        ttft: float | None = None,
    ) -> bool:
        """Record an answer and tell whether to keep it.

        A blocked answer is set aside (and the content-policy fallback tried) when that
        fallback has a deployment left; otherwise it is kept, marked ``blocked``.

        Args:
            deployment: The deployment that answered.
            message: Its answer.
            latency: Seconds the call took.
            ttft: Seconds to the first chunk, for streams.

        Returns:
            True to return the answer; False to go on with the next deployment.
        """
        router = self.router
        usage = message.usage_metadata
        input_tokens = usage["input_tokens"] if usage else 0
        output_tokens = usage["output_tokens"] if usage else 0
        router.stats.record(
            deployment.name,
            ok=True,
            latency_s=latency,
            ttft_s=ttft,
            cost_usd=_cost(router._facts[deployment.name], usage),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            agent=self.plan.request.agent,
        )
        blocked = message.response_metadata.get("blocked") is True
        if not blocked:
            self.attempts.append(Attempt(deployment.name, "ok", None, latency))
            return True
        self.attempts.append(
            Attempt(
                deployment.name,
                BLOCKED,
                "the provider's content filter blocked the answer",
                latency,
            )
        )
        alternatives = self._typed(router.content_policy_fallback)
        if alternatives is None or not alternatives:
            return True
        self.blocked = (deployment.name, message)
        self.queue = deque(alternatives)
        return False

    def interrupted(
        self,
        deployment: Deployment,
        exc: BaseException,
        latency: float,
        delivered: int,
        *,
        tools: bool = False,
    ) -> bool:
        """Record a stream that broke after chunks reached the caller.

        Args:
            deployment: The deployment whose stream broke.
            exc: The failure.
            latency: Seconds since the call started.
            delivered: Chunks already passed to the caller.
            tools: Whether a delivered chunk carried part of a tool call (a restart would
                leave the caller merging two deployments' tool calls: never done).

        Returns:
            True to restart on the next deployment (``mid_stream_fallback`` is on, no tool
            call was delivered, and a deployment is left); False to raise.
        """
        kind = error_kind(exc)
        self.attempts.append(
            Attempt(
                deployment.name,
                "interrupted",
                f"{kind.value} after {delivered} chunks: {_brief(exc)}",
                latency,
            )
        )
        self.last_error = exc
        self.router.stats.record(
            deployment.name,
            ok=False,
            latency_s=latency,
            agent=self.plan.request.agent,
            error="interrupted",
        )
        if not self.router.mid_stream_fallback or tools:
            return False
        following = self.next()
        if following is None:
            return False
        self.queue.appendleft(following)
        self.restarts.append(
            {"from": deployment.name, "to": following.name, "after_chunks": delivered}
        )
        return True

    # ---- results ----------------------------------------------------------------------------

    def metadata(self, deployment: str | None, **extra: Any) -> dict[str, Any]:
        """What goes in ``response_metadata["router"]``.

        Args:
            deployment: The deployment whose answer is returned (``None`` for a large-input
                handler's answer).
            **extra: Further entries.

        Returns:
            The metadata.
        """
        meta: dict[str, Any] = {
            "deployment": deployment,
            "strategy": self.router.strategy.name,
            "attempts": [a.as_dict() for a in self.attempts],
        }
        if self.restarts:
            meta["restarts"] = list(self.restarts)
        meta.update(extra)
        return meta

    def finish(self, deployment: str | None, message: AIMessage, **extra: Any) -> AIMessage:
        """Attach the router's metadata to the answer it returns.

        Args:
            deployment: The deployment that answered.
            message: The answer.
            **extra: Further metadata entries.

        Returns:
            The same message.
        """
        message.response_metadata["router"] = self.metadata(deployment, **extra)
        return message

    def exhausted(self) -> AIMessage:
        """The chain ended without an accepted answer: return a blocked one, or raise.

        Returns:
            The last blocked answer, when every alternative failed too.

        Raises:
            AllDeploymentsFailedError: Carrying every attempt; also an instance of the
                last failure's LangChain class.
        """
        if self.blocked is not None:
            name, message = self.blocked
            return self.finish(name, message)
        if self.deadline is not None and time.monotonic() >= self.deadline:
            text = (
                f"the router's timeout of {self.router.timeout} s ran out after "
                f"{len(self.attempts)} attempts"
                + "".join(f"\n  - {a.deployment}: {a.outcome}" for a in self.attempts)
            )
            raise AllDeploymentsFailedError.from_failure(
                self.last_error, self.attempts, text, base=ModelTimeoutError
            ) from self.last_error
        raise AllDeploymentsFailedError.from_failure(self.last_error, self.attempts) from (
            self.last_error
        )

    # ---- typed fallbacks ----------------------------------------------------------------------

    def _typed(self, names: Sequence[str] | None) -> list[Deployment] | None:
        if names is None:
            return None
        by_name = self.router._by_name
        eligible = self.plan.eligible
        return [
            by_name[name]
            for name in names
            if name in eligible and name not in self.tried and name in by_name
        ]

    def _after_overflow(self, deployment: Deployment) -> None:
        self.overflowed = True
        typed = self._typed(self.router.context_overflow_fallback)
        if typed is not None:
            self.queue = deque(typed)
            return
        if not self.router.fallbacks:
            self.queue.clear()
            return
        facts = self.router._facts
        window = facts[deployment.name].window
        self.queue = deque(d for d in self.queue if facts[d.name].window > window)

    def _after_content_policy(self) -> None:
        typed = self._typed(self.router.content_policy_fallback)
        if typed is not None:
            self.queue = deque(typed)
        elif not self.router.fallbacks:
            self.queue.clear()


def health(exc: BaseException) -> bool | None:
    """What a failure says of the deployment's health, for its circuit breaker.

    Args:
        exc: The failure.

    Returns:
        True (a failure on the breaker) for rate limits, server errors, timeouts, connection
        and key problems; False (the deployment answered: a success on the breaker) for
        requests it rejected (invalid, too long, filtered); ``None`` (nothing to record)
        for programming errors.
    """
    if is_programming_error(exc):
        return None
    return error_kind(exc) in _UNHEALTHY and not is_content_filter_error(exc)


def report(board: BreakerBoard, name: str, verdict: bool | None) -> None:
    """Record an attempt's outcome on its breaker (``verdict`` as :func:`health` gives it).

    Args:
        board: The router's breakers.
        name: The deployment.
        verdict: True: a failure; False: a success; ``None``: nothing to record.
    """
    if verdict:
        board.record_failure(name)
    elif verdict is not None:
        board.record_success(name)


async def areport(board: BreakerBoard, name: str, verdict: bool | None) -> None:
    """Async :func:`report` (native for breakers kept in Redis).

    Args:
        board: The router's breakers.
        name: The deployment.
        verdict: True: a failure; False: a success; ``None``: nothing to record.
    """
    if verdict:
        await board.arecord_failure(name)
    elif verdict is not None:
        await board.arecord_success(name)


def _backoff(retries: int, cap: float) -> float:
    jitter = 0.5 + random.random() / 2  # spreading retries, not cryptography
    return float(min(cap, _BACKOFF_BASE_S * 2**retries) * jitter)


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first[:300]}"


def _cost(facts: Facts, usage: Any) -> Decimal | None:
    if not usage or facts.price is None or facts.usd_rate is None:
        return None
    from polyvox.costs.computation import compute_cost, priced_total, usage_tokens

    try:
        if facts.usd_rates is not None:  # per-token rates resolved once: a few multiplications
            return priced_total(usage_tokens(usage), facts.usd_rates)
        total = compute_cost(usage, facts.price).total
    except Exception:  # odd usage from a provider: statistics lose a cost, the answer stands
        return None
    return None if total is None else total * facts.usd_rate
