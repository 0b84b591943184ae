"""The LlamaIndex classes of polyvox-yandex, against the emulator: the conformance suite."""

from __future__ import annotations

from llama_index.core.llms import LLM

from polyvox.testing import Emulator, shared_emulator
from polyvox.testing.llamaindex_suite import LlamaIndexLLMTests
from polyvox.yandex.llamaindex import YandexGPTEmbedding, YandexGPTLLM


class TestYandexGPTLlamaIndex(LlamaIndexLLMTests):
    """LlamaIndex's LLM contract, over ChatYandexGPT (the completion API takes text only)."""

    has_tool_calling = True
    has_tool_choice = True
    has_streaming = True
    has_usage = True
    has_image_input = False
    has_agent = True

    def build_llm(self) -> LLM:
        return YandexGPTLLM(
            model="yandexgpt",
            folder_id="b1gfolder",
            api_key="AQVNtest",
            base_url=shared_emulator().yandex_endpoint,
            max_retries=0,
        )


def test_embedding_documents_and_queries(emulator: Emulator) -> None:
    embedding = YandexGPTEmbedding(
        folder_id="b1gfolder", api_key="AQVNtest", base_url=emulator.yandex_endpoint
    )
    assert len(embedding.get_text_embedding("a document")) == 256
    assert len(embedding.get_query_embedding("a query")) == 256
    uris = [r.json["modelUri"] for r in emulator.requests if r.json]
    assert uris[-2:] == [
        "emb://b1gfolder/text-search-doc/latest",
        "emb://b1gfolder/text-search-query/latest",
    ]
