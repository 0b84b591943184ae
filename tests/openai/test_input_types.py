"""Input a model cannot take says what to do: bytes, and content blocks without a type."""

from __future__ import annotations

import re
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import HumanMessage

from polyvox.openai import ChatOpenAI, OpenAILLM
from polyvox.router import Router
from polyvox.testing import Emulator

BYTES_HINT = re.escape("not bytes. Decode it first, e.g. model.invoke(data.decode())")


class _Quiet(BaseCallbackHandler):
    """Any handler: the call then takes LangChain's full path, not polyvox's direct one."""


@pytest.mark.parametrize("data", [b"hi", bytearray(b"hi"), memoryview(b"hi")])
def test_bytes_are_refused_with_a_hint(
    chat: ChatOpenAI, emulator: Emulator, data: bytes | bytearray | memoryview
) -> None:
    # langchain-core iterates the bytes and says "Unsupported message type: int"
    kind = type(data).__name__
    with pytest.raises(TypeError, match=f"the input is {kind}; .*{BYTES_HINT}"):
        chat.invoke(data)  # type: ignore[arg-type]
    assert emulator.requests == []


async def test_bytes_are_refused_on_every_path(chat: ChatOpenAI, emulator: Emulator) -> None:
    data: Any = b"hi"
    calls = [
        lambda: chat.invoke(data, config={"callbacks": [_Quiet()]}),
        lambda: list(chat.stream(data)),
        lambda: chat.batch([data]),
        lambda: OpenAILLM(chat_model=chat).invoke(data),
        lambda: Router([chat]).invoke(data),
        lambda: list(Router([chat]).stream(data)),
    ]
    for call in calls:
        with pytest.raises(TypeError, match=BYTES_HINT):
            call()
    with pytest.raises(TypeError, match=BYTES_HINT):
        await chat.ainvoke(data)
    with pytest.raises(TypeError, match=BYTES_HINT):
        await Router([chat]).ainvoke(data)
    assert emulator.requests == []
    assert chat.invoke(data.decode()).content == "You said: hi"  # what the hint says works


def test_an_untyped_text_block_is_text(chat: ChatOpenAI, emulator: Emulator) -> None:
    # was KeyError: 'type' from the payload builder
    message = HumanMessage(content=[{"text": "hi"}, {"type": "text", "text": "there"}])
    assert chat.invoke([message]).content == "You said: hi\nthere"
    assert emulator.requests[-1].json["messages"] == [{"role": "user", "content": "hi\nthere"}]
    assert message.content == [{"text": "hi"}, {"type": "text", "text": "there"}]  # untouched


def test_an_untyped_block_without_text_is_refused(chat: ChatOpenAI, emulator: Emulator) -> None:
    message = HumanMessage(content=[{"url": "https://example.com/cat.png"}])
    with pytest.raises(ValueError, match=r"content block 0 has no 'type' \(its keys: \['url'\]\)"):
        chat.invoke([message])
    assert emulator.requests == []
