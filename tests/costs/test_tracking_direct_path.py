"""Cost tracking on the direct invoke path records exactly what LangChain's full path records.

With only a ``CostCallbackHandler`` attached, ``invoke``/``ainvoke`` skip LangChain's run
machinery and call the handler themselves (``polyvox.core.invocation``). Each scenario here
runs twice against the same scripted emulator, once on that direct path and once with the
handler class unregistered (LangChain's full path), and the ledgers must hold the same
records, field by field, but for the fields that differ on every run (record and run ids,
times, latencies; whether a record has a parent run is compared).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langchain_core.exceptions import ModelError
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from polyvox.core import invocation
from polyvox.costs.ledger import Budget, BudgetExceededError, BudgetGuard, Ledger
from polyvox.costs.tracking import CostCallbackHandler
from polyvox.openai import ChatOpenAI, OpenAILLM
from polyvox.router import Router
from polyvox.testing import Emulator, Fault, Reply, Usage

VOLATILE = ("id", "time", "run_id", "parent_run_id", "latency_ms")

Scenario = Callable[[Emulator, Ledger], Coroutine[Any, Any, None]]


def _usage(n: int) -> Usage:
    return Usage(prompt_tokens=100 * n, completion_tokens=10 * n)


def _model(emulator: Emulator, name: str = "gpt-4o-mini", **kwargs: Any) -> ChatOpenAI:
    return ChatOpenAI(
        model=name, api_key="k", base_url=emulator.openai_base_url, max_retries=0, **kwargs
    )


@contextlib.contextmanager
def _path(path: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Take the direct or the full path; yields a one-item list counting direct runs."""
    observed = [0]
    original = invocation.ObservedCall.__init__

    def counting(self: invocation.ObservedCall, *args: Any, **kwargs: Any) -> None:
        observed[0] += 1
        original(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(invocation.ObservedCall, "__init__", counting)
        if path == "full":
            patch.setattr(invocation, "_DIRECT_HANDLERS", set())
        yield observed


def _comparable(ledger: Ledger) -> list[dict[str, Any]]:
    assert ledger.flush(timeout=30)
    rows = []
    for record in ledger.records(limit=1000):
        row = {k: v for k, v in asdict(record).items() if k not in VOLATILE}
        row["attributes"] = dict(record.attributes)
        row["has_parent"] = record.parent_run_id is not None
        rows.append(row)
    return sorted(rows, key=repr)


def _run_both(
    scenario: Scenario, emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[dict[str, Any]], list[int]]:
    """The scenario's records on both paths (asserted equal), and the direct runs counted."""
    results: dict[str, list[dict[str, Any]]] = {}
    direct_runs: list[int] = []
    for path in ("direct", "full"):
        emulator.reset()
        ledger = Ledger(f"sqlite:///{tmp_path / f'{path}.sqlite3'}")
        try:
            with _path(path, monkeypatch) as observed:
                asyncio.run(scenario(emulator, ledger))
            results[path] = _comparable(ledger)
        finally:
            ledger.close()
        if path == "full":
            assert observed[0] == 0, "the full path ran the direct path's events"
        else:
            direct_runs.append(observed[0])
    assert results["direct"] == results["full"]
    return results["direct"], direct_runs


async def _call(model: Any, asynchronous: bool, prompt: Any, **kwargs: Any) -> Any:
    if asynchronous:
        return await model.ainvoke(prompt, **kwargs)
    return model.invoke(prompt, **kwargs)


# ---- scenarios ----------------------------------------------------------------------------


@pytest.mark.parametrize("asynchronous", [False, True], ids=["invoke", "ainvoke"])
def test_handler_in_the_config_with_metadata_tags_and_keywords(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asynchronous: bool
) -> None:
    async def scenario(emulator: Emulator, ledger: Ledger) -> None:
        emulator.script(*(Reply(f"r{i}", usage=_usage(i)) for i in (1, 2, 3)))
        model, handler = _model(emulator), CostCallbackHandler(ledger)
        config = {
            "callbacks": [handler],
            "metadata": {"workspace_id": "w1", "agent_id": "a1", "team": "red", "n": 3},
            "tags": ["execution:e1", "env:prod", "plain"],
            "run_name": "ask",
        }
        await _call(model, asynchronous, "one", config=config)
        await _call(model, asynchronous, "two", config=config, max_tokens=50, temperature=0.2)
        await _call(
            model, asynchronous, [("system", "be brief"), ("human", "three")], stop=["\n\n"]
        )

    records, direct = _run_both(scenario, emulator, tmp_path, monkeypatch)
    assert direct == [2]
    assert [r["workspace_id"] for r in records].count("w1") == 2
    row = next(r for r in records if r["workspace_id"] == "w1" and r["input_tokens"] == 100)
    assert (row["agent_id"], row["execution_id"]) == ("a1", "e1")
    assert row["attributes"] == {"team": "red", "n": "3", "env": "prod"}


@pytest.mark.parametrize("asynchronous", [False, True], ids=["invoke", "ainvoke"])
def test_handler_on_the_model(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asynchronous: bool
) -> None:
    async def scenario(emulator: Emulator, ledger: Ledger) -> None:
        emulator.script(*(Reply(f"r{i}", usage=_usage(i)) for i in (1, 2)))
        handler = CostCallbackHandler(ledger)
        model = _model(
            emulator, callbacks=[handler], tags=["agent:a9"], metadata={"workspace_id": "m1"}
        )
        await _call(model, asynchronous, "one")
        await _call(model, asynchronous, "two", config={"metadata": {"workspace_id": "c1"}})

    records, direct = _run_both(scenario, emulator, tmp_path, monkeypatch)
    assert direct == [2]
    # the model's own metadata wins over the call's, as in LangChain
    assert {(r["workspace_id"], r["agent_id"]) for r in records} == {("m1", "a9")}


@pytest.mark.parametrize("asynchronous", [False, True], ids=["invoke", "ainvoke"])
def test_failures(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asynchronous: bool
) -> None:
    async def scenario(emulator: Emulator, ledger: Ledger) -> None:
        model, handler = _model(emulator), CostCallbackHandler(ledger)
        config = {"callbacks": [handler], "metadata": {"workspace_id": "w"}}
        for fault in (Fault.server_error(500), Fault.rate_limit(), Fault.unauthorized()):
            emulator.fail(fault)
            with pytest.raises(ModelError):
                await _call(model, asynchronous, "fail", config=config)
        emulator.script(Reply("fine", usage=_usage(1)))
        await _call(model, asynchronous, "fine", config=config)

    records, direct = _run_both(scenario, emulator, tmp_path, monkeypatch)
    assert direct == [4]
    assert sorted(r["outcome"] for r in records) == ["error", "error", "error", "ok"]
    assert {r["error_type"] for r in records if r["outcome"] == "error"} == {
        "OpenAIInternalServerError",
        "OpenAIRateLimitError",
        "OpenAIAuthenticationError",
    }


@pytest.mark.parametrize("asynchronous", [False, True], ids=["invoke", "ainvoke"])
def test_budget_refusal(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asynchronous: bool
) -> None:
    sent: list[int] = []

    async def scenario(emulator: Emulator, ledger: Ledger) -> None:
        guard = BudgetGuard(ledger, [Budget("workspace", "tight", Decimal("0.0005"))])
        model, handler = _model(emulator), CostCallbackHandler(ledger, budgets=guard)
        tight = {"callbacks": [handler], "metadata": {"workspace_id": "tight"}}
        emulator.script(*(Reply("ok", usage=_usage(1)) for _ in range(2)))
        await _call(model, asynchronous, "small", config=tight, max_tokens=100)
        with pytest.raises(BudgetExceededError, match="tight"):
            await _call(model, asynchronous, "x" * 30000, config=tight, max_tokens=4000)
        free = {"callbacks": [handler], "metadata": {"workspace_id": "free"}}
        await _call(model, asynchronous, "no budget here", config=free)
        sent.append(len(emulator.requests))

    records, direct = _run_both(scenario, emulator, tmp_path, monkeypatch)
    assert direct == [3]
    assert sent == [2, 2], "the refused call was never sent"
    assert sorted(r["workspace_id"] for r in records) == ["free", "tight"]


class _BrokenGuard:
    """A budget check that cannot be made (its ledger is down)."""

    def reserve(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("ledger database down")


@pytest.mark.parametrize("fail_open", [False, True])
@pytest.mark.parametrize("asynchronous", [False, True], ids=["invoke", "ainvoke"])
def test_budget_check_failure_policy(
    emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    asynchronous: bool,
    fail_open: bool,
) -> None:
    sent: list[int] = []

    async def scenario(emulator: Emulator, ledger: Ledger) -> None:
        handler = CostCallbackHandler(ledger, budgets=_BrokenGuard(), fail_open=fail_open)  # type: ignore[arg-type]
        emulator.script(Reply("ok", usage=_usage(1)))
        config = {"callbacks": [handler], "metadata": {"workspace_id": "w"}}
        if fail_open:
            await _call(_model(emulator), asynchronous, "go", config=config)
        else:
            with pytest.raises(ConnectionError):
                await _call(_model(emulator), asynchronous, "go", config=config)
        sent.append(len(emulator.requests))

    records, _ = _run_both(scenario, emulator, tmp_path, monkeypatch)
    assert sent == [int(fail_open)] * 2
    assert len(records) == int(fail_open)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["invoke", "ainvoke"])
def test_nested_in_a_chain_keeps_its_parent_run(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asynchronous: bool
) -> None:
    parents: list[bool] = []

    async def scenario(emulator: Emulator, ledger: Ledger) -> None:
        emulator.script(*(Reply(f"r{i}", usage=_usage(i)) for i in (1, 2)))
        handler = CostCallbackHandler(ledger)
        chain = ChatPromptTemplate.from_template("About {topic}") | _model(emulator)
        chain = chain | StrOutputParser()
        for workspace in ("w1", "w2"):
            config = {"callbacks": [handler], "metadata": {"workspace_id": workspace}}
            await _call(chain, asynchronous, {"topic": workspace}, config=config)
        ledger.flush()
        parents.extend(r.parent_run_id is not None for r in ledger.records())

    records, direct = _run_both(scenario, emulator, tmp_path, monkeypatch)
    assert direct == [2], "a chain's child manager holding only the handler keeps the fast path"
    assert parents == [True] * 4
    assert sorted(r["workspace_id"] for r in records) == ["w1", "w2"]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["invoke", "ainvoke"])
def test_llm_adapter_counts_each_call_once(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asynchronous: bool
) -> None:
    async def scenario(emulator: Emulator, ledger: Ledger) -> None:
        emulator.script(*(Reply(f"r{i}", usage=_usage(i)) for i in (1, 2, 3)))
        llm = OpenAILLM(
            model="gpt-4o-mini", api_key="k", base_url=emulator.openai_base_url, max_retries=0
        )
        config = {"callbacks": [CostCallbackHandler(ledger)], "metadata": {"workspace_id": "l"}}
        await _call(llm, asynchronous, "once", config=config)
        if asynchronous:
            await llm.abatch(["a", "b"], config=config)
        else:
            llm.batch(["a", "b"], config=config)

    records, direct = _run_both(scenario, emulator, tmp_path, monkeypatch)
    assert direct == [3], "the chat call under the LLM run takes the direct path"
    assert len(records) == 3
    assert all(r["has_parent"] for r in records)


@pytest.mark.parametrize("attached", ["on the call", "on each model"])
@pytest.mark.parametrize("asynchronous", [False, True], ids=["invoke", "ainvoke"])
def test_router_with_attribution_keywords(
    emulator: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    asynchronous: bool,
    attached: str,
) -> None:
    async def scenario(emulator: Emulator, ledger: Ledger) -> None:
        emulator.script(*(Reply(f"r{i}", usage=_usage(i)) for i in (1, 2)))
        handler = CostCallbackHandler(ledger)
        on_model = attached == "on each model"
        extra = {"callbacks": [handler]} if on_model else {}
        router = Router(
            [_model(emulator, **extra), _model(emulator, "gpt-4.1", **extra)], strategy="cost"
        )
        config: dict[str, Any] = {"metadata": {"team": "blue"}, "tags": ["env:dev"]}
        if not on_model:
            config["callbacks"] = [handler]
        await _call(router, asynchronous, "q1", config=config, workspace_id="w1", agent_id="a1")
        await _call(router, asynchronous, "q2", config=config)

    records, direct = _run_both(scenario, emulator, tmp_path, monkeypatch)
    assert direct == [2]
    assert [(r["workspace_id"], r["agent_id"]) for r in records if r["workspace_id"]] == [
        ("w1", "a1")
    ]
    assert all(r["attributes"] == {"team": "blue", "env": "dev"} for r in records)
    assert all(r["has_parent"] is (attached == "on the call") for r in records)


def test_a_cancelled_async_call_is_recorded_as_langchain_records_it(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(emulator: Emulator, ledger: Ledger) -> None:
        emulator.fail(Fault.slow(2.0))
        # the same reply twice: which one the cancelled request takes does not matter
        emulator.script(*(Reply("ok", usage=_usage(1)) for _ in range(2)))
        model, handler = _model(emulator), CostCallbackHandler(ledger)
        config = {"callbacks": [handler]}
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await model.ainvoke("slow", config=config)
        await model.ainvoke("fine", config=config)

    records, direct = _run_both(scenario, emulator, tmp_path, monkeypatch)
    assert direct == [2]
    assert [r["outcome"] for r in records] == ["ok"], "no end event for a cancelled call"


# ---- what keeps the full path ---------------------------------------------------------------


class _Other(CostCallbackHandler):
    """A subclass: not registered, so it gets LangChain's full path."""


@pytest.mark.parametrize(
    "setup",
    [
        "another handler beside",
        "a subclass",
        "streaming model",
        "verbose model",
        "run_id given",
        "handler not inline",
    ],
)
def test_what_keeps_the_full_path(
    emulator: Emulator, ledger: Ledger, monkeypatch: pytest.MonkeyPatch, setup: str
) -> None:
    from langchain_core.callbacks import StdOutCallbackHandler

    handler = CostCallbackHandler(ledger)
    model_kwargs: dict[str, Any] = {}
    config: dict[str, Any] = {"callbacks": [handler]}
    if setup == "another handler beside":
        config["callbacks"] = [handler, StdOutCallbackHandler()]
    elif setup == "a subclass":
        config["callbacks"] = [_Other(ledger)]
    elif setup == "streaming model":
        model_kwargs["streaming"] = True
    elif setup == "verbose model":
        model_kwargs["verbose"] = True
    elif setup == "run_id given":
        config["run_id"] = __import__("uuid").uuid4()
    else:
        handler.run_inline = False
    emulator.script(Reply("ok", usage=_usage(1)))
    with _path("direct", monkeypatch) as observed:
        _model(emulator, **model_kwargs).invoke("hi", config=config)
    assert observed == [0]
    ledger.flush()
    assert len(ledger.records()) == 1
