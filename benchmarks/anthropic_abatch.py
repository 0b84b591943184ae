"""Anthropic chat, many calls at once: ``abatch`` of N requests at concurrency 16.

The baseline is what one would write without LangChain: ``asyncio.gather`` over
``AsyncAnthropic`` calls, limited by a semaphore of 16. The chat models run
``model.abatch(inputs, config={"max_concurrency": 16})``. Batches alternate between the
clients (rotating order), and the throughput of each is compared with the baseline's.
"""

from __future__ import annotations

import asyncio

from benchmarks.anthropic_clients import (
    CLIENTS,
    LANGCHAIN,
    MAX_TOKENS,
    MODEL,
    POLYVOX,
    RAW,
    langchain_model,
    polyvox_model,
    raw_async_client,
)
from benchmarks.harness import (
    THROUGHPUT_COLUMNS,
    Batch,
    Context,
    Section,
    Target,
    measure_batches,
    register,
    throughput_rows,
    throughput_setup,
)
from benchmarks.harness.langchain_calls import abatch_call

PROMPT = "What is the capital of France?"
CONCURRENCY = 16


def _batches(base_url: str) -> dict[str, Batch]:
    raw, pv, lc = raw_async_client(base_url), polyvox_model(base_url), langchain_model(base_url)
    messages = [{"role": "user", "content": PROMPT}]

    async def batch_raw(n: int) -> list[str]:
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one() -> str:
            async with limit:
                message = await raw.messages.create(
                    model=MODEL, max_tokens=MAX_TOKENS, messages=messages
                )
            return "".join(block.text for block in message.content if block.type == "text")

        return await asyncio.gather(*(one() for _ in range(n)))

    return {
        RAW: batch_raw,
        POLYVOX: abatch_call(pv, PROMPT, CONCURRENCY),
        LANGCHAIN: abatch_call(lc, PROMPT, CONCURRENCY),
    }


@register(
    "anthropic.abatch",
    "abatch() throughput at concurrency 16 vs AsyncAnthropic",
    network=True,
    order=56,
)
def abatch(ctx: Context) -> Section:
    requests, rounds = ctx.scale(1000, 200), ctx.scale(5, 2)
    batches = _batches(ctx.anthropic_base_url())
    samples, failures = asyncio.run(
        measure_batches(batches, RAW, requests=requests, rounds=rounds, warmup=2 * CONCURRENCY)
    )
    target = Target("ratio", ">=", 0.95, "≥ 0.95 x SDK")
    return Section(
        name="anthropic.abatch",
        title=f"{requests:,} requests at concurrency {CONCURRENCY}, throughput",
        columns=THROUGHPUT_COLUMNS,
        rows=throughput_rows(samples, RAW, requests, {POLYVOX: target}, failures, CLIENTS),
        setup=throughput_setup(
            ctx,
            rounds=rounds,
            requests=requests,
            warmup=2 * CONCURRENCY,
            baseline="SDK",
            how=f"baseline: asyncio.gather + Semaphore({CONCURRENCY}) over AsyncAnthropic; "
            f"models: abatch(inputs, config={{'max_concurrency': {CONCURRENCY}}})",
        ),
    )
