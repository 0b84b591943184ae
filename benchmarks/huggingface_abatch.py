"""Hugging Face chat, many calls at once: ``abatch`` of N requests at concurrency 16.

The baseline is what one would write without LangChain: ``asyncio.gather`` over the SDK's
``AsyncInferenceClient.chat_completion``, limited by a semaphore of 16. The chat model runs
``model.abatch(inputs, config={"max_concurrency": 16})``. Batches alternate between the
clients, and polyvox's throughput is compared with the baseline's.
"""

from __future__ import annotations

import asyncio

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
from benchmarks.huggingface_clients import (
    CLIENTS,
    MODEL,
    POLYVOX,
    RAW,
    polyvox_model,
    raw_async_client,
    router_url,
)

PROMPT = "What is the capital of France?"
CONCURRENCY = 16


def _batches(base_url: str) -> dict[str, Batch]:
    raw = raw_async_client(base_url)
    pv = polyvox_model(base_url)
    messages = [{"role": "user", "content": PROMPT}]

    async def batch_raw(n: int) -> list[str]:
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one() -> str:
            async with limit:
                output = await raw.chat_completion(messages=messages, model=MODEL)
            return str(output.choices[0].message.content)

        return await asyncio.gather(*(one() for _ in range(n)))

    return {RAW: batch_raw, POLYVOX: abatch_call(pv, PROMPT, CONCURRENCY)}


@register(
    "huggingface.abatch",
    "abatch() throughput at concurrency 16 vs the huggingface_hub AsyncInferenceClient",
    network=True,
    order=72,
)
def abatch(ctx: Context) -> Section:
    requests, rounds = ctx.scale(1000, 200), ctx.scale(5, 2)
    batches = _batches(router_url(ctx.emulator_url()))
    samples, failures = asyncio.run(
        measure_batches(batches, RAW, requests=requests, rounds=rounds, warmup=2 * CONCURRENCY)
    )
    target = Target("ratio", ">=", 0.95, "≥ 0.95 x SDK")
    return Section(
        name="huggingface.abatch",
        title=f"{requests:,} requests at concurrency {CONCURRENCY}, throughput",
        columns=THROUGHPUT_COLUMNS,
        rows=throughput_rows(samples, RAW, requests, {POLYVOX: target}, failures, CLIENTS),
        setup=throughput_setup(
            ctx,
            rounds=rounds,
            requests=requests,
            warmup=2 * CONCURRENCY,
            baseline="SDK",
            how=f"baseline: asyncio.gather + Semaphore({CONCURRENCY}) over "
            "AsyncInferenceClient.chat_completion; model: "
            f"abatch(inputs, config={{'max_concurrency': {CONCURRENCY}}})",
        ),
        notes=[],
    )
