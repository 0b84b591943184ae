"""Gemini chat, one call at a time: ``invoke`` and ``stream`` against the raw SDK.

Each round calls the raw ``google.genai.Client``, ``polyvox.google.ChatGoogleGenerativeAI``
and ``langchain_google_genai.ChatGoogleGenerativeAI`` once (rotating the order), so the
emulator's own time is in every sample alike and the differences of the medians are the
clients' overheads. The stream is ``streamGenerateContent?alt=sse`` with events separated
by ``\\r\\n\\r\\n`` and the usage repeated in every event, as Gemini sends it.
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.google_clients import (
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

INVOKE_PROMPT = "What is the capital of France?"
STREAM_PROMPT = "Tell me a short story about a robot who learns to paint the sea at night."


def _invoke_calls(base_url: str) -> dict[str, Callable[[], str]]:
    raw, pv, lc = raw_client(base_url), polyvox_model(base_url), langchain_model(base_url)

    def call_raw() -> str:
        return str(raw.models.generate_content(model=MODEL, contents=INVOKE_PROMPT).text)

    def call_polyvox() -> str:
        return str(pv.invoke(INVOKE_PROMPT).content)

    def call_langchain() -> str:
        return str(lc.invoke(INVOKE_PROMPT).text)

    return {RAW: call_raw, POLYVOX: call_polyvox, LANGCHAIN: call_langchain}


def _stream_calls(base_url: str, events: list[int]) -> dict[str, Callable[[], str]]:
    raw, pv, lc = raw_client(base_url), polyvox_model(base_url), langchain_model(base_url)

    def call_raw() -> str:
        texts = []
        n = 0
        for event in raw.models.generate_content_stream(model=MODEL, contents=STREAM_PROMPT):
            n += 1
            if event.text:
                texts.append(event.text)
        events.append(n)
        return "".join(texts)

    def call_langchain() -> str:
        return "".join(chunk.text for chunk in lc.stream(STREAM_PROMPT))

    return {RAW: call_raw, POLYVOX: stream_call(pv, STREAM_PROMPT), LANGCHAIN: call_langchain}


def _setup(ctx: Context, rounds: int, warmup: int, clients: int, what: str) -> list[str]:
    return latency_setup(
        ctx,
        what=what,
        rounds=rounds,
        warmup=warmup,
        clients=clients,
        baseline="google-genai SDK",
        clients_note="sync clients, each with its own google.genai.Client and keep-alive "
        "connection, polyvox max_retries=0, GC on",
    )


@register(
    "google.invoke",
    "invoke(): polyvox vs the google-genai SDK vs langchain-google-genai",
    network=True,
    order=60,
)
def invoke(ctx: Context) -> Section:
    calls = _invoke_calls(ctx.gemini_base_url())
    replies, failures = probe(calls, RAW)
    reply = replies[RAW]
    rounds, warmup = ctx.scale(2000, 300), ctx.scale(100, 30)
    working = {name: call for name, call in calls.items() if name not in failures}
    samples = interleave(working, rounds=rounds, warmup=warmup)
    target = Target("overhead_us", "<=", 200, "≤ +200 µs")
    rows = latency_rows(samples, RAW, {POLYVOX: target}, failures, CLIENTS)
    return Section(
        name="google.invoke",
        title="generateContent, one call at a time",
        columns=CONNECT_COLUMNS,
        rows=with_connects(rows, working),
        setup=_setup(ctx, rounds, warmup, len(working), f"1 user message, echo reply {reply!r}"),
        notes=[
            "baseline: client.models.generate_content(...) returning the SDK's parsed "
            "GenerateContentResponse; the chat models return an AIMessage with usage and "
            "metadata",
        ],
    )


@register(
    "google.stream",
    "stream(): polyvox vs the google-genai SDK vs langchain-google-genai",
    network=True,
    order=61,
)
def stream(ctx: Context) -> Section:
    events: list[int] = []
    calls = _stream_calls(ctx.gemini_base_url(), events)
    replies, failures = probe(calls, RAW)
    reply = replies[RAW]
    rounds, warmup = ctx.scale(1200, 150), ctx.scale(60, 20)
    working = {name: call for name, call in calls.items() if name not in failures}
    samples = interleave(working, rounds=rounds, warmup=warmup)
    target = Target("overhead_us", "<=", 300, "≤ +300 µs")
    rows = latency_rows(samples, RAW, {POLYVOX: target}, failures, CLIENTS)
    what = (
        f"1 user message, echo reply of {len(reply)} chars in {events[0]} SSE events "
        "(usage in each); each sample reads the whole stream"
    )
    return Section(
        name="google.stream",
        title="streamGenerateContent, whole stream per call",
        columns=CONNECT_COLUMNS,
        rows=with_connects(rows, working),
        setup=_setup(ctx, rounds, warmup, len(working), what),
        notes=[
            "baseline: iterating client.models.generate_content_stream(...), the SDK's "
            "GenerateContentResponse events; the chat models yield AIMessageChunks via "
            ".stream()",
        ],
    )
