"""The direct invoke path (polyvox.core.invocation): equivalent, with registered handlers too."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from langchain_core.caches import InMemoryCache
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.globals import set_llm_cache
from langchain_core.rate_limiters import InMemoryRateLimiter
from langchain_core.runnables import ensure_config

from polyvox.core import invocation
from polyvox.core.invocation import direct_call_allowed, direct_callbacks, direct_handler
from polyvox.openai import ChatOpenAI
from polyvox.testing import Emulator, Fault, Reply


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


# ---- the direct path with polyvox's own handlers -------------------------------------------


@direct_handler
class _Events(BaseCallbackHandler):
    """Records the events of a model run (registered: it keeps the direct path)."""

    run_inline = True

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self.events.append(("start", args, kwargs))

    def on_llm_end(self, *args: Any, **kwargs: Any) -> None:
        self.events.append(("end", args, kwargs))

    def on_llm_error(self, *args: Any, **kwargs: Any) -> None:
        self.events.append(("error", args, kwargs))


def _normalised(events: list[tuple[str, tuple[Any, ...], dict[str, Any]]]) -> list[Any]:
    """The events with run ids (and the message id made from one) replaced by placeholders."""
    ids = {
        str(k[key]): f"<{key}>"
        for _, _, k in events
        for key in ("run_id", "parent_run_id")
        if k.get(key) is not None
    }

    def scrub(value: Any) -> Any:
        text = repr(value)
        for raw, placeholder in ids.items():
            text = text.replace(raw, placeholder)
        return re.sub(r"chatcmpl-\w+|req_\w+|'date': '[^']*'", "<per-response>", text)

    return [(name, scrub(args), scrub(kwargs)) for name, args, kwargs in events]


async def _call(model: Any, asynchronous: bool, prompt: Any, **kwargs: Any) -> Any:
    if asynchronous:
        return await model.ainvoke(prompt, **kwargs)
    return model.invoke(prompt, **kwargs)


async def _both_ways(monkeypatch: pytest.MonkeyPatch, call: Any) -> tuple[list[Any], list[Any]]:
    direct, full = _Events(), _Events()
    await call(direct)
    with monkeypatch.context() as patch:
        patch.setattr(invocation, "_DIRECT_HANDLERS", set())
        await call(full)
    return _normalised(direct.events), _normalised(full.events)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["invoke", "ainvoke"])
async def test_registered_handlers_get_the_events_langchain_sends(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, asynchronous: bool
) -> None:
    model = ChatOpenAI(
        model="gpt-4o-mini",
        api_key="k",
        base_url=emulator.openai_base_url,
        max_retries=0,
        tags=["model-tag"],
        metadata={"owner": "model"},
    )
    config_base = {"metadata": {"workspace_id": "w1"}, "tags": ["t1"], "run_name": "ask"}

    async def call(handler: _Events) -> None:
        emulator.script(Reply("same answer"))
        config = {**config_base, "callbacks": [handler]}
        prompt = [("system", "be brief"), ("human", [{"type": "text", "text": "hi"}])]
        await _call(model, asynchronous, prompt, config=config, temperature=0.3, stop=["\n"])
        emulator.fail(Fault.server_error(500))
        with pytest.raises(Exception, match="500"):
            await _call(model, asynchronous, "fail", config=config)

    direct, full = await _both_ways(monkeypatch, call)
    assert [name for name, _, _ in direct] == ["start", "end", "start", "error"]
    assert direct == full


async def test_registered_handlers_in_a_chain_see_the_chains_run_as_parent(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langchain_core.prompts import ChatPromptTemplate

    model = ChatOpenAI(model="m", api_key="k", base_url=emulator.openai_base_url)
    chain = ChatPromptTemplate.from_template("About {topic}") | model

    async def call(handler: _Events) -> None:
        emulator.script(Reply("same answer"))
        chain.invoke({"topic": "x"}, config={"callbacks": [handler], "tags": ["chain"]})

    direct, full = await _both_ways(monkeypatch, call)
    assert "'parent_run_id': UUID('<parent_run_id>')" in direct[0][2]
    assert direct == full
    assert model.invoke("hi").content  # and the bare call still takes the direct path


def test_registered_handler_keeps_the_direct_path(chat: ChatOpenAI) -> None:
    handler = _Events()
    manager = direct_callbacks(chat, ensure_config({"callbacks": [handler]}), {})
    assert manager is not None
    assert manager.handlers == [handler]
    assert not direct_call_allowed(chat, ensure_config({"callbacks": [handler]}), {})


def test_tracing_env_takes_the_full_path_with_a_cost_handler() -> None:
    code = (
        "from langchain_core.runnables import ensure_config\n"
        "from polyvox.core.invocation import direct_callbacks\n"
        "from polyvox.costs.ledger import Ledger\n"
        "from polyvox.costs.tracking import CostCallbackHandler\n"
        "from polyvox.openai import ChatOpenAI\n"
        "handler = CostCallbackHandler(Ledger('sqlite://'))\n"
        "config = ensure_config({'callbacks': [handler]})\n"
        "print(direct_callbacks(ChatOpenAI(model='m', api_key='k'), config, {}))"
    )
    env = {**os.environ, "LANGSMITH_TRACING": "true", "LANGSMITH_API_KEY": "lsv2-test"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "None"
