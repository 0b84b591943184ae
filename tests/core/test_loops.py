"""Async SDK clients are kept per event loop: a model works from ``asyncio.run`` twice."""

from __future__ import annotations

import asyncio
import threading

from polyvox.core.loops import PerLoop
from polyvox.ollama import ChatOllama
from polyvox.openai import ChatOpenAI, OpenAIEmbeddings
from polyvox.testing import Emulator


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
