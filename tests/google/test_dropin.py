"""Drop-in use: polyvox-google objects inside the LangChain and LlamaIndex code users write.

Nothing here is polyvox-specific beyond the import lines: an LCEL chain, a ``create_agent``
tool loop, structured output inside a chain, a LlamaIndex RAG query engine and a
``FunctionAgent``, all against the emulator's Gemini protocol through the real
``google-genai`` SDK.
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

from polyvox.google import ChatGoogleGenerativeAI
from polyvox.google.llamaindex import GoogleGenAI, GoogleGenAIEmbedding
from polyvox.testing import Emulator
from tests.openai.test_dropin import DOCUMENTS, QUESTION, _calculator

PROMPT = ChatPromptTemplate.from_messages(
    [("system", "You are a {role}."), ("human", "Tell me about {topic}.")]
)


@pytest.fixture
def chat(emulator: Emulator) -> ChatGoogleGenerativeAI:
    return ChatGoogleGenerativeAI(
        model="gemini-2.5-flash",
        google_api_key="test-key",
        base_url=emulator.gemini_base_url,
        max_retries=0,
    )


def _generate_requests(emulator: Emulator) -> list[dict[str, Any]]:
    return [r.json for r in emulator.requests if "enerateContent" in r.path]


# ---- an LCEL chain ----------------------------------------------------------------------------


def test_lcel_chain_invoke_batch_and_stream(
    chat: ChatGoogleGenerativeAI, emulator: Emulator
) -> None:
    chain = PROMPT | chat | StrOutputParser()
    assert chain.invoke({"role": "guide", "topic": "Warsaw"}) == "You said: Tell me about Warsaw."
    body = _generate_requests(emulator)[0]
    assert body["systemInstruction"] == {"parts": [{"text": "You are a guide."}]}
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Tell me about Warsaw."}]}]
    topics = ["Krakow", "Gdansk"]
    answers = chain.batch([{"role": "guide", "topic": t} for t in topics])
    assert answers == [f"You said: Tell me about {t}." for t in topics]
    pieces = list(chain.stream({"role": "guide", "topic": "Lodz"}))
    assert len(pieces) > 1
    assert "".join(pieces) == "You said: Tell me about Lodz."


async def test_lcel_chain_async(chat: ChatGoogleGenerativeAI, emulator: Emulator) -> None:
    chain = PROMPT | chat | StrOutputParser()
    assert (
        await chain.ainvoke({"role": "guide", "topic": "Rome"}) == "You said: Tell me about Rome."
    )
    pieces = [p async for p in chain.astream({"role": "guide", "topic": "Oslo"})]
    assert "".join(pieces) == "You said: Tell me about Oslo."
    assert emulator.requests[-1].path.endswith(":streamGenerateContent")


# ---- a tool-calling agent -----------------------------------------------------------------------


@pytest.mark.parametrize("model", ["gemini-2.5-flash", "gemini-3-pro-preview"])
async def test_create_agent_runs_the_tool(emulator: Emulator, model: str) -> None:
    """The agent's loop sends the thought signatures back (Gemini 3 refuses it otherwise)."""
    chat = ChatGoogleGenerativeAI(
        model=model, api_key="test-key", base_url=emulator.gemini_base_url, max_retries=0
    )
    add, calls = _calculator()
    agent = create_agent(chat, tools=[add], system_prompt="You are a calculator.")
    result = agent.invoke({"messages": [HumanMessage("What is 17 plus 25?")]})
    messages = result["messages"]
    assert calls == [(17, 25)]
    assert [type(m) for m in messages] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    assert messages[2].tool_call_id == messages[1].tool_calls[0]["id"]
    assert "42" in messages[-1].text
    first, second = _generate_requests(emulator)
    declarations = first["tools"][0]["functionDeclarations"]
    assert [d["name"] for d in declarations] == ["add"]
    assert second["contents"][-1]["parts"][0]["functionResponse"]["name"] == "add"
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
    chat: ChatGoogleGenerativeAI, emulator: Emulator, method: str
) -> None:
    if method == "json_mode":
        emulator.script('{"name": "Ada", "age": 36}')
    chain = EXTRACT | chat.with_structured_output(Person, method=method)
    assert chain.invoke({"text": "The engineer 'Ada' is 36 years old."}) == Person(
        name="Ada", age=36
    )
    config = _generate_requests(emulator)[-1].get("generationConfig", {})
    if method == "function_calling":
        tool_config = _generate_requests(emulator)[-1]["toolConfig"]
        assert tool_config["functionCallingConfig"]["mode"] == "ANY"
    else:
        assert config["responseMimeType"] == "application/json"
        assert ("responseJsonSchema" in config) is (method == "json_schema")


# ---- LlamaIndex: a RAG query engine and a FunctionAgent ---------------------------------------


@pytest.fixture
def llama_llm(emulator: Emulator) -> GoogleGenAI:
    return GoogleGenAI(
        model="gemini-2.5-flash", api_key="test-key", base_url=emulator.gemini_base_url
    )


@pytest.fixture
def index(emulator: Emulator) -> VectorStoreIndex:
    embed_model = GoogleGenAIEmbedding(
        model="gemini-embedding-001", api_key="test-key", base_url=emulator.gemini_base_url
    )
    documents = [Document(text=text, id_=name) for name, text in DOCUMENTS.items()]
    return VectorStoreIndex.from_documents(documents, embed_model=embed_model)


def test_query_engine(index: VectorStoreIndex, llama_llm: GoogleGenAI, emulator: Emulator) -> None:
    response = index.as_query_engine(llm=llama_llm, similarity_top_k=1).query(QUESTION)
    assert response.source_nodes[0].node.ref_doc_id == "bees"
    # the emulator echoes the prompt, so the answer shows the retrieved context was sent
    assert DOCUMENTS["bees"] in str(response)
    embedded = [r.json for r in emulator.requests if "mbedContent" in r.path]
    assert embedded[-1]["requests"][0]["taskType"] == "RETRIEVAL_QUERY"


async def test_query_engine_async_and_streaming(
    index: VectorStoreIndex, llama_llm: GoogleGenAI
) -> None:
    response = await index.as_query_engine(llm=llama_llm, similarity_top_k=1).aquery(QUESTION)
    assert DOCUMENTS["bees"] in str(response)
    streaming = index.as_query_engine(llm=llama_llm, streaming=True, similarity_top_k=1)
    pieces = list(streaming.query(QUESTION).response_gen)  # type: ignore[union-attr]
    assert len(pieces) > 1
    assert DOCUMENTS["bees"] in "".join(pieces)


async def test_function_agent(emulator: Emulator) -> None:
    from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
    from llama_index.core.tools import FunctionTool

    def multiply(a: int, b: int) -> int:
        """Multiply two integers."""
        return a * b

    llm = GoogleGenAI(
        model="gemini-3-pro-preview", api_key="test-key", base_url=emulator.gemini_base_url
    )
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(multiply)], llm=llm)
    handler = agent.run("What is 6 times 7?")
    results = [e async for e in handler.stream_events() if isinstance(e, ToolCallResult)]
    answer = await handler
    assert [(r.tool_name, r.tool_kwargs, r.tool_output.raw_output) for r in results] == [
        ("multiply", {"a": 6, "b": 7}, 42)
    ]
    assert "42" in str(answer)
    # the tool loop went back with the call's thought signature (Gemini 3 refuses it without)
    model_turn = _generate_requests(emulator)[-1]["contents"][1]
    assert model_turn["parts"][0]["thoughtSignature"]
