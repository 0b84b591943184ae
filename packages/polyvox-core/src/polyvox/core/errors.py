"""Provider failures mapped onto LangChain's ``Model*Error`` hierarchy.

Every provider package has, for each kind of failure, one class that inherits from *both*
its SDK's most specific exception for that kind and the matching
:mod:`langchain_core.exceptions` class, as if written::

    class OpenAIRateLimitError(openai.RateLimitError, ProviderErrorMixin, ModelRateLimitError): ...

so ``except openai.RateLimitError`` and ``except ModelRateLimitError`` both keep working.
The classes are not written out: :class:`ErrorFamily` builds a provider's whole set from one
mapping of kinds to SDK classes. This module also holds the classification of an HTTP status
and message into a kind, ``Retry-After`` parsing, and :func:`rebrand`, which turns a caught
SDK exception into the provider's mapped class without losing any of its state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar, cast

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

from polyvox.core.error_redaction import without_secrets
from polyvox.core.retry_after import parse_retry_after

__all__ = [
    "ErrorFamily",
    "ErrorKind",
    "MissingAPIKeyError",
    "ProviderErrorMixin",
    "ProviderResponseError",
    "classify",
    "is_context_overflow",
    "parse_retry_after",
    "rebrand",
]


class ErrorKind(StrEnum):
    """The kinds of provider failure that every provider reports in some form."""

    AUTHENTICATION = "authentication"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    RATE_LIMIT = "rate_limit"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    CONTEXT_OVERFLOW = "context_overflow"
    INVALID_REQUEST = "invalid_request"
    API = "api"

    @property
    def langchain_class(self) -> type[ModelError]:
        """The :mod:`langchain_core.exceptions` class this kind maps to."""
        return _LANGCHAIN_CLASSES[self]

    @property
    def class_stem(self) -> str:
        """The kind as it appears in a class name (``"RateLimit"`` in ``OpenAIRateLimitError``)."""
        return "API" if self is ErrorKind.API else self.value.title().replace("_", "")


_LANGCHAIN_CLASSES: dict[ErrorKind, type[ModelError]] = {
    ErrorKind.AUTHENTICATION: ModelAuthenticationError,
    ErrorKind.PERMISSION_DENIED: ModelPermissionDeniedError,
    ErrorKind.NOT_FOUND: ModelNotFoundError,
    ErrorKind.RATE_LIMIT: ModelRateLimitError,
    ErrorKind.TIMEOUT: ModelTimeoutError,
    ErrorKind.CONNECTION: ModelConnectionError,
    ErrorKind.CONTEXT_OVERFLOW: ContextOverflowError,
    ErrorKind.INVALID_REQUEST: ModelInvalidRequestError,
    ErrorKind.API: ModelAPIError,
}

_DESCRIPTIONS: dict[ErrorKind, str] = {
    ErrorKind.AUTHENTICATION: "The server rejected the credentials (401).",
    ErrorKind.PERMISSION_DENIED: "The credentials may not use this model or endpoint (403).",
    ErrorKind.NOT_FOUND: "The model or endpoint does not exist (404).",
    ErrorKind.RATE_LIMIT: "Rate limit or quota exceeded (429); ``retry_after`` says how long "
    "to wait.",
    ErrorKind.TIMEOUT: "The server did not answer within ``timeout``.",
    ErrorKind.CONNECTION: "The server could not be reached, or the connection broke.",
    ErrorKind.CONTEXT_OVERFLOW: "The prompt does not fit the model's context window.",
    ErrorKind.INVALID_REQUEST: "The server rejected the request as invalid (a 4xx).",
    ErrorKind.API: "The server failed (a 5xx).",
}
"""The default first line of each kind's class docstring."""

# Phrases providers use when a prompt does not fit the model's window.
_OVERFLOW = re.compile(
    r"context[_ ]length[_ ]exceeded|maximum context length|context window|"
    r"prompt is too long|too many tokens|exceeds? the (?:model'?s? )?(?:maximum )?"
    r"(?:context|input)|input (?:is )?too long|reduce the length of the messages|"
    r"string_above_max_length|tokens? limit",
    re.IGNORECASE,
)


def is_context_overflow(message: str | None, code: str | None = None) -> bool:
    """Tell whether a provider's error text or code says the prompt exceeds the window.

    Args:
        message: The provider's error message.
        code: The provider's machine-readable error code, if any.

    Returns:
        True when the error is a context-window overflow.
    """
    text = f"{code or ''} {message or ''}"
    return bool(_OVERFLOW.search(text))


def classify(status: int | None, message: str | None = None, code: str | None = None) -> ErrorKind:
    """Classify a provider failure by HTTP status, refined by its message and code.

    Args:
        status: The HTTP status, or ``None`` when no response arrived.
        message: The provider's error message.
        code: The provider's error code.

    Returns:
        The kind of failure.
    """
    if status is None:
        return ErrorKind.CONNECTION
    if status in (400, 413, 422) and is_context_overflow(message, code):
        return ErrorKind.CONTEXT_OVERFLOW
    if status == 401:
        return ErrorKind.AUTHENTICATION
    if status == 403:
        return ErrorKind.PERMISSION_DENIED
    if status == 404:
        return ErrorKind.NOT_FOUND
    if status == 408:
        return ErrorKind.TIMEOUT
    if status == 429:
        return ErrorKind.RATE_LIMIT
    if 400 <= status < 500:
        return ErrorKind.INVALID_REQUEST
    return ErrorKind.API


class ProviderErrorMixin:
    """What every mapped provider error carries beside its SDK's own attributes."""

    provider: str = ""
    """The provider that failed (``"openai"``, ``"openrouter"``, ...)."""

    kind: ErrorKind = ErrorKind.API
    """The kind of failure."""

    retry_after: float | None = None
    """Seconds the provider asked to wait before retrying, when it said."""


class ProviderResponseError(ProviderErrorMixin, ModelAPIError):
    """A provider answered with something that is not its documented response format.

    Raised for malformed bodies and for streams that end or break before the provider
    finished (no final chunk), so that a truncated answer is never passed off as complete.
    """

    def __init__(self, message: str, *, provider: str = "", body: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.body = body
        """The raw body (or its start) that could not be understood."""

    @classmethod
    def wrapping(
        cls, exc: BaseException, message: str, *, provider: str = "", body: str | None = None
    ) -> ProviderResponseError:
        """The error for a body that failed to parse with ``exc``, still of ``exc``'s class.

        A partner package lets its parser's error through (``json.JSONDecodeError``,
        pydantic's ``ValidationError``), so code written for it catches that class or
        ``ValueError``; the new error is a subclass of both it and this class (made on
        demand, pickled as its two classes). Where ``exc``'s class cannot be re-created that
        way (pydantic's needs its ``__new__`` arguments), it is a ``ValueError`` as ``exc``
        was.

        Args:
            exc: The parser's exception.
            message: What was wrong and what to check.
            provider: The provider id.
            body: The raw body (or its start).

        Returns:
            The error; raise it ``from exc``.
        """
        plain = cls(message, provider=provider, body=body)
        raised = _sdk_class(type(exc))
        if issubclass(raised, Exception) and _builtin_new(raised):
            try:
                variant = cast("type[ProviderResponseError]", _on_demand_variant(cls, raised))
            except TypeError:  # no consistent order of the two classes' ancestors
                pass
            else:
                error = rebrand(exc, variant, message=message, provider=provider, body=body)
                if str(error) == message:  # UnicodeError's str() ignores args: not kept
                    return error
        if isinstance(exc, ValueError):
            as_value_error = _on_demand_variant(cls, ValueError)
            return rebrand(plain, cast("type[ProviderResponseError]", as_value_error))
        return plain


def _builtin_new(cls: type) -> bool:
    """Whether ``cls`` is created by a built-in exception's ``__new__`` (no arguments needed)."""
    owner = next(c for c in cls.__mro__ if "__new__" in c.__dict__)
    return owner.__module__ == "builtins"


class MissingAPIKeyError(ValueError):
    """No API key was given and none was found in the provider's environment variable."""


E = TypeVar("E", bound=BaseException)


def rebrand(exc: BaseException, cls: type[E], **attrs: Any) -> E:
    """Return ``exc`` re-created as an instance of ``cls``, keeping all of its state.

    ``cls`` is normally a subclass of ``type(exc)`` that also inherits a LangChain
    ``Model*Error``; SDK exceptions need their response and body to be constructed, so
    instead of calling the constructor this copies the instance's ``__dict__``, ``args``,
    traceback, cause and context.

    Args:
        exc: The caught exception.
        cls: The class to re-create it as.
        **attrs: Attributes to set on the new instance (``provider``, ``retry_after``, ...);
            ``message`` also replaces the text ``str(exc)`` shows.

    Returns:
        The new exception; raise it ``from exc``.
    """
    new = cls.__new__(cls)
    new.__dict__.update(getattr(exc, "__dict__", {}))
    new.args = (attrs["message"],) if "message" in attrs else exc.args
    for key, value in attrs.items():
        setattr(new, key, value)
    return new.with_traceback(exc.__traceback__)


_MADE_FOR = "_polyvox_made_for"
"""Attribute of a class :class:`ErrorFamily` made on demand: its (kind class, SDK class)."""

_VARIANTS: dict[tuple[type[Exception], type[BaseException]], type[Exception]] = {}
"""(a family's kind class, an SDK class) -> the subclass of both, declared or made on demand."""


def _sdk_class(raised: type[BaseException]) -> type[BaseException]:
    """The SDK's class in ``raised``'s ancestry: ``raised`` itself unless polyvox made it."""
    for cls in raised.__mro__:
        if issubclass(cls, BaseException) and not issubclass(cls, ProviderErrorMixin):
            return cls
    return raised


def _variant(
    home: type[Exception], raised: type[BaseException], name: str, doc: str, *, on_demand: bool
) -> type[Exception]:
    """The subclass of ``home`` that is also a ``raised``: the one registered, else a new one.

    One made on demand has no module attribute to be found by; it records its two classes
    instead, which is how it pickles.
    """
    if (found := _VARIANTS.get((home, raised))) is not None:
        return found
    namespace: dict[str, Any] = {
        "__module__": home.__module__,
        "__qualname__": name,
        "__doc__": doc,
        "__reduce__": _reduce_error,
    }
    if on_demand:
        namespace[_MADE_FOR] = (home, raised)
    bases = (home,) if issubclass(home, raised) else (raised, home)
    made = cast("type[Exception]", type(name, bases, namespace))
    return _VARIANTS.setdefault((home, raised), made)


def _on_demand_variant(home: type[Exception], raised: type[BaseException]) -> type[Exception]:
    return _variant(
        home,
        raised,
        f"{home.__name__}[{raised.__name__}]",
        f"The :class:`{home.__name__}` of an error the SDK raised as ``{_dotted(raised)}``.",
        on_demand=True,
    )


def _reduce_error(self: BaseException) -> tuple[Any, ...]:
    """Pickle support: the SDKs' constructors need arguments (a response) pickle cannot give.

    The class travels by reference (a variant made on demand as its two classes), the
    instance's state as its ``__dict__``; unpickling calls no constructor.
    """
    cls = type(self)
    ref = cls.__dict__.get(_MADE_FOR, cls)
    return (_restore_error, (ref, self.args), without_secrets(self.__dict__))


def _restore_error(
    ref: type[BaseException] | tuple[type[Exception], type[BaseException]], args: tuple[Any, ...]
) -> BaseException:
    """Re-create an instance pickled by :func:`_reduce_error` (pickle then sets its state)."""
    cls = _on_demand_variant(*ref) if isinstance(ref, tuple) else ref
    error = cls.__new__(cls)
    error.args = args
    return error


class ErrorFamily:
    """A provider's exception classes, one per :class:`ErrorKind`, built from its SDK's.

    Each kind's class inherits, in this order, the SDK classes given for the kind,
    :class:`ProviderErrorMixin` and the kind's LangChain class (:attr:`ErrorKind.langchain_class`),
    so both ``except openai.RateLimitError`` and ``except ModelRateLimitError`` catch it, as
    they would catch the partner package's error. Its SDK constructor is kept (the classes
    add no ``__init__``), and every class pickles with its state although SDK exceptions
    need arguments (a response, a body) to be constructed.

    The family also keeps each error an instance of the exact class the SDK raised: when a
    kind's class is not already one (a 409 is an ``openai.ConflictError``, not the
    ``openai.BadRequestError`` an invalid request's class is), :meth:`class_for` gives its
    subclass that also inherits the raised class, declared with :meth:`variant` under a public
    name or else made on first use.

    A provider's ``errors.py`` declares its family and binds each class to its public name
    (pickling finds a class by module and name)::

        ERRORS = ErrorFamily(
            "openai",
            __name__,
            {ErrorKind.RATE_LIMIT: (openai.RateLimitError,), ...},  # every kind
            prefix="OpenAI",
        )
        OpenAIRateLimitError = ERRORS[ErrorKind.RATE_LIMIT]
        OpenAIConflictError = ERRORS.variant(ErrorKind.INVALID_REQUEST, openai.ConflictError)
    """

    def __init__(
        self,
        provider: str,
        module: str,
        bases: Mapping[ErrorKind, tuple[type[Exception], ...]],
        *,
        prefix: str,
        names: Mapping[ErrorKind, str] | None = None,
        docs: Mapping[ErrorKind, str] | None = None,
        partial: bool = False,
    ) -> None:
        """Build the classes.

        Args:
            provider: The provider id, each class's default ``provider`` attribute.
            module: The module the classes belong to (``__name__`` of the provider's
                ``errors.py``), where they must be bound to their names.
            bases: For each kind, the SDK classes its class inherits, most specific first
                (usually one).
            prefix: The start of each class's name: ``prefix + kind.class_stem + "Error"``
                (``"OpenAI"`` gives ``OpenAIRateLimitError``).
            names: Names that do not follow that pattern, by kind.
            docs: The first line of a class's docstring where the kind's default
                description is not right for this provider.
            partial: Whether ``bases`` may leave kinds out (a family for the errors reported
                inside a stream); a provider's main family covers every kind.

        Raises:
            ValueError: When a kind is missing (and ``partial`` is false) or has no SDK class.
        """
        missing = [kind.value for kind in ErrorKind if kind not in bases]
        if missing and not partial:
            raise ValueError(f"{prefix} errors: no SDK classes for {', '.join(missing)}")
        self.provider = provider
        """The provider id the classes carry by default."""
        self._prefix = prefix
        self._classes: dict[ErrorKind, type[Exception]] = {}
        for kind, sdk_bases in bases.items():
            if not sdk_bases:
                raise ValueError(f"{prefix} errors: no SDK class for {kind.value}")
            name = (names or {}).get(kind) or f"{prefix}{kind.class_stem}Error"
            first_line = (docs or {}).get(kind) or _DESCRIPTIONS[kind]
            also = ", ".join(f"``{_dotted(c)}``" for c in sdk_bases)
            doc = (
                f"{first_line}\n\nAlso {also} and ``{kind.langchain_class.__name__}``: code "
                "catching either catches it."
            )
            namespace = {
                "__module__": module,
                "__qualname__": name,
                "__doc__": doc,
                "__reduce__": _reduce_error,
                "provider": provider,
                "kind": kind,
            }
            bases_ = (*sdk_bases, ProviderErrorMixin, kind.langchain_class)
            self._classes[kind] = type(name, bases_, namespace)

    def __getitem__(self, kind: ErrorKind) -> type[Any]:
        """The class of ``kind``.

        Args:
            kind: The kind of failure.

        Returns:
            The class (typed ``Any``: it is the SDK's class and LangChain's at once).

        Raises:
            KeyError: When a partial family has no class for ``kind``.
        """
        return self._classes[kind]

    def __contains__(self, kind: object) -> bool:
        """Whether the family has a class for ``kind`` (always, unless it is partial)."""
        return kind in self._classes

    def classes(self) -> tuple[type[Any], ...]:
        """Every class of the family: the kinds' classes, then the variants made so far."""
        homes = tuple(self._classes.values())
        return homes + tuple(v for (home, _), v in _VARIANTS.items() if home in homes)

    def variant(
        self, kind: ErrorKind, raised: type[Exception], *, name: str | None = None
    ) -> type[Any]:
        """Declare the subclass of ``kind``'s class that is also a ``raised``, under a name.

        :meth:`class_for` then gives it for errors of that kind the SDK raised as ``raised``
        (bind it to its name in the family's module, like the kinds' classes).

        Args:
            kind: The kind of failure.
            raised: The SDK's class, e.g. ``openai.ConflictError`` for invalid requests.
            name: The class's name; by default the prefix and ``raised``'s name
                (``OpenAIConflictError``).

        Returns:
            The subclass.

        Raises:
            ValueError: When the subclass was already made under another name.
        """
        home = self._classes[kind]
        name = name or f"{self._prefix}{raised.__name__}"
        doc = (
            f"The :class:`{home.__name__}` of an error the SDK raised as "
            f"``{_dotted(raised)}``, which it stays an instance of."
        )
        made = _variant(home, raised, name, doc, on_demand=False)
        if made.__name__ != name:
            raise ValueError(
                f"{home.__name__} raised as {raised.__name__} is already {made.__name__}"
            )
        return made

    def class_for(self, kind: ErrorKind, raised: type[BaseException]) -> type[Any]:
        """The class an error of ``kind`` that the SDK raised as ``raised`` becomes.

        The declared :meth:`variant` for ``raised``, else ``kind``'s class when it already is
        a ``raised``, else a subclass of both made now (named ``Home[Raised]``; pickled as
        its two classes, so the process that unpickles it makes the same one).

        Args:
            kind: The kind of failure.
            raised: The class of the caught exception (the SDK class under it when it is
                already one of polyvox's).

        Returns:
            The class to re-create the exception as (:meth:`rebrand` does it).
        """
        home = self._classes[kind]
        sdk = _sdk_class(raised)
        if (found := _VARIANTS.get((home, sdk))) is not None:
            return found
        if issubclass(home, sdk):
            return home
        try:
            return _on_demand_variant(home, sdk)
        except TypeError:  # no consistent order of the two classes' ancestors
            return home

    def rebrand(self, exc: BaseException, kind: ErrorKind, **attrs: Any) -> Exception:
        """Re-create a caught SDK exception as the family's class for it, with all its state.

        Args:
            exc: What the SDK raised.
            kind: Its kind (e.g. from :func:`classify`), set as the error's ``kind``.
            **attrs: Further attributes, as for :func:`rebrand` (``provider``,
                ``retry_after``, ``message``...).

        Returns:
            The new exception; raise it ``from exc``.
        """
        cls: type[Exception] = self.class_for(kind, type(exc))
        return rebrand(exc, cls, kind=kind, **attrs)


def _dotted(cls: type) -> str:
    """``openai.RateLimitError``: the class as code written for the SDK names it."""
    package = cls.__module__.split(".")[0]
    return cls.__qualname__ if package == "builtins" else f"{package}.{cls.__qualname__}"
