"""Anthropic chat, one call at a time: ``invoke`` and ``stream`` against the raw SDK.

Each round calls the raw ``anthropic.Anthropic`` client, ``polyvox.anthropic.ChatAnthropic``
and ``langchain_anthropic.ChatAnthropic`` once (rotating the order), so the emulator's own
time is in every sample alike and the differences of the medians are the clients'
overheads. The emulator speaks the Messages API (``POST /v1/messages``, named SSE events).
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.anthropic_clients import (
    CLIENTS,
    LANGCHAIN,
    MAX_TOKENS,
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

INVOKE_PROMPT = "What is the capital of France?"
STREAM_PROMPT = "Tell me a short story about a robot who learns to paint the sea at night."


def _invoke_calls(base_url: str) -> dict[str, Callable[[], str]]:
    raw, pv, lc = raw_client(base_url), polyvox_model(base_url), langchain_model(base_url)
    messages = [{"role": "user", "content": INVOKE_PROMPT}]

    def call_raw() -> str:
        message = raw.messages.create(model=MODEL, max_tokens=MAX_TOKENS, messages=messages)
        return "".join(block.text for block in message.content if block.type == "text")

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
        with raw.messages.create(
            model=MODEL, max_tokens=MAX_TOKENS, messages=messages, stream=True
        ) as stream:
            for event in stream:
                n += 1
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    parts.append(event.delta.text)
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
        baseline="anthropic SDK",
        clients_note="sync clients, each with its own keep-alive connection, max_retries=0, "
        f"max_tokens={MAX_TOKENS}, GC on",
    )


@register(
    "anthropic.invoke",
    "invoke(): polyvox vs the anthropic SDK vs langchain-anthropic",
    network=True,
    order=54,
)
def invoke(ctx: Context) -> Section:
    calls = _invoke_calls(ctx.anthropic_base_url())
    replies, failures = probe(calls, RAW)
    reply = replies[RAW]
    rounds, warmup = ctx.scale(2000, 300), ctx.scale(100, 30)
    working = {name: call for name, call in calls.items() if name not in failures}
    samples = interleave(working, rounds=rounds, warmup=warmup)
    target = Target("overhead_us", "<=", 200, "≤ +200 µs")
    rows = latency_rows(samples, RAW, {POLYVOX: target}, failures, CLIENTS)
    return Section(
        name="anthropic.invoke",
        title="non-streaming Messages API call, one call at a time",
        columns=CONNECT_COLUMNS,
        rows=with_connects(rows, working),
        setup=_setup(ctx, rounds, warmup, len(working), f"1 user message, echo reply {reply!r}"),
        notes=[
            "baseline: client.messages.create(...) returning the SDK's parsed Message; "
            "the chat models return an AIMessage with usage and metadata",
        ],
    )


@register(
    "anthropic.stream",
    "stream(): polyvox vs the anthropic SDK vs langchain-anthropic",
    network=True,
    order=55,
)
def stream(ctx: Context) -> Section:
    events: list[int] = []
    calls = _stream_calls(ctx.anthropic_base_url(), events)
    replies, failures = probe(calls, RAW)
    reply = replies[RAW]
    rounds, warmup = ctx.scale(1200, 150), ctx.scale(60, 20)
    working = {name: call for name, call in calls.items() if name not in failures}
    samples = interleave(working, rounds=rounds, warmup=warmup)
    target = Target("overhead_us", "<=", 300, "≤ +300 µs")
    rows = latency_rows(samples, RAW, {POLYVOX: target}, failures, CLIENTS)
    what = (
        f"1 user message, echo reply of {len(reply)} chars in {events[0]} named SSE events "
        "(message_start ... message_stop, ping included); each sample reads the whole stream"
    )
    return Section(
        name="anthropic.stream",
        title="streamed Messages API call, whole stream per call",
        columns=CONNECT_COLUMNS,
        rows=with_connects(rows, working),
        setup=_setup(ctx, rounds, warmup, len(working), what),
        notes=[
            "baseline: iterating the SDK's Stream[RawMessageStreamEvent] from "
            "messages.create(stream=True); the chat models yield AIMessageChunks via .stream()",
        ],
    )
