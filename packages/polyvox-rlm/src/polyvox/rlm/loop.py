"""The RLM loop at one depth, and the sub-calls its REPL code makes.

:class:`DepthRun` runs one RLM: it starts a sandbox holding the context, asks the root
model for code, runs every ``repl`` block in order, and sends the (cut) output back, until
a block's code calls ``FINAL``/``FINAL_VAR`` (the answer is taken from the sandbox's
:attr:`CellResult.final`, never from the model's text) or a limit stops it. It is also the
sandbox's sub-call handler: ``llm_query`` and ``llm_query_batched`` call the sub-model of the
next depth (batched prompts concurrently, at most ``subcall_concurrency`` at a time), and
``rlm_query`` starts a child :class:`DepthRun` with its own sandbox one depth down, or makes a
plain sub-call where ``max_depth`` allows no deeper RLM.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.callbacks import AsyncCallbackManagerForChainRun
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import get_async_callback_manager_for_config, patch_config

from polyvox.rlm.calls import PREVIEW_CHARS, RunState, call_model
from polyvox.rlm.errors import IterationLimitError, RLMError, RLMLimitError
from polyvox.rlm.inputs import PreparedContext, prepare_context
from polyvox.rlm.parsing import mentions_final, parse_reply
from polyvox.rlm.prompts import (
    ContextInfo,
    continue_message,
    feedback_message,
    first_message,
    no_code_message,
    plain_subcall_prompt,
    prose_final_note,
    refused_final_note,
    skipped_blocks_note,
    system_prompt,
)
from polyvox.rlm.sandbox.isolation import SandboxReport
from polyvox.rlm.trajectory import CallKind, CellOutcome, Step, SubCall, Trajectory, merge_spans

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from polyvox.rlm.settings import RLMSettings

__all__ = ["CellResultLike", "DepthRun", "ReplSession", "RunPlan", "SandboxFactory", "execute"]

_PROBE_TIMEOUT_S = 2.0
_CHARS_PER_TOKEN = 3  # a low estimate (most tokenizers average nearer four): errs on safety


class CellResultLike(Protocol):
    """What the loop reads of a sandbox cell's result (``polyvox.rlm.sandbox.CellResult``)."""

    @property
    def output(self) -> str:
        """Captured output."""

    @property
    def error(self) -> str | None:
        """The error, if the cell failed."""

    @property
    def truncated(self) -> bool:
        """Whether the output was cut."""

    @property
    def timed_out(self) -> bool:
        """Whether the cell hit its time limit."""

    @property
    def duration_s(self) -> float:
        """Wall time."""

    @property
    def final(self) -> str | None:
        """The answer given by FINAL/FINAL_VAR in code that ran."""

    @property
    def reads(self) -> tuple[tuple[int, int], ...]:
        """Spans of ``context`` read."""

    @property
    def restored(self) -> tuple[str, ...]:
        """Protected names restored."""


class ReplSession(Protocol):
    """A running REPL (``polyvox.rlm.sandbox.Sandbox``)."""

    async def run(self, code: str) -> CellResultLike:
        """Run one cell."""

    async def show_vars(self) -> dict[str, str]:
        """The user's variables."""

    async def get_var(self, name: str) -> str | None:
        """``str()`` of one variable, read without running a cell (``None``: no such one)."""

    async def close(self) -> None:
        """Stop the REPL."""


SandboxFactory = Callable[[PreparedContext, "DepthRun"], Awaitable[ReplSession]]
"""Starts a REPL holding a context, with a handler for its sub-calls."""


class RunPlan(Protocol):
    """What the loop needs from the RLM's configuration."""

    max_depth: int
    """Deepest child RLM allowed."""

    def model_for(self, depth: int) -> BaseChatModel:
        """The model for calls at ``depth``."""

    def settings_for(self, depth: int) -> RLMSettings:
        """The loop settings of the RLM at ``depth``."""

    async def start_sandbox(self, context: PreparedContext, handler: DepthRun) -> ReplSession:
        """Start a REPL for an RLM."""


class DepthRun:
    """One RLM at one depth; also the sub-call handler of its sandbox."""

    def __init__(
        self,
        plan: RunPlan,
        state: RunState,
        depth: int,
        question: str,
        context: PreparedContext,
    ) -> None:
        """Prepare the run (nothing starts until :meth:`run`).

        Args:
            plan: The RLM's configuration.
            state: The shared state of the whole call tree.
            depth: This RLM's depth.
            question: Its question.
            context: Its context.
        """
        self.plan = plan
        self.state = state
        self.depth = depth
        self.question = question
        self.context = context
        self.settings = plan.settings_for(depth)
        self.model = plan.model_for(depth)
        self.config: RunnableConfig = {}
        self.trajectory = Trajectory(
            question=question,
            context_chars=len(context.text),
            depth=depth,
            model=_model_name(self.model),
            documents=context.documents,
        )
        self._semaphore = asyncio.Semaphore(self.settings.subcall_concurrency)
        self._step: Step | None = None
        self._answer_var: str | None = None
        self._last_response: str | None = None

    # ---- the loop -----------------------------------------------------------------------

    def partial_answer(self) -> str:
        """The best answer so far: ``answer`` in the REPL, else the last sub-call's reply."""
        if self._answer_var is not None:
            return self._answer_var
        return self._last_response or ""

    async def run(self, config: RunnableConfig) -> Trajectory:
        """Run the loop until code gives a final answer.

        Args:
            config: The config of this RLM's own LangChain run (model calls become children).

        Returns:
            The trajectory, with :attr:`Trajectory.answer` set.

        Raises:
            RLMLimitError: A limit stopped the run (with the partial answer and trajectory).
        """
        self.config = config
        started = time.perf_counter()
        try:
            self.state.open_sandbox(self.depth)
        except RLMError as exc:
            self.trajectory.stopped = str(exc)
            raise
        try:
            sandbox = await self.plan.start_sandbox(self.context, self)
        except BaseException as exc:
            self.state.close_sandbox()
            if isinstance(exc, RLMLimitError) or not isinstance(exc, Exception):
                raise
            raise RLMError(f"could not start the REPL sandbox: {exc}") from exc
        report = getattr(sandbox, "report", None)
        if isinstance(report, SandboxReport):
            self.trajectory.sandbox = report
        try:
            await self._loop(sandbox)
        except RLMLimitError as exc:
            await self._probe_answer(sandbox)  # the code may have set `answer` in this step
            self._stop(exc)
            raise
        except asyncio.CancelledError:
            self.trajectory.stopped = "cancelled"
            raise
        except BaseException as exc:
            self.trajectory.stopped = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self.trajectory.duration_s = time.perf_counter() - started
            self._finish_reads()
            try:
                await sandbox.close()
            finally:
                self.state.close_sandbox()
        return self.trajectory

    async def _loop(self, sandbox: ReplSession) -> None:
        info = ContextInfo(
            chars=len(self.context.text),
            documents=self.context.documents,
            depth=self.depth,
            can_recurse=self.depth + 1 <= self.plan.max_depth,
            max_iterations=self.settings.max_iterations,
            max_output_chars=self.settings.max_output_chars,
            subcall_concurrency=self.settings.subcall_concurrency,
            subcall_chars=_prompt_chars(self.plan.model_for(self.depth + 1), self.state),
        )
        messages: list[BaseMessage] = [
            SystemMessage(system_prompt(info, self.settings.instructions)),
            HumanMessage(first_message(self.question, info)),
        ]
        limit = self.settings.max_iterations
        for iteration in range(1, limit + 1):
            step = Step(depth=self.depth, iteration=iteration)
            self.trajectory.steps.append(step)
            self._step = step
            began = time.perf_counter()
            text, call = await call_model(
                self.state, self.model, messages, kind="root", depth=self.depth, config=self.config
            )
            step.root_call, step.model_text = call, text
            feedback = await self._take_step(sandbox, step, text, limit - iteration)
            step.duration_s = time.perf_counter() - began
            if step.final is not None:
                self.trajectory.answer = step.final
                return
            step.feedback = feedback
            messages += [AIMessage(text), HumanMessage(feedback)]
        raise IterationLimitError(
            f"the root model at depth {self.depth} used its {limit} iterations without a final "
            "answer from code",
            limit=limit,
            used=limit,
        )

    async def _take_step(self, sandbox: ReplSession, step: Step, text: str, left: int) -> str:
        parsed = parse_reply(text)
        step.code_blocks = list(parsed.code_blocks)
        if not parsed.code_blocks:
            message = no_code_message(parsed.final_in_prose)
            step.notes.append(message)
            return message + "\n\n" + continue_message(left)
        for index, code in enumerate(parsed.code_blocks, 1):
            result = await sandbox.run(code)
            step.results.append(_outcome(code, result))
            self.state.check()  # a limit passed by the block's sub-calls stops the run here
            if result.final is not None:
                step.final = result.final
                if index < len(parsed.code_blocks):
                    step.notes.append(skipped_blocks_note(index + 1, len(parsed.code_blocks)))
                return ""
            if result.error and mentions_final(code):
                step.notes.append(refused_final_note(index, result.error))
        if parsed.final_in_prose:
            step.notes.append(prose_final_note())
        await self._probe_answer(sandbox)
        return feedback_message(step.results, step.notes, self.settings.max_output_chars, left)

    async def _probe_answer(self, sandbox: ReplSession) -> None:
        """Keep the REPL's ``answer`` variable, the partial answer should a limit stop the run."""
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT_S):
                value = await sandbox.get_var("answer")
        except Exception:  # best effort: a broken or busy REPL shows in the next step
            return
        if value is not None:
            self._answer_var = value

    def _stop(self, error: RLMLimitError) -> None:
        self.trajectory.stopped = error.limit_name
        if self.depth == 0 or not error.partial_answer:
            # the innermost RLM sets the partial answer; the root's replaces a child's, since
            # the root's variables are what the question's answer is built from
            error.partial_answer = self.partial_answer() or error.partial_answer
        if error.trajectory is None or self.depth < error.trajectory.depth:
            error.trajectory = self.trajectory

    def _finish_reads(self) -> None:
        results = [r for step in self.trajectory.steps for r in step.results]
        spans = [span for result in results for span in result["reads"]]
        self.trajectory.read_spans = merge_spans(spans)

    # ---- the sandbox's sub-call handler ----------------------------------------------------

    async def llm_query(self, prompt: str) -> str:
        """Ask the next depth's model one prompt.

        Args:
            prompt: The prompt.

        Returns:
            The reply's text.
        """
        return await self._subcall(prompt, "llm_query")

    async def llm_query_batched(self, prompts: list[str]) -> list[str]:
        """Ask the next depth's model several prompts concurrently (bounded).

        Args:
            prompts: The prompts.

        Returns:
            The replies, in the prompts' order.

        Raises:
            Exception: The first failure, once every prompt has finished.
        """
        replies = await asyncio.gather(
            *(self._subcall(str(p), "llm_query") for p in prompts), return_exceptions=True
        )
        for reply in replies:
            if isinstance(reply, BaseException):
                raise reply
        return [str(r) for r in replies]

    async def rlm_query(self, prompt: str, context: str | None = None) -> str:
        """Answer with a child RLM one depth down, or a plain sub-call at ``max_depth``.

        Args:
            prompt: The child's question.
            context: The child's context (the prompt itself when ``None``).

        Returns:
            The child's answer (its partial answer if it ran out of iterations).
        """
        child_depth = self.depth + 1
        if child_depth > self.plan.max_depth:
            return await self._subcall(plain_subcall_prompt(prompt, context), "rlm_query")
        step = self._current_step()
        child = DepthRun(
            self.plan, self.state, child_depth, prompt, prepare_context(context or prompt)
        )
        index = len(self.trajectory.children)
        self.trajectory.children.append(child.trajectory)
        started = time.perf_counter()
        async with self._semaphore:
            try:
                trajectory = await execute(child, self.config, name=f"RLM depth {child_depth}")
                answer = trajectory.answer or ""
            except IterationLimitError as exc:  # the child's own limit: its best effort counts
                trajectory, answer = child.trajectory, exc.partial_answer
        calls = list(trajectory.calls())
        step.subcalls.append(
            SubCall(
                kind="rlm_query",
                depth=child_depth,
                model=trajectory.model,
                prompt_chars=len(prompt) + len(context or ""),
                response_chars=len(answer),
                input_tokens=sum(c.input_tokens for c in calls),
                output_tokens=sum(c.output_tokens for c in calls),
                cost_usd=trajectory.total_cost_usd,
                currency="USD" if trajectory.total_cost_usd is not None else None,
                cost=trajectory.total_cost_usd,
                latency_s=time.perf_counter() - started,
                prompt_preview=prompt[:PREVIEW_CHARS],
                response_preview=answer[:PREVIEW_CHARS],
                error=None if trajectory.answer is not None else trajectory.stopped,
                child=index,
            )
        )
        self._last_response = answer
        return answer

    async def _subcall(self, prompt: str, kind: CallKind) -> str:
        step = self._current_step()
        async with self._semaphore:
            text, _ = await call_model(
                self.state,
                self.plan.model_for(self.depth + 1),
                [HumanMessage(prompt)],
                kind=kind,
                depth=self.depth + 1,
                config=self.config,
                sink=step.subcalls,
            )
        self._last_response = text
        return text

    def _current_step(self) -> Step:
        if self._step is None:  # pragma: no cover - the sandbox calls only while a step runs
            raise RLMError("a sub-call arrived before the first step")
        return self._step


async def execute(run: DepthRun, config: RunnableConfig, *, name: str) -> Trajectory:
    """Run an RLM as its own LangChain chain run (a child of ``config``'s run).

    Args:
        run: The RLM to run.
        config: The parent's config.
        name: The chain run's name.

    Returns:
        Its trajectory, answered.
    """
    manager = get_async_callback_manager_for_config(config)
    inputs: dict[str, Any] = {
        "question": run.question,
        "context_chars": len(run.context.text),
        "documents": run.context.documents,
        "rlm_depth": run.depth,
    }
    chain: AsyncCallbackManagerForChainRun = await manager.on_chain_start(
        None, inputs, name=name, run_id=config.get("run_id")
    )
    child_config = patch_config(config, callbacks=chain.get_child())
    try:
        trajectory = await run.run(child_config)
    except BaseException as exc:
        await chain.on_chain_error(exc)
        raise
    await chain.on_chain_end({"answer": trajectory.answer})
    return trajectory


def _outcome(code: str, result: CellResultLike) -> CellOutcome:
    return CellOutcome(
        code=code,
        output=result.output,
        error=result.error,
        truncated=result.truncated,
        timed_out=result.timed_out,
        duration_s=result.duration_s,
        final=result.final,
        reads=[(int(a), int(b)) for a, b in result.reads],
        restored=list(result.restored),
    )


def _prompt_chars(model: BaseChatModel, state: RunState) -> int:
    """About how many characters fit a model's window, leaving a fifth for its answer."""
    from polyvox.rlm.windows import context_window_of

    window = context_window_of(model, state.catalog)
    return int(window * 0.8) * _CHARS_PER_TOKEN


def _model_name(model: BaseChatModel) -> str:
    from polyvox.rlm.accounting import model_identity

    return model_identity(model)[1]
