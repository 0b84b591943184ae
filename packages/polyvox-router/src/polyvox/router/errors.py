"""What the router raises, and how it reads the failures of the models it calls.

Every router error carries the attempts that led to it (:attr:`RouterError.attempts`).
:class:`AllDeploymentsFailedError` is built as a subclass of the LangChain class of the last
failure (``ModelRateLimitError``, ``ContextOverflowError``, ...), so code that catches
LangChain's ``Model*Error`` classes keeps working when a router replaces a model.

:func:`error_kind` classifies any exception a deployment raises: polyvox's mapped errors
carry their :class:`~polyvox.core.errors.ErrorKind`; other LangChain models are read by
their ``langchain_core.exceptions`` class, their ``status_code``, or Python's built-in
timeout and connection errors.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from polyvox.core.errors import ErrorKind, classify, parse_retry_after

if TYPE_CHECKING:
    from polyvox.router.attempts import Attempt
    from polyvox.router.request import RouteRequest

__all__ = [
    "CONTENT_FILTER",
    "PROGRAMMING_ERROR",
    "RETRYABLE_KINDS",
    "UNHEALTHY_KINDS",
    "AllDeploymentsFailedError",
    "NoDeploymentError",
    "RouterContextOverflowError",
    "RouterError",
    "StreamInterruptedError",
    "brief",
    "error_kind",
    "health",
    "is_caller_refusal",
    "is_content_filter_error",
    "is_programming_error",
    "retry_after_of",
]

CONTENT_FILTER = "content_filter"
"""The outcome recorded for a provider error saying its content filter refused the request."""

PROGRAMMING_ERROR = "programming_error"
"""The outcome recorded for a failure that is a bug in the calling code or the model's
integration (a ``TypeError``, ``KeyError``, ...), not a sign of the deployment's health."""

RETRYABLE_KINDS = frozenset(
    {ErrorKind.RATE_LIMIT, ErrorKind.API, ErrorKind.TIMEOUT, ErrorKind.CONNECTION}
)
"""Failures retried on the same deployment (up to ``Router.max_retries`` times)."""

UNHEALTHY_KINDS = RETRYABLE_KINDS | {
    ErrorKind.AUTHENTICATION,
    ErrorKind.PERMISSION_DENIED,
    ErrorKind.NOT_FOUND,
}
"""Failures that say something of the deployment's health (they count on its breaker); a
rejected request (invalid, too long, filtered) shows the deployment answering fine."""

_PROGRAMMING_ERRORS = (TypeError, ValueError, LookupError, AttributeError)

# Checked most specific first: a ContextOverflowError is also a ModelError.
_LANGCHAIN_KINDS: tuple[tuple[type[ModelError], ErrorKind], ...] = (
    (ContextOverflowError, ErrorKind.CONTEXT_OVERFLOW),
    (ModelRateLimitError, ErrorKind.RATE_LIMIT),
    (ModelTimeoutError, ErrorKind.TIMEOUT),
    (ModelConnectionError, ErrorKind.CONNECTION),
    (ModelAuthenticationError, ErrorKind.AUTHENTICATION),
    (ModelPermissionDeniedError, ErrorKind.PERMISSION_DENIED),
    (ModelNotFoundError, ErrorKind.NOT_FOUND),
    (ModelInvalidRequestError, ErrorKind.INVALID_REQUEST),
    (ModelAPIError, ErrorKind.API),
)

# Words providers use when their content filter refuses a request (OpenAI/Azure
# ``content_filter`` / ``content_policy_violation``, Azure's "content management policy").
_CONTENT_FILTER = re.compile(
    r"content[_ -]?filter|content[_ -]?policy|content management policy|"
    r"responsible ?ai policy|safety (?:system|filter)",
    re.IGNORECASE,
)


def brief(exc: BaseException) -> str:
    """A failure in one line, as a route's attempts record it.

    Args:
        exc: The failure.

    Returns:
        ``"<class name>: <first line of its message, at most 300 characters>"``.
    """
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first[:300]}"


def error_kind(exc: BaseException) -> ErrorKind:
    """Classify a deployment's failure.

    Args:
        exc: What the deployment raised.

    Returns:
        The kind: the error's own ``kind`` (polyvox models), else read from its LangChain
        class, its ``status_code``, or Python's timeout/connection errors; anything else is
        :attr:`ErrorKind.API` (an unexplained failure of that deployment).
    """
    kind = getattr(exc, "kind", None)
    if isinstance(kind, ErrorKind):
        return kind
    for cls, found in _LANGCHAIN_KINDS:
        if isinstance(exc, cls):
            return found
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return classify(status, str(exc), _code(exc))
    if isinstance(exc, TimeoutError):
        return ErrorKind.TIMEOUT
    if isinstance(exc, ConnectionError):
        return ErrorKind.CONNECTION
    return ErrorKind.API


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
    return error_kind(exc) in UNHEALTHY_KINDS and not is_content_filter_error(exc)


def is_caller_refusal(exc: BaseException) -> bool:
    """Tell whether a failure is the caller's own guard refusing the call before it was sent.

    A budget that the call would pass (:class:`~polyvox.costs.ledger.BudgetExceededError`), a
    budget check that cannot reach its ledger and fails closed
    (:class:`~polyvox.costs.ledger.LedgerUnavailableError`), or a call priced in another
    currency than its budget (``BudgetCurrencyError``) says nothing of any deployment:
    the router raises it at once, as itself, with no retry, no fallback and nothing counted
    on a breaker.

    Args:
        exc: What the deployment's call raised.

    Returns:
        True for those two errors.
    """
    from polyvox.costs.ledger.errors import (
        BudgetCurrencyError,
        BudgetExceededError,
        LedgerUnavailableError,
    )

    return isinstance(exc, BudgetExceededError | LedgerUnavailableError | BudgetCurrencyError)


def is_programming_error(exc: BaseException) -> bool:
    """Tell whether a failure is a programming error rather than a provider's answer.

    Such a failure (a ``TypeError`` for an unexpected keyword argument, a ``KeyError`` in an
    integration) would happen again on a retry and says nothing about the provider's
    health: the router neither retries it nor counts it on the breaker, and falls back.

    Args:
        exc: What the deployment raised.

    Returns:
        True for a ``TypeError``, ``ValueError``, ``LookupError`` or ``AttributeError``
        that is not a LangChain ``ModelError``, carries no ``kind`` or ``status_code``, and
        is not a timeout or connection error.
    """
    return (
        isinstance(exc, _PROGRAMMING_ERRORS)
        and not isinstance(exc, ModelError | TimeoutError | ConnectionError)
        and not isinstance(getattr(exc, "kind", None), ErrorKind)
        and not isinstance(getattr(exc, "status_code", None), int)
    )


def is_content_filter_error(exc: BaseException) -> bool:
    """Tell whether a failure is a provider's content filter refusing the request.

    Args:
        exc: What the deployment raised.

    Returns:
        True when its code or message names a content filter or content policy.
    """
    text = f"{_code(exc) or ''} {exc}"
    return bool(_CONTENT_FILTER.search(text))


def retry_after_of(exc: BaseException) -> float | None:
    """Seconds the provider asked to wait before retrying, when it said.

    Args:
        exc: What the deployment raised.

    Returns:
        The error's ``retry_after`` (polyvox errors), else read from its response headers.
    """
    value = getattr(exc, "retry_after", None)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return max(float(value), 0.0)
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if isinstance(headers, Mapping):
        return parse_retry_after(headers)
    return None


def _code(exc: BaseException) -> str | None:
    code = getattr(exc, "code", None)
    if code is not None:
        return str(code)
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and inner.get("code") is not None:
            return str(inner["code"])
    return None


class RouterError(Exception):
    """Base of the router's own errors; carries the attempts made before it was raised."""

    attempts: tuple[Attempt, ...] = ()
    """Every attempt of the call, in order (empty when no deployment was called)."""

    def _set_attempts(self, attempts: Sequence[Attempt]) -> None:
        self.attempts = tuple(attempts)


class NoDeploymentError(RouterError, ValueError):
    """No deployment may take the request: every one was filtered out, each for a reason.

    Raised before any model is called (a sensitivity level with no local deployment, a
    capability nobody has, a cost limit nobody meets, every breaker open, ...).
    """

    def __init__(
        self,
        reasons: Mapping[str, str],
        request: RouteRequest | None = None,
        *,
        message: str | None = None,
    ) -> None:
        """Create the error.

        Args:
            reasons: Deployment name → why it was dropped.
            request: The request's constraints.
            message: A lead sentence (a default one is used when omitted).
        """
        self.reasons = dict(reasons)
        """Deployment name → why it was dropped."""
        self.request = request
        """The request's constraints."""
        lead = message or "no deployment can take this request"
        lines = [f"  - {name}: {why}" for name, why in self.reasons.items()]
        super().__init__("\n".join([f"{lead}:", *lines]) if lines else lead)


class RouterContextOverflowError(RouterError, ContextOverflowError):
    """The prompt does not fit the window of any deployment the request may use.

    Raised before any call when no ``large_input_handler`` is set; its message names the
    largest window available and the tokens the request needs.
    """

    def __init__(self, needed: int, largest: int, largest_name: str | None) -> None:
        """Create the error.

        Args:
            needed: The context the request needs (estimated prompt plus output tokens).
            largest: The largest window among the deployments the request may use.
            largest_name: The deployment that has it.
        """
        self.needed = needed
        """Tokens the request needs (a high estimate)."""
        self.largest_window = largest
        """The largest window available."""
        where = f" ({largest_name})" if largest_name else ""
        super().__init__(
            f"the request needs about {needed} tokens of context but the largest window "
            f"available is {largest}{where}; shorten the input, add a deployment with a larger "
            "window, or set large_input_handler (e.g. the RLM) on the router"
        )


class AllDeploymentsFailedError(RouterError, ModelError):
    """Every deployment the router tried failed.

    Raised as an instance of a subclass that also inherits the LangChain class of the last
    failure (built by :meth:`from_failure`), so ``except ModelRateLimitError`` catches a
    router whose every deployment was rate limited.
    """

    last_error: BaseException | None = None
    """The last deployment's failure (also the ``__cause__``)."""

    _classes: ClassVar[dict[tuple[type[Any], type[ModelError]], type[Any]]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def from_failure(
        cls,
        last: BaseException | None,
        attempts: Sequence[Attempt],
        message: str | None = None,
        *,
        base: type[ModelError] | None = None,
    ) -> AllDeploymentsFailedError:
        """Build the error for a call whose last failure was ``last``.

        Args:
            last: The last failure (``None`` when no call was made).
            attempts: Every attempt.
            message: The message; one listing the attempts is written when omitted.
            base: The LangChain class to inherit instead of ``last``'s.

        Returns:
            An instance of ``cls`` that is also an instance of ``last``'s LangChain class
            (or of ``base``).
        """
        base = base or _langchain_class(last)
        error: AllDeploymentsFailedError = _subclass(cls, base)(
            message or _describe(attempts, last)
        )
        error._set_attempts(attempts)
        error.last_error = last
        return error


class StreamInterruptedError(AllDeploymentsFailedError):
    """A stream broke after its first chunk reached the caller, and mid-stream fallback is off.

    The chunks already delivered are an incomplete answer; the router never passes one off
    as complete. Set ``mid_stream_fallback=True`` to restart on the next deployment instead.
    """


def _langchain_class(exc: BaseException | None) -> type[ModelError]:
    if exc is None:
        return ModelAPIError
    for cls, _ in _LANGCHAIN_KINDS:
        if isinstance(exc, cls):
            return cls
    return error_kind(exc).langchain_class


def _subclass(cls: type[AllDeploymentsFailedError], base: type[ModelError]) -> type[Any]:
    key = (cls, base)
    found = AllDeploymentsFailedError._classes.get(key)
    if found is None:
        with AllDeploymentsFailedError._lock:
            found = AllDeploymentsFailedError._classes.get(key)
            if found is None:
                found = type(cls.__name__, (cls, base), {"__module__": cls.__module__})
                AllDeploymentsFailedError._classes[key] = found
    return found


def _describe(attempts: Sequence[Attempt], last: BaseException | None) -> str:
    if not attempts:
        return f"the router made no call: {last}" if last else "the router made no call"
    lines = [
        f"  - {a.deployment}: {a.outcome}" + (f" ({a.error})" if a.error else "") for a in attempts
    ]
    return "\n".join([f"all {len(attempts)} attempts failed:", *lines])
