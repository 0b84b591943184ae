"""``Router``: one LangChain chat model that chooses a deployment, falls back and heals.

A router holds deployments (any LangChain chat models, each with its catalog facts), a
strategy that ranks them, circuit breakers and statistics. For every call it reads the
request's constraints (:mod:`polyvox.router.constraints`), filters the deployments,
ranks the rest, and runs the attempt loop (:mod:`polyvox.router.attempts`,
:mod:`polyvox.router.streaming`): retries honouring ``Retry-After``, then fallback in
ranked order, with typed fallbacks for context overflow and content-policy blocks.

Being a chat model, it goes wherever one goes: LCEL chains, ``bind_tools`` and
``create_agent``, ``with_structured_output``, the LlamaIndex bridge. The deployment's model
is called as a child run (tagged ``nostream`` so LangGraph streams each token once, from the
router's run), so cost tracking sees the real provider and model.

Example:
    .. code-block:: python

        from polyvox.openai import ChatOpenAI
        from polyvox.ollama import ChatBielik
        from polyvox.router import Router

        router = Router(
            [ChatOpenAI(model="gpt-4o-mini"), ChatOpenAI(model="gpt-4.1"), ChatBielik()],
            strategy="cost",
            language_routes={"pl": "ollama/SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M"},
            detect_language=True,
        )
        router.invoke("Hello").response_metadata["router"]["deployment"]
        router.invoke("Notatki z zarządu", sensitivity="restricted")  # local deployments only
        print(router.explain("Hello", tier="powerful"))
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Self
from uuid import uuid4

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput, ModelProfile
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableConfig, ensure_config
from pydantic import ConfigDict, Field, PrivateAttr, SkipValidation, model_validator

from polyvox.core.invocation import direct_call_allowed, normalize_input
from polyvox.core.keywords import check_call_keywords
from polyvox.costs.catalog import Tier
from polyvox.costs.catalog.catalog import ModelCatalog
from polyvox.costs.ledger.budgets import BudgetGuard
from polyvox.router import assembly, explain, invoking, planning, runs, streaming
from polyvox.router.bindings import Bindings, ToolBindingModel
from polyvox.router.breaker import BreakerBoard
from polyvox.router.constraints import primary_language
from polyvox.router.deployment import Deployment
from polyvox.router.facts import Facts
from polyvox.router.languages import specialist_languages
from polyvox.router.large_input import LargeInputHandler
from polyvox.router.request import Sensitivity
from polyvox.router.routing import Routing
from polyvox.router.stats import RouterStats
from polyvox.router.strategies import RoutingStrategy, get_strategy

if TYPE_CHECKING:
    from polyvox.router.explain import RouteDecision

__all__ = ["LargeInputHandler", "Router"]

_INDEXED = frozenset(
    {
        "deployments",
        "catalog",
        "language_routes",
        "context_overflow_fallback",
        "content_policy_fallback",
    }
)
"""Fields the router indexes when it is built: fixed afterwards (``model_copy`` re-indexes)."""

if TYPE_CHECKING:
    _Deployments = tuple[Deployment, ...]
    _Handler = LargeInputHandler | None
else:  # validated by the router's own validators; pydantic only stores them
    _Deployments = Annotated[list[Any], SkipValidation]
    _Handler = Annotated[Any, SkipValidation]


class Router(ToolBindingModel):
    """A chat model that routes each call to one of its deployments, and falls back.

    Args:
        deployments: Chat models or :class:`~polyvox.router.deployment.Deployment` s (a
            model is wrapped with ``Deployment.of``, its catalog entry looked up); may be
            given positionally.
        **kwargs: The fields below.

    Per-call constraints come from invoke keyword arguments or the run's
    ``config["metadata"]``: ``sensitivity``, ``tier``, ``capabilities``, ``max_cost``,
    ``language``, ``deployment``, ``max_latency_ms``, ``agent_id``, ``workspace_id`` (see
    :mod:`polyvox.router.constraints`).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid", protected_namespaces=())

    deployments: _Deployments
    """The deployments, in the order that breaks ties (names are unique). A tuple, fixed
    once the router is built (the router indexes them): assigning it, ``catalog``,
    ``language_routes`` or the fallback lists raises ``AttributeError``; use
    ``router.model_copy(update={"deployments": [...]})`` for a router with others."""

    strategy: Annotated[RoutingStrategy, SkipValidation] = Field(
        default_factory=lambda: get_strategy("balanced")
    )
    """How candidates are ranked; a name (``"cost"``, ``"ucb"``, ...), a strategy or a
    function ``(candidates, request, stats) -> ranked`` is accepted."""

    fallbacks: bool = True
    """After a failure, try the next ranked candidate."""

    max_attempts: int | None = None
    """Most deployments called per request; ``None``: every candidate once."""

    max_retries: int = 1
    """Retries on the same deployment for a retryable failure, before falling back."""

    max_retry_wait_s: float = 5.0
    """Longest wait before a retry; a provider asking longer is not waited for (fallback)."""

    timeout: float | None = None
    """Seconds for the whole call, every retry and fallback included: no attempt starts
    after it, waits are cut to it, and async attempts are cancelled at it (a sync attempt
    under way runs to its deployment's own ``timeout``). An async stream is cancelled at it
    until its first chunk reaches the caller; after that the router does not cut it (the
    deployment's own timeout applies). An attempt the router cuts is recorded as a
    ``timeout`` but does not count against the deployment's breaker. ``None``: no limit."""

    streaming: bool = False
    """Stream from the deployment even for ``invoke`` (callbacks then see every token)."""

    breakers: Annotated[BreakerBoard, SkipValidation] = Field(default_factory=BreakerBoard)
    """The circuit breakers (in memory by default; ``BreakerBoard.redis(url)`` to share)."""

    probation_max_in_flight: int | None = Field(default=2, ge=1)
    """Calls a deployment whose last call failed as an unhealthy one (rate limit, server
    error, timeout, connection) may have in flight at once, in this process, until its next
    success (half-open style admission before its breaker opens). Calls over the limit try
    the other candidates first and come back to it last. ``None`` turns it off."""

    stats: Annotated[RouterStats, SkipValidation] = Field(default_factory=RouterStats)
    """Statistics per deployment and per agent (strategies learn from them)."""

    default_sensitivity: Sensitivity = Sensitivity.PUBLIC
    """The sensitivity of requests that state none."""

    default_tier: Tier | None = None
    """The tier required of requests that state none (``None``: any)."""

    language_routes: dict[str, str] = Field(default_factory=dict)
    """Language (ISO 639-1) → deployment tried first for it, e.g. ``{"pl": "bielik"}``."""

    detect_language: bool = False
    """Detect the prompt's language when a request names none (lingua; costs time)."""

    prefer_local: bool = False
    """Try local deployments before cloud ones (within the strategy's order)."""

    max_latency_ms: float | None = None
    """Drop deployments whose measured (or typical) latency exceeds this."""

    budget: Annotated[BudgetGuard | None, SkipValidation] = None
    """Budgets (polyvox.costs.ledger): deployments whose estimated cost exceeds what is left
    for the call's workspace or agent are dropped."""

    context_overflow_fallback: list[str] | None = None
    """Deployments to use when one reports a context overflow (default: any remaining
    candidate with a larger window)."""

    content_policy_fallback: list[str] | None = None
    """Deployments to use when an answer is blocked or a content filter rejects the request
    (default: a blocked answer is returned as it is; a filter error falls back in order)."""

    mid_stream_fallback: bool = False
    """Restart a stream that broke after its first chunk on the next deployment; off, such
    a stream raises ``StreamInterruptedError``. On, the caller receives the partial text of
    the first deployment **followed by** the restarted answer from the start (merging all
    chunks glues the two together). Every chunk of a restarted stream carries
    ``response_metadata["router_restart"] = True`` (drop what came before the first such
    chunk to keep only the complete answer), and ``response_metadata["router"]["restarts"]``
    lists each restart. A stream that already delivered part of a tool call is never
    restarted (it raises ``StreamInterruptedError``), and one that fails after its last
    chunk is complete and ends normally."""

    large_input_handler: _Handler = None
    """Called when the prompt exceeds every eligible window (the RLM fills this); without
    it the router raises a ``ContextOverflowError`` naming the largest window. A Runnable
    handler gets the request's ``sensitivity`` in its config's metadata."""

    large_input_handler_local: bool = False
    """Whether ``large_input_handler`` only ever calls local models. Off (the default), a
    confidential or restricted prompt that fits no local window is refused with
    ``NoDeploymentError`` instead of being handed over (an RLM usually runs on a cloud model)."""

    catalog: Annotated[ModelCatalog | None, SkipValidation] = None
    """The catalog deployments are looked up in (the default one when ``None``)."""

    max_tokens: int | None = None
    """``max_tokens`` passed to the deployment when a call sets none."""

    temperature: float | None = None
    """``temperature`` passed to the deployment when a call sets none."""

    stop: list[str] | None = None
    """Stop sequences used when a call gives none."""

    _facts: dict[str, Facts] = PrivateAttr(default_factory=dict)
    _by_name: dict[str, Deployment] = PrivateAttr(default_factory=dict)
    _keywords: frozenset[str] | None = PrivateAttr(default=None)
    _routing: Routing | None = PrivateAttr(default=None)

    def __init__(
        self, deployments: Sequence[BaseChatModel | Deployment] | None = None, /, **kwargs: Any
    ) -> None:
        if deployments is not None:
            kwargs["deployments"] = deployments
        super().__init__(**kwargs)

    # ---- validation -----------------------------------------------------------------------------

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        return assembly.normalize(data) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _index(self) -> Self:
        return self._reindex()

    def _reindex(self) -> Self:
        fields = self.__dict__  # these fields refuse assignment once built (__setattr__)
        fields["deployments"] = tuple(self.deployments)
        self._by_name, self._facts = assembly.check(
            self.deployments,
            self.catalog,
            routes={
                "language_routes": list(self.language_routes.values()),
                "context_overflow_fallback": self.context_overflow_fallback,
                "content_policy_fallback": self.content_policy_fallback,
            },
            max_retries=self.max_retries,
            max_attempts=self.max_attempts,
            max_retry_wait_s=self.max_retry_wait_s,
        )
        self._keywords = None  # read from the deployments on the first call (their SDKs)
        fields["language_routes"] = {k.lower(): v for k, v in self.language_routes.items()}
        if self.profile is None:  # BaseChatModel asked before the facts existed
            self.profile = self._resolve_model_profile()
        self._routing = None
        return self

    def _current_routing(self) -> Routing:
        """What a call's routing reads of this router (built again after any field changes)."""
        routing = self._routing
        if routing is None:
            routing = self._routing = Routing(
                deployments=self.deployments,
                by_name=self._by_name,
                facts=self._facts,
                target=self._bindings.target,
                strategy=self.strategy,
                stats=self.stats,
                breakers=self.breakers,
                budget=self.budget,
                fallbacks=self.fallbacks,
                max_attempts=self.max_attempts,
                max_retries=self.max_retries,
                max_retry_wait_s=self.max_retry_wait_s,
                timeout=self.timeout,
                probation_max_in_flight=self.probation_max_in_flight,
                mid_stream_fallback=self.mid_stream_fallback,
                context_overflow_fallback=self.context_overflow_fallback,
                content_policy_fallback=self.content_policy_fallback,
                default_sensitivity=self.default_sensitivity,
                default_tier=self.default_tier,
                language_routes={primary_language(k): v for k, v in self.language_routes.items()},
                detect_language=self.detect_language,
                prefer_local=self.prefer_local,
                max_latency_ms=self.max_latency_ms,
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                stop=self.stop,
                large_input_handler=self.large_input_handler,
                large_input_handler_local=self.large_input_handler_local,
                specialists=frozenset(d.name for d in self.deployments if specialist_languages(d)),
            )
        return routing

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _INDEXED:
            msg = (
                f"Router.{name} is fixed once the router is built (the router indexes it); "
                f"use router.model_copy(update={{{name!r}: ...}}) for a router with another"
            )
            raise AttributeError(msg)
        super().__setattr__(name, value)
        if name in type(self).model_fields:
            self._routing = None  # the next call reads the new value

    def __getstate__(self) -> dict[Any, Any]:
        """Pydantic's state without what a call built (rebuilt on the first call).

        The deployments pickle without their SDK clients (:mod:`polyvox.core.lifecycle`);
        the strategy, statistics and breakers without their locks: an unpickled router
        starts with empty statistics and, in memory, closed breakers (a Redis board
        connects to the same server and shares its state again).

        Raises:
            TypeError: For a router with a ``budget`` (its ledger connection cannot travel).
        """
        if self.budget is not None:
            msg = (
                "a Router with budget= does not pickle: its BudgetGuard holds a live ledger "
                "connection. Pickle router.model_copy(update={'budget': None}) and give each "
                "process its own BudgetGuard on the same ledger URL"
            )
            raise TypeError(msg)
        state = super().__getstate__()
        private = state.get("__pydantic_private__")
        if private:
            state["__pydantic_private__"] = {**private, "_routing": None, "_keywords": None}
        return state

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy of the router, with ``update`` applied and validated like the constructor's.

        Changing a field the router indexes (``deployments``, ``catalog``,
        ``language_routes``, the fallback lists) rebuilds the copy's index; the copy shares
        the original's breakers and statistics unless ``update`` replaces them.

        Args:
            update: Field values to change (models are wrapped as in the constructor).
            deep: Deep-copy the fields too.

        Returns:
            The copy.
        """
        if not update:
            copied = super().model_copy(deep=deep)
            copied._routing = None
            return copied
        given = dict(update)
        merged = assembly.normalize(
            {"deployments": self.deployments, "catalog": self.catalog, **given}
        )
        given = {key: merged[key] for key in given}
        copied = super().model_copy(update=given, deep=deep)
        copied._routing = None  # the update bypassed __setattr__
        if not _INDEXED.isdisjoint(given):
            if "profile" not in given and self.profile == assembly.profile(self._facts):
                copied.profile = None  # the profile came from the old deployments
            copied._bindings = Bindings()  # bindings are cached by deployment name
            copied._reindex()
        return copied

    # ---- LangChain identity -----------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "polyvox-router"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "deployments": [d.name for d in self.deployments],
            "strategy": self.strategy.name,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        model = kwargs.get("model") or kwargs.get("deployment")
        params = LangSmithParams(
            ls_provider="polyvox-router",
            ls_model_name=str(model) if model else "router",
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        if stop := stop or self.stop:
            params["ls_stop"] = stop
        return params

    def _resolve_model_profile(self) -> ModelProfile | None:
        return assembly.profile(self._facts)

    # ---- the direct path ----------------------------------------------------------------------

    def invoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Route and call (see :mod:`polyvox.core.invocation` for the direct path)."""
        config = ensure_config(config)
        if not direct_call_allowed(self, config, kwargs):
            return super().invoke(input, config, stop=stop, **kwargs)
        self._check_call_keywords(kwargs)
        messages = normalize_input(self, input)
        child = runs.caller_config(config, kwargs)  # before planning consumes the keywords
        routing = self._routing or self._current_routing()
        loop, spec = planning.prepare(routing, messages, stop, kwargs, config.get("metadata"))
        return _with_id(invoking.invoke(routing, loop, messages, spec, child))

    async def ainvoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Route and call asynchronously (see :mod:`polyvox.core.invocation`)."""
        config = ensure_config(config)
        if not direct_call_allowed(self, config, kwargs):
            return await super().ainvoke(input, config, stop=stop, **kwargs)
        self._check_call_keywords(kwargs)
        messages = normalize_input(self, input)
        child = runs.caller_config(config, kwargs)  # before planning consumes the keywords
        routing = self._routing or self._current_routing()
        metadata = config.get("metadata")
        loop, spec = await planning.aprepare(routing, messages, stop, kwargs, metadata)
        return _with_id(await invoking.ainvoke(routing, loop, messages, spec, child))

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        """Stream the chosen deployment's answer (see :mod:`polyvox.router.streaming`)."""
        config = ensure_config(config)
        run_id = config.get("run_id") or uuid4()
        config["run_id"] = run_id
        pending = runs.PendingRun(run_id, {**config}, asynchronous=False)
        inner = super().stream(input, config, stop=stop, **kwargs)
        token = runs.remember(pending)  # read by _stream within this first step
        try:
            first = next(inner, None)
        finally:
            runs.reset(token)
        if first is None:
            return
        yield first
        yield from inner

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        """Stream the chosen deployment's answer asynchronously."""
        config = ensure_config(config)
        run_id = config.get("run_id") or uuid4()
        config["run_id"] = run_id
        pending = runs.PendingRun(run_id, {**config}, asynchronous=True)
        inner = super().astream(input, config, stop=stop, **kwargs)
        token = runs.remember(pending)  # read by _astream within this first step
        try:
            first = await anext(inner, None)
        finally:
            runs.reset(token)
        if first is None:
            return
        yield first
        async for chunk in inner:
            yield chunk

    def _get_invocation_params(
        self, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        # Every LangChain path (generate, stream, batch) asks for these before the call.
        self._check_call_keywords(kwargs)
        return super()._get_invocation_params(stop=stop, **kwargs)

    def _check_call_keywords(self, kwargs: dict[str, Any]) -> None:
        """Refuse a near miss of a routing keyword or of a deployment's parameter."""
        if kwargs:
            if self._keywords is None:
                self._keywords = assembly.call_keywords(self.deployments)
            check_call_keywords("Router", kwargs, self._keywords, routes=True)

    def _should_stream(
        self,
        *,
        async_api: bool,
        run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> bool:
        answer = super()._should_stream(async_api=async_api, run_manager=run_manager, **kwargs)
        if answer and run_manager is not None:
            runs.remember(run_manager)  # invoke() streams without handing it to _stream
        return answer

    # ---- the four generation methods ----------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        child, metadata = runs.child_config(self, run_manager, self._ls(stop, kwargs), kwargs)
        routing = self._routing or self._current_routing()
        loop, spec = planning.prepare(routing, messages, stop, kwargs, metadata)
        answer = invoking.invoke(routing, loop, messages, spec, child)
        return ChatResult(generations=[ChatGeneration(message=answer)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        child, metadata = runs.child_config(self, run_manager, self._ls(stop, kwargs), kwargs)
        routing = self._routing or self._current_routing()
        loop, spec = await planning.aprepare(routing, messages, stop, kwargs, metadata)
        answer = await invoking.ainvoke(routing, loop, messages, spec, child)
        return ChatResult(generations=[ChatGeneration(message=answer)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        parent = run_manager or runs.take()
        child, metadata = runs.child_config(self, parent, self._ls(stop, kwargs), kwargs)
        routing = self._routing or self._current_routing()
        loop, spec = planning.prepare(routing, messages, stop, kwargs, metadata)
        yield from streaming.stream(routing, loop, messages, spec, child)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        parent = run_manager or runs.take()
        child, metadata = runs.child_config(self, parent, self._ls(stop, kwargs), kwargs)
        routing = self._routing or self._current_routing()
        loop, spec = await planning.aprepare(routing, messages, stop, kwargs, metadata)
        async for chunk in streaming.astream(routing, loop, messages, spec, child):
            yield chunk

    def _ls(self, stop: list[str] | None, kwargs: dict[str, Any]) -> Callable[[], LangSmithParams]:
        """The call's LangSmith parameters, read when a child run needs them."""
        return lambda: self._get_ls_params(stop=stop, **kwargs)

    # ---- explain ------------------------------------------------------------------------------

    def explain(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> RouteDecision:
        """The routing decision for ``input``, traced, without calling any model.

        Args:
            input: What would be sent (a string, messages or a prompt value).
            config: A run config (its metadata may carry constraints).
            **kwargs: Constraints and call keyword arguments, as for ``invoke``.

        Returns:
            The decision: request, every deployment kept or dropped (and why), scores,
            breaker states and the order the router would try.
        """
        messages = normalize_input(self, input)
        metadata = ensure_config(config).get("metadata")
        return explain.explain(self._current_routing(), messages, metadata, kwargs)

    async def aexplain(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> RouteDecision:
        """Async :meth:`explain` (breaker state read natively from Redis when shared).

        Args:
            input: What would be sent.
            config: A run config (its metadata may carry constraints).
            **kwargs: Constraints and call keyword arguments, as for ``invoke``.

        Returns:
            The decision.
        """
        messages = normalize_input(self, input)
        metadata = ensure_config(config).get("metadata")
        return await explain.aexplain(self._current_routing(), messages, metadata, kwargs)

    # ---- configuration --------------------------------------------------------------------------

    @classmethod
    def from_config(
        cls,
        source: str | os.PathLike[str] | Mapping[str, Any],
        *,
        models: Mapping[str, BaseChatModel] | None = None,
        **overrides: Any,
    ) -> Router:
        """Build a router from YAML (a path or text) or a mapping.

        See :mod:`polyvox.router.config` for the format.

        Args:
            source: A YAML file path, YAML text, or the parsed mapping.
            models: Chat models the config refers to by name (``ref:``).
            **overrides: Router fields that replace the config's.

        Returns:
            The router.

        Raises:
            polyvox.router.config.RouterConfigError: A malformed config (names the key).
        """
        from polyvox.router.config import router_kwargs

        return cls(**{**router_kwargs(source, models=models), **overrides})

    @classmethod
    def from_env(
        cls,
        deployments: Sequence[BaseChatModel | Deployment] | None = None,
        *,
        models: Mapping[str, BaseChatModel] | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Router:
        """Build a router from ``POLYVOX_ROUTER_*`` environment variables.

        See :mod:`polyvox.router.config` for the variables.

        Args:
            deployments: The deployments (else built from ``POLYVOX_ROUTER_MODELS`` or the
                file in ``POLYVOX_ROUTER_CONFIG``).
            models: Chat models a config file refers to by name.
            environ: The environment (``os.environ`` when omitted).
            **overrides: Router fields that replace what the environment says.

        Returns:
            The router.
        """
        from polyvox.router.config import env_kwargs

        kwargs = env_kwargs(environ if environ is not None else os.environ, models=models)
        if deployments is not None:
            kwargs["deployments"] = deployments
        return cls(**{**kwargs, **overrides})


# ---- helpers ------------------------------------------------------------------------------------


def _with_id(answer: AIMessage) -> AIMessage:
    """The direct path's answer as langchain-core would return it (it has an id)."""
    if answer.id is None:
        answer.id = f"lc_run--{uuid4()}-0"
    return answer
