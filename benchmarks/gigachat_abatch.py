"""GigaChat chat, many calls at once: ``abatch`` of N requests at concurrency 16.

The baseline is what one would write without LangChain: ``asyncio.gather`` over the SDK's
``client.achat``, limited by a semaphore of 16. The chat models run
``model.abatch(inputs, config={"max_concurrency": 16})``. Batches alternate between the
clients (rotating order), and the throughput of each is compared with the baseline's.
"""

from __future__ import annotations

import asyncio

from benchmarks.gigachat_clients import (
    CLIENTS,
    LANGCHAIN,
    MODEL,
    POLYVOX,
    RAW,
    langchain_model,
    polyvox_model,
    raw_client,
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

PROMPT = "Какая столица Франции?"
CONCURRENCY = 16


def _batches(root: str) -> dict[str, Batch]:
    raw = raw_client(root)
    pv, lc = polyvox_model(root), langchain_model(root)
    payload = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}]}

    async def batch_raw(n: int) -> list[str]:
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one() -> str:
            async with limit:
                completion = await raw.achat(payload)
            return str(completion.choices[0].message.content)

        return await asyncio.gather(*(one() for _ in range(n)))

    return {
        RAW: batch_raw,
        POLYVOX: abatch_call(pv, PROMPT, CONCURRENCY),
        LANGCHAIN: abatch_call(lc, PROMPT, CONCURRENCY),
    }


@register(
    "gigachat.abatch",
    "abatch() throughput at concurrency 16 vs the gigachat SDK's achat",
    network=True,
    order=66,
)
def abatch(ctx: Context) -> Section:
    requests, rounds = ctx.scale(1000, 200), ctx.scale(5, 2)
    batches = _batches(ctx.emulator_url())
    samples, failures = asyncio.run(
        measure_batches(batches, RAW, requests=requests, rounds=rounds, warmup=2 * CONCURRENCY)
    )
    target = Target("ratio", ">=", 0.95, "≥ 0.95 x SDK")
    return Section(
        name="gigachat.abatch",
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
            "client.achat(payload) on one gigachat.GigaChat; models: "
            f"abatch(inputs, config={{'max_concurrency': {CONCURRENCY}}})",
        ),
        notes=[],
    )
