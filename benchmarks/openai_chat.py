"""OpenAI chat, one call at a time: ``invoke`` and ``stream`` against the raw SDK.

Each round calls the raw ``openai.OpenAI`` client, ``polyvox.openai.ChatOpenAI`` and
``langchain_openai.ChatOpenAI`` once (rotating the order), so the emulator's own time is
in every sample alike and the differences of the medians are the clients' overheads.
"""

from __future__ import annotations

from collections.abc import Callable

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
from benchmarks.openai_clients import (
    CLIENTS,
    LANGCHAIN,
    MODEL,
    POLYVOX,
    RAW,
    langchain_model,
    polyvox_model,
    raw_client,
)

INVOKE_PROMPT = "What is the capital of France?"
STREAM_PROMPT = "Tell me a short story about a robot who learns to paint the sea at night."


def _invoke_calls(base_url: str) -> dict[str, Callable[[], str]]:
    raw, pv, lc = raw_client(base_url), polyvox_model(base_url), langchain_model(base_url)
    messages = [{"role": "user", "content": INVOKE_PROMPT}]

    def call_raw() -> str:
        completion = raw.chat.completions.create(model=MODEL, messages=messages)
        return str(completion.choices[0].message.content)

    def call_polyvox() -> str:
        return str(pv.invoke(INVOKE_PROMPT).content)

    def call_langchain() -> str:
        return str(lc.invoke(INVOKE_PROMPT).content)

    return {RAW: call_raw, POLYVOX: call_polyvox, LANGCHAIN: call_langchain}


def _stream_calls(base_url: str, events: list[int]) -> dict[str, Callable[[], str]]:
    raw, pv, lc = raw_client(base_url), polyvox_model(base_url), langchain_model(base_url)
    messages = [{"role": "user", "content": STREAM_PROMPT}]

    def call_raw() -> str:
        parts = []
        n = 0
        with raw.chat.completions.create(
            model=MODEL, messages=messages, stream=True, stream_options={"include_usage": True}
        ) as stream:
            for chunk in stream:
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
        baseline="openai SDK",
        clients_note="sync clients, each with its own keep-alive connection, max_retries=0, GC on",
    )


@register(
    "openai.invoke",
    "invoke(): polyvox vs the openai SDK vs langchain-openai",
    network=True,
    order=10,
)
def invoke(ctx: Context) -> Section:
    calls = _invoke_calls(ctx.openai_base_url())
    replies, failures = probe(calls, RAW)
    reply = replies[RAW]
    rounds, warmup = ctx.scale(2000, 300), ctx.scale(100, 30)
    working = {name: call for name, call in calls.items() if name not in failures}
    samples = interleave(working, rounds=rounds, warmup=warmup)
    target = Target("overhead_us", "<=", 200, "≤ +200 µs")
    rows = latency_rows(samples, RAW, {POLYVOX: target}, failures, CLIENTS)
    return Section(
        name="openai.invoke",
        title="non-streaming chat completion, one call at a time",
        columns=CONNECT_COLUMNS,
        rows=with_connects(rows, working),
        setup=_setup(ctx, rounds, warmup, len(working), f"1 user message, echo reply {reply!r}"),
        notes=[
            "baseline: client.chat.completions.create(...) returning the SDK's parsed "
            "ChatCompletion; the chat models return an AIMessage with usage and metadata",
            "issue's reference on its machine: langchain-openai adds about +420 µs",
        ],
    )


@register(
    "openai.stream",
    "stream(): polyvox vs the openai SDK vs langchain-openai",
    network=True,
    order=20,
)
def stream(ctx: Context) -> Section:
    events: list[int] = []
    calls = _stream_calls(ctx.openai_base_url(), events)
    replies, failures = probe(calls, RAW)
    reply = replies[RAW]
    rounds, warmup = ctx.scale(1200, 150), ctx.scale(60, 20)
    working = {name: call for name, call in calls.items() if name not in failures}
    samples = interleave(working, rounds=rounds, warmup=warmup)
    target = Target("overhead_us", "<=", 300, "≤ +300 µs")
    rows = latency_rows(samples, RAW, {POLYVOX: target}, failures, CLIENTS)
    what = (
        f"1 user message, echo reply of {len(reply)} chars in {events[0]} SSE chunks "
        "(usage chunk included) + [DONE]; each sample reads the whole stream"
    )
    return Section(
        name="openai.stream",
        title="streamed chat completion, whole stream per call",
        columns=CONNECT_COLUMNS,
        rows=with_connects(rows, working),
        setup=_setup(ctx, rounds, warmup, len(working), what),
        notes=[
            "baseline: iterating the SDK's Stream[ChatCompletionChunk] (stream_options="
            "include_usage); the chat models yield AIMessageChunks via .stream()",
            "issue's reference on its machine: langchain-openai adds about +700 µs",
            "new conns/call: the SDK's Stream stops reading at [DONE] and closes the "
            "response unread, which drops the connection; a client at 1.0 pays a TCP "
            "connect per stream (against a real provider, a TLS handshake too)",
        ],
    )
