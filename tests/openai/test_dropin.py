"""Drop-in use: polyvox-openai objects inside the LangChain and LlamaIndex code users write.

Nothing here is polyvox-specific beyond the import lines: an LCEL chain, a
``create_agent`` tool loop, a LlamaIndex RAG query engine, structured output inside a
chain, and ``with_fallbacks``, all against the emulator through the real ``openai`` SDK.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableWithFallbacks
from langchain_core.tools import tool
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.base.response.schema import StreamingResponse
from pydantic import BaseModel, Field

from polyvox.openai import ChatOpenAI, OpenAIAPIError, OpenAIRateLimitError
from polyvox.openai.llamaindex import OpenAI, OpenAIEmbedding
from polyvox.testing import Emulator, Fault, Reply

PROMPT = ChatPromptTemplate.from_messages(
    [("system", "You are a {role}."), ("human", "Tell me about {topic}.")]
)


def _chat_requests(emulator: Emulator) -> list[dict[str, Any]]:
    return [r.json for r in emulator.requests if r.path == "/v1/chat/completions"]


def _rendered(topic: str, role: str = "tour guide") -> list[dict[str, str]]:
    return [
        {"role": "system", "content": f"You are a {role}."},
        {"role": "user", "content": f"Tell me about {topic}."},
    ]


# -- (a) an LCEL chain ------------------------------------------------------------------------


def test_lcel_chain_invoke(chat: ChatOpenAI, emulator: Emulator) -> None:
    chain = PROMPT | chat | StrOutputParser()
    answer = chain.invoke({"role": "tour guide", "topic": "Warsaw"})
    assert answer == "You said: Tell me about Warsaw."
    (body,) = _chat_requests(emulator)
    assert body["model"] == "gpt-4o"
    assert body["messages"] == _rendered("Warsaw")
    assert "stream" not in body


def test_lcel_chain_batch(chat: ChatOpenAI, emulator: Emulator) -> None:
    chain = PROMPT | chat | StrOutputParser()
    topics = ["Warsaw", "Krakow", "Gdansk"]
    answers = chain.batch([{"role": "tour guide", "topic": t} for t in topics])
    assert answers == [f"You said: Tell me about {t}." for t in topics]
    bodies = _chat_requests(emulator)
    assert len(bodies) == 3
    assert sorted(b["messages"][1]["content"] for b in bodies) == sorted(
        f"Tell me about {t}." for t in topics
    )
    assert all(
        b["messages"][0] == {"role": "system", "content": "You are a tour guide."} for b in bodies
    )


def test_lcel_chain_stream(chat: ChatOpenAI, emulator: Emulator) -> None:
    chain = PROMPT | chat | StrOutputParser()
    pieces = list(chain.stream({"role": "poet", "topic": "the Vistula river"}))
    assert len(pieces) > 3, pieces
    assert all(isinstance(p, str) for p in pieces)
    assert "".join(pieces) == "You said: Tell me about the Vistula river."
    (body,) = _chat_requests(emulator)
    assert body["stream"] is True
    assert body["messages"] == _rendered("the Vistula river", role="poet")


async def test_lcel_chain_ainvoke_and_astream(chat: ChatOpenAI, emulator: Emulator) -> None:
    chain = PROMPT | chat | StrOutputParser()
    answer = await chain.ainvoke({"role": "tour guide", "topic": "Lodz"})
    assert answer == "You said: Tell me about Lodz."
    pieces = [p async for p in chain.astream({"role": "tour guide", "topic": "Poznan"})]
    assert len(pieces) > 3
    assert "".join(pieces) == "You said: Tell me about Poznan."
    first, second = _chat_requests(emulator)
    assert first["messages"] == _rendered("Lodz")
    assert second["messages"] == _rendered("Poznan")
    assert second["stream"] is True


def test_lcel_chain_scripted_answer(chat: ChatOpenAI, emulator: Emulator) -> None:
    emulator.script("Warsaw is the capital of Poland.")
    chain = PROMPT | chat | StrOutputParser()
    assert chain.invoke({"role": "guide", "topic": "Warsaw"}) == "Warsaw is the capital of Poland."


# -- (b) a tool-calling agent -----------------------------------------------------------------


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
    tool_request = messages[1]
    assert isinstance(tool_request, AIMessage)
    assert [(c["name"], c["args"]) for c in tool_request.tool_calls] == [
        ("add", {"a": 17, "b": 25})
    ]
    tool_result = messages[2]
    assert isinstance(tool_result, ToolMessage)
    assert tool_result.content == "42"
    assert tool_result.tool_call_id == tool_request.tool_calls[0]["id"]
    final = messages[-1]
    assert isinstance(final, AIMessage)
    assert not final.tool_calls
    assert "42" in final.text
    assert len(messages) == 4


def _assert_agent_requests(emulator: Emulator) -> None:
    first, second = _chat_requests(emulator)
    assert [t["function"]["name"] for t in first["tools"]] == ["add"]
    assert first["messages"][0] == {"role": "system", "content": "You are a calculator."}
    assert first["messages"][-1]["content"] == "What is 17 plus 25?"
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"] == "42"


def test_create_agent_runs_the_tool(chat: ChatOpenAI, emulator: Emulator) -> None:
    add, calls = _calculator()
    agent = create_agent(chat, tools=[add], system_prompt="You are a calculator.")
    result = agent.invoke({"messages": [HumanMessage("What is 17 plus 25?")]})
    _assert_agent_ran(result["messages"], calls)
    _assert_agent_requests(emulator)


async def test_create_agent_async(chat: ChatOpenAI, emulator: Emulator) -> None:
    add, calls = _calculator()
    agent = create_agent(chat, tools=[add], system_prompt="You are a calculator.")
    result = await agent.ainvoke({"messages": [HumanMessage("What is 17 plus 25?")]})
    _assert_agent_ran(result["messages"], calls)
    _assert_agent_requests(emulator)


async def test_create_agent_streams_messages(chat: ChatOpenAI, emulator: Emulator) -> None:
    add, calls = _calculator()
    agent = create_agent(chat, tools=[add], system_prompt="You are a calculator.")
    tokens: list[str] = []
    async for token, _meta in agent.astream(
        {"messages": [HumanMessage("What is 17 plus 25?")]}, stream_mode="messages"
    ):
        if isinstance(token, AIMessage) and token.text:
            tokens.append(token.text)
    assert calls == [(17, 25)]
    assert len(tokens) > 1
    assert "".join(tokens) == "The tool returned: 42"
    assert all(b.get("stream") is True for b in _chat_requests(emulator))


# -- (c) a LlamaIndex RAG query engine ----------------------------------------------------------

DOCUMENTS = {
    "bees": "Honeybees collect nectar from flowers and turn nectar into honey inside the hive.",
    "trains": "Steam locomotives pulled passenger trains across railway bridges and tunnels.",
    "volcano": "Volcanic eruptions push molten lava and ash out of the volcano crater.",
    "chess": "Chess players move knights, bishops and rooks across the chessboard squares.",
    "bread": "Bakers knead dough with flour, yeast and water, then bake bread in ovens.",
}


@pytest.fixture
def index(emulator: Emulator) -> VectorStoreIndex:
    embed_model = OpenAIEmbedding(
        api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0
    )
    documents = [Document(text=text, id_=name) for name, text in DOCUMENTS.items()]
    built = VectorStoreIndex.from_documents(documents, embed_model=embed_model)
    embedded = [
        text for r in emulator.requests if r.path == "/v1/embeddings" for text in r.json["input"]
    ]
    assert sorted(embedded) == sorted(DOCUMENTS.values())
    return built


@pytest.fixture
def llama_llm(emulator: Emulator) -> OpenAI:
    return OpenAI(
        model="gpt-4o-mini", api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0
    )


QUESTION = "How do honeybees turn nectar into honey?"


def _assert_retrieved_bees(source_nodes: list[Any]) -> None:
    assert source_nodes
    assert source_nodes[0].node.ref_doc_id == "bees"
    scores = [n.score for n in source_nodes]
    assert scores == sorted(scores, reverse=True)
    assert all(n.node.ref_doc_id != "bees" for n in source_nodes[1:])
    if len(scores) > 1:
        assert scores[0] > scores[1] + 0.1


def _assert_prompt_had_context(emulator: Emulator) -> None:
    body = _chat_requests(emulator)[-1]
    prompt = "\n".join(str(m["content"]) for m in body["messages"])
    assert DOCUMENTS["bees"] in prompt
    assert QUESTION in prompt
    assert body["model"] == "gpt-4o-mini"


def test_query_engine(index: VectorStoreIndex, llama_llm: OpenAI, emulator: Emulator) -> None:
    engine = index.as_query_engine(llm=llama_llm, similarity_top_k=2)
    response = engine.query(QUESTION)
    _assert_retrieved_bees(response.source_nodes)
    assert len(response.source_nodes) == 2
    assert str(response).strip()
    # The emulator echoes the prompt, so the answer shows what the engine sent.
    assert DOCUMENTS["bees"] in str(response)
    _assert_prompt_had_context(emulator)
    query_embeddings = [r for r in emulator.requests if r.path == "/v1/embeddings"][-1]
    assert query_embeddings.json["input"] == [QUESTION]


async def test_query_engine_aquery(
    index: VectorStoreIndex, llama_llm: OpenAI, emulator: Emulator
) -> None:
    engine = index.as_query_engine(llm=llama_llm, similarity_top_k=3)
    response = await engine.aquery(QUESTION)
    _assert_retrieved_bees(response.source_nodes)
    assert len(response.source_nodes) == 3
    assert DOCUMENTS["bees"] in str(response)
    _assert_prompt_had_context(emulator)


def test_query_engine_streaming(
    index: VectorStoreIndex, llama_llm: OpenAI, emulator: Emulator
) -> None:
    engine = index.as_query_engine(llm=llama_llm, streaming=True, similarity_top_k=1)
    response = engine.query(QUESTION)
    assert isinstance(response, StreamingResponse)
    pieces = list(response.response_gen)
    assert len(pieces) > 3
    text = "".join(pieces)
    assert text.startswith("You said:")
    assert DOCUMENTS["bees"] in text
    _assert_retrieved_bees(response.source_nodes)
    assert _chat_requests(emulator)[-1]["stream"] is True
    _assert_prompt_had_context(emulator)


def test_query_engine_scripted_answer(
    index: VectorStoreIndex, llama_llm: OpenAI, emulator: Emulator
) -> None:
    emulator.script("Bees evaporate nectar and add enzymes.")
    response = index.as_query_engine(llm=llama_llm).query(QUESTION)
    assert str(response) == "Bees evaporate nectar and add enzymes."
    _assert_retrieved_bees(response.source_nodes)


# -- (d) structured output in a chain -----------------------------------------------------------


class Person(BaseModel):
    """A person mentioned in a text."""

    name: str = Field(description="The person's name")
    age: int = Field(description="Age in years")


EXTRACT = ChatPromptTemplate.from_messages([("system", "Extract the person."), ("human", "{text}")])


def test_structured_output_in_chain(chat: ChatOpenAI, emulator: Emulator) -> None:
    chain = EXTRACT | chat.with_structured_output(Person)
    person = chain.invoke({"text": "The engineer 'Ada' is 36 years old."})
    assert person == Person(name="Ada", age=36)
    (body,) = _chat_requests(emulator)
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "Person"
    schema = body["response_format"]["json_schema"]["schema"]
    assert set(schema["properties"]) == {"name", "age"}
    assert body["messages"][-1]["content"] == "The engineer 'Ada' is 36 years old."


@pytest.mark.parametrize("method", ["function_calling", "json_mode"])
def test_structured_output_other_methods(chat: ChatOpenAI, emulator: Emulator, method: str) -> None:
    if method == "json_mode":
        emulator.script('{"name": "Ada", "age": 36}')
    chain = EXTRACT | chat.with_structured_output(Person, method=method)
    assert chain.invoke({"text": "The engineer 'Ada' is 36 years old."}) == Person(
        name="Ada", age=36
    )
    (body,) = _chat_requests(emulator)
    if method == "function_calling":
        assert body["tool_choice"] == {"type": "function", "function": {"name": "Person"}}
    else:
        assert body["response_format"] == {"type": "json_object"}


async def test_structured_output_include_raw_async(chat: ChatOpenAI) -> None:
    chain = EXTRACT | chat.with_structured_output(Person, include_raw=True)
    result = await chain.ainvoke({"text": "Meet 'Grace', aged 85."})
    assert result["parsed"] == Person(name="Grace", age=85)
    assert result["parsing_error"] is None
    assert isinstance(result["raw"], AIMessage)
    assert result["raw"].usage_metadata["total_tokens"] > 0


def test_structured_output_parsing_error_surfaces(chat: ChatOpenAI, emulator: Emulator) -> None:
    emulator.script(Reply(content="not json at all"))
    chain = EXTRACT | chat.with_structured_output(Person, include_raw=True)
    result = chain.invoke({"text": "Meet 'Grace', aged 85."})
    assert result["parsed"] is None
    assert result["parsing_error"] is not None
    assert result["raw"].text == "not json at all"


# -- (e) fallbacks ------------------------------------------------------------------------------


def _model(emulator: Emulator, name: str) -> ChatOpenAI:
    return ChatOpenAI(
        model=name, api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0
    )


def test_with_fallbacks_answers_from_the_fallback(emulator: Emulator) -> None:
    emulator.fail(Fault.server_error(500), times=None, model="model-a")
    model = _model(emulator, "model-a").with_fallbacks([_model(emulator, "model-b")])
    assert isinstance(model, RunnableWithFallbacks)
    answer = model.invoke("Ping")
    assert isinstance(answer, AIMessage)
    assert answer.text == "You said: Ping"
    assert answer.response_metadata["model_name"] == "model-b"
    assert [b["model"] for b in _chat_requests(emulator)] == ["model-a", "model-b"]


async def test_with_fallbacks_async_stream_in_chain(emulator: Emulator) -> None:
    emulator.fail(Fault.server_error(503), times=None, model="model-a")
    model = _model(emulator, "model-a").with_fallbacks([_model(emulator, "model-b")])
    chain = PROMPT | model | StrOutputParser()
    answer = await chain.ainvoke({"role": "guide", "topic": "Lublin"})
    assert answer == "You said: Tell me about Lublin."
    pieces = [p async for p in chain.astream({"role": "guide", "topic": "Torun"})]
    assert "".join(pieces) == "You said: Tell me about Torun."
    assert [b["model"] for b in _chat_requests(emulator)] == [
        "model-a",
        "model-b",
        "model-a",
        "model-b",
    ]


def test_with_fallbacks_only_for_chosen_exceptions(emulator: Emulator) -> None:
    emulator.fail(Fault.server_error(500), times=None, model="model-a")
    model = _model(emulator, "model-a").with_fallbacks(
        [_model(emulator, "model-b")], exceptions_to_handle=(OpenAIRateLimitError,)
    )
    with pytest.raises(OpenAIAPIError) as excinfo:
        model.invoke("Ping")
    assert excinfo.value.status_code == 500
    assert [b["model"] for b in _chat_requests(emulator)] == ["model-a"]


def test_with_fallbacks_rate_limit_maps_to_langchain_error(emulator: Emulator) -> None:
    from langchain_core.exceptions import ModelRateLimitError

    emulator.fail(Fault.rate_limit(retry_after=None), times=None, model="model-a")
    model = _model(emulator, "model-a").with_fallbacks(
        [_model(emulator, "model-b")], exceptions_to_handle=(ModelRateLimitError,)
    )
    assert model.invoke("Ping").text == "You said: Ping"
    assert [b["model"] for b in _chat_requests(emulator)] == ["model-a", "model-b"]
