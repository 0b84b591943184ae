"""Budgets through the router: a refusal is the caller's, never a deployment's failure.

A cost handler with ``budgets=`` refuses a call that would pass a budget before anything is
sent. Through the router that refusal must reach the caller as ``BudgetExceededError`` at
once: no retry, no fallback to another deployment, nothing counted on a breaker (three
blocked calls from one workspace must not open the breakers that serve everyone else). The
handler sees the caller's run metadata wherever it is attached: on the router's call, or on
each deployment's model.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polyvox.costs.ledger import Budget, BudgetExceededError, BudgetGuard, Ledger
from polyvox.costs.tracking import CostCallbackHandler
from polyvox.router import Router
from polyvox.router.breaker import BreakerBoard, BreakerConfig, BreakerState
from polyvox.testing import Emulator, Reply, Usage
from tests.modes import call_as
from tests.router.conftest import OpenAIFactory

TIGHT = {"workspace_id": "tight"}
FREE = {"workspace_id": "free"}


@pytest.fixture
def handler(ledger: Ledger) -> CostCallbackHandler:
    guard = BudgetGuard(ledger, [Budget("workspace", "tight", Decimal("0"))])
    return CostCallbackHandler(ledger, budgets=guard)


def _router(openai_model: OpenAIFactory, **model_kwargs: Any) -> tuple[Router, BreakerBoard]:
    board = BreakerBoard(BreakerConfig(failure_threshold=2))
    models = [openai_model("gpt-4o-mini", **model_kwargs), openai_model("gpt-4.1", **model_kwargs)]
    return Router(models, strategy="cost", max_retries=2, breakers=board), board


def _config(handler: CostCallbackHandler | None, metadata: dict[str, str]) -> dict[str, Any]:
    config: dict[str, Any] = {"metadata": metadata}
    if handler is not None:
        config["callbacks"] = [handler]
    return config


@pytest.mark.parametrize("attached", ["on the call", "on each model"])
@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
async def test_a_budget_refusal_is_raised_as_itself_and_touches_no_breaker(
    emulator: Emulator,
    openai_model: OpenAIFactory,
    handler: CostCallbackHandler,
    ledger: Ledger,
    attached: str,
    mode: str,
) -> None:
    on_model = attached == "on each model"
    router, board = _router(openai_model, **({"callbacks": [handler]} if on_model else {}))
    config = _config(None if on_model else handler, TIGHT)
    for _ in range(3):
        with pytest.raises(BudgetExceededError, match="tight"):
            await call_as(router, mode, "my question", config=config)
    assert emulator.requests == [], "nothing was sent"
    names = [d.name for d in router.deployments]
    assert {name: board.state(name) for name in names} == dict.fromkeys(names, BreakerState.CLOSED)
    assert router.stats.total_calls() == 0, "no attempt was recorded"
    assert all(router.stats.in_flight(name) == 0 for name in names)
    # Another workspace is served as usual, and its call is attributed to it.
    emulator.script(Reply("fine", usage=Usage(prompt_tokens=10, completion_tokens=2)))
    answer = router.invoke("hello", config=_config(None if on_model else handler, FREE))
    assert answer.content == "fine"
    ledger.flush()
    assert [r.workspace_id for r in ledger.records()] == ["free"]


@pytest.mark.parametrize("through", ["model", "router"])
def test_an_unreachable_ledger_refuses_the_call_by_default(
    emulator: Emulator,
    openai_model: OpenAIFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    through: str,
) -> None:
    from polyvox.costs.ledger import LedgerUnavailableError
    from tests.costs.test_budgets import REFUSED_PG_URL

    with Ledger(REFUSED_PG_URL, spill_path=tmp_path / "spill.jsonl") as down:
        guard = BudgetGuard(down, [Budget("workspace", "tight", Decimal("1"))])
        closed = CostCallbackHandler(down, budgets=guard)
        router, board = _router(openai_model)
        target = router if through == "router" else openai_model("gpt-4o-mini")
        with (
            caplog.at_level("WARNING", logger="polyvox.costs"),
            pytest.raises(LedgerUnavailableError),
        ):
            target.invoke("q", config=_config(closed, TIGHT))
        assert emulator.requests == [], "the guard failed closed: nothing was sent"
        assert "the call is refused (the guard fails closed" in caplog.text
        assert all(board.state(d.name) is BreakerState.CLOSED for d in router.deployments)
        # fail_open=True is a named choice, and each call that uses it says so.
        opened = CostCallbackHandler(down, budgets=guard, fail_open=True)
        emulator.script(Reply("went ahead"))
        caplog.clear()
        with caplog.at_level("WARNING", logger="polyvox.costs"):
            answer = target.invoke("q", config=_config(opened, TIGHT))
        assert answer.content == "went ahead"
        assert "goes ahead unguarded (CostCallbackHandler(fail_open=True))" in caplog.text


@pytest.mark.parametrize("attached", ["on the call", "on each model"])
@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
async def test_attribution_given_as_a_router_keyword_reaches_the_budget(
    emulator: Emulator,
    openai_model: OpenAIFactory,
    handler: CostCallbackHandler,
    attached: str,
    mode: str,
) -> None:
    on_model = attached == "on each model"
    router, _ = _router(openai_model, **({"callbacks": [handler]} if on_model else {}))
    config: dict[str, Any] = {} if on_model else {"callbacks": [handler]}
    with pytest.raises(BudgetExceededError, match="tight"):
        await call_as(router, mode, "my question", config=config, workspace_id="tight")
    assert emulator.requests == []


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_a_refused_call_gives_back_a_half_open_breakers_probe(
    emulator: Emulator,
    openai_model: OpenAIFactory,
    handler: CostCallbackHandler,
    store: str,
    request: pytest.FixtureRequest,
) -> None:
    from polyvox.testing import Fault

    clock = Clock()
    config = BreakerConfig(failure_threshold=1, reset_timeout_s=30)
    if store == "redis":
        prefix = request.getfixturevalue("prefix")
        from tests.router.conftest import REDIS_URL

        board = BreakerBoard.redis(REDIS_URL, prefix=prefix, config=config, clock=clock)
    else:
        board = BreakerBoard(config, clock=clock)
    models = [openai_model("gpt-4o-mini", callbacks=[handler]), openai_model("gpt-4.1")]
    router = Router(models, strategy="cost", max_retries=0, breakers=board)
    primary = router.deployments[0].name
    emulator.fail(Fault.server_error(500), model="gpt-4o-mini")
    router.invoke("q", config={"metadata": FREE})  # the primary fails: its breaker opens
    assert board.state(primary) is BreakerState.OPEN
    clock.now += 31  # a probe is due
    with pytest.raises(BudgetExceededError):
        router.invoke("q", config={"metadata": TIGHT})  # granted the probe, then refused
    emulator.reset()
    answer = router.invoke("q", config={"metadata": FREE})
    assert answer.response_metadata["model_name"] == "gpt-4o-mini", "the probe was given back"
    assert board.state(primary) is BreakerState.CLOSED
