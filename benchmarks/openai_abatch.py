"""OpenAI chat, many calls at once: ``abatch`` of N requests at concurrency 16.

The baseline is what one would write without LangChain: ``asyncio.gather`` over
``AsyncOpenAI`` calls, limited by a semaphore of 16. The chat models run
``model.abatch(inputs, config={"max_concurrency": 16})``. Batches alternate between the
clients (rotating order), and the throughput of each is compared with the baseline's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from benchmarks.harness import (
    THROUGHPUT_COLUMNS,
    Context,
    Samples,
    Section,
    Target,
    interleave_async,
    register,
    throughput_rows,
)
from benchmarks.openai_clients import (
    CLIENTS,
    LANGCHAIN,
    MODEL,
    POLYVOX,
    RAW,
    langchain_model,
    polyvox_model,
    raw_async_client,
)

PROMPT = "What is the capital of France?"
CONCURRENCY = 16

Batch = Callable[[int], Awaitable[list[str]]]


def _batches(base_url: str) -> dict[str, Batch]:
    raw, pv, lc = raw_async_client(base_url), polyvox_model(base_url), langchain_model(base_url)
    messages = [{"role": "user", "content": PROMPT}]

    async def batch_raw(n: int) -> list[str]:
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one() -> str:
            async with limit:
                completion = await raw.chat.completions.create(model=MODEL, messages=messages)
            return str(completion.choices[0].message.content)

        return await asyncio.gather(*(one() for _ in range(n)))

    def batch_model(model: object) -> Batch:
        async def run(n: int) -> list[str]:
            config = {"max_concurrency": CONCURRENCY}
            out = await model.abatch([PROMPT] * n, config=config)  # type: ignore[attr-defined]
            return [str(m.content) for m in out]

        return run

    return {RAW: batch_raw, POLYVOX: batch_model(pv), LANGCHAIN: batch_model(lc)}


async def _measure(
    base_url: str, requests: int, rounds: int
) -> tuple[dict[str, Samples], dict[str, str]]:
    batches = _batches(base_url)
    # Warm-up: open every client's connections and load what loads lazily.
    replies: dict[str, list[str]] = {}
    failures: dict[str, str] = {}
    for name, batch in batches.items():
        try:
            replies[name] = await batch(2 * CONCURRENCY)
        except Exception as exc:
            failures[name] = f"{type(exc).__name__}: {exc}"
    if RAW in failures:
        raise RuntimeError(f"the baseline failed: {failures[RAW]}")
    if len({tuple(r) for r in replies.values()}) != 1:
        raise RuntimeError(f"the clients got different replies: {replies}")

    def full(batch: Batch) -> Callable[[], Awaitable[list[str]]]:
        return lambda: batch(requests)

    calls = {name: full(batch) for name, batch in batches.items() if name not in failures}
    return await interleave_async(calls, rounds=rounds, warmup=0), failures


@register(
    "openai.abatch",
    "abatch() throughput at concurrency 16 vs AsyncOpenAI",
    network=True,
    order=30,
)
def abatch(ctx: Context) -> Section:
    requests, rounds = ctx.scale(1000, 200), ctx.scale(5, 2)
    samples, failures = asyncio.run(_measure(ctx.openai_base_url(), requests, rounds))
    target = Target("ratio", ">=", 0.95, "≥ 0.95 x SDK")
    return Section(
        name="openai.abatch",
        title=f"{requests:,} requests at concurrency {CONCURRENCY}, throughput",
        columns=THROUGHPUT_COLUMNS,
        rows=throughput_rows(samples, RAW, requests, {POLYVOX: target}, failures, CLIENTS),
        setup=[
            f"{rounds} batches of {requests:,} per client, alternating (rotating order), "
            "after a warm-up batch of 32; non-streaming",
            f"baseline: asyncio.gather + Semaphore({CONCURRENCY}) over AsyncOpenAI; models: "
            f"abatch(inputs, config={{'max_concurrency': {CONCURRENCY}}})",
            ctx.server_note,
            "req/s = median over batches; ratio = req/s / SDK req/s; CPU = this process's "
            "CPU time per request"
            + (" (the server's is not in it)" if ctx.server == "subprocess" else " (server's too)"),
        ],
        notes=["issue's reference on its machine: langchain-openai reaches 0.83-0.88 x SDK"],
    )
