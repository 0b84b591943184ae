"""The LlamaIndex classes of polyvox-gigachat: the conformance suite, against the emulator."""

from __future__ import annotations

import pytest
from llama_index.core.llms import LLM

from polyvox.gigachat import GigaChat
from polyvox.gigachat.llamaindex import GigaChatEmbedding, GigaChatLLM
from polyvox.testing import Emulator, shared_emulator
from polyvox.testing.llamaindex_suite import LlamaIndexLLMTests
from tests.gigachat.conftest import connection


class TestGigaChatLlamaIndex(LlamaIndexLLMTests):
    """`GigaChatLLM(model=..., credentials=...)`: every GigaChat keyword builds the model."""

    has_tool_calling = True
    has_tool_choice = True
    has_streaming = True
    has_usage = True
    has_image_input = False  # GigaChat takes images only as files uploaded beforehand
    has_agent = True

    def build_llm(self) -> LLM:
        return GigaChatLLM(model="GigaChat-2-Max", max_retries=0, **connection(shared_emulator()))


def test_keywords_build_gigachat_and_metadata_reads_the_profile(emulator: Emulator) -> None:
    llm = GigaChatLLM(model="GigaChat-2-Pro", **connection(emulator))
    assert type(llm.chat_model) is GigaChat
    assert llm.metadata.context_window == 131_072
    assert llm.metadata.is_function_calling_model is True
    assert llm.complete("привет").text == "You said: привет"


async def test_the_embedding(emulator: Emulator) -> None:
    embed = GigaChatEmbedding(model="EmbeddingsGigaR", **connection(emulator))
    assert len(embed.get_text_embedding("текст")) == 1024
    assert len(await embed.aget_query_embedding("запрос")) == 1024
    assert emulator.requests[-1].json["model"] == "EmbeddingsGigaR"


def test_unknown_keyword_is_rejected() -> None:
    with pytest.raises(ValueError, match="no_such_option"):
        GigaChatLLM(model="GigaChat-2", credentials="eDp5", no_such_option=1)


# ---- drop-in: a LlamaIndex RAG query engine over GigaChat's embeddings --------------------------

DOCUMENTS = {
    "volga": "Волга — самая длинная река Европы, она впадает в Каспийское море.",
    "baikal": "Байкал — самое глубокое озеро планеты: глубина 1642 метра.",
    "kazan": "Казань — столица Татарстана, город стоит на Волге и Казанке.",
}
QUESTION = "Какова глубина озера Байкал?"


def test_a_query_engine(emulator: Emulator) -> None:
    from llama_index.core import Document, VectorStoreIndex

    embed = GigaChatEmbedding(model="Embeddings", **connection(emulator))
    documents = [Document(text=text, id_=name) for name, text in DOCUMENTS.items()]
    index = VectorStoreIndex.from_documents(documents, embed_model=embed)
    llm = GigaChatLLM(model="GigaChat-2-Max", max_retries=0, **connection(emulator))
    response = index.as_query_engine(llm=llm, similarity_top_k=1).query(QUESTION)
    assert response.source_nodes[0].node.ref_doc_id == "baikal"
    # the emulator echoes the prompt: the retrieved passage went to GigaChat
    assert DOCUMENTS["baikal"] in str(response)
    chat = [r.json for r in emulator.requests if r.path.endswith("/chat/completions")]
    assert chat[-1]["model"] == "GigaChat-2-Max"
    streaming = index.as_query_engine(llm=llm, streaming=True, similarity_top_k=1)
    pieces = list(streaming.query(QUESTION).response_gen)  # type: ignore[union-attr]
    assert len(pieces) > 1
    assert DOCUMENTS["baikal"] in "".join(pieces)
