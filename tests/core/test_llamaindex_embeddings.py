"""LangChainEmbedding: any LangChain Embeddings as a LlamaIndex embedding model."""

from __future__ import annotations

from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core import Document, VectorStoreIndex

from polyvox.core.llamaindex import LangChainEmbedding, to_llamaindex_embedding


class RecordingEmbedding(DeterministicFakeEmbedding):
    """The deterministic fake, recording which of its methods LlamaIndex reached."""

    calls: list[tuple[str, int]] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(("embed_documents", len(texts)))
        return super().embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        self.calls.append(("embed_query", 1))
        return super().embed_query(text)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(("aembed_documents", len(texts)))
        return super().embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        self.calls.append(("aembed_query", 1))
        return super().embed_query(text)


def fake() -> RecordingEmbedding:
    return RecordingEmbedding(size=8, calls=[])


def test_sync_embeddings_match_the_wrapped_model() -> None:
    inner = fake()
    embed = LangChainEmbedding(inner)
    assert embed.get_query_embedding("q") == inner.embed_query("q")
    assert embed.get_text_embedding("t") == inner.embed_documents(["t"])[0]
    assert embed.get_text_embedding_batch(["a", "b", "c"]) == inner.embed_documents(["a", "b", "c"])
    assert [name for name, _ in inner.calls[:3]] == [
        "embed_query",
        "embed_query",
        "embed_documents",
    ]


async def test_async_embeddings_await_the_async_methods() -> None:
    inner = fake()
    embed = to_llamaindex_embedding(inner, embed_batch_size=2)
    assert await embed.aget_query_embedding("q") == inner.embed_query("q")
    assert await embed.aget_text_embedding("t") == inner.embed_documents(["t"])[0]
    vectors = await embed.aget_text_embedding_batch(["a", "b", "c"])
    assert vectors == inner.embed_documents(["a", "b", "c"])
    async_calls = [call for call in inner.calls if call[0].startswith("a")]
    assert async_calls == [
        ("aembed_query", 1),
        ("aembed_documents", 1),
        ("aembed_documents", 2),
        ("aembed_documents", 1),
    ]


def test_model_name_and_class_name() -> None:
    assert LangChainEmbedding(fake()).model_name == "RecordingEmbedding"
    assert LangChainEmbedding(fake(), model_name="custom").model_name == "custom"
    assert LangChainEmbedding.class_name() == "LangChainEmbedding"


def test_vector_index_retrieval_uses_the_bridge() -> None:
    embed = LangChainEmbedding(fake())
    docs = [Document(text="polyvox bridges models"), Document(text="cats sleep a lot")]
    index = VectorStoreIndex.from_documents(docs, embed_model=embed)
    nodes = index.as_retriever(similarity_top_k=1).retrieve("polyvox bridges models")
    assert nodes[0].node.get_content() == "polyvox bridges models"
