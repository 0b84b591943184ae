"""Async SDK clients are kept per event loop: a model works from ``asyncio.run`` twice."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from polyvox.core.loops import PerLoop
from polyvox.ollama import ChatOllama
from polyvox.openai import ChatOpenAI, OpenAIEmbeddings
from polyvox.testing import Emulator

T = TypeVar("T")


def test_per_loop_makes_one_object_per_running_loop() -> None:
    holder: PerLoop[object] = PerLoop()
    made: list[object] = []

    def make() -> object:
        made.append(object())
        return made[-1]

    async def twice() -> tuple[object, object]:
        return holder.get(make), holder.get(make)

    first = asyncio.run(twice())
    second = asyncio.run(twice())
    assert first[0] is first[1]
    assert second[0] is second[1]
    assert first[0] is not second[0]
    assert holder.get(make) is second[0]  # outside a loop: the latest one
    assert len(made) == 2


def test_openai_chat_and_embeddings_from_two_loops(emulator: Emulator) -> None:
    chat = ChatOpenAI(model="gpt-4o-mini", api_key="k", base_url=emulator.openai_base_url)
    embeddings = OpenAIEmbeddings(api_key="k", base_url=emulator.openai_base_url)
    for _ in range(2):  # the second run used to fail: "Event loop is closed"
        assert asyncio.run(chat.ainvoke("hello")).content
        assert len(asyncio.run(embeddings.aembed_query("hello"))) > 0


def test_ollama_chat_from_two_loops_and_a_thread(emulator: Emulator) -> None:
    chat = ChatOllama(model="llama3.2", base_url=emulator.ollama_url)
    assert asyncio.run(chat.ainvoke("hello")).content
    assert asyncio.run(chat.ainvoke("hello")).content
    answers: list[object] = []
    thread = threading.Thread(target=lambda: answers.append(asyncio.run(chat.ainvoke("hi"))))
    thread.start()
    thread.join(30)
    assert answers


# ---- closing each loop's client on that loop ---------------------------------------------

_SEQUENCE = """
import asyncio, gc, sys, threading
from polyvox.openai import ChatOpenAI, OpenAIEmbeddings
from polyvox.ollama import ChatOllama

openai_url, ollama_url, manual = sys.argv[1], sys.argv[2], sys.argv[3] == "manual"
models = [
    ChatOpenAI(model="gpt-4o-mini", api_key="k", base_url=openai_url),
    ChatOllama(model="llama3.2", base_url=ollama_url),
]
embeddings = OpenAIEmbeddings(api_key="k", base_url=openai_url)

async def collect_during_a_call(model):
    gc.collect()  # the previous loops' clients are collected while this loop runs
    await model.ainvoke("again")
    gc.collect()

async def stream(model):
    return [chunk async for chunk in model.astream("hello there")]

for model in models:
    asyncio.run(model.abatch(["one", "two", "three"]))
    asyncio.run(model.abatch(["four", "five"]))
    asyncio.run(collect_during_a_call(model))
    asyncio.run(stream(model))
    worker = threading.Thread(target=lambda: asyncio.run(model.ainvoke("thread")))
    worker.start()
    worker.join()
    asyncio.run(collect_during_a_call(model))
    if manual:  # loops closed without shutdown_asyncgens
        for _ in range(2):
            loop = asyncio.new_event_loop()
            loop.run_until_complete(model.ainvoke("manual"))
            loop.close()
        asyncio.run(collect_during_a_call(model))
asyncio.run(embeddings.aembed_query("hi"))
asyncio.run(embeddings.aembed_query("hi"))
for model in [*models, embeddings]:
    model.close()
gc.collect()
print("ok")
"""


@pytest.mark.parametrize("manual", [False, True], ids=["asyncio.run", "loop.close"])
def test_no_traceback_or_warning_when_loops_change(emulator: Emulator, manual: bool) -> None:
    """Issue 13 item 6: ``asyncio.run`` after ``asyncio.run``, and the old clients' GC.

    With ``asyncio.run`` every loop's client is closed on its loop: not even a
    ``ResourceWarning``. A loop closed without ``shutdown_asyncgens`` leaves sockets for the
    collector (a ``ResourceWarning``, not shown by default) but no traceback.
    """
    warnings = [] if manual else ["-W", "error::ResourceWarning"]
    done = subprocess.run(
        [
            sys.executable,
            *warnings,
            "-c",
            _SEQUENCE,
            emulator.openai_base_url,
            emulator.ollama_url,
            "manual" if manual else "run",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert done.stderr == ""


def test_a_loops_client_is_closed_when_asyncio_run_ends(emulator: Emulator) -> None:
    chat = ChatOpenAI(model="gpt-4o-mini", api_key="k", base_url=emulator.openai_base_url)
    ollama = ChatOllama(model="llama3.2", base_url=emulator.ollama_url)

    async def call() -> tuple[Any, Any]:
        await chat.ainvoke("hi")
        await ollama.ainvoke("hi")
        return chat.async_client, ollama.async_client

    first, first_ollama = asyncio.run(call())
    assert first.is_closed(), "closed on its loop, before the loop closed"
    assert first_ollama._client.is_closed
    second, _ = asyncio.run(call())
    assert second is not first
    assert second.is_closed()


def test_a_closed_loops_client_is_marked_closed_when_another_loop_asks() -> None:
    events: list[str] = []

    class Client:
        async def close(self) -> None:
            events.append("closing")
            await asyncio.sleep(0)  # a closed loop cannot go on
            events.append("closed on the loop")

    async def close(client: Client) -> None:
        await client.close()

    holder: PerLoop[Client] = PerLoop(close)
    loop = asyncio.new_event_loop()
    first = loop.run_until_complete(_get(holder, Client))
    loop.close()  # without shutdown_asyncgens: nothing closed it on its loop
    assert events == []
    second = asyncio.run(_get(holder, Client))
    assert second is not first
    assert events == ["closing", "closing", "closed on the loop"]  # first quietly, then second


def test_close_closes_the_running_loops_client_and_leaves_others_to_their_loop() -> None:
    events: list[str] = []

    async def close(name: str) -> None:
        events.append(f"closed {name}")

    holder: PerLoop[str] = PerLoop(close)
    runner = asyncio.Runner()
    runner.run(_get(holder, lambda: "idle"))  # a loop that is not running now

    async def close_here() -> None:
        holder.get(lambda: "running")
        await holder.aclose()
        assert events == ["closed running"]

    asyncio.run(close_here())
    assert events == ["closed running"]
    runner.close()  # its shutdown closes its own client
    assert events == ["closed running", "closed idle"]

    async def sync_close_in_a_loop() -> None:
        holder.get(lambda: "sync")
        holder.close()  # a task on this loop closes it
        await asyncio.sleep(0)

    asyncio.run(sync_close_in_a_loop())
    assert events[-1] == "closed sync"


async def _get(holder: PerLoop[T], factory: Callable[[], T]) -> T:
    return holder.get(factory)
