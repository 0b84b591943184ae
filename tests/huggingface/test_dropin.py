"""Drop-in use: polyvox-huggingface objects inside the LangChain and LlamaIndex code users write.

Nothing here is polyvox-specific beyond the import lines: an LCEL chain, a ``create_agent``
tool loop, structured output inside a chain, a LlamaIndex RAG query engine and a
``FunctionAgent``, all against the emulator's Inference Providers router through the real
``huggingface_hub`` SDK.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from llama_index.core import Document, VectorStoreIndex
from pydantic import BaseModel, Field

from polyvox.huggingface import ChatHuggingFace
from polyvox.huggingface.llamaindex import (
    HuggingFaceInferenceAPI,
    HuggingFaceInferenceAPIEmbedding,
)
from polyvox.testing import Emulator
from tests.openai.test_dropin import DOCUMENTS, QUESTION, _calculator

MODEL = "meta-llama/Llama-3.3-70B-Instruct"
PROMPT = ChatPromptTemplate.from_messages(
    [("system", "You are a {role}."), ("human", "Tell me about {topic}.")]
)


def _router(emulator: Emulator) -> str:
    return f"{emulator.url}/huggingface/router/v1"


@pytest.fixture
def chat(emulator: Emulator) -> ChatHuggingFace:
    return ChatHuggingFace(
        model=MODEL, api_key="hf_test", base_url=_router(emulator), max_retries=0
    )


def _chat_requests(emulator: Emulator) -> list[dict[str, Any]]:
    return [r.json for r in emulator.requests if r.path.endswith("/chat/completions")]


# ---- an LCEL chain ----------------------------------------------------------------------------


def test_lcel_chain_invoke_batch_and_stream(chat: ChatHuggingFace, emulator: Emulator) -> None:
    chain = PROMPT | chat | StrOutputParser()
    assert chain.invoke({"role": "guide", "topic": "Warsaw"}) == "You said: Tell me about Warsaw."
    body = _chat_requests(emulator)[0]
    assert body["messages"] == [
        {"role": "system", "content": "You are a guide."},
        {"role": "user", "content": "Tell me about Warsaw."},
    ]
    assert body["model"] == MODEL
    topics = ["Krakow", "Gdansk"]
    answers = chain.batch([{"role": "guide", "topic": t} for t in topics])
    assert answers == [f"You said: Tell me about {t}." for t in topics]
    pieces = list(chain.stream({"role": "guide", "topic": "Lodz"}))
    assert len(pieces) > 1
    assert "".join(pieces) == "You said: Tell me about Lodz."
    assert _chat_requests(emulator)[-1]["stream"] is True


async def test_lcel_chain_async(chat: ChatHuggingFace, emulator: Emulator) -> None:
    chain = PROMPT | chat | StrOutputParser()
    assert (
        await chain.ainvoke({"role": "guide", "topic": "Rome"}) == "You said: Tell me about Rome."
    )
    answers = await chain.abatch([{"role": "guide", "topic": t} for t in ("Bern", "Oslo")])
    assert answers == ["You said: Tell me about Bern.", "You said: Tell me about Oslo."]
    pieces = [p async for p in chain.astream({"role": "guide", "topic": "Riga"})]
    assert len(pieces) > 1
    assert "".join(pieces) == "You said: Tell me about Riga."
    assert _chat_requests(emulator)[-1]["stream_options"] == {"include_usage": True}


# ---- a tool-calling agent -----------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["auto", "together"])
async def test_create_agent_runs_the_tool(emulator: Emulator, provider: str) -> None:
    chat = ChatHuggingFace(
        model=MODEL,
        provider=provider,
        api_key="hf_test",
        base_url=_router(emulator),
        max_retries=0,
    )
    add, calls = _calculator()
    agent = create_agent(chat, tools=[add], system_prompt="You are a calculator.")
    result = agent.invoke({"messages": [HumanMessage("What is 17 plus 25?")]})
    messages = result["messages"]
    assert calls == [(17, 25)]
    assert [type(m) for m in messages] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    assert messages[2].tool_call_id == messages[1].tool_calls[0]["id"]
    assert "42" in messages[-1].text
    first, second = _chat_requests(emulator)
    assert [t["function"]["name"] for t in first["tools"]] == ["add"]
    expected_model = MODEL if provider == "auto" else f"{MODEL}:{provider}"
    assert first["model"] == second["model"] == expected_model
    assert second["messages"][-1]["role"] == "tool"
    assert second["messages"][-1]["tool_call_id"] == messages[1].tool_calls[0]["id"]
    result = await agent.ainvoke({"messages": [HumanMessage("What is 17 plus 25?")]})
    assert "42" in result["messages"][-1].text


# ---- structured output in a chain ---------------------------------------------------------------


class Person(BaseModel):
    """A person mentioned in a text."""

    name: str = Field(description="The person's name")
    age: int = Field(description="Age in years")


EXTRACT = ChatPromptTemplate.from_messages([("system", "Extract the person."), ("human", "{text}")])


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
def test_structured_output_in_a_chain(
    chat: ChatHuggingFace, emulator: Emulator, method: str
) -> None:
    if method == "json_mode":
        emulator.script('{"name": "Ada", "age": 36}')
    chain = EXTRACT | chat.with_structured_output(Person, method=method)
    assert chain.invoke({"text": "The engineer 'Ada' is 36 years old."}) == Person(
        name="Ada", age=36
    )
    body = _chat_requests(emulator)[-1]
    if method == "function_calling":
        assert body["tool_choice"]["function"]["name"] == "Person"
    elif method == "json_mode":
        assert body["response_format"] == {"type": "json_object"}
    else:
        # huggingface_hub sends a JSON schema as TGI's grammar: {"type": "json_object", "value"}
        assert body["response_format"]["value"]["properties"].keys() == {"name", "age"}


# ---- LlamaIndex: a RAG query engine and a FunctionAgent ---------------------------------------


@pytest.fixture
def llama_llm(emulator: Emulator) -> HuggingFaceInferenceAPI:
    return HuggingFaceInferenceAPI(model=MODEL, api_key="hf_test", base_url=_router(emulator))


@pytest.fixture
def index(emulator: Emulator) -> VectorStoreIndex:
    embed_model = HuggingFaceInferenceAPIEmbedding(
        model="BAAI/bge-m3", api_key="hf_test", base_url=_router(emulator)
    )
    documents = [Document(text=text, id_=name) for name, text in DOCUMENTS.items()]
    return VectorStoreIndex.from_documents(documents, embed_model=embed_model)


def test_query_engine(
    index: VectorStoreIndex, llama_llm: HuggingFaceInferenceAPI, emulator: Emulator
) -> None:
    response = index.as_query_engine(llm=llama_llm, similarity_top_k=1).query(QUESTION)
    assert response.source_nodes[0].node.ref_doc_id == "bees"
    # the emulator echoes the prompt, so the answer shows the retrieved context was sent
    assert DOCUMENTS["bees"] in str(response)
    embedded = [r for r in emulator.requests if r.path.endswith("/feature-extraction")]
    assert embedded[-1].json == {"inputs": [QUESTION]}


async def test_query_engine_async_and_streaming(
    index: VectorStoreIndex, llama_llm: HuggingFaceInferenceAPI
) -> None:
    response = await index.as_query_engine(llm=llama_llm, similarity_top_k=1).aquery(QUESTION)
    assert DOCUMENTS["bees"] in str(response)
    streaming = index.as_query_engine(llm=llama_llm, streaming=True, similarity_top_k=1)
    pieces = list(streaming.query(QUESTION).response_gen)  # type: ignore[union-attr]
    assert len(pieces) > 1
    assert DOCUMENTS["bees"] in "".join(pieces)


async def test_function_agent(llama_llm: HuggingFaceInferenceAPI, emulator: Emulator) -> None:
    from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
    from llama_index.core.tools import FunctionTool

    def multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        return a * b

    agent = FunctionAgent(tools=[FunctionTool.from_defaults(multiply)], llm=llama_llm)
    handler = agent.run("What is 6 times 7?")
    results = [e async for e in handler.stream_events() if isinstance(e, ToolCallResult)]
    answer = await handler
    assert [(r.tool_name, r.tool_kwargs, r.tool_output.raw_output) for r in results] == [
        ("multiply", {"a": 6, "b": 7}, 42)
    ]
    assert "42" in str(answer)
    tool_turn = _chat_requests(emulator)[-1]["messages"][-1]
    assert (tool_turn["role"], tool_turn["content"]) == ("tool", "42")
