"""OllamaLLM, the LlamaIndex classes (conformance suite), OllamaEmbeddings and the CLI."""

from __future__ import annotations

import io
import math

import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import PromptTemplate
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.llms import LLM

from polyvox.cli.main import main as cli_main
from polyvox.cli.ollama import ProgressBar, run_health, run_list, run_pull
from polyvox.ollama import ChatBielik, OllamaEmbeddings, OllamaLLM, PullProgress
from polyvox.ollama.llamaindex import Ollama, OllamaEmbedding
from polyvox.testing import Emulator, shared_emulator
from polyvox.testing.llamaindex_suite import LlamaIndexLLMTests


class TestOllamaLlamaIndex(LlamaIndexLLMTests):
    has_tool_calling = True
    has_tool_choice = False
    has_streaming = True
    has_usage = True
    has_image_input = True
    has_agent = True

    def build_llm(self) -> LLM:
        return Ollama(model="llama3.2", base_url=shared_emulator().ollama_url, max_retries=0)


class TestBielikLlamaIndex(TestOllamaLlamaIndex):
    """Bielik 11B v2.3's Ollama template has no tools, and its profile says so."""

    has_tool_calling = False
    has_agent = False

    def build_llm(self) -> LLM:
        return Ollama(ChatBielik(base_url=shared_emulator().ollama_url, max_retries=0))


def test_llamaindex_metadata_reads_the_profile(emulator: Emulator) -> None:
    metadata = Ollama(model="llama3.2", base_url=emulator.ollama_url).metadata
    assert metadata.context_window == 131072
    assert metadata.is_function_calling_model
    assert Ollama(ChatBielik(base_url=emulator.ollama_url)).metadata.context_window == 32768


def test_llm_in_a_chain(emulator: Emulator) -> None:
    llm = OllamaLLM(model="llama3.2", base_url=emulator.ollama_url)
    chain = PromptTemplate.from_template("Say {word}") | llm | StrOutputParser()
    assert "Say hello" in chain.invoke({"word": "hello"})
    assert "".join(llm.stream("stream me")).strip()
    assert llm._llm_type == "polyvox-ollama-chat-llm"


async def test_llm_async(emulator: Emulator) -> None:
    llm = OllamaLLM(model="llama3.2", base_url=emulator.ollama_url)
    assert "async words" in await llm.ainvoke("async words")
    assert len(await llm.abatch(["one", "two"])) == 2


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def test_embeddings(emulator: Emulator, ollama_embeddings: OllamaEmbeddings) -> None:
    a, b, c = ollama_embeddings.embed_documents(
        ["the cat sat on the mat", "the cat sat on a mat", "quarterly tax rules"]
    )
    assert _cosine(a, b) > _cosine(a, c)
    assert ollama_embeddings.embed_documents([]) == []
    body = [r for r in emulator.requests if r.path == "/api/embed"][-1].json
    assert body["model"] == "nomic-embed-text"
    assert body["truncate"] is True


async def test_embeddings_async(ollama_embeddings: OllamaEmbeddings) -> None:
    vector = await ollama_embeddings.aembed_query("hello")
    assert vector == (await ollama_embeddings.aembed_documents(["hello"]))[0]


def test_embeddings_model_not_pulled(emulator: Emulator) -> None:
    with pytest.raises(Exception, match="ollama pull mxbai-embed-large"):
        OllamaEmbeddings(model="mxbai-embed-large", base_url=emulator.ollama_url).embed_query("x")


def test_vector_index_with_ollama(emulator: Emulator) -> None:
    documents = [
        Document(text="Bielik is a Polish language model trained by SpeakLeash."),
        Document(text="The Vistula is the longest river in Poland."),
        Document(text="Quarterly tax filings are due at the end of April."),
    ]
    index = VectorStoreIndex.from_documents(
        documents,
        embed_model=OllamaEmbedding(model="nomic-embed-text", base_url=emulator.ollama_url),
    )
    engine = index.as_query_engine(
        llm=Ollama(ChatBielik(base_url=emulator.ollama_url)), similarity_top_k=1
    )
    response = engine.query("Which river is the longest in Poland?")
    assert "Vistula" in response.source_nodes[0].node.get_content()
    assert str(response)


def test_cli_pull_with_progress_bar(emulator: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_pull("tinyllama", emulator.ollama_url) == 0
    out = capsys.readouterr().out
    assert "pulling manifest" in out
    assert "100.0%" in out
    assert "tinyllama is ready" in out
    assert run_list(emulator.ollama_url) == 0
    assert "tinyllama:latest" in capsys.readouterr().out


def test_cli_health_and_errors(emulator: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_health("llama3.2", emulator.ollama_url) == 0
    assert run_health("phi4", emulator.ollama_url) == 1
    assert "ollama pull phi4" in capsys.readouterr().out
    assert run_pull("no-such-model", emulator.ollama_url) == 1
    assert "error" in capsys.readouterr().err
    assert cli_main(["ollama", "--host", "http://127.0.0.1:9", "list"]) == 1
    assert "ollama serve" in capsys.readouterr().err


def test_progress_bar_in_a_log() -> None:
    out = io.StringIO()
    bar = ProgressBar(out)
    for done in (0, 10, 10, 50, 100):
        bar(PullProgress("pulling abc", done, 100, "sha256:abc"))
    bar(PullProgress("success"))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("pulling abc [")
    assert len(lines) == 5, "a repeated percentage is not printed twice in logs"
    assert lines[-1] == "success"


def test_bielik_health_messages(emulator: Emulator) -> None:
    bielik = ChatBielik(base_url=emulator.ollama_url)
    assert bielik.health_check().ok
    assert "Bielik" in bielik.health_check().message
    emulator.ollama_models.remove(bielik.model)
    health = bielik.health_check()
    assert not health.ok
    assert health.reachable
    assert f"ollama pull {bielik.model}" in health.message
    down = ChatBielik(base_url="http://127.0.0.1:9").health_check()
    assert "not running" in down.message


def test_embeddings_retry_without_sdk_retries(emulator: Emulator) -> None:
    from polyvox.testing import Fault

    embeddings = OllamaEmbeddings(
        model="nomic-embed-text", base_url=emulator.ollama_url, max_retries=1
    )
    emulator.fail(Fault.server_error(503), times=1)
    assert len(embeddings.embed_query("retry me")) > 0
    assert len([r for r in emulator.requests if r.path == "/api/embed"]) == 2
