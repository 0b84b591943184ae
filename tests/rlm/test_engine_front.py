"""The seed's front: RLMConfig and RLMEngine over the RLM."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from langchain_core.documents import Document
from pydantic import ValidationError

from polyvox.openai import ChatOpenAI
from polyvox.rlm.engine import RLMConfig, RLMEngine
from polyvox.rlm.errors import IterationLimitError, RLMError
from polyvox.testing import Emulator
from tests.rlm.conftest import ROOT, SUB, repl

REPORT = (
    "Annual report 2024.\nQ1: revenue grew.\nQ3 challenges: supply delays, hiring, "
    "currency swings.\nQ4: profit recovered.\n" + "Padding paragraph about nothing.\n" * 200
)


def test_config_takes_the_seed_names() -> None:
    config = RLMConfig(max_recursion_depth=3, chunk_size=4096, chunk_overlap=512)
    assert config.max_depth == 3
    assert config.chunk_size == 4096
    assert config.chunk_overlap == 512
    assert RLMConfig(max_depth=0).max_depth == 0


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("partition_strategy", "semantic", "does not partition"),
        ("temperature", 0.3, "chat models themselves"),
    ],
)
def test_config_refuses_what_has_no_meaning_here(key: str, value: object, why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        RLMConfig(**{key: value})  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        RLMConfig(chunk_sizes=10)  # type: ignore[call-arg]


def test_contexts_are_named_by_content() -> None:
    engine = RLMEngine()
    first = engine.load_context(REPORT, metadata={"source": "annual_report", "year": 2024})
    assert first.startswith("ctx-")
    assert engine.load_context(REPORT, metadata={"source": "annual_report", "year": 2024}) == first
    assert engine.load_context(REPORT) != first
    stored = engine.get_context(first)
    assert stored.metadata == {"source": "annual_report", "year": 2024}
    assert stored.prepared.metadata == ({"source": "annual_report", "year": 2024},)
    assert engine.load_context(["a", "b"], context_id="mine") == "mine"
    assert engine.get_context("mine").prepared.documents == 2
    engine.unload_context("mine")
    with pytest.raises(KeyError, match="load_context"):
        engine.get_context("mine")


def test_search_context_regex_and_bm25() -> None:
    engine = RLMEngine(RLMConfig(chunk_size=200))
    cid = engine.load_context(REPORT)
    text = engine.get_context(cid).prepared.text
    hits = engine.search_context(cid, r"revenue|profit")
    assert [h["match"] for h in hits] == ["revenue", "profit"]
    assert all(text[h["start"] : h["end"]] == h["text"] for h in hits)
    assert all(text[h["match_start"] : h["match_end"]] == h["match"] for h in hits)
    ranked = engine.search_context(cid, "Q3 challenges supply", search_type="bm25", k=3)
    assert "supply delays" in ranked[0]["text"]
    assert ranked[0]["score"] >= ranked[-1]["score"] > 0
    assert all(text[h["start"] : h["end"]] == h["text"] for h in ranked)
    assert len(engine.search_context(cid, "Padding", k=5)) == 5
    with pytest.raises(ValueError, match="disagree"):
        engine.search_context(cid, "x", method="regex", search_type="bm25")
    with pytest.raises(ValueError, match="unknown search method"):
        engine.search_context(cid, "x", method="fuzzy")  # type: ignore[arg-type]
    assert engine.get_stats()["searches"] == 3


def test_recursive_query_needs_a_model() -> None:
    engine = RLMEngine()
    cid = engine.load_context("text")
    with pytest.raises(RLMError, match="root model"):
        engine.recursive_query("q", cid)


def test_recursive_query_submit_and_stats(
    emulator: Emulator, chat: Callable[[str], ChatOpenAI]
) -> None:
    emulator.script(
        repl(
            "hit = search(r'Q3 challenges: ([^.]+)')[0]['match']\n"
            "summary = llm_query('List: ' + hit)\nFINAL(hit.split(': ')[1])"
        ),
        model=ROOT,
    )
    engine = RLMEngine(RLMConfig(max_recursion_depth=1), root=chat(ROOT), sub=chat(SUB))
    cid = engine.load_context(REPORT, metadata={"source": "annual_report"})
    result = engine.recursive_query("What were the top 3 challenges in Q3?", cid)
    assert result.answer == "supply delays, hiring, currency swings"
    assert [c.kind for c in result.subqueries] == ["llm_query"]
    record = engine.submit_answer(cid, result.answer, metadata={"confidence": 0.95})
    assert record["answer"] == result.answer
    assert record["metadata"] == {"confidence": 0.95}
    assert engine.get_context(cid).answers == [record]
    assert engine.get_context(cid).results == [result]
    stats = engine.get_stats()
    assert stats["contexts"] == 1
    assert stats["context_chars"] == len(REPORT)
    assert (stats["queries"], stats["failed_queries"], stats["answers_submitted"]) == (1, 0, 1)
    assert stats["usage"]["total"]["calls"] == 2
    assert set(stats["usage"]["by_depth"]) == {"0", "1"}


async def test_async_twins_and_a_per_query_model(
    emulator: Emulator, chat: Callable[[str], ChatOpenAI]
) -> None:
    emulator.script(repl("FINAL(documents[0]['metadata']['source'])"), model="gpt-4.1-mini")
    emulator.script(repl("print('no answer yet')"), model=ROOT)
    engine = RLMEngine(RLMConfig(root_model=chat(ROOT), max_iterations=1))
    cid = await engine.aload_context([Document(page_content="body", metadata={"source": "s1"})])
    result = await engine.arecursive_query("q", cid, model_client=chat("gpt-4.1-mini"))
    assert result.answer == "s1"
    assert result.trajectory.model == "gpt-4.1-mini"
    hits = await engine.asearch_context(cid, "bod")
    assert hits[0]["match"] == "bod"
    await engine.asubmit_answer(cid, "s1")
    with pytest.raises(IterationLimitError):
        await engine.arecursive_query("q", cid)
    stats = engine.get_stats()
    assert (stats["queries"], stats["failed_queries"], stats["answers_submitted"]) == (1, 1, 1)
    assert stats["usage"]["total"]["calls"] == 2  # the failed query's call is counted too


def test_load_context_refuses_other_content_under_a_loaded_id() -> None:
    engine = RLMEngine()
    assert engine.load_context("first text", context_id="doc") == "doc"
    assert engine.load_context("first text", context_id="doc") == "doc"
    with pytest.raises(ValueError, match="already loaded with other content"):
        engine.load_context("second text", context_id="doc")
    assert engine.get_context("doc").prepared.text == "first text"
    engine.unload_context("doc")
    assert engine.load_context("second text", context_id="doc") == "doc"
    assert engine.get_context("doc").prepared.text == "second text"


def test_config_settings_reach_the_rlm() -> None:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

    root = GenericFakeChatModel(messages=iter(()))
    config = RLMConfig(max_live_sandboxes=3, subcall_concurrency=2, max_iterations=7)
    rlm = RLMEngine(config, root=root).rlm_for()
    assert (rlm.max_live_sandboxes, rlm.subcall_concurrency, rlm.max_iterations) == (3, 2, 7)
