"""Ollama chat, one call at a time: ``invoke`` and ``stream`` against the raw SDK.

Each round calls the raw ``ollama.Client``, ``polyvox.ollama.ChatOllama`` and
``langchain_ollama.ChatOllama`` once (rotating the order), so the emulator's own time is
in every sample alike and the differences of the medians are the clients' overheads.

``langchain_ollama.ChatOllama.invoke`` asks Ollama for a *stream* and aggregates it (its
``_generate`` reads ``/api/chat`` with ``stream: true``): the server then sends the answer
as NDJSON parts instead of one JSON body. That is what its users get, so it is measured
as it is; a fourth client, the same model called with ``stream=False``, makes the same
request as the others and separates the wire format's cost from the wrapper's.
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.harness import (
    CONNECT_COLUMNS,
    Context,
    Section,
    interleave,
    latency_rows,
    latency_setup,
    probe,
    register,
    with_connects,
)
from benchmarks.harness.langchain_calls import stream_call
from benchmarks.ollama_clients import (
    CLIENTS,
    LANGCHAIN,
    MODEL,
    OPTIONS,
    POLYVOX,
    RAW,
    check_wire,
    clear_log,
    langchain_model,
    polyvox_model,
    raw_client,
)

INVOKE_PROMPT = "What is the capital of France?"
STREAM_PROMPT = "Tell me a short story about a robot who learns to paint the sea at night."

LANGCHAIN_UNARY = "langchain-ollama, stream=False"
"""langchain-ollama's invoke with ``stream=False``: one JSON body, like the others."""

UNCHECKED = "the wire check (one /api/chat each, same options) was skipped: a client failed"

NO_TARGET = (
    "no target is set for Ollama: the OpenAI family's targets (+200 µs invoke, +300 µs "
    "stream, 0.95 x SDK abatch) do not apply; the figures are reported as ratios only"
)


def _invoke_calls(host: str) -> dict[str, Callable[[], str]]:
    raw, pv, lc = raw_client(host), polyvox_model(host), langchain_model(host)
    lc_unary = langchain_model(host)  # its own client and connection, like the others
    messages = [{"role": "user", "content": INVOKE_PROMPT}]

    def call_raw() -> str:
        response = raw.chat(model=MODEL, messages=messages, options=OPTIONS)
        return str(response.message.content)

    def call_polyvox() -> str:
        return str(pv.invoke(INVOKE_PROMPT).content)

    def call_langchain() -> str:
        return str(lc.invoke(INVOKE_PROMPT).content)

    def call_langchain_unary() -> str:
        return str(lc_unary.invoke(INVOKE_PROMPT, stream=False).content)

    return {
        RAW: call_raw,
        POLYVOX: call_polyvox,
        LANGCHAIN: call_langchain,
        LANGCHAIN_UNARY: call_langchain_unary,
    }


def _stream_calls(host: str, parts: list[int]) -> dict[str, Callable[[], str]]:
    raw, pv, lc = raw_client(host), polyvox_model(host), langchain_model(host)
    messages = [{"role": "user", "content": STREAM_PROMPT}]

    def call_raw() -> str:
        texts = []
        n = 0
        for part in raw.chat(model=MODEL, messages=messages, options=OPTIONS, stream=True):
            n += 1
            if part.message.content:
                texts.append(part.message.content)
        parts.append(n)
        return "".join(texts)

    return {
        RAW: call_raw,
        POLYVOX: stream_call(pv, STREAM_PROMPT),
        LANGCHAIN: stream_call(lc, STREAM_PROMPT),
    }


def _setup(ctx: Context, rounds: int, warmup: int, clients: int, what: str) -> list[str]:
    return latency_setup(
        ctx,
        what=what,
        rounds=rounds,
        warmup=warmup,
        clients=clients,
        baseline="ollama SDK",
        clients_note="sync clients, each with its own keep-alive connection, all sending "
        f"options.num_ctx={OPTIONS['num_ctx']:,} (checked on the wire), polyvox "
        "max_retries=0, GC on",
    )


@register(
    "ollama.invoke",
    "invoke(): polyvox vs the ollama SDK vs langchain-ollama",
    network=True,
    order=50,
)
def invoke(ctx: Context) -> Section:
    host = ctx.ollama_url()
    calls = _invoke_calls(host)
    clear_log(host)
    replies, failures = probe(calls, RAW)
    reply = replies[RAW]
    if not failures:  # a failed client may or may not have reached /api/chat
        streams = {RAW: False, POLYVOX: False, LANGCHAIN: True, LANGCHAIN_UNARY: False}
        check_wire(host, list(calls), streams)
    rounds, warmup = ctx.scale(2000, 300), ctx.scale(100, 30)
    working = {name: call for name, call in calls.items() if name not in failures}
    samples = interleave(working, rounds=rounds, warmup=warmup)
    order = [*CLIENTS, LANGCHAIN_UNARY]
    rows = latency_rows(samples, RAW, None, failures, order)
    return Section(
        name="ollama.invoke",
        title="non-streaming chat, one call at a time",
        columns=CONNECT_COLUMNS,
        rows=with_connects(rows, working),
        setup=_setup(ctx, rounds, warmup, len(working), f"1 user message, echo reply {reply!r}"),
        notes=[
            "baseline: client.chat(..., options={'num_ctx': ...}) returning the SDK's "
            "ChatResponse; the chat models return an AIMessage with usage and metadata",
            "langchain-ollama's invoke() requests a stream (stream: true on the wire) and "
            "aggregates its parts; its stream=False row makes the same one-body request as "
            "the SDK and polyvox",
            "polyvox asks /api/show and /api/ps once per process to size num_ctx: in the "
            "untimed probe, so every timed call is one /api/chat, as for the others",
            NO_TARGET,
            *([UNCHECKED] if failures else []),
        ],
    )


@register(
    "ollama.stream",
    "stream(): polyvox vs the ollama SDK vs langchain-ollama",
    network=True,
    order=51,
)
def stream(ctx: Context) -> Section:
    host = ctx.ollama_url()
    parts: list[int] = []
    calls = _stream_calls(host, parts)
    clear_log(host)
    replies, failures = probe(calls, RAW)
    reply = replies[RAW]
    if not failures:
        check_wire(host, list(calls), dict.fromkeys(calls, True))
    rounds, warmup = ctx.scale(1200, 150), ctx.scale(60, 20)
    working = {name: call for name, call in calls.items() if name not in failures}
    samples = interleave(working, rounds=rounds, warmup=warmup)
    rows = latency_rows(samples, RAW, None, failures, CLIENTS)
    what = (
        f"1 user message, echo reply of {len(reply)} chars in {parts[0]} NDJSON parts "
        "(the last one done, with usage); each sample reads the whole stream"
    )
    return Section(
        name="ollama.stream",
        title="streamed chat, whole stream per call",
        columns=CONNECT_COLUMNS,
        rows=with_connects(rows, working),
        setup=_setup(ctx, rounds, warmup, len(working), what),
        notes=[
            "baseline: iterating client.chat(..., stream=True), the SDK's ChatResponse "
            "parts; the chat models yield AIMessageChunks via .stream()",
            NO_TARGET,
            *([UNCHECKED] if failures else []),
        ],
    )
