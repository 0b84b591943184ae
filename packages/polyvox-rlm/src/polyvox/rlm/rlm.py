"""``RecursiveLanguageModel``: a LangChain Runnable answering questions over very long inputs.

The Recursive Language Model of Zhang, Kraska and Khattab (arXiv 2512.24601): the long input
is never put in the root model's context. It is the variable ``context`` of a sandboxed,
persistent Python REPL; the root model writes code that inspects, searches and slices it and
calls models on the pieces (``llm_query``), concurrently (``llm_query_batched``) or as child
RLMs (``rlm_query``), until its code calls ``FINAL``. See :mod:`polyvox.rlm.loop` for the loop.

Example:
    .. code-block:: python

        rlm = RecursiveLanguageModel(root=ChatOpenAI(model="gpt-4o"),
                                     sub=ChatOpenAI(model="gpt-4o-mini"), max_time_s=600)
        result = rlm.invoke({"question": "Who is the murderer?", "context": book})
        result.answer, result.usage.total_cost_usd
        result.trajectory.save_html("run.html")
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig, RunnableSerializable, ensure_config
from pydantic import ConfigDict, Field

from polyvox.rlm.calls import RunState
from polyvox.rlm.errors import RLMError, RLMLimitError, TimeLimitError
from polyvox.rlm.inputs import PreparedContext, RLMInput, RLMResult, prepare_context
from polyvox.rlm.loop import DepthRun, ReplSession, execute
from polyvox.rlm.sandbox.limits import SandboxLimits
from polyvox.rlm.settings import RLMSettings

if TYPE_CHECKING:
    from polyvox.costs.catalog import ModelCatalog

__all__ = ["RecursiveLanguageModel"]


class RecursiveLanguageModel(RunnableSerializable[RLMInput | dict[str, Any], RLMResult]):
    """A Runnable that answers ``{"question", "context"}`` with a Recursive Language Model.

    Depths: the root model runs at depth 0; its ``llm_query`` sub-calls, and the root turns of
    a child RLM started by ``rlm_query``, are at depth 1; and so on. ``rlm_query`` at depth
    ``d`` starts a child RLM at ``d + 1`` only when ``d + 1 <= max_depth``, and is a plain
    sub-call otherwise; ``max_depth=0`` turns recursion off (``llm_query`` still works).

    Every model call is a child run of this Runnable's run, with the run's callbacks and
    metadata plus ``rlm_depth``, so ``polyvox.costs.tracking.CostCallbackHandler`` records each
    with the run's ``workspace_id``/``agent_id``. Limits apply to the whole call tree and raise
    :class:`~polyvox.rlm.errors.RLMLimitError` subclasses carrying the partial answer.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    root: BaseChatModel
    """The root model (depth 0): it writes the code."""
    sub: BaseChatModel | None = None
    """The model for every deeper call (``None``: the root model)."""
    models_by_depth: dict[int, BaseChatModel] = Field(default_factory=dict)
    """Models for given depths, overriding ``root``/``sub`` there."""
    max_depth: int = Field(default=1, ge=0)
    """Deepest child RLM ``rlm_query`` may start."""
    max_iterations: int = Field(default=20, ge=1)
    """Root-model turns per RLM (unless ``depth_settings`` says otherwise)."""
    max_output_chars: int = Field(default=20_000, ge=200)
    """REPL output shown to the root model per step."""
    subcall_concurrency: int = Field(default=8, ge=1)
    """Sub-calls of one RLM running at once."""
    depth_settings: dict[int, RLMSettings] = Field(default_factory=dict)
    """Loop settings for given depths (replacing the three fields above there)."""
    max_time_s: float | None = Field(default=None, gt=0)
    """Wall-clock limit of the whole run. At the limit, model calls in flight are stopped and
    the code waiting on them gets an error, so the partial answer can still be read from the
    REPL; code that is busy on its own is stopped a short grace later (a tenth of the limit,
    between 0.5 and 2 seconds)."""
    max_tokens: int | None = Field(default=None, gt=0)
    """Limit on input plus output tokens of every call in the tree."""
    max_cost_usd: Decimal | None = Field(default=None, gt=0)
    """Limit on the USD cost of the tree's priced calls (unpriced calls count as 0)."""
    sandbox_limits: SandboxLimits = Field(default_factory=SandboxLimits)
    """Limits of every REPL: per-cell timeout, memory, CPU, output, imports."""
    max_live_sandboxes: int = Field(default=8, ge=1)
    """Most REPL processes (the root's and every running child RLM's) one run may have alive
    at once. Past it, ``rlm_query`` starts no child: the calling code gets a
    :class:`~polyvox.rlm.errors.LiveSandboxLimitError` saying so, and the run goes on."""
    sandbox_factory: Callable[[PreparedContext, DepthRun], Awaitable[ReplSession]] | None = Field(
        default=None, exclude=True
    )
    """Starts a REPL for a context and a sub-call handler (``None``: the built-in sandbox)."""
    catalog: Any = Field(default=None, exclude=True)
    """The ``ModelCatalog`` prices come from (``None``: the default catalog)."""

    # ---- configuration read by the loop --------------------------------------------------

    def model_for(self, depth: int) -> BaseChatModel:
        """The model for calls at ``depth``.

        Args:
            depth: The depth.

        Returns:
            ``models_by_depth[depth]``, else ``root`` at depth 0 and ``sub`` (or ``root``)
            below.
        """
        if depth in self.models_by_depth:
            return self.models_by_depth[depth]
        if depth == 0:
            return self.root
        return self.sub if self.sub is not None else self.root

    def settings_for(self, depth: int) -> RLMSettings:
        """The loop settings of the RLM at ``depth``.

        Args:
            depth: The depth.

        Returns:
            ``depth_settings[depth]``, else settings from this object's fields.
        """
        found = self.depth_settings.get(depth)
        if found is not None:
            return found
        return RLMSettings(
            max_iterations=self.max_iterations,
            max_output_chars=self.max_output_chars,
            subcall_concurrency=self.subcall_concurrency,
        )

    async def start_sandbox(self, context: PreparedContext, handler: DepthRun) -> ReplSession:
        """Start a REPL holding ``context`` whose sub-calls go to ``handler``.

        Args:
            context: The context.
            handler: The RLM the REPL belongs to.

        Returns:
            The running REPL.
        """
        if self.sandbox_factory is not None:
            return await self.sandbox_factory(context, handler)
        from polyvox.rlm.sandbox import Sandbox

        return await Sandbox.start(
            context.sandbox_context,
            handler,
            limits=self.sandbox_limits,
            metadata=context.metadata,
        )

    @property
    def InputType(self) -> type[RLMInput]:  # noqa: N802 - LangChain's name
        """The input type: :class:`~polyvox.rlm.inputs.RLMInput` (a dict of it is accepted)."""
        return RLMInput

    @property
    def OutputType(self) -> type[RLMResult]:  # noqa: N802 - LangChain's name
        """The output type: :class:`~polyvox.rlm.inputs.RLMResult`."""
        return RLMResult

    # ---- running -------------------------------------------------------------------------

    async def ainvoke(
        self, input: RLMInput | dict[str, Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> RLMResult:
        """Answer the question over the context (native async).

        Args:
            input: ``{"question": str, "context": str | list[str] | list[Document]}``.
            config: The run's config: callbacks, metadata (``workspace_id``...), run name.
            **kwargs: Not used (accepted for LangChain compatibility).

        Returns:
            The answer, its trajectory, the usage of the call tree and the spans read.

        Raises:
            RLMLimitError: A limit stopped the run (``partial_answer``, ``trajectory`` and
                ``usage`` are set).
            RLMError: Bad input, or the sandbox could not start.
        """
        question, context = _read_input(input)
        config = ensure_config(config)
        state = RunState(
            max_time_s=self.max_time_s,
            max_tokens=self.max_tokens,
            max_cost_usd=self.max_cost_usd,
            catalog=cast("ModelCatalog | None", self.catalog),
            max_live_sandboxes=self.max_live_sandboxes,
        )
        run = DepthRun(self, state, 0, question, context)
        name = config.get("run_name") or self.get_name()
        try:
            async with asyncio.timeout(_hard_deadline(self.max_time_s)):
                trajectory = await execute(run, config, name=name)
        except TimeoutError as exc:
            remaining = state.remaining_time()
            if remaining is None or remaining > 0.05:
                raise  # not our clock: some other timeout
            error = state.tripped if isinstance(state.tripped, TimeLimitError) else None
            error = error or state.time_error()
            run.trajectory.stopped = error.limit_name
            error.partial_answer = run.partial_answer() or error.partial_answer
            error.trajectory = run.trajectory
            error.usage = state.accountant.report()
            raise error from exc
        except RLMLimitError as exc:
            exc.usage = state.accountant.report()
            raise
        return RLMResult(
            answer=trajectory.answer or "",
            trajectory=trajectory,
            usage=state.accountant.report(),
            read_spans=list(trajectory.read_spans),
            context=context,
        )

    def invoke(
        self, input: RLMInput | dict[str, Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> RLMResult:
        """Answer synchronously: the async core on a private event loop in a worker thread.

        The RLM is asynchronous by nature: the sandbox's REPL process is driven over pipes
        while its code's sub-calls run concurrently. ``invoke`` therefore runs
        :meth:`ainvoke` with ``asyncio.run`` in a thread of its own, rather than in the
        caller's thread, because the caller may already be inside a running event loop (a
        notebook, an async web framework calling sync code), where ``asyncio.run`` refuses to
        start. The caller's context variables (LangChain's tracing context) are copied into
        that thread, so callbacks and parent runs behave as in a direct call.

        Args:
            input: ``{"question": ..., "context": ...}``.
            config: The run's config.
            **kwargs: Not used.

        Returns:
            The result, as :meth:`ainvoke`.
        """
        context = contextvars.copy_context()

        def run() -> RLMResult:
            return asyncio.run(self.ainvoke(input, config, **kwargs))

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="polyvox-rlm") as pool:
            return pool.submit(context.run, run).result()


def _hard_deadline(max_time_s: float | None) -> float | None:
    """When the run is cancelled outright: the limit plus the grace for the partial answer."""
    if max_time_s is None:
        return None
    return max_time_s + min(2.0, max(0.5, max_time_s / 10))


def _read_input(value: RLMInput | Mapping[str, Any]) -> tuple[str, PreparedContext]:
    if isinstance(value, RLMInput):
        data = value
    elif isinstance(value, Mapping):
        missing = {"question", "context"} - set(value)
        if missing:
            raise RLMError(
                f"the RLM input needs 'question' and 'context'; missing {sorted(missing)}"
            )
        data = RLMInput.model_validate(dict(value))
    else:
        raise RLMError(
            "the RLM input is {'question': str, 'context': str | list[str] | list[Document]}, "
            f"not {type(value).__name__}"
        )
    return data.question, prepare_context(data.context)
