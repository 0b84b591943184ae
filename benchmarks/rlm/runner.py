"""Running the comparison: every task x size x method, measured the same way.

:class:`Models` says which chat models play the root and the sub-model: the scripted root
and the oracle (the default), or one real OpenAI-compatible model for both
(:func:`real_models`). :func:`run_method` measures one method on one task;
:func:`run_all` goes through the grid, one run at a time (so wall times are not shared).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from langchain_core.language_models import BaseChatModel

from benchmarks.rlm.baselines import Outcome, direct, load_llamaindex, tree_summarize
from benchmarks.rlm.generators import FAMILIES, Family, Task, generate
from benchmarks.rlm.measure import (
    CallRecorder,
    Measurement,
    by_depth,
    price_calls,
    tree_levels,
    tree_reads,
)
from benchmarks.rlm.oracle import OracleChatModel
from benchmarks.rlm.scripted import MODES, ChildModel, ScriptedRootModel
from benchmarks.rlm.world import tokens_of

__all__ = [
    "METHODS",
    "Models",
    "RunOptions",
    "real_models",
    "run_all",
    "run_method",
    "scripted_models",
]

METHODS: Final = ("direct", "tree_summarize", "rlm_d0", "rlm_d1", "rlm_d2")
"""Every method, in the order the report lists them."""
METHOD_TITLES: Final = {
    "direct": "direct call",
    "tree_summarize": "LlamaIndex tree_summarize",
    "rlm_d0": "RLM depth 0",
    "rlm_d1": "RLM depth 1",
    "rlm_d2": "RLM depth 2",
}
"""How the report names each method."""


@dataclass
class Models:
    """Makes the root and sub-models for one run (fresh instances, so callbacks are per run)."""

    root: Callable[[int], BaseChatModel]
    """The root model for an RLM of the given depth mode (0, 1, 2)."""
    sub: Callable[[int | None], BaseChatModel]
    """The model below the root for a depth mode, or (``None``) the baselines' model."""
    description: str
    """One line for the report."""
    scripted: bool = True
    """Whether the root is scripted (the report then says what that measures)."""
    max_iterations: int = 8
    """Root turns per RLM."""


def scripted_models(
    *,
    chunk_chars: int = 16_000,
    fanout: int = 4,
    oracle: dict[str, Any] | None = None,
    root_latency_s: float = 0.02,
    priced_as: str = "gpt-4o-mini",
) -> Models:
    """The scripted root models and the oracle sub-model.

    Args:
        chunk_chars: Characters of context per sub-call.
        fanout: Big parts per recursive step.
        oracle: Fields of :class:`OracleChatModel` (window, loss, latency).
        root_latency_s: Simulated seconds per root turn.
        priced_as: The model both are priced as.

    Returns:
        The factories.
    """
    settings = {"priced_as": priced_as, **(oracle or {})}
    sample = OracleChatModel(**settings)

    def root(depth: int) -> ScriptedRootModel:
        return ScriptedRootModel(
            mode=MODES[depth],
            chunk_chars=chunk_chars,
            fanout=fanout,
            latency_s=root_latency_s,
            priced_as=priced_as,
        )

    def sub(depth: int | None) -> BaseChatModel:
        if depth is not None and depth >= 2:  # child RLMs need a model that writes code
            return ChildModel(coder=root(depth), reader=OracleChatModel(**settings))
        return OracleChatModel(**settings)

    return Models(
        root=root,
        sub=sub,
        description=(
            f"scripted root models (fixed strategies, {chunk_chars:,}-character chunks) and the "
            f"oracle sub-model (window {sample.context_window:,} tokens, exact up to "
            f"{sample.reliable_tokens:,}, missing up to {sample.max_loss:.0%} of what it reads "
            f"at the full window; {sample.latency_s * 1000:.0f} ms + "
            f"{sample.latency_per_1k_s * 1000:.0f} ms per 1K input tokens per call); "
            f"every call priced as {priced_as}"
        ),
    )


def real_models(base_url: str, model: str, api_key_env: str | None = None) -> Models:
    """One real OpenAI-compatible model as root and sub-model.

    Args:
        base_url: The server's base URL (``http://localhost:8000/v1``).
        model: The model name the server knows.
        api_key_env: The environment variable holding the key (none: a placeholder key,
            for local servers that need none).

    Returns:
        The factories.

    Raises:
        KeyError: When ``api_key_env`` is not set.
    """
    from polyvox.openai import ChatOpenAI

    key = os.environ[api_key_env] if api_key_env else "not-needed"

    def make(_: int | None = 0) -> BaseChatModel:
        return ChatOpenAI(model=model, base_url=base_url, api_key=key, max_retries=2)

    return Models(
        root=make,
        sub=make,
        description=f"{model} at {base_url} as root and sub-model",
        scripted=False,
        max_iterations=20,
    )


@dataclass
class RunOptions:
    """What to run."""

    sizes: Sequence[int]
    """Context sizes in tokens."""
    families: Sequence[Family] = FAMILIES
    """Task families."""
    methods: Sequence[str] = METHODS
    """Methods."""
    seeds: Sequence[int] = (0,)
    """Seeds (one task per family, size and seed)."""
    chunk_chars: int = 16_000
    """Characters of context per sub-call and per tree_summarize leaf."""
    concurrency: int = 8
    """Concurrent sub-calls of one RLM."""
    max_time_s: float = 300.0
    """Wall-clock limit of one RLM run."""
    trajectories: Path | None = None
    """A JSON-lines file to append every RLM trajectory to."""
    progress: Callable[[Measurement], None] | None = field(default=None, repr=False)
    """Called after each run."""


async def run_method(task: Task, method: str, models: Models, options: RunOptions) -> Measurement:
    """Run one method on one task and measure it.

    Args:
        task: The task.
        method: One of :data:`METHODS`.
        models: The models.
        options: Chunk size, concurrency, limits.

    Returns:
        The measurement.
    """
    recorder = CallRecorder()
    depth = int(method.removeprefix("rlm_d")) if method.startswith("rlm_d") else None
    sub = models.sub(depth)
    sub.callbacks = [recorder]
    started = time.perf_counter()
    if method == "direct":
        outcome = await direct(task, sub)
    elif method == "tree_summarize":
        outcome = await tree_summarize(task, sub, chunk_chars=options.chunk_chars)
    elif depth is not None:
        root = models.root(depth)
        root.callbacks = [recorder]
        outcome = await _rlm(task, root, sub, depth, models, options)
    else:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    wall = time.perf_counter() - started
    calls = list(recorder.calls)
    counts, tokens = by_depth(calls)
    if depth is None:  # a baseline's calls are all made at the top
        tops = [c.input_tokens for c in calls]
    else:
        tops = [c.input_tokens for c in calls if c.role == "root" and c.depth in (0, None)]
    peak = max(tops, default=None)
    if outcome.peak_prompt_tokens is not None:
        peak = max(peak or 0, outcome.peak_prompt_tokens)
    cost = price_calls(calls)
    return Measurement(
        family=task.family,
        size_tokens=task.size_tokens,
        seed=task.seed,
        method=method,
        metric=task.metric,
        score=task.score(outcome.answer),
        answer=outcome.answer[:200],
        gold=task.gold[:200],
        context_tokens=tokens_of(task.chars),
        calls=len(calls),
        calls_by_depth=dict(counts),
        tree_levels=tree_levels(calls) if method == "tree_summarize" else [],
        input_tokens=sum(c.input_tokens for c in calls),
        output_tokens=sum(c.output_tokens for c in calls),
        tokens_by_depth=dict(tokens),
        peak_root_tokens=peak,
        cost_usd=float(cost) if cost is not None else None,
        wall_s=wall,
        serial_s=sum(c.model_seconds for c in calls),
        context_read=outcome.context_read,
        note=outcome.note,
    )


async def _rlm(
    task: Task,
    root: BaseChatModel,
    sub: BaseChatModel,
    depth: int,
    models: Models,
    options: RunOptions,
) -> Outcome:
    """Run the RLM at ``depth`` (``max_depth``) with ``root`` and ``sub``."""
    from polyvox.rlm.errors import RLMError, RLMLimitError
    from polyvox.rlm.rlm import RecursiveLanguageModel

    rlm = RecursiveLanguageModel(
        root=root,
        sub=sub,
        max_depth=depth,
        max_iterations=models.max_iterations,
        subcall_concurrency=options.concurrency,
        max_time_s=options.max_time_s,
    )
    try:
        result = await rlm.ainvoke({"question": task.question, "context": task.context})
    except RLMLimitError as exc:
        trajectory = exc.trajectory
        if options.trajectories is not None and trajectory is not None:
            trajectory.to_jsonl(options.trajectories, append=True)
        return Outcome(exc.partial_answer, f"{exc.limit_name}: {exc}")
    except RLMError as exc:
        return Outcome("", f"error: {exc}")
    if options.trajectories is not None:
        result.trajectory.to_jsonl(options.trajectories, append=True)
    chars = result.trajectory.context_chars or task.chars
    read = sum(b - a for a, b in tree_reads(result.trajectory))
    return Outcome(result.answer, "", min(read / chars, 1.0) if chars else None)


def grid(options: RunOptions) -> Iterator[tuple[Family, int, int]]:
    """The (family, size, seed) of every task, smallest sizes first."""
    for size in options.sizes:
        for family in options.families:
            for seed in options.seeds:
                yield family, size, seed


async def run_all(models: Models, options: RunOptions) -> list[Measurement]:
    """Run every method on every task, one at a time.

    Args:
        models: The models.
        options: What to run.

    Returns:
        The measurements, in grid order.
    """
    rows: list[Measurement] = []
    if "tree_summarize" in options.methods:
        load_llamaindex()
    for family, size, seed in grid(options):
        task = generate(family, size, seed)
        for method in options.methods:
            try:
                row = await run_method(task, method, models, options)
            except Exception as exc:  # one failed run (a server error...) must not lose the rest
                row = Measurement(
                    family=task.family,
                    size_tokens=task.size_tokens,
                    seed=task.seed,
                    method=method,
                    metric=task.metric,
                    score=0.0,
                    answer="",
                    gold=task.gold[:200],
                    context_tokens=tokens_of(task.chars),
                    note=f"FAILED: {type(exc).__name__}: {exc}",
                )
            rows.append(row)
            if options.progress is not None:
                options.progress(row)
    return rows
