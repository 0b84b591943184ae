"""The LlamaIndex classes of polyvox-google, against the emulator: the conformance suite."""

from __future__ import annotations

from llama_index.core.llms import LLM

from polyvox.google.llamaindex import GoogleGenAI, GoogleGenAIEmbedding
from polyvox.testing import Emulator, shared_emulator
from polyvox.testing.llamaindex_suite import LlamaIndexLLMTests


class TestGoogleGenAILlamaIndex(LlamaIndexLLMTests):
    """LlamaIndex's LLM contract, over ChatGoogleGenerativeAI."""

    has_tool_calling = True
    has_tool_choice = True
    has_streaming = True
    has_usage = True
    has_image_input = True
    has_agent = True

    def build_llm(self) -> LLM:
        return GoogleGenAI(
            model="gemini-2.5-flash",
            api_key="test-key",
            base_url=shared_emulator().gemini_base_url,
            max_retries=0,
        )


def test_embedding_documents_and_queries(emulator: Emulator) -> None:
    embedding = GoogleGenAIEmbedding(
        model="gemini-embedding-001",
        api_key="test-key",
        base_url=emulator.gemini_base_url,
        output_dimensionality=8,
    )
    assert len(embedding.get_text_embedding("a document")) == 8
    assert len(embedding.get_query_embedding("a query")) == 8
    request = emulator.last_request
    assert request is not None
    assert request.json is not None
    assert request.json["requests"][0]["taskType"] == "RETRIEVAL_QUERY"
