"""Ollama chat, many calls at once: ``abatch`` of N requests at concurrency 16.

The baseline is what one would write without LangChain: ``asyncio.gather`` over
``ollama.AsyncClient`` calls, limited by a semaphore of 16. The chat models run
``model.abatch(inputs, config={"max_concurrency": 16})``. Batches alternate between the
clients (rotating order), and the throughput of each is compared with the baseline's.
As in ``ollama.invoke``, langchain-ollama's calls are streamed on the wire (its
``_agenerate`` aggregates a stream); the others send one-body requests.
"""

from __future__ import annotations

import asyncio

from benchmarks.harness import (
    THROUGHPUT_COLUMNS,
    Batch,
    Context,
    Section,
    measure_batches,
    register,
    throughput_rows,
    throughput_setup,
)
from benchmarks.harness.langchain_calls import abatch_call
from benchmarks.ollama_chat import NO_TARGET
from benchmarks.ollama_clients import (
    CLIENTS,
    LANGCHAIN,
    MODEL,
    OPTIONS,
    POLYVOX,
    RAW,
    langchain_model,
    polyvox_model,
    raw_async_client,
)

PROMPT = "What is the capital of France?"
CONCURRENCY = 16


def _batches(host: str) -> dict[str, Batch]:
    raw, pv, lc = raw_async_client(host), polyvox_model(host), langchain_model(host)
    messages = [{"role": "user", "content": PROMPT}]

    async def batch_raw(n: int) -> list[str]:
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one() -> str:
            async with limit:
                response = await raw.chat(model=MODEL, messages=messages, options=OPTIONS)
            return str(response.message.content)

        return await asyncio.gather(*(one() for _ in range(n)))

    return {
        RAW: batch_raw,
        POLYVOX: abatch_call(pv, PROMPT, CONCURRENCY),
        LANGCHAIN: abatch_call(lc, PROMPT, CONCURRENCY),
    }


@register(
    "ollama.abatch",
    "abatch() throughput at concurrency 16 vs ollama.AsyncClient",
    network=True,
    order=52,
)
def abatch(ctx: Context) -> Section:
    requests, rounds = ctx.scale(1000, 200), ctx.scale(5, 2)
    batches = _batches(ctx.ollama_url())
    samples, failures = asyncio.run(
        measure_batches(batches, RAW, requests=requests, rounds=rounds, warmup=2 * CONCURRENCY)
    )
    return Section(
        name="ollama.abatch",
        title=f"{requests:,} requests at concurrency {CONCURRENCY}, throughput",
        columns=THROUGHPUT_COLUMNS,
        rows=throughput_rows(samples, RAW, requests, None, failures, CLIENTS),
        setup=throughput_setup(
            ctx,
            rounds=rounds,
            requests=requests,
            warmup=2 * CONCURRENCY,
            baseline="SDK",
            how=f"baseline: asyncio.gather + Semaphore({CONCURRENCY}) over ollama.AsyncClient; "
            f"models: abatch(inputs, config={{'max_concurrency': {CONCURRENCY}}}); all send "
            f"options.num_ctx={OPTIONS['num_ctx']:,}",
        ),
        notes=[
            "langchain-ollama's ainvoke() requests a stream (stream: true) and aggregates "
            "its parts; the SDK baseline and polyvox request one JSON body",
            NO_TARGET,
        ],
    )
