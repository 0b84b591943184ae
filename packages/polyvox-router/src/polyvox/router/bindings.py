"""Tools and structured output bound on the router, bound again on the deployment that answers.

``Router.bind_tools`` (from :class:`ToolBindingModel`) stores the tools in OpenAI form; at
call time the chosen deployment binds them with its own ``bind_tools`` (each provider
translates tools its own way). Both steps are cached (:class:`Bindings`): agents such as
``create_agent`` rebind the same tool objects on every turn, and converting and binding
them again each time would sit on the hot path. ``with_structured_output`` binds a
:class:`~polyvox.router.structured.StructuredSpec` the same way.
"""

from __future__ import annotations

import inspect
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage
from langchain_core.prompt_values import PromptValue
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import PrivateAttr

from polyvox.core.langchain_internals import refuse_bytes
from polyvox.router.constraints import STRUCTURED_KEY, TOOL_OPTIONS_KEY
from polyvox.router.structured import METHODS, StructuredSpec, build_parser

if TYPE_CHECKING:
    from collections.abc import Callable

    from langchain_core.runnables import Runnable

    from polyvox.router.constraints import CallSpec
    from polyvox.router.deployment import Deployment

__all__ = ["Bindings", "ToolBindingModel", "bind_tools_parameters"]

CACHE_SIZE = 256
"""Most entries each cache keeps (least recently added first out)."""


class Bindings:
    """The router's caches of converted tools and per-deployment bindings (thread-safe)."""

    __slots__ = ("_bound", "_formatted", "_lock")

    def __reduce__(self) -> tuple[type[Bindings], tuple[()]]:
        """Pickled, the caches start empty (bound models are rebuilt on first use)."""
        return (type(self), ())

    def __init__(self) -> None:
        """Start empty."""
        self._lock = threading.Lock()
        # Entries hold the objects whose ids are in their key, so no id can be reused by
        # another object while the entry lives.
        self._formatted: OrderedDict[tuple[Any, ...], tuple[Any, list[dict[str, Any]]]] = (
            OrderedDict()
        )
        self._bound: OrderedDict[tuple[Any, ...], tuple[Any, Runnable[Any, Any]]] = OrderedDict()

    def format_tools(self, tools: Sequence[Any], strict: bool | None) -> list[dict[str, Any]]:
        """The tools in OpenAI form, the same list object for the same tool objects.

        Args:
            tools: Functions, pydantic models, LangChain tools or OpenAI tool dicts.
            strict: Whether providers should enforce the schemas exactly.

        Returns:
            The converted tools.
        """
        held = tuple(tools)
        key = (tuple(id(t) for t in held), strict)
        found = self._formatted.get(key)
        if found is not None and all(a is b for a, b in zip(found[0], held, strict=True)):
            return found[1]
        formatted = [convert_to_openai_tool(t, strict=strict) for t in held]
        with self._lock:
            self._formatted[key] = (held, formatted)
            while len(self._formatted) > CACHE_SIZE:
                self._formatted.popitem(last=False)
        return formatted

    def target(self, deployment: Deployment, spec: CallSpec) -> Runnable[Any, Any]:
        """The deployment's model, bound with the call's tools or structured output.

        Args:
            deployment: The deployment to call.
            spec: The call.

        Returns:
            The runnable to invoke or stream.
        """
        if spec.structured is not None:
            return spec.structured.binding(deployment.name, deployment.model)
        tools = spec.tools
        if not tools:
            return deployment.model
        choice = spec.tool_choice
        simple = choice is None or isinstance(choice, str | bool | int)
        options = spec.tool_options
        key = (deployment.name, id(tools), choice if simple else repr(choice), options)
        found = self._bound.get(key)
        if found is not None and found[0] is tools:
            return found[1]
        model = deployment.model
        extra: dict[str, Any] = {}
        if options:
            accepted = bind_tools_parameters(model)
            extra = {name: value for name, value in options if name in accepted}
        if choice is not None:
            extra["tool_choice"] = choice
        bound = model.bind_tools(tools, **extra)
        with self._lock:
            self._bound[key] = (tools, bound)
            while len(self._bound) > CACHE_SIZE:
                self._bound.popitem(last=False)
        return bound


_PARAMETERS: dict[Any, frozenset[str]] = {}


def bind_tools_parameters(model: BaseChatModel) -> frozenset[str]:
    """The keyword parameters a model's ``bind_tools`` names (read once per class).

    Only named ones count: a ``bind_tools`` that takes ``**kwargs`` usually binds them as
    call arguments, which a model that does not know them rejects at call time.

    Args:
        model: The deployment's model.

    Returns:
        The parameter names.
    """
    method = type(model).bind_tools
    found = _PARAMETERS.get(method)
    if found is None:
        try:
            parameters = list(inspect.signature(method).parameters.values())
        except (TypeError, ValueError):  # no signature to read: pass nothing extra
            parameters = []
        found = _PARAMETERS[method] = frozenset(
            p.name
            for p in parameters
            if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        )
    return found


class ToolBindingModel(BaseChatModel):
    """The router's ``bind_tools`` and ``with_structured_output`` (a base of ``Router``).

    Both only bind: the chosen deployment receives the tools or the schema at call time,
    in its own form, through :meth:`Bindings.target`.
    """

    _bindings: Bindings = PrivateAttr(default_factory=Bindings)

    def _convert_input(self, model_input: LanguageModelInput) -> PromptValue:
        refuse_bytes(model_input)  # langchain-core would say "Unsupported message type: int"
        return super()._convert_input(model_input)

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | Any],
        *,
        tool_choice: str | bool | dict[str, Any] | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools; each call binds them on the chosen deployment with its ``bind_tools``.

        Binding requires the ``tools`` capability of every candidate (deployments without
        it are filtered out). The per-deployment binding is cached.

        Args:
            tools: Functions, pydantic models, LangChain tools or OpenAI tool dicts.
            tool_choice: ``"auto"``, ``"none"``, ``"any"``/``"required"``/``True``, or a tool
                name; passed to the deployment's ``bind_tools``.
            strict: Ask providers to enforce the tools' schemas exactly; passed to the
                deployment's ``bind_tools`` when it takes ``strict``.
            parallel_tool_calls: Allow several tool calls in one answer; passed only to
                deployments whose ``bind_tools`` takes ``parallel_tool_calls``.
            **kwargs: Further call parameters to bind.

        Returns:
            The router bound with the tools.
        """
        formatted = self._bindings.format_tools(tools, strict)
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        options = tuple(
            (name, value)
            for name, value in (("strict", strict), ("parallel_tool_calls", parallel_tool_calls))
            if value is not None
        )
        if options:
            kwargs[TOOL_OPTIONS_KEY] = options
        return self.bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        method: str | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Answer in ``schema``, whichever deployment answers.

        Polyvox deployments get their native form (JSON schema or JSON mode); other
        LangChain models a forced tool call. The answer is read from a tool call when
        there is one, else from the JSON text.

        Args:
            schema: A pydantic model, a TypedDict, a JSON schema or an OpenAI tool dict.
            include_raw: Return ``{"raw", "parsed", "parsing_error"}`` instead of raising
                on a parsing failure.
            method: ``"json_schema"`` (default; needs ``structured_output``),
                ``"function_calling"`` (needs ``tools``) or ``"json_mode"``.
            strict: Ask providers to enforce the schema exactly.
            **kwargs: Not accepted; present for signature compatibility.

        Returns:
            The structured-output runnable.

        Raises:
            ValueError: For unknown keyword arguments or methods.
        """
        if kwargs:
            msg = f"with_structured_output got unsupported arguments {sorted(kwargs)}"
            raise ValueError(msg)
        chosen = method or "json_schema"
        if chosen not in METHODS:
            msg = f"method must be one of {', '.join(METHODS)}; got {chosen!r}"
            raise ValueError(msg)
        spec = StructuredSpec(schema, chosen, strict)  # type: ignore[arg-type]
        ls_format = {"kwargs": {"method": chosen, "strict": strict}, "schema": schema}
        bound = self.bind(**{STRUCTURED_KEY: spec, "ls_structured_output_format": ls_format})
        return build_parser(bound, spec, include_raw=include_raw)
