"""Drop-in use: polyvox-yandex objects inside the LangChain and LlamaIndex code users write.

Nothing here is polyvox-specific beyond the import lines: an LCEL chain, a ``create_agent``
tool loop, structured output inside a chain, a LlamaIndex RAG query engine and a
``FunctionAgent``, all against the emulator's Yandex gRPC services through the real
``yandex-ai-studio-sdk``.
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

from polyvox.testing import Emulator
from polyvox.yandex import ChatYandexGPT
from polyvox.yandex.llamaindex import YandexGPTEmbedding, YandexGPTLLM
from tests.openai.test_dropin import DOCUMENTS, QUESTION, _calculator

PROMPT = ChatPromptTemplate.from_messages(
    [("system", "Ты {role}."), ("human", "Расскажи про {topic}.")]
)
_CONNECTION: dict[str, Any] = {"folder_id": "b1gfolder", "api_key": "AQVNtest", "max_retries": 0}


@pytest.fixture
def chat(emulator: Emulator) -> ChatYandexGPT:
    return ChatYandexGPT(model="yandexgpt", base_url=emulator.yandex_endpoint, **_CONNECTION)


def _completions(emulator: Emulator) -> list[dict[str, Any]]:
    path = "TextGenerationService/Completion"
    return [r.json for r in emulator.requests if r.path.endswith(path)]


# ---- an LCEL chain ----------------------------------------------------------------------------


def test_lcel_chain_invoke_batch_and_stream(chat: ChatYandexGPT, emulator: Emulator) -> None:
    chain = PROMPT | chat | StrOutputParser()
    assert chain.invoke({"role": "гид", "topic": "Казань"}) == "You said: Расскажи про Казань."
    body = _completions(emulator)[0]
    assert body["modelUri"] == "gpt://b1gfolder/yandexgpt/latest"
    assert body["messages"] == [
        {"role": "system", "text": "Ты гид."},
        {"role": "user", "text": "Расскажи про Казань."},
    ]
    topics = ["Самару", "Томск"]
    answers = chain.batch([{"role": "гид", "topic": t} for t in topics])
    assert answers == [f"You said: Расскажи про {t}." for t in topics]
    pieces = list(chain.stream({"role": "гид", "topic": "Омск"}))
    assert len(pieces) > 1
    assert "".join(pieces) == "You said: Расскажи про Омск."


async def test_lcel_chain_async(chat: ChatYandexGPT, emulator: Emulator) -> None:
    chain = PROMPT | chat | StrOutputParser()
    answer = await chain.ainvoke({"role": "гид", "topic": "Сочи"})
    assert answer == "You said: Расскажи про Сочи."
    pieces = [p async for p in chain.astream({"role": "гид", "topic": "Псков"})]
    assert len(pieces) > 1
    assert "".join(pieces) == "You said: Расскажи про Псков."
    assert _completions(emulator)[-1]["completionOptions"]["stream"] is True


# ---- a tool-calling agent -----------------------------------------------------------------------


async def test_create_agent_runs_the_tool(chat: ChatYandexGPT, emulator: Emulator) -> None:
    add, calls = _calculator()
    agent = create_agent(chat, tools=[add], system_prompt="You are a calculator.")
    result = agent.invoke({"messages": [HumanMessage("What is 17 plus 25?")]})
    messages = result["messages"]
    assert calls == [(17, 25)]
    assert [type(m) for m in messages] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    assert messages[2].tool_call_id == messages[1].tool_calls[0]["id"]
    assert "42" in messages[-1].text
    first, second = _completions(emulator)
    assert [t["function"]["name"] for t in first["tools"]] == ["add"]
    result_message = second["messages"][-1]["toolResultList"]["toolResults"][0]
    assert result_message["functionResult"] == {"name": "add", "content": "42"}
    result = await agent.ainvoke({"messages": [HumanMessage("What is 17 plus 25?")]})
    assert "42" in result["messages"][-1].text


# ---- structured output in a chain ---------------------------------------------------------------


class Person(BaseModel):
    """A person mentioned in a text."""

    name: str = Field(description="The person's name")
    age: int = Field(description="Age in years")


EXTRACT = ChatPromptTemplate.from_messages([("system", "Extract the person."), ("human", "{text}")])


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
def test_structured_output_in_a_chain(chat: ChatYandexGPT, emulator: Emulator, method: str) -> None:
    if method == "json_mode":
        emulator.script('{"name": "Ada", "age": 36}')
    chain = EXTRACT | chat.with_structured_output(Person, method=method)
    assert chain.invoke({"text": "The engineer 'Ada' is 36 years old."}) == Person(
        name="Ada", age=36
    )
    body = _completions(emulator)[-1]
    if method == "function_calling":
        assert body["toolChoice"] == {"functionName": "Person"}
    elif method == "json_schema":
        assert body["jsonSchema"]["schema"]["required"] == ["name", "age"]
    else:
        assert body["jsonObject"] is True


# ---- LlamaIndex: a RAG query engine and a FunctionAgent ---------------------------------------


@pytest.fixture
def llama_llm(emulator: Emulator) -> YandexGPTLLM:
    return YandexGPTLLM(model="yandexgpt", base_url=emulator.yandex_endpoint, **_CONNECTION)


@pytest.fixture
def index(emulator: Emulator) -> VectorStoreIndex:
    embed_model = YandexGPTEmbedding(base_url=emulator.yandex_endpoint, **_CONNECTION)
    documents = [Document(text=text, id_=name) for name, text in DOCUMENTS.items()]
    return VectorStoreIndex.from_documents(documents, embed_model=embed_model)


def test_query_engine(index: VectorStoreIndex, llama_llm: YandexGPTLLM, emulator: Emulator) -> None:
    response = index.as_query_engine(llm=llama_llm, similarity_top_k=1).query(QUESTION)
    assert response.source_nodes[0].node.ref_doc_id == "bees"
    # the emulator echoes the prompt, so the answer shows the retrieved context was sent
    assert DOCUMENTS["bees"] in str(response)
    uris = [r.json["modelUri"] for r in emulator.requests if r.path.endswith("TextEmbedding")]
    assert uris[0] == "emb://b1gfolder/text-search-doc/latest"
    assert uris[-1] == "emb://b1gfolder/text-search-query/latest"


async def test_query_engine_async_and_streaming(
    index: VectorStoreIndex, llama_llm: YandexGPTLLM
) -> None:
    response = await index.as_query_engine(llm=llama_llm, similarity_top_k=1).aquery(QUESTION)
    assert DOCUMENTS["bees"] in str(response)
    streaming = index.as_query_engine(llm=llama_llm, streaming=True, similarity_top_k=1)
    pieces = list(streaming.query(QUESTION).response_gen)  # type: ignore[union-attr]
    assert len(pieces) > 1
    assert DOCUMENTS["bees"] in "".join(pieces)


async def test_function_agent(llama_llm: YandexGPTLLM, emulator: Emulator) -> None:
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
    # a Struct's numbers are doubles on the wire; the tool gets the ints it declared
    assert [type(v) for v in results[0].tool_kwargs.values()] == [int, int]
    assert "42" in str(answer)
    calls = _completions(emulator)
    assert (
        calls[-1]["messages"][-1]["toolResultList"]["toolResults"][0]["functionResult"]["name"]
        == "multiply"
    )
