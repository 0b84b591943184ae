"""The real local model inside polyvox's machinery: router, ledger, LlamaIndex, the RLM."""

from __future__ import annotations

from decimal import Decimal

from llama_index.core import Document, VectorStoreIndex

from polyvox.costs.ledger import Ledger
from polyvox.costs.tracking import CostCallbackHandler
from polyvox.openai import ChatLlamaCpp, ChatOpenAI, LlamaCppEmbeddings
from polyvox.openai.llamaindex import LlamaCPP, LlamaCppEmbedding
from polyvox.rlm.rlm import RecursiveLanguageModel
from polyvox.router.router import Router
from polyvox.testing import Emulator
from tests.rlm.conftest import repl

LOCAL = "llamacpp/SmolLM2-135M-Instruct.Q4_1"


def _cloud(emulator: Emulator) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-4o-mini", api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0
    )


def test_the_router_keeps_a_confidential_request_on_the_local_model(
    local_chat: ChatLlamaCpp, emulator: Emulator
) -> None:
    router = Router([_cloud(emulator), local_chat], strategy="cost", max_retries=0)
    answer = router.invoke("salary review notes: summarise", sensitivity="confidential")
    assert answer.response_metadata["router"]["deployment"] == LOCAL
    assert answer.content
    assert not emulator.requests  # the cloud deployment never saw it


def test_a_local_call_is_a_ledger_row_at_price_zero(
    local_chat: ChatLlamaCpp, ledger: Ledger
) -> None:
    reply = local_chat.invoke("Say hello.", config={"callbacks": [CostCallbackHandler(ledger)]})
    assert ledger.flush(timeout=30)
    (record,) = ledger.records()
    assert (record.provider, record.model) == ("llamacpp", "SmolLM2-135M-Instruct.Q4_1")
    usage = reply.usage_metadata
    assert usage is not None
    assert (record.input_tokens, record.output_tokens) == (
        usage["input_tokens"],
        usage["output_tokens"],
    )
    assert record.cost == Decimal(0)


def test_a_llamaindex_query_engine_over_local_embeddings_and_llm(
    local_chat: ChatLlamaCpp, local_embeddings: LlamaCppEmbeddings
) -> None:
    documents = [
        Document(text="The Vistula is the longest river in Poland."),
        Document(text="Quarterly tax filings are due at the end of April."),
        Document(text="Bielik is a Polish language model."),
    ]
    index = VectorStoreIndex.from_documents(
        documents, embed_model=LlamaCppEmbedding(local_embeddings)
    )
    engine = index.as_query_engine(llm=LlamaCPP(local_chat), similarity_top_k=2)
    response = engine.query("Which river is the longest in Poland?")
    assert str(response).strip()  # a real answer came back through the engine
    assert len(response.source_nodes) == 2
    assert all(node.score is not None for node in response.source_nodes)


async def test_the_rlm_with_the_local_model_as_sub_model(
    local_chat: ChatLlamaCpp, emulator: Emulator
) -> None:
    emulator.script(
        repl("note = llm_query('Summarise in three words: ' + context[:200])\nprint(len(note))"),
        repl("FINAL(note)"),
        model="gpt-4o",
    )
    rlm = RecursiveLanguageModel(
        root=_cloud(emulator).model_copy(update={"model": "gpt-4o"}), sub=local_chat
    )
    context = "The quarterly report shows revenue grew in every region. " * 50
    result = await rlm.ainvoke({"question": "What does the report say?", "context": context})
    assert isinstance(result.answer, str)
    assert result.answer.strip()  # the sub-model's real words, passed up by the root
    (sub_call,) = result.trajectory.steps[0].subcalls
    assert sub_call.kind == "llm_query"
    assert set(result.usage.by_model) == {"openai/gpt-4o", LOCAL}
    assert result.usage.by_model[LOCAL].calls == 1
