"""The in-process model's life: lazy loading, sharing by settings, close(), clear errors."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from polyvox.core.lifecycle import ModelClosedError
from polyvox.openai import (
    ChatLlamaCpp,
    LlamaCpp,
    LlamaCppEmbeddings,
    LlamaCppLoadError,
    LlamaCppTemplateError,
)
from tests.local.conftest import SETTINGS


def test_construction_loads_nothing_and_names_the_model(gguf: Path) -> None:
    model = ChatLlamaCpp(model_path=str(gguf), **SETTINGS)
    assert model.model == "SmolLM2-135M-Instruct.Q4_1"
    assert model.base_url is None  # no endpoint: the router counts it as local
    assert model.in_process
    fresh = ChatLlamaCpp(model_path=str(gguf), n_ctx=256, n_threads=1)
    assert not fresh.loaded_model.loaded  # a lease, but no load before the first call
    fresh.close()


def test_equal_settings_share_one_loaded_model(local_chat: ChatLlamaCpp, gguf: Path) -> None:
    local_chat.invoke("Hi")
    twin = ChatLlamaCpp(model_path=str(gguf), temperature=0.5, **SETTINGS)
    other = ChatLlamaCpp(model_path=str(gguf), n_ctx=512, n_threads=1)
    assert twin.loaded_model is local_chat.loaded_model  # sampling settings are per call
    assert twin.loaded_model.loaded  # already in memory: no second load
    assert other.loaded_model is not local_chat.loaded_model  # another context size
    twin.close()
    other.close()
    assert local_chat.loaded_model.loaded  # closing a sharer never unloads for the others


def test_the_last_close_unloads(gguf: Path) -> None:
    first = ChatLlamaCpp(model_path=str(gguf), n_ctx=256, n_threads=1, max_tokens=2)
    second = ChatLlamaCpp(model_path=str(gguf), n_ctx=256, n_threads=1, max_tokens=2)
    assert first.invoke("Hi").content
    loaded = first.loaded_model
    assert second.loaded_model is loaded
    first.close()
    assert loaded.loaded
    assert second.invoke("Hi").content
    second.close()
    assert not loaded.loaded
    with pytest.raises(ModelClosedError):
        second.invoke("Hi")


def test_a_missing_file_is_refused_at_construction(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ChatLlamaCpp(model_path=str(tmp_path / "absent.gguf"))


def test_a_file_that_is_not_gguf_is_refused_at_construction(tmp_path: Path) -> None:
    page = tmp_path / "model.gguf"
    page.write_text("<html>404 Not Found</html>")
    with pytest.raises(ValidationError, match="is not a GGUF file"):
        ChatLlamaCpp(model_path=str(page))


def test_a_corrupt_gguf_fails_to_load_with_a_clear_error(tmp_path: Path, gguf: Path) -> None:
    broken = tmp_path / "truncated.gguf"
    with gguf.open("rb") as source:
        broken.write_bytes(source.read(4096))  # the header of a real file, then nothing
    model = ChatLlamaCpp(model_path=str(broken), n_ctx=256)
    with pytest.raises(LlamaCppLoadError, match=r"could not load .*truncated\.gguf"):
        model.invoke("Hi")
    model.close()


def test_model_path_and_base_url_are_exclusive(gguf: Path) -> None:
    with pytest.raises(ValidationError, match="pass one of them"):
        ChatLlamaCpp(model_path=str(gguf), base_url="http://127.0.0.1:8080/v1")


def test_tools_on_a_template_without_tools_say_so(local_chat: ChatLlamaCpp) -> None:
    def get_weather(city: str) -> str:
        """Get the weather in a city."""
        return city

    with pytest.raises(LlamaCppTemplateError, match="does not support tools"):
        local_chat.bind_tools([get_weather]).invoke("Weather in Paris?")


def test_the_text_llm_runs_in_process(gguf: Path) -> None:
    llm = LlamaCpp(model_path=str(gguf), max_tokens=6, temperature=0, **SETTINGS)
    text = llm.invoke("Complete: one, two, three,")
    assert isinstance(text, str)
    assert text.strip()
    llm.close()


def test_embeddings_in_process_and_on_the_server(
    local_embeddings: LlamaCppEmbeddings, llama_server: str
) -> None:
    served = LlamaCppEmbeddings(base_url=llama_server, max_retries=0)
    texts = ["a cat sat on the mat", "stock markets fell today"]
    for embeddings in (local_embeddings, served):
        vectors = embeddings.embed_documents(texts)
        assert len(vectors) == 2
        assert len(vectors[0]) == len(vectors[1]) == 576  # SmolLM2-135M's hidden size
        assert vectors[0] != vectors[1]
        jsonschema.validate(vectors, {"type": "array", "items": {"type": "array"}})
    assert local_embeddings.embed_query(texts[0]) == pytest.approx(
        served.embed_query(texts[0]), abs=1e-3
    )
    served.close()


async def test_async_embeddings(local_embeddings: LlamaCppEmbeddings) -> None:
    vectors = await local_embeddings.aembed_documents(["one", "two", "three"])
    assert [len(v) for v in vectors] == [576] * 3
