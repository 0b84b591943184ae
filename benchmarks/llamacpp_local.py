"""A real GGUF three ways: raw ``xllamacpp``, ``ChatLlamaCpp`` in process, and over HTTP.

One SmolLM2-135M-Instruct load (the test model, from the package registry) serves all
three: the raw ``Server.handle_chat_completions`` call, ``ChatLlamaCpp(model_path=...)``
(the same server through polyvox's in-process SDK transport) and ``ChatLlamaCpp(base_url=...)``
(the same server's loopback HTTP port, through the ``openai`` SDK). Each makes the same
greedy request for the same number of tokens; the figures are tokens per second (from
llama.cpp's own timings) and the wall time added over the raw call.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from benchmarks.harness import Column, Context, Row, Section, register

_PROMPT = [{"role": "user", "content": "Count from one to twenty in words."}]
_TOKENS = 32


def _raw(server: Any) -> tuple[float, float]:
    body = {"messages": _PROMPT, "max_tokens": _TOKENS, "temperature": 0}
    start = time.perf_counter()
    answer = server.handle_chat_completions(body)
    return time.perf_counter() - start, answer["timings"]["predicted_per_second"]


def _polyvox(model: Any) -> tuple[float, float]:
    start = time.perf_counter()
    reply = model.invoke(_PROMPT[0]["content"])
    return time.perf_counter() - start, reply.response_metadata["timings"]["predicted_per_second"]


@register(
    "llamacpp.local",
    "a real GGUF: raw xllamacpp vs ChatLlamaCpp in process vs ChatLlamaCpp over HTTP",
    order=90,
)
def llamacpp_local(ctx: Context) -> Section:
    from polyvox.openai import ChatLlamaCpp
    from polyvox.openai.llamacpp_local import keep_signal_handlers
    from polyvox.testing.local_model import TEST_MODEL_NAME, fetch_test_model

    path = str(fetch_test_model())
    runs = ctx.scale(5, 2)
    in_process = ChatLlamaCpp(
        model_path=path, max_tokens=_TOKENS, temperature=0, n_ctx=2048, n_threads=2
    )
    loaded = in_process.loaded_model
    loaded.load()
    server = loaded._server  # the very server polyvox uses: one load, three ways in
    served = ChatLlamaCpp(
        base_url=f"{server.listening_address}/v1",
        api_key=loaded._api_key,
        max_tokens=_TOKENS,
        temperature=0,
    )
    ways = {
        "xllamacpp (raw call)": lambda: _raw(server),
        "ChatLlamaCpp(model_path=...)": lambda: _polyvox(in_process),
        "ChatLlamaCpp(base_url=...) over HTTP": lambda: _polyvox(served),
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    for call in ways.values():
        call()  # warm-up: prompt cache, imports, the first client
    for _ in range(runs):  # interleaved, so machine load hits every way alike
        for name, call in ways.items():
            results[name].append(call())
    baseline = statistics.median(s for s, _ in results["xllamacpp (raw call)"])
    rows = []
    for name, samples in results.items():
        wall = statistics.median(s for s, _ in samples)
        rows.append(
            Row(
                name,
                {
                    "tps": statistics.median(t for _, t in samples),
                    "ms": wall * 1000,
                    "added": (wall - baseline) * 1000,
                },
            )
        )
    with keep_signal_handlers():
        served.close()
        in_process.close()
    return Section(
        name="llamacpp.local",
        title=f"{TEST_MODEL_NAME}, {_TOKENS} tokens per call, median of {runs}",
        columns=[
            Column("tps", "tokens/s (llama.cpp)", "{:,.1f}"),
            Column("ms", "ms per call", "{:,.1f}"),
            Column("added", "ms added vs raw", "{:+,.1f}"),
        ],
        rows=rows,
        setup=[f"one load of {path}, CPU, 2 threads, greedy; " + json.dumps({"n_ctx": 2048})],
        notes=[
            "generation dominates: the in-process transport adds the SDK's request building "
            "and parsing, HTTP adds loopback sockets and SSE framing on top",
        ],
    )
