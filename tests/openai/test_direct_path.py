"""The direct invoke path (polyvox.core.invocation) is equivalent, and steps aside when observed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.globals import set_llm_cache
from langchain_core.rate_limiters import InMemoryRateLimiter
from langchain_core.runnables import ensure_config

from polyvox.core.invocation import direct_call_allowed
from polyvox.openai import ChatOpenAI
from polyvox.testing import Emulator, Reply


class _Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.starts = 0

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self.starts += 1


def _comparable(message: Any) -> dict[str, Any]:
    return {
        "content": message.content,
        "tool_calls": message.tool_calls,
        "usage": message.usage_metadata,
        "metadata": {k: v for k, v in message.response_metadata.items() if k != "id"},
    }


def test_direct_and_full_paths_give_the_same_message(emulator: Emulator, chat: ChatOpenAI) -> None:
    assert direct_call_allowed(chat, ensure_config(None), {})
    direct = chat.invoke("Same question, please.")
    recorder = _Recorder()
    full = chat.invoke("Same question, please.", config={"callbacks": [recorder]})
    assert recorder.starts == 1
    assert _comparable(direct) == _comparable(full)
    assert direct.response_metadata["model_provider"] == "openai"


async def test_direct_and_full_paths_agree_async(emulator: Emulator, chat: ChatOpenAI) -> None:
    direct = await chat.ainvoke("Same question, please.")
    full = await chat.ainvoke("Same question, please.", config={"callbacks": [_Recorder()]})
    assert _comparable(direct) == _comparable(full)


def test_handler_on_the_model_takes_the_full_path(emulator: Emulator) -> None:
    recorder = _Recorder()
    model = ChatOpenAI(
        model="m", api_key="k", base_url=emulator.openai_base_url, callbacks=[recorder]
    )
    model.invoke("hi")
    model.batch(["a", "b"])
    assert recorder.starts == 3


def test_message_gets_an_id_when_the_server_sends_none(
    emulator: Emulator, chat: ChatOpenAI
) -> None:
    body = {
        "object": "chat.completion",
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
        ],
    }
    emulator.script(Reply.raw(json.dumps(body)))
    message = chat.invoke("hi")
    assert message.id is not None
    assert message.id.startswith("lc_run--")


def test_cache_takes_the_full_path(emulator: Emulator, chat: ChatOpenAI) -> None:
    set_llm_cache(InMemoryCache())
    try:
        assert not direct_call_allowed(chat, ensure_config(None), {})
        first = chat.invoke("cache me")
        second = chat.invoke("cache me")
    finally:
        set_llm_cache(None)
    assert first.content == second.content
    assert len(emulator.requests) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"rate_limiter": InMemoryRateLimiter(requests_per_second=100)},
        {"verbose": True},
        {"streaming": True},
        {"output_version": "v1"},
        {"cache": False},
    ],
)
def test_conditions(emulator: Emulator, change: dict[str, Any]) -> None:
    model = ChatOpenAI(model="m", api_key="k", base_url=emulator.openai_base_url, **change)
    expected = change == {"cache": False}
    assert direct_call_allowed(model, ensure_config(None), {}) is expected
    assert model.invoke("hi").content


def test_tracing_env_takes_the_full_path() -> None:
    # LangSmith reads its environment once per process, so ask a fresh interpreter.
    code = (
        "from langchain_core.runnables import ensure_config\n"
        "from polyvox.core.invocation import direct_call_allowed\n"
        "from polyvox.openai import ChatOpenAI\n"
        "print(direct_call_allowed(ChatOpenAI(model='m', api_key='k'), ensure_config(None), {}))"
    )
    env = {**os.environ, "LANGSMITH_TRACING": "true", "LANGSMITH_API_KEY": "lsv2-test"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_call_level_reasons(chat: ChatOpenAI) -> None:
    assert not direct_call_allowed(chat, ensure_config({"run_id": __import__("uuid").uuid4()}), {})
    assert not direct_call_allowed(chat, ensure_config(None), {"stream": True})
    assert not direct_call_allowed(chat, ensure_config(None), {"ls_structured_output_format": {}})
