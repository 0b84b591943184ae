"""The attempt loop: retries on the same deployment, then fallback in ranked order.

:class:`AttemptLoop` holds one call's state and makes every decision (what to try next,
whether to retry and how long to wait, which typed fallback applies, what to record). Its
:meth:`~AttemptLoop.run` is a state machine written as a generator, as httpx's
``auth_flow`` is: it yields :mod:`actions <polyvox.router.actions>` (ask the breaker, call
this deployment, wait this long) and is sent how each went; it returns the answer or
raises. Thin drivers carry the actions out, natively sync or async: :mod:`invoking
<polyvox.router.invoking>` for ``invoke``/``ainvoke`` and :mod:`streaming
<polyvox.router.streaming>` for ``stream``/``astream``.

Rules, in order:

- a deployment on probation with its calls in flight at the limit is put behind the other
  candidates (recorded as ``held_back``, see :mod:`polyvox.router.admission`);
- a deployment whose breaker refuses the call is skipped (recorded as ``breaker_open``);
- a budget's refusal is raised at once, as itself (no retry, no fallback, no breaker), and
  so is a cancellation or a consumer that stops reading a stream;
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
- a stream that breaks after chunks reached the caller is restarted on the next
  deployment only with ``mid_stream_fallback`` and no tool call delivered; otherwise it
  raises :class:`~polyvox.router.errors.StreamInterruptedError`; one that breaks after its
  last chunk is complete, and ends normally;
- anything else falls back to the next ranked candidate (when ``fallbacks`` is on): a
  request one provider rejects, another may accept;
- typed fallbacks only ever use deployments that passed the request's filters, so data
  that must stay local never reaches a cloud deployment on the way.
"""

from __future__ import annotations

import enum
import logging
import random
import time
from collections import deque
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.exceptions import ModelTimeoutError
from langchain_core.messages import AIMessage

from polyvox.core.errors import ErrorKind
from polyvox.router.actions import (
    Action,
    Allow,
    Answered,
    Available,
    Call,
    Failed,
    Flow,
    LargeInput,
    Record,
    Release,
    Reply,
    Streamed,
    Wait,
)
from polyvox.router.admission import Admission, HeldBack
from polyvox.router.attempts import BLOCKED, BREAKER_OPEN, HELD_BACK, INTERRUPTED, OK, Attempt
from polyvox.router.errors import (
    CONTENT_FILTER,
    PROGRAMMING_ERROR,
    RETRYABLE_KINDS,
    UNHEALTHY_KINDS,
    AllDeploymentsFailedError,
    StreamInterruptedError,
    brief,
    error_kind,
    health,
    is_caller_refusal,
    is_content_filter_error,
    is_programming_error,
    retry_after_of,
)

if TYPE_CHECKING:
    from polyvox.router.deployment import Deployment
    from polyvox.router.request import RouteRequest
    from polyvox.router.routing import Routing

__all__ = ["AttemptLoop", "Plan"]

_log = logging.getLogger(__name__)

_BACKOFF_BASE_S = 0.05


class _Next(enum.Enum):
    """A deployment's attempts ended without an answer: go on with the next one."""

    NEXT = enum.auto()


_NEXT = _Next.NEXT


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
        "routing",
        "tried",
    )

    def __init__(self, routing: Routing, plan: Plan) -> None:
        """Start a call.

        Args:
            routing: The router's settings, statistics and facts.
            plan: The routing decision.
        """
        self.routing = routing
        self.plan = plan
        self.queue: deque[Deployment] = deque(plan.order)
        self.tried: set[str] = set()
        self.admission = Admission(routing.stats, routing.probation_max_in_flight, len(plan.order))
        self.attempts: list[Attempt] = []
        self.calls = 0
        self.last_error: BaseException | None = None
        self.blocked: tuple[str, AIMessage] | None = None
        self.overflowed = False
        self.restarts: list[dict[str, Any]] = []
        timeout = routing.timeout
        self.deadline = time.monotonic() + timeout if timeout is not None else None

    # ---- the state machine ----------------------------------------------------------------

    def run(self) -> Flow:
        """The attempt loop, one action at a time.

        Yields:
            What the driver is to do next (see :mod:`polyvox.router.actions`); each is
            sent back its reply.

        Returns:
            The answer with ``response_metadata["router"]``, or ``None`` when a stream
            already passed its answer to the caller.

        Raises:
            AllDeploymentsFailedError: No deployment answered (also an instance of the last
                failure's LangChain class).
            StreamInterruptedError: A stream broke after chunks reached the caller, and is
                not restarted.
            BaseException: A caller's refusal, a cancellation or a stopped stream, as itself.
        """
        deployment = self.next()
        while deployment is not None:
            if self.admit(deployment):
                name = deployment.name
                if (yield Allow(name)):
                    self.begin(deployment)
                    answer = yield from self._tries(deployment)
                    if answer is not _NEXT:
                        return answer
                else:
                    self.admission.unreserve(name)
                    self.skipped(deployment)
            deployment = self.next()
        if self.overflowed and self.routing.large_input_handler is not None:
            handled = yield LargeInput(self.plan.request)
            assert isinstance(handled, AIMessage)
            return self.finish(None, handled, large_input=True)
        return self.exhausted()

    def _tries(self, deployment: Deployment) -> Generator[Action, Reply, AIMessage | _Next | None]:
        """Call one deployment, retrying it while that is the decision."""
        name = deployment.name
        retries = 0
        while True:
            self.admission.start(name)
            outcome = yield Call(deployment, self.deadline, bool(self.restarts))
            if type(outcome) is Answered:
                yield Record(name, failure=False)
                if self.succeeded(deployment, outcome.message, outcome.latency, outcome.ttft):
                    return self.finish(name, outcome.message)
                return _NEXT
            if type(outcome) is Streamed:
                yield Record(name, failure=False)
                return None
            assert isinstance(outcome, Failed)
            error = outcome.error
            if not isinstance(error, Exception) or is_caller_refusal(error):
                # cancelled, the consumer stopped, or a budget refused the call
                if not outcome.complete:
                    self.routing.stats.ended(name)
                if isinstance(error, Exception):
                    yield Release(name)  # a probe it was granted goes to the next call
                raise error
            if outcome.complete:  # it failed after its last chunk: the answer is whole
                _log.warning(
                    "the stream from %s failed after its last chunk; the answer was complete: %s",
                    name,
                    error,
                )
                yield Record(name, failure=False)
                return None
            if outcome.delivered:
                verdict = health(error)
                if verdict is not None:
                    yield Record(name, failure=verdict)
                if self.interrupted(
                    deployment, error, outcome.latency, outcome.delivered, tools=outcome.tools
                ):
                    return _NEXT
                raise self._interrupted_error(
                    deployment, error, outcome.delivered, outcome.tools
                ) from error
            latency = outcome.latency
            wait, verdict = self.failed(deployment, error, latency, retries, cut=outcome.cut)
            if verdict is not None:
                yield Record(name, failure=verdict)
            if wait is None or not (yield Available(name)):  # no retry once it opened
                return _NEXT
            yield Wait(wait)
            retries += 1

    # ---- choosing ---------------------------------------------------------------------------

    def next(self) -> Deployment | None:
        """The next deployment to try, or ``None`` when the chain (or ``max_attempts``) ends."""
        limit = self.routing.max_attempts
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
                    f"its last call failed and {self.routing.probation_max_in_flight} calls to "
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
        routing = self.routing
        if cut:  # the router ran out of time: the deployment may well be healthy
            error = f"cut by the router's timeout of {routing.timeout} s"
            self._record_failure(deployment, error, ErrorKind.TIMEOUT.value, latency, None)
            self.last_error = exc
            return None, None
        if is_programming_error(exc):  # would fail again, and says nothing of its health
            self._record_failure(deployment, brief(exc), PROGRAMMING_ERROR, latency, None)
            self.last_error = exc
            if not routing.fallbacks:
                self.queue.clear()
            return None, None
        kind = error_kind(exc)
        filtered = kind not in RETRYABLE_KINDS and is_content_filter_error(exc)
        outcome = CONTENT_FILTER if filtered else kind.value
        retry_after = retry_after_of(exc)
        unhealthy = kind in UNHEALTHY_KINDS and not filtered
        self._record_failure(
            deployment, brief(exc), outcome, latency, retry_after, unhealthy=unhealthy
        )
        self.last_error = exc
        left = self.remaining()
        if kind in RETRYABLE_KINDS and retries < routing.max_retries:
            cap = routing.max_retry_wait_s
            wait = _backoff(retries, cap) if retry_after is None else retry_after
            if wait <= cap and (left is None or wait < left):
                return wait, unhealthy
        if kind is ErrorKind.CONTEXT_OVERFLOW:
            self._after_overflow(deployment)
        elif filtered:
            self._after_content_policy()
        elif not routing.fallbacks:
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
        self.routing.stats.record(
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
        routing = self.routing
        usage = message.usage_metadata
        fact = routing.facts[deployment.name]
        tokens = fact.priced_tokens(usage)  # priced by the statistics when read
        routing.stats.record(
            deployment.name,
            ok=True,
            latency_s=latency,
            ttft_s=ttft,
            cost_usd=fact.cost_usd(usage) if tokens is None else None,
            input_tokens=usage["input_tokens"] if usage else 0,
            output_tokens=usage["output_tokens"] if usage else 0,
            agent=self.plan.request.agent,
            tokens=tokens,
            rates=fact.rates,
        )
        if message.response_metadata.get("blocked") is not True:
            self.attempts.append(Attempt(deployment.name, OK, None, latency))
            return True
        self.attempts.append(
            Attempt(
                deployment.name,
                BLOCKED,
                "the provider's content filter blocked the answer",
                latency,
            )
        )
        alternatives = self._typed(routing.content_policy_fallback)
        if not alternatives:
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
                INTERRUPTED,
                f"{kind.value} after {delivered} chunks: {brief(exc)}",
                latency,
            )
        )
        self.last_error = exc
        self.routing.stats.record(
            deployment.name,
            ok=False,
            latency_s=latency,
            agent=self.plan.request.agent,
            error=INTERRUPTED,
        )
        if not self.routing.mid_stream_fallback or tools:
            return False
        following = self.next()
        if following is None:
            return False
        self.queue.appendleft(following)
        self.restarts.append(
            {"from": deployment.name, "to": following.name, "after_chunks": delivered}
        )
        return True

    def _interrupted_error(
        self, deployment: Deployment, exc: BaseException, delivered: int, tools: bool
    ) -> StreamInterruptedError:
        message = (
            f"the stream from {deployment.name} broke after {delivered} chunks had reached the "
            f"caller ({exc}); the answer is incomplete. "
        )
        if tools:
            message += "Part of a tool call was delivered, so the router does not restart it."
        else:
            message += "Set mid_stream_fallback=True to restart on the next deployment instead."
        error = StreamInterruptedError.from_failure(exc, self.attempts, message)
        assert isinstance(error, StreamInterruptedError)
        return error

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
            "strategy": self.routing.strategy.name,
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
                f"the router's timeout of {self.routing.timeout} s ran out after "
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
        by_name = self.routing.by_name
        eligible = self.plan.eligible
        return [
            by_name[name]
            for name in names
            if name in eligible and name not in self.tried and name in by_name
        ]

    def _after_overflow(self, deployment: Deployment) -> None:
        self.overflowed = True
        routing = self.routing
        typed = self._typed(routing.context_overflow_fallback)
        if typed is not None:
            self.queue = deque(typed)
            return
        if not routing.fallbacks:
            self.queue.clear()
            return
        facts = routing.facts
        window = facts[deployment.name].window
        self.queue = deque(d for d in self.queue if facts[d.name].window > window)

    def _after_content_policy(self) -> None:
        typed = self._typed(self.routing.content_policy_fallback)
        if typed is not None:
            self.queue = deque(typed)
        elif not self.routing.fallbacks:
            self.queue.clear()


def _backoff(retries: int, cap: float) -> float:
    jitter = 0.5 + random.random() / 2  # spreading retries, not cryptography
    return float(min(cap, _BACKOFF_BASE_S * 2**retries) * jitter)
