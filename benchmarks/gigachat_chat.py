"""GigaChat chat, one call at a time: ``invoke`` and ``stream`` against the raw SDK.

Each round calls the raw ``gigachat.GigaChat`` client, ``polyvox.gigachat.GigaChat`` and
``langchain_gigachat.GigaChat`` once (rotating the order), so the emulator's own time is in
every sample alike and the differences of the medians are the clients' overheads. The
emulator speaks GigaChat's v1 API (``POST /api/v1/chat/completions``, SSE chunks whose
``object`` is ``chat.completion``, the usage in the last) behind its OAuth endpoint; every
client fetched its token during the warm-up and reuses it.
"""

from __future__ import annotations

from collections.abc import Callable

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
    CONNECT_COLUMNS,
    Context,
    Section,
    Target,
    interleave,
    latency_rows,
    latency_setup,
    probe,
    register,
    with_connects,
)
from benchmarks.harness.langchain_calls import stream_call

INVOKE_PROMPT = "Какая столица Франции?"
STREAM_PROMPT = "Расскажи короткую историю о роботе, который учится рисовать ночное море."  # noqa: RUF001


def _payload(prompt: str) -> dict[str, object]:
    return {"model": MODEL, "messages": [{"role": "user", "content": prompt}]}


def _invoke_calls(root: str) -> dict[str, Callable[[], str]]:
    raw, pv, lc = raw_client(root), polyvox_model(root), langchain_model(root)
    payload = _payload(INVOKE_PROMPT)

    def call_raw() -> str:
        return str(raw.chat(payload).choices[0].message.content)

    def call_polyvox() -> str:
        return str(pv.invoke(INVOKE_PROMPT).content)

    def call_langchain() -> str:
        return str(lc.invoke(INVOKE_PROMPT).content)

    return {RAW: call_raw, POLYVOX: call_polyvox, LANGCHAIN: call_langchain}


def _stream_calls(root: str, events: list[int]) -> dict[str, Callable[[], str]]:
    # langchain-gigachat's stream() asks for the whole answer at once unless streaming=True
    raw, pv, lc = raw_client(root), polyvox_model(root), langchain_model(root, streaming=True)
    payload = _payload(STREAM_PROMPT)

    def call_raw() -> str:
        parts = []
        n = 0
        for chunk in raw.stream(payload):
            n += 1
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
        events.append(n)
        return "".join(parts)

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
        baseline="gigachat SDK",
        clients_note="sync clients, each with its own gigachat client, OAuth token and "
        "keep-alive connection, polyvox max_retries=0, GC on",
    )


@register(
    "gigachat.invoke",
    "invoke(): polyvox vs the gigachat SDK vs langchain-gigachat",
    network=True,
    order=64,
)
def invoke(ctx: Context) -> Section:
    calls = _invoke_calls(ctx.emulator_url())
    replies, failures = probe(calls, RAW)
    reply = replies[RAW]
    rounds, warmup = ctx.scale(2000, 300), ctx.scale(100, 30)
    working = {name: call for name, call in calls.items() if name not in failures}
    samples = interleave(working, rounds=rounds, warmup=warmup)
    target = Target("overhead_us", "<=", 200, "≤ +200 µs")
    rows = latency_rows(samples, RAW, {POLYVOX: target}, failures, CLIENTS)
    return Section(
        name="gigachat.invoke",
        title="POST /chat/completions, one call at a time",
        columns=CONNECT_COLUMNS,
        rows=with_connects(rows, working),
        setup=_setup(ctx, rounds, warmup, len(working), f"1 user message, echo reply {reply!r}"),
        notes=[
            "baseline: client.chat(payload) returning the SDK's parsed ChatCompletion; the "
            "chat models return an AIMessage with usage and metadata",
        ],
    )


@register(
    "gigachat.stream",
    "stream(): polyvox vs the gigachat SDK vs langchain-gigachat",
    network=True,
    order=65,
)
def stream(ctx: Context) -> Section:
    events: list[int] = []
    calls = _stream_calls(ctx.emulator_url(), events)
    replies, failures = probe(calls, RAW)
    reply = replies[RAW]
    rounds, warmup = ctx.scale(1200, 150), ctx.scale(60, 20)
    working = {name: call for name, call in calls.items() if name not in failures}
    samples = interleave(working, rounds=rounds, warmup=warmup)
    target = Target("overhead_us", "<=", 300, "≤ +300 µs")
    rows = latency_rows(samples, RAW, {POLYVOX: target}, failures, CLIENTS)
    what = (
        f"1 user message, echo reply of {len(reply)} chars in {events[0]} SSE chunks "
        "(usage in the last); each sample reads the whole stream"
    )
    return Section(
        name="gigachat.stream",
        title="POST /chat/completions with stream=true, whole stream per call",
        columns=CONNECT_COLUMNS,
        rows=with_connects(rows, working),
        setup=_setup(ctx, rounds, warmup, len(working), what),
        notes=[
            "baseline: iterating client.stream(payload), the SDK's ChatCompletionChunk "
            "objects; the chat models yield AIMessageChunks via .stream()",
            "langchain-gigachat is built with streaming=True: without it, its stream() sends "
            "one non-streaming request and yields the whole answer as one chunk",
        ],
    )
