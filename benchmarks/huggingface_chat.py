"""Hugging Face chat, one call at a time: ``invoke`` and ``stream`` against the raw SDK.

Each round calls the raw ``huggingface_hub.InferenceClient`` and
``polyvox.huggingface.ChatHuggingFace`` once (rotating the order), so the emulator's own
time is in every sample alike and the difference of the medians is polyvox's overhead. The
stream is the router's OpenAI-style SSE with usage in the last event. polyvox's sync stream
uses an ``InferenceClient`` of its own per stream (closed with it, so responses do not
pile up on the client's exit stack); the baseline reuses one client, as the SDK's users do.
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
from benchmarks.huggingface_clients import (
    CLIENTS,
    MODEL,
    POLYVOX,
    RAW,
    polyvox_model,
    raw_client,
    router_url,
)

INVOKE_PROMPT = "What is the capital of France?"
STREAM_PROMPT = "Tell me a short story about a robot who learns to paint the sea at night."


def _invoke_calls(base_url: str) -> dict[str, Callable[[], str]]:
    raw, pv = raw_client(base_url), polyvox_model(base_url)
    messages = [{"role": "user", "content": INVOKE_PROMPT}]

    def call_raw() -> str:
        return str(raw.chat_completion(messages=messages, model=MODEL).choices[0].message.content)

    def call_polyvox() -> str:
        return str(pv.invoke(INVOKE_PROMPT).content)

    return {RAW: call_raw, POLYVOX: call_polyvox}


def _stream_calls(base_url: str, events: list[int]) -> dict[str, Callable[[], str]]:
    raw, pv = raw_client(base_url), polyvox_model(base_url)
    messages = [{"role": "user", "content": STREAM_PROMPT}]

    def call_raw() -> str:
        texts = []
        n = 0
        for event in raw.chat_completion(
            messages=messages,
            model=MODEL,
            stream=True,
            stream_options={"include_usage": True},
        ):
            n += 1
            if event.choices and event.choices[0].delta.content:
                texts.append(event.choices[0].delta.content)
        events.append(n)
        return "".join(texts)

    return {RAW: call_raw, POLYVOX: stream_call(pv, STREAM_PROMPT)}


def _setup(ctx: Context, rounds: int, warmup: int, clients: int, what: str) -> list[str]:
    return latency_setup(
        ctx,
        what=what,
        rounds=rounds,
        warmup=warmup,
        clients=clients,
        baseline="huggingface_hub SDK",
        clients_note="sync clients on the SDK's shared httpx2 client (keep-alive), polyvox "
        "max_retries=0, GC on; langchain-huggingface cannot be installed with "
        "huggingface-hub 2",
    )


@register(
    "huggingface.invoke",
    "invoke(): polyvox vs the huggingface_hub InferenceClient",
    network=True,
    order=70,
)
def invoke(ctx: Context) -> Section:
    calls = _invoke_calls(router_url(ctx.emulator_url()))
    replies, failures = probe(calls, RAW)
    reply = replies[RAW]
    rounds, warmup = ctx.scale(2000, 300), ctx.scale(100, 30)
    working = {name: call for name, call in calls.items() if name not in failures}
    samples = interleave(working, rounds=rounds, warmup=warmup)
    target = Target("overhead_us", "<=", 200, "≤ +200 µs")
    rows = latency_rows(samples, RAW, {POLYVOX: target}, failures, CLIENTS)
    return Section(
        name="huggingface.invoke",
        title="router chat completion, one call at a time",
        columns=CONNECT_COLUMNS,
        rows=with_connects(rows, working),
        setup=_setup(ctx, rounds, warmup, len(working), f"1 user message, echo reply {reply!r}"),
        notes=[
            "baseline: InferenceClient.chat_completion(...) returning the SDK's "
            "ChatCompletionOutput; the chat model returns an AIMessage with usage and metadata",
        ],
    )


@register(
    "huggingface.stream",
    "stream(): polyvox vs the huggingface_hub InferenceClient",
    network=True,
    order=71,
)
def stream(ctx: Context) -> Section:
    events: list[int] = []
    calls = _stream_calls(router_url(ctx.emulator_url()), events)
    replies, failures = probe(calls, RAW)
    reply = replies[RAW]
    rounds, warmup = ctx.scale(1200, 150), ctx.scale(60, 20)
    working = {name: call for name, call in calls.items() if name not in failures}
    samples = interleave(working, rounds=rounds, warmup=warmup)
    target = Target("overhead_us", "<=", 300, "≤ +300 µs")
    rows = latency_rows(samples, RAW, {POLYVOX: target}, failures, CLIENTS)
    what = (
        f"1 user message, echo reply of {len(reply)} chars in {events[0]} SSE events "
        "(usage in the last); each sample reads the whole stream"
    )
    return Section(
        name="huggingface.stream",
        title="router chat completion stream, whole stream per call",
        columns=CONNECT_COLUMNS,
        rows=with_connects(rows, working),
        setup=_setup(ctx, rounds, warmup, len(working), what),
        notes=[
            "baseline: iterating InferenceClient.chat_completion(..., stream=True) on one "
            "client (its exit stack keeps every response until it closes); polyvox: "
            ".stream() with a client of its own per stream, closed with it",
        ],
    )
