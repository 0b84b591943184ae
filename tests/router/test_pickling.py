"""A router pickles (for multiprocessing, as models do): configuration travels, live state not."""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle

import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from polyvox.costs.ledger import BudgetGuard, Ledger
from polyvox.ollama import ChatBielik, ChatOllama
from polyvox.router import BreakerBoard, BreakerConfig, Router, RouterStats, UCBStrategy
from polyvox.router.redis_state import RedisBreakerStore
from polyvox.testing import Emulator, Fault
from tests.router.conftest import BIELIK, OpenAIFactory, called


def test_a_used_router_pickles_and_the_copy_routes(
    openai_model: OpenAIFactory, ollama: ChatOllama, bielik: ChatBielik, emulator: Emulator
) -> None:
    router = Router(
        [openai_model("gpt-4o-mini"), ollama, bielik],
        strategy="cost",
        language_routes={"pl": BIELIK},
        breakers=BreakerBoard(BreakerConfig(failure_threshold=1)),
        stats=RouterStats(window=32),
        max_retries=0,
    )
    emulator.fail(Fault.server_error(500), times=1, model="llama3.2")
    first = router.invoke("hello")  # llama fails (breaker opens), the fallback answers
    assert first.response_metadata["router"]["deployment"] == "openai/gpt-4o-mini"
    assert not router.breakers.available("ollama/llama3.2")
    assert asyncio.run(router.ainvoke("hello")).content  # an async client made as well
    bound = router.bind_tools([{"type": "function", "function": {"name": "f"}}])
    assert bound.invoke("x").content is not None  # a cached binding made as well

    restored = pickle.loads(pickle.dumps(router))
    assert type(restored) is Router
    assert [d.name for d in restored.deployments] == [d.name for d in router.deployments]
    assert restored.language_routes == {"pl": BIELIK}
    assert restored.strategy.name == "cost"
    assert restored.breakers.config.failure_threshold == 1
    assert restored.stats.window == 32
    # live state stays behind: empty statistics, closed breakers, no client, no binding
    assert restored.stats.by_deployment() == {}
    assert restored.breakers.available("ollama/llama3.2")
    assert all(d.model._client is None for d in restored.deployments)
    assert restored._routing is None
    # and the copy works, sync, async and with language routing
    before = len(called(emulator))
    assert restored.invoke("hello").response_metadata["router"]["deployment"] == ("ollama/llama3.2")
    polish = asyncio.run(restored.ainvoke("cześć", language="pl"))
    assert polish.response_metadata["router"]["deployment"] == BIELIK
    assert called(emulator)[before:] == ["llama3.2", "SpeakLeash/bielik-11b-v2.3-instruct:Q4_K_M"]
    assert router.stats.by_deployment()["openai/gpt-4o-mini"].calls == 3  # original untouched


def test_strategies_and_redis_breakers_pickle_as_settings() -> None:
    bandit = pickle.loads(pickle.dumps(UCBStrategy(exploration=0.5, min_trials=2, seed=7)))
    assert (bandit.exploration, bandit.min_trials) == (0.5, 2)
    board = BreakerBoard.redis("redis://127.0.0.1:6379/3", prefix="polyvox:pickled:")
    copied = pickle.loads(pickle.dumps(board)).store
    assert isinstance(copied, RedisBreakerStore)
    assert (copied.url, copied.prefix) == ("redis://127.0.0.1:6379/3", "polyvox:pickled:")


def test_a_router_chain_runs_in_a_spawned_process_pool(
    openai_model: OpenAIFactory, ollama: ChatOllama
) -> None:
    router = Router([openai_model("gpt-4o-mini"), ollama])
    prompt = ChatPromptTemplate.from_messages([("human", "Tell me about {topic}")])
    chain = prompt | router | StrOutputParser()
    assert chain.invoke({"topic": "here"})  # used before it is pickled
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        answers = pool.map(chain.invoke, [{"topic": "Warsaw"}, {"topic": "Kraków"}])
    assert "Warsaw" in answers[0]
    assert "Kraków" in answers[1]


def test_a_router_with_a_budget_says_why_it_does_not_pickle(openai_model: OpenAIFactory) -> None:
    guard = BudgetGuard(Ledger("sqlite:///:memory:"), [])
    router = Router([openai_model("gpt-4o-mini")], budget=guard)
    with pytest.raises(TypeError, match=r"budget= does not pickle.*model_copy"):
        pickle.dumps(router)
    assert pickle.loads(pickle.dumps(router.model_copy(update={"budget": None}))).budget is None
