"""The LlamaIndex classes of polyvox-huggingface, against the emulator: the conformance suite."""

from __future__ import annotations

import pytest
from llama_index.core.llms import LLM

from polyvox.huggingface.llamaindex import (
    HuggingFaceInferenceAPI,
    HuggingFaceInferenceAPIEmbedding,
)
from polyvox.testing import Emulator, shared_emulator
from polyvox.testing.llamaindex_suite import LlamaIndexLLMTests


class TestHuggingFaceInferenceAPILlamaIndex(LlamaIndexLLMTests):
    """LlamaIndex's LLM contract, over ChatHuggingFace and the emulated router."""

    has_tool_calling = True
    has_tool_choice = True
    has_streaming = True
    has_usage = True
    has_image_input = False  # no profiled Hugging Face model takes images
    has_agent = True

    def build_llm(self) -> LLM:
        return HuggingFaceInferenceAPI(
            model="meta-llama/Llama-3.3-70B-Instruct",
            api_key="hf_test",
            base_url=f"{shared_emulator().url}/huggingface/router/v1",
            max_retries=0,
        )


def test_embedding_documents_and_queries(emulator: Emulator) -> None:
    embedding = HuggingFaceInferenceAPIEmbedding(
        model="sentence-transformers/all-MiniLM-L6-v2",
        api_key="hf_test",
        base_url=f"{emulator.url}/huggingface/router/v1",
        normalize=True,
    )
    assert len(embedding.get_text_embedding("a document")) == 384
    vectors = embedding.get_text_embedding_batch(["one", "two", "three"])
    assert [len(v) for v in vectors] == [384, 384, 384]
    query = embedding.get_query_embedding("a query")
    assert sum(x * x for x in query) == pytest.approx(1.0)
    request = emulator.last_request
    assert request is not None
    assert request.path == (
        "/huggingface/router/hf-inference/models/sentence-transformers/all-MiniLM-L6-v2"
        "/pipeline/feature-extraction"
    )
    assert request.json == {"inputs": ["a query"], "normalize": True}


async def test_embedding_async(emulator: Emulator) -> None:
    embedding = HuggingFaceInferenceAPIEmbedding(
        model=f"{emulator.url}/huggingface/tei", api_key="hf_test"
    )
    assert len(await embedding.aget_query_embedding("a query")) == 768
    assert emulator.last_request is not None
    assert emulator.last_request.path == "/huggingface/tei"
