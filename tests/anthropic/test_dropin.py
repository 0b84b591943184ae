"""Drop-in use: code written for langchain-anthropic keeps working with polyvox's classes.

Both ``langchain_anthropic.ChatAnthropic`` and ``polyvox.anthropic.ChatAnthropic`` talk to
the emulator through the same ``anthropic`` SDK; the tests compare what code reads from
them (metadata keys, usage keys, the exceptions ``except`` clauses catch) and run them in
an LCEL chain, a ``create_agent`` tool loop, structured output and a LlamaIndex agent.
"""

from __future__ import annotations

from typing import Any

import anthropic
import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from pydantic import BaseModel

from polyvox.anthropic import ChatAnthropic
from polyvox.testing import Emulator, Fault, Reply, Usage

langchain_anthropic = pytest.importorskip("langchain_anthropic")


def _pair(emulator: Emulator) -> tuple[Any, ChatAnthropic]:
    theirs = langchain_anthropic.ChatAnthropic(
        model="claude-haiku-4-5", api_key="sk-ant", base_url=emulator.url, max_retries=0
    )
    ours = ChatAnthropic(
        model="claude-haiku-4-5", api_key="sk-ant", base_url=emulator.url, max_retries=0
    )
    return theirs, ours


def test_same_metadata_and_usage_keys(emulator: Emulator) -> None:
    theirs, ours = _pair(emulator)
    usage = Usage(prompt_tokens=500, cached_tokens=300, cache_creation_tokens=100)
    emulator.script(Reply("one", usage=usage), Reply("one", usage=usage))
    a, b = theirs.invoke("hello"), ours.invoke("hello")
    assert a.content == b.content == "one"
    assert set(a.response_metadata) <= set(b.response_metadata)
    for key in ("id", "model", "model_name", "model_provider", "stop_reason", "stop_sequence"):
        assert (key in a.response_metadata) == (key in b.response_metadata), key
    assert a.response_metadata["stop_reason"] == b.response_metadata["stop_reason"]
    assert a.usage_metadata == b.usage_metadata


def test_same_streamed_usage(emulator: Emulator) -> None:
    """The same counts; polyvox's streamed usage also keeps the cache-write split by lifetime
    (``message_start`` has it), as its non-streamed usage and langchain-anthropic's do."""
    theirs, ours = _pair(emulator)
    usage = Usage(prompt_tokens=50, cached_tokens=20)
    emulator.script(Reply("two words", usage=usage), Reply("two words", usage=usage))
    totals = []
    for model in (theirs, ours):
        full = None
        for chunk in model.stream("hi"):
            full = chunk if full is None else full + chunk
        assert full is not None
        assert full.text == "two words"
        assert full.usage_metadata is not None
        totals.append(full.usage_metadata)
    theirs_usage, ours_usage = totals
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        assert theirs_usage[key] == ours_usage[key]
    for key in ("cache_read", "cache_creation"):
        assert theirs_usage["input_token_details"][key] == ours_usage["input_token_details"][key]


@pytest.mark.parametrize(
    ("fault", "sdk_class"),
    [
        (Fault(status=400, message="messages: bad"), anthropic.BadRequestError),
        (Fault.unauthorized(), anthropic.AuthenticationError),
        (Fault.rate_limit(retry_after=1), anthropic.RateLimitError),
        (Fault.server_error(529), anthropic.OverloadedError),
        (Fault.server_error(500), anthropic.InternalServerError),
    ],
)
def test_the_same_except_clauses_catch(
    emulator: Emulator, fault: Fault, sdk_class: type[Exception]
) -> None:
    for model in _pair(emulator):
        emulator.fail(fault)
        with pytest.raises(sdk_class):
            model.invoke("hello")


def test_lcel_chain(emulator: Emulator) -> None:
    _, ours = _pair(emulator)
    prompt = ChatPromptTemplate.from_messages([("system", "You are {role}."), ("human", "{q}")])
    chain = prompt | ours | StrOutputParser()
    assert chain.invoke({"role": "a guide", "q": "Warsaw?"}) == "You said: Warsaw?"
    body = emulator.requests[-1].json
    assert body["system"] == "You are a guide."
    assert body["messages"] == [{"role": "user", "content": "Warsaw?"}]


def test_create_agent_tool_loop(emulator: Emulator) -> None:
    _, ours = _pair(emulator)

    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    agent = create_agent(ours, tools=[add], system_prompt="You are a calculator.")
    result = agent.invoke({"messages": [HumanMessage("What is 17 plus 25?")]})
    messages = result["messages"]
    assert isinstance(messages[1], AIMessage)
    assert messages[1].tool_calls[0]["args"] == {"a": 17, "b": 25}
    assert isinstance(messages[2], ToolMessage)
    assert messages[2].content == "42"
    assert "42" in messages[-1].text
    second = emulator.requests[-1].json
    result_block = second["messages"][-1]["content"][0]
    assert result_block["type"] == "tool_result"
    assert result_block["tool_use_id"] == messages[1].tool_calls[0]["id"]


class City(BaseModel):
    """A city."""

    name: str
    country: str


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_structured_output(emulator: Emulator, method: str) -> None:
    _, ours = _pair(emulator)
    city = ours.with_structured_output(City, method=method).invoke("Name 'Warsaw' in 'Poland'")
    assert isinstance(city, City)
    body = emulator.requests[-1].json
    if method == "json_schema":
        assert body["output_config"]["format"]["type"] == "json_schema"
        assert body["output_config"]["format"]["schema"]["additionalProperties"] is False
    else:
        assert body["tool_choice"] == {"type": "tool", "name": "City"}


def test_thinking_tool_loop_sends_the_signature_back(emulator: Emulator) -> None:
    model = ChatAnthropic(
        model="claude-sonnet-4-5",
        api_key="sk-ant",
        base_url=emulator.url,
        thinking={"type": "enabled", "budget_tokens": 2000},
    )

    @tool
    def lookup(city: str) -> str:
        """Look a city up."""
        return "1.8 million people"

    agent = create_agent(model, tools=[lookup])
    result = agent.invoke({"messages": [HumanMessage("How big is 'Warsaw'? Use lookup.")]})
    assert "1.8 million" in result["messages"][-1].text
    sent = emulator.requests[-1].json["messages"][1]["content"]
    assert sent[0]["type"] == "thinking"
    assert sent[0]["signature"]


def test_the_emulator_refuses_a_tool_loop_without_the_thinking_block(
    emulator: Emulator,
) -> None:
    model = ChatAnthropic(
        model="claude-sonnet-4-5",
        api_key="sk-ant",
        base_url=emulator.url,
        thinking={"type": "enabled", "budget_tokens": 2000},
        max_retries=0,
    )
    call = {"name": "lookup", "args": {}, "id": "toolu_1"}
    history = [
        HumanMessage("q"),
        AIMessage(content="", tool_calls=[call]),
        ToolMessage("r", tool_call_id="toolu_1"),
    ]
    with pytest.raises(anthropic.BadRequestError, match="Expected `thinking`"):
        model.bind_tools([lookup_schema()]).invoke(history)


def lookup_schema() -> dict[str, Any]:
    return {"name": "lookup", "description": "Look up.", "input_schema": {"type": "object"}}
