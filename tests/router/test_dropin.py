"""The router where a chat model goes: LCEL, create_agent, structured output, LlamaIndex, costs.

Nothing here knows it talks to a router beyond the constructor: the same code as
tests/openai/test_dropin.py, with a Router over emulator deployments in place of one model.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from llama_index.core import Document, VectorStoreIndex
from pydantic import BaseModel, Field

from polyvox.core.llamaindex import to_llamaindex
from polyvox.costs.ledger import Ledger
from polyvox.costs.tracking import CostCallbackHandler
from polyvox.ollama import ChatBielik, ChatOllama
from polyvox.openai.llamaindex import OpenAIEmbedding
from polyvox.router.router import Router
from polyvox.testing import Emulator, Fault, Reply, Usage
from tests.router.conftest import BIELIK, OpenAIFactory, called, outcomes

PROMPT = ChatPromptTemplate.from_messages(
    [("system", "You are a {role}."), ("human", "Tell me about {topic}.")]
)


@pytest.fixture
def router(openai_model: OpenAIFactory, bielik: ChatBielik) -> Router:
    """Bielik (local, no tools) first, then two cloud models with tools."""
    return Router(
        [bielik, openai_model("gpt-4o-mini"), openai_model("gpt-4.1")], strategy="local_first"
    )


# ---- LCEL -----------------------------------------------------------------------------------


def test_lcel_chain(router: Router, emulator: Emulator) -> None:
    chain = PROMPT | router | StrOutputParser()
    assert chain.invoke({"role": "guide", "topic": "Warsaw"}) == "You said: Tell me about Warsaw."
    answers = chain.batch([{"role": "guide", "topic": t} for t in ("Krakow", "Gdansk")])
    assert answers == ["You said: Tell me about Krakow.", "You said: Tell me about Gdansk."]
    pieces = list(chain.stream({"role": "poet", "topic": "the Vistula"}))
    assert len(pieces) > 3
    assert "".join(pieces) == "You said: Tell me about the Vistula."
    assert set(called(emulator)) == {"SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M"}
    system = emulator.requests[-1].json["messages"][0]
    assert system == {"role": "system", "content": "You are a poet."}


async def test_lcel_chain_async_with_fallback(router: Router, emulator: Emulator) -> None:
    emulator.fail(Fault.server_error(503), times=None, model=BIELIK.split("/", 1)[1])
    chain = PROMPT | router | StrOutputParser()
    assert await chain.ainvoke({"role": "guide", "topic": "Lodz"}) == (
        "You said: Tell me about Lodz."
    )
    pieces = [p async for p in chain.astream({"role": "guide", "topic": "Poznan"})]
    assert "".join(pieces) == "You said: Tell me about Poznan."
    assert called(emulator)[-1] == "gpt-4o-mini"


# ---- create_agent ---------------------------------------------------------------------------


def _calculator() -> tuple[Any, list[tuple[int, int]]]:
    calls: list[tuple[int, int]] = []

    @tool
    def add(a: int, b: int) -> int:
        """Add two integers and return their sum."""
        calls.append((a, b))
        return a + b

    return add, calls


def _assert_agent_ran(messages: list[Any], calls: list[tuple[int, int]]) -> None:
    assert calls == [(17, 25)]
    assert isinstance(messages[0], HumanMessage)
    request = messages[1]
    assert isinstance(request, AIMessage)
    assert [(c["name"], c["args"]) for c in request.tool_calls] == [("add", {"a": 17, "b": 25})]
    assert request.response_metadata["router"]["deployment"] == "openai/gpt-4o-mini"
    result = messages[2]
    assert isinstance(result, ToolMessage)
    assert result.content == "42"
    final = messages[-1]
    assert isinstance(final, AIMessage)
    assert not final.tool_calls
    assert "42" in final.text
    assert len(messages) == 4


def _assert_agent_requests(emulator: Emulator) -> None:
    bodies = [r.json for r in emulator.requests if r.path == "/v1/chat/completions"]
    first, second = bodies
    assert first["model"] == "gpt-4o-mini"  # Bielik has no tools: filtered out
    assert [t["function"]["name"] for t in first["tools"]] == ["add"]
    assert first["messages"][0] == {"role": "system", "content": "You are a calculator."}
    assert second["messages"][-1]["role"] == "tool"
    assert second["messages"][-1]["content"] == "42"


def test_create_agent_runs_the_tool(router: Router, emulator: Emulator) -> None:
    add, calls = _calculator()
    agent = create_agent(router, tools=[add], system_prompt="You are a calculator.")
    result = agent.invoke({"messages": [HumanMessage("What is 17 plus 25?")]})
    _assert_agent_ran(result["messages"], calls)
    _assert_agent_requests(emulator)


async def test_create_agent_async(router: Router, emulator: Emulator) -> None:
    add, calls = _calculator()
    agent = create_agent(router, tools=[add], system_prompt="You are a calculator.")
    result = await agent.ainvoke({"messages": [HumanMessage("What is 17 plus 25?")]})
    _assert_agent_ran(result["messages"], calls)
    _assert_agent_requests(emulator)


async def test_create_agent_streams_each_token_once(router: Router, emulator: Emulator) -> None:
    add, calls = _calculator()
    agent = create_agent(router, tools=[add], system_prompt="You are a calculator.")
    tokens: list[str] = []
    async for token, _meta in agent.astream(
        {"messages": [HumanMessage("What is 17 plus 25?")]}, stream_mode="messages"
    ):
        if isinstance(token, AIMessage) and token.text:
            tokens.append(token.text)
    assert calls == [(17, 25)]
    assert len(tokens) > 1
    assert "".join(tokens) == "The tool returned: 42"  # not doubled by the deployment's run
    bodies = [r.json for r in emulator.requests if r.path == "/v1/chat/completions"]
    assert all(b.get("stream") is True for b in bodies)


def test_tool_binding_is_cached_per_deployment(router: Router) -> None:
    add, _ = _calculator()
    first = router.bind_tools([add])
    second = router.bind_tools([add], tool_choice="any")
    assert first.kwargs["tools"] is second.kwargs["tools"]  # type: ignore[attr-defined]
    first.invoke("add 1 and 2")
    first.invoke("add 3 and 4")
    assert len(router._bindings._bound) == 1
    second.invoke("add 5 and 6")
    assert len(router._bindings._bound) == 2


# ---- structured output ------------------------------------------------------------------------


class Person(BaseModel):
    """A person mentioned in a text."""

    name: str = Field(description="The person's name")
    age: int = Field(description="Age in years")


EXTRACT = ChatPromptTemplate.from_messages([("system", "Extract the person."), ("human", "{text}")])


def test_structured_output_in_a_chain(router: Router, emulator: Emulator) -> None:
    chain = EXTRACT | router.with_structured_output(Person)
    person = chain.invoke({"text": "The engineer 'Ada' is 36 years old."})
    assert person == Person(name="Ada", age=36)
    body = emulator.requests[-1].json
    # Bielik (structured output, first) answers in Ollama's own form: a JSON schema format
    assert body["model"] == "SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M"
    assert body["format"]["properties"].keys() == {"name", "age"}


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
def test_structured_output_methods_on_openai(
    openai_model: OpenAIFactory, emulator: Emulator, method: str
) -> None:
    router = Router([openai_model("gpt-4o-mini")])
    if method == "json_mode":
        emulator.script('{"name": "Ada", "age": 36}')
    chain = EXTRACT | router.with_structured_output(Person, method=method)
    assert chain.invoke({"text": "The engineer 'Ada' is 36 years old."}) == Person(
        name="Ada", age=36
    )
    body = emulator.requests[-1].json
    if method == "function_calling":
        assert body["tool_choice"] == {"type": "function", "function": {"name": "Person"}}
    elif method == "json_schema":
        assert body["response_format"]["json_schema"]["name"] == "Person"
    else:
        assert body["response_format"] == {"type": "json_object"}


async def test_structured_output_include_raw_and_dict_schema(router: Router) -> None:
    chain = EXTRACT | router.with_structured_output(Person, include_raw=True)
    result = await chain.ainvoke({"text": "Meet 'Grace', aged 85."})
    assert result["parsed"] == Person(name="Grace", age=85)
    assert result["parsing_error"] is None
    assert result["raw"].response_metadata["router"]["deployment"] == BIELIK
    schema = Person.model_json_schema()
    schema["title"] = "person"
    as_dict = await (EXTRACT | router.with_structured_output(schema)).ainvoke({"text": "'Al', 3"})
    assert as_dict == {"name": "Al", "age": 3}


def test_structured_output_format_is_reported(router: Router) -> None:
    """Tracing sees the schema on the router's run and on the deployment's nested run."""
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.utils.function_calling import convert_to_json_schema

    class Options(BaseCallbackHandler):
        def __init__(self) -> None:
            self.seen: list[dict[str, Any]] = []

        def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
            self.seen.append(kwargs.get("options") or {})

    handler = Options()
    chain = router.with_structured_output(Person)
    assert chain.invoke("'Ada', 36", config={"callbacks": [handler]}) == Person(name="Ada", age=36)
    outer, inner = handler.seen
    expected = convert_to_json_schema(Person)
    assert outer["ls_structured_output_format"]["schema"] == expected
    assert outer["ls_structured_output_format"]["kwargs"]["method"] == "json_schema"
    assert inner["ls_structured_output_format"]["schema"] == expected


def test_structured_output_parsing_error_surfaces(router: Router, emulator: Emulator) -> None:
    emulator.script(Reply(content="not json at all"))
    result = (EXTRACT | router.with_structured_output(Person, include_raw=True)).invoke(
        {"text": "Meet 'Grace', aged 85."}
    )
    assert result["parsed"] is None
    assert result["parsing_error"] is not None
    assert result["raw"].text == "not json at all"


# ---- LlamaIndex -------------------------------------------------------------------------------

DOCUMENTS = {
    "bees": "Honeybees collect nectar from flowers and turn nectar into honey inside the hive.",
    "trains": "Steam locomotives pulled passenger trains across railway bridges and tunnels.",
    "volcano": "Volcanic eruptions push molten lava and ash out of the volcano crater.",
}
QUESTION = "How do honeybees turn nectar into honey?"


@pytest.fixture
def index(emulator: Emulator) -> VectorStoreIndex:
    embed_model = OpenAIEmbedding(
        api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0
    )
    documents = [Document(text=text, id_=name) for name, text in DOCUMENTS.items()]
    return VectorStoreIndex.from_documents(documents, embed_model=embed_model)


def test_llamaindex_query_engine(
    index: VectorStoreIndex, router: Router, emulator: Emulator
) -> None:
    llm = to_llamaindex(router)
    assert llm.metadata.context_window == 1047576  # the router's largest window
    engine = index.as_query_engine(llm=llm, similarity_top_k=1)
    response = engine.query(QUESTION)
    assert response.source_nodes[0].node.ref_doc_id == "bees"
    assert DOCUMENTS["bees"] in str(response)  # the emulator echoes the prompt
    chat = [r for r in emulator.requests if r.path == "/api/chat"][-1].json
    assert chat["model"] == "SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M"
    prompt = "\n".join(str(m["content"]) for m in chat["messages"])
    assert QUESTION in prompt


async def test_llamaindex_query_engine_async_streaming(
    index: VectorStoreIndex, router: Router
) -> None:
    engine = index.as_query_engine(llm=to_llamaindex(router), similarity_top_k=1)
    response = await engine.aquery(QUESTION)
    assert DOCUMENTS["bees"] in str(response)
    streaming = index.as_query_engine(llm=to_llamaindex(router), streaming=True)
    pieces = list(streaming.query(QUESTION).response_gen)  # type: ignore[union-attr,arg-type]
    assert len(pieces) > 3
    assert DOCUMENTS["bees"] in "".join(pieces)


# ---- cost tracking -----------------------------------------------------------------------------


def _cloud_first(candidates: Any, request: Any, stats: Any) -> list[Any]:
    return sorted(candidates, key=lambda d: d.local)


def _price(input_tokens: int, output_tokens: int) -> Decimal:
    """gpt-4o-mini: $0.15 per 1M input tokens, $0.60 per 1M output tokens."""
    return (Decimal(input_tokens) * Decimal("0.15") + Decimal(output_tokens) * Decimal("0.6")) / (
        Decimal(1_000_000)
    )


@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke", "astream"])
async def test_cost_tracking_sees_the_real_deployment(
    openai_model: OpenAIFactory, ollama: ChatOllama, ledger: Ledger, emulator: Emulator, mode: str
) -> None:
    router = Router([openai_model("gpt-4o-mini"), ollama], strategy=_cloud_first, max_retries=0)
    emulator.script(Reply("Paris", usage=Usage(prompt_tokens=1000, completion_tokens=200)))
    handler = CostCallbackHandler(ledger)
    config: Any = {"callbacks": [handler], "metadata": {"workspace_id": "w1", "agent_id": "a1"}}
    if mode == "invoke":
        router.invoke("Capital of France?", config=config)
    elif mode == "stream":
        list(router.stream("Capital of France?", config=config))
    elif mode == "ainvoke":
        await router.ainvoke("Capital of France?", config=config)
    else:
        [c async for c in router.astream("Capital of France?", config=config)]
    ledger.flush()
    (record,) = ledger.records()  # the router's own run is not counted twice
    assert (record.provider, record.model) == ("openai", "gpt-4o-mini")
    assert (record.workspace_id, record.agent_id) == ("w1", "a1")
    assert (record.input_tokens, record.output_tokens) == (1000, 200)
    assert record.cost == _price(1000, 200)


def test_cost_tracking_records_the_failed_attempt_and_the_fallback(
    openai_model: OpenAIFactory, ollama: ChatOllama, ledger: Ledger, emulator: Emulator
) -> None:
    router = Router([openai_model("gpt-4o-mini"), ollama], strategy=_cloud_first, max_retries=0)
    emulator.fail(Fault.server_error(500), times=1, model="gpt-4o-mini")
    answer = router.invoke("hi", config={"callbacks": [CostCallbackHandler(ledger)]})
    assert outcomes(answer) == [("openai/gpt-4o-mini", "api"), ("ollama/llama3.2", "ok")]
    ledger.flush()
    records = sorted(ledger.records(), key=lambda r: r.time)
    assert [(r.provider, r.model, r.outcome) for r in records] == [
        ("openai", "gpt-4o-mini", "error"),
        ("ollama", "llama3.2", "ok"),
    ]
    assert records[1].cost == Decimal(0)


class _Picky(BaseChatModel):
    """A third-party model whose ``bind_tools`` knows no ``parallel_tool_calls`` or
    ``strict``, and whose ``_generate`` rejects keyword arguments it does not know."""

    bound: list[dict[str, Any]] = []

    @property
    def _llm_type(self) -> str:
        return "picky"

    def bind_tools(self, tools: Any, *, tool_choice: Any = None, **kwargs: Any) -> Any:
        self.bound.append({"tool_choice": tool_choice, **kwargs})
        return self.bind(tools=tools, **kwargs)

    def _generate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, *, tools: Any = None
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(f"{len(tools)} tools"))])


def test_bind_tools_options_reach_only_deployments_that_take_them(
    openai_model: OpenAIFactory, emulator: Emulator
) -> None:
    from dataclasses import replace

    from polyvox.costs.catalog import Capability
    from polyvox.router.deployment import Deployment, lookup_entry

    add, _ = _calculator()
    entry = replace(lookup_entry("custom", "picky"), capabilities=frozenset({Capability.TOOLS}))
    picky = Deployment(name="picky", model=_Picky(), entry=entry)
    router = Router([picky, openai_model("gpt-4o-mini")], strategy="quality", max_retries=0)
    bound = router.bind_tools([add], strict=True, parallel_tool_calls=False)

    answer = bound.invoke("add 1 and 2", deployment="picky")
    assert answer.text == "1 tools"
    assert outcomes(answer) == [("picky", "ok")]
    assert picky.model.bound == [{"tool_choice": None}]  # neither option was forced on it

    answer = bound.invoke("add 1 and 2", deployment="openai/gpt-4o-mini")
    assert outcomes(answer) == [("openai/gpt-4o-mini", "ok")]
    body = emulator.requests[-1].json
    assert body is not None
    assert body["parallel_tool_calls"] is False
    assert body["tools"][0]["function"]["strict"] is True
