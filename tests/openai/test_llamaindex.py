"""The LlamaIndex classes of polyvox-openai, against the emulator.

`OpenAI` runs the polyvox LlamaIndex conformance suite (chat, completion, streaming,
tools, usage, a `FunctionAgent` loop), built from keyword arguments and wrapping a preset
positionally; `OpenAIEmbedding` is checked for sync/async and batched embedding.
"""

from __future__ import annotations

import asyncio
import json
import math

import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.llms import LLM
from llama_index.core.llms.function_calling import FunctionCallingLLM

from polyvox.openai import ChatOpenAI, ChatOpenRouter, OpenAIEmbeddings
from polyvox.openai.llamaindex import OpenAI, OpenAIEmbedding
from polyvox.testing import Emulator, shared_emulator
from polyvox.testing.llamaindex_suite import LlamaIndexLLMTests


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


class TestOpenAILlamaIndex(LlamaIndexLLMTests):
    """`OpenAI(model=..., base_url=...)`: every ChatOpenAI keyword builds the chat model."""

    has_tool_calling = True
    has_tool_choice = True
    has_streaming = True
    has_usage = True
    has_image_input = True
    has_agent = True

    def build_llm(self) -> LLM:
        return OpenAI(
            model="gpt-4o-mini",
            api_key="sk-test",
            base_url=shared_emulator().openai_base_url,
            max_retries=0,
        )


class TestOpenAILlamaIndexOverOpenRouter(LlamaIndexLLMTests):
    """`OpenAI(ChatOpenRouter(...))`: a preset wrapped positionally."""

    has_image_input = True

    def build_llm(self) -> LLM:
        preset = ChatOpenRouter(
            model="openai/gpt-4o-mini",
            api_key="sk-or-test",
            base_url=shared_emulator().openai_base_url,
            max_retries=0,
        )
        return OpenAI(preset)


# -- construction and metadata ------------------------------------------------------------


def test_keyword_construction_builds_chat_openai(emulator: Emulator) -> None:
    llm = OpenAI(
        model="gpt-4o-mini",
        api_key="sk-test",
        base_url=emulator.openai_base_url,
        temperature=0.25,
        max_tokens=77,
    )
    assert isinstance(llm, FunctionCallingLLM)
    assert type(llm.chat_model) is ChatOpenAI
    assert llm.chat_model.temperature == 0.25
    llm.complete("hello there")
    body = emulator.requests[-1].json
    assert body["model"] == "gpt-4o-mini"
    assert body["temperature"] == 0.25
    assert body["max_completion_tokens"] == 77
    assert emulator.requests[-1].headers["authorization"] == "Bearer sk-test"


def test_metadata_reads_the_profile(emulator: Emulator) -> None:
    llm = OpenAI(model="gpt-4o-mini", api_key="sk-test", base_url=emulator.openai_base_url)
    metadata = llm.metadata
    assert metadata.context_window == 128_000
    assert metadata.num_output == 16_384
    assert metadata.is_function_calling_model is True
    assert metadata.is_chat_model is True
    assert metadata.model_name == "gpt-4o-mini"


def test_metadata_dated_snapshot_and_max_tokens(emulator: Emulator) -> None:
    llm = OpenAI(
        model="gpt-4.1-2025-04-14",
        api_key="sk-test",
        base_url=emulator.openai_base_url,
        max_tokens=500,
    )
    assert llm.metadata.context_window == 1_047_576
    assert llm.metadata.num_output == 500


def test_metadata_explicit_overrides_win(emulator: Emulator) -> None:
    llm = OpenAI(
        model="gpt-4o-mini",
        api_key="sk-test",
        base_url=emulator.openai_base_url,
        context_window=4096,
        is_function_calling=False,
    )
    assert llm.metadata.context_window == 4096
    assert llm.metadata.is_function_calling_model is False


def test_metadata_of_wrapped_preset(emulator: Emulator) -> None:
    preset = ChatOpenRouter(
        model="openai/gpt-4.1", api_key="sk-or-test", base_url=emulator.openai_base_url
    )
    llm = OpenAI(preset)
    assert llm.chat_model is preset
    assert llm.metadata.model_name == "openai/gpt-4.1"
    assert llm.metadata.is_chat_model


def test_unknown_keyword_is_rejected() -> None:
    with pytest.raises(ValueError, match="no_such_option"):
        OpenAI(model="gpt-4o-mini", api_key="sk-test", no_such_option=1)


def test_preset_plus_chat_model_keywords_is_rejected(emulator: Emulator) -> None:
    preset = ChatOpenRouter(model="openai/gpt-4.1", api_key="k", base_url=emulator.openai_base_url)
    with pytest.raises(ValueError, match="temperature"):
        OpenAI(preset, temperature=0.1)


def test_complete_reaches_the_emulator_and_reports_usage(emulator: Emulator) -> None:
    llm = OpenAI(model="gpt-4o-mini", api_key="sk-test", base_url=emulator.openai_base_url)
    response = llm.complete("The capital of Poland")
    assert response.text == "You said: The capital of Poland"
    body = emulator.requests[-1].json
    assert body["messages"] == [{"role": "user", "content": "The capital of Poland"}]
    assert response.additional_kwargs["prompt_tokens"] > 0
    assert response.additional_kwargs["completion_tokens"] > 0
    assert response.raw["response_metadata"]["model_provider"] == "openai"


# -- embeddings -----------------------------------------------------------------------------


@pytest.fixture
def embed_model(emulator: Emulator) -> OpenAIEmbedding:
    return OpenAIEmbedding(
        api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0, embed_batch_size=2
    )


def test_embedding_is_a_llamaindex_embedding(embed_model: OpenAIEmbedding) -> None:
    assert isinstance(embed_model, BaseEmbedding)
    assert isinstance(embed_model.embeddings, OpenAIEmbeddings)
    assert embed_model.model_name == "text-embedding-3-small"
    assert embed_model.embed_batch_size == 2


def test_embedding_query_and_text(embed_model: OpenAIEmbedding, emulator: Emulator) -> None:
    query = embed_model.get_query_embedding("red apples grow on trees")
    text = embed_model.get_text_embedding("red apples grow on trees")
    assert len(query) == 1536
    assert query == pytest.approx(text)
    assert math.isclose(math.sqrt(sum(v * v for v in query)), 1.0, rel_tol=1e-5)
    bodies = [r.json for r in emulator.requests if r.path == "/v1/embeddings"]
    assert [b["input"] for b in bodies] == [
        ["red apples grow on trees"],
        ["red apples grow on trees"],
    ]
    assert all(b["model"] == "text-embedding-3-small" for b in bodies)


def test_embedding_similarity_follows_shared_words(embed_model: OpenAIEmbedding) -> None:
    apples = embed_model.get_text_embedding("red apples grow on apple trees")
    similar = embed_model.get_query_embedding("which trees grow apples")
    unrelated = embed_model.get_query_embedding("quantum chromodynamics lecture")
    assert _cosine(apples, similar) > _cosine(apples, unrelated) + 0.2
    assert embed_model.similarity(apples, similar) == pytest.approx(_cosine(apples, similar))


def test_embedding_batch_is_split_by_embed_batch_size(
    embed_model: OpenAIEmbedding, emulator: Emulator
) -> None:
    texts = ["alpha one", "beta two", "gamma three", "delta four", "epsilon five"]
    vectors = embed_model.get_text_embedding_batch(texts)
    assert len(vectors) == 5
    singles = [embed_model.get_text_embedding(t) for t in texts]
    for batched, single in zip(vectors, singles, strict=True):
        assert batched == pytest.approx(single)
    bodies = [r.json for r in emulator.requests if r.path == "/v1/embeddings"][:3]
    assert [b["input"] for b in bodies] == [
        ["alpha one", "beta two"],
        ["gamma three", "delta four"],
        ["epsilon five"],
    ]


async def test_embedding_async(embed_model: OpenAIEmbedding, emulator: Emulator) -> None:
    query = await embed_model.aget_query_embedding("red apples")
    text = await embed_model.aget_text_embedding("red apples")
    batch = await embed_model.aget_text_embedding_batch(["red apples", "green pears", "plums"])
    assert query == pytest.approx(text)
    assert batch[0] == pytest.approx(query)
    assert _cosine(batch[1], query) < 0.99
    inputs = [r.json["input"] for r in emulator.requests if r.path == "/v1/embeddings"]
    assert inputs == [["red apples"], ["red apples"], ["red apples", "green pears"], ["plums"]]


async def test_embedding_async_gathered_large_model(emulator: Emulator) -> None:
    model = OpenAIEmbedding(
        api_key="sk-test", base_url=emulator.openai_base_url, model="text-embedding-3-large"
    )
    results = await asyncio.gather(*(model.aget_query_embedding(f"text {i}") for i in range(4)))
    assert all(len(vector) == 3072 for vector in results)
    assert model.model_name == "text-embedding-3-large"


def test_embedding_wraps_langchain_embeddings_positionally(
    embeddings: OpenAIEmbeddings, emulator: Emulator
) -> None:
    model = OpenAIEmbedding(embeddings)
    assert model.embeddings is embeddings
    assert len(model.get_query_embedding("hello")) == 1536
    assert emulator.requests[-1].json["input"] == ["hello"]


def test_embedding_dimensions_pass_through(emulator: Emulator) -> None:
    model = OpenAIEmbedding(api_key="sk-test", base_url=emulator.openai_base_url, dimensions=64)
    assert len(model.get_query_embedding("short vectors")) == 64
    assert emulator.requests[-1].json["dimensions"] == 64


def test_embedding_unknown_keyword_is_rejected() -> None:
    with pytest.raises(ValueError, match="bogus"):
        OpenAIEmbedding(api_key="sk-test", bogus=True)


# -- profiles and serialisation ----------------------------------------------------------


def test_metadata_of_openrouter_model_reads_the_vendor_profile(emulator: Emulator) -> None:
    preset = ChatOpenRouter(
        model="openai/gpt-4o-mini", api_key="sk-or-test", base_url=emulator.openai_base_url
    )
    assert OpenAI(preset).metadata.context_window == 128_000
    unknown = ChatOpenRouter(model="acme/unknown", api_key="k", base_url=emulator.openai_base_url)
    assert unknown.profile is None


def test_embedding_json_round_trip_hides_the_key(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = OpenAIEmbedding(
        api_key="sk-very-secret", base_url=emulator.openai_base_url, dimensions=64
    )
    dumped = model.to_json()
    assert "sk-very-secret" not in dumped
    assert json.loads(dumped)["model_name"] == "text-embedding-3-small"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    restored = OpenAIEmbedding.from_json(dumped)
    assert restored.embeddings.dimensions == 64
    assert restored.embeddings.api_key.get_secret_value() == "sk-from-env"
    assert len(restored.get_query_embedding("hello")) == 64


def test_llm_json_round_trip_keeps_settings_and_hides_the_key(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm = OpenAI(
        model="gpt-4o-mini",
        api_key="sk-very-secret",
        base_url=emulator.openai_base_url,
        temperature=0.3,
    )
    dumped = llm.to_json()
    assert "sk-very-secret" not in dumped
    assert json.loads(dumped)["chat_model"]["kwargs"]["model"] == "gpt-4o-mini"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    restored = OpenAI.from_json(dumped)
    assert isinstance(restored.chat_model, ChatOpenAI)
    assert (restored.chat_model.model, restored.chat_model.temperature) == ("gpt-4o-mini", 0.3)
    assert restored.chat_model.api_key.get_secret_value() == "sk-from-env"
    assert restored.complete("hello").text
