"""Accounting over the call tree: a depth-2 run's ledger equals the sum of its trajectory."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from polyvox.costs.catalog import default_catalog
from polyvox.costs.computation import compute_cost
from polyvox.costs.ledger import Ledger
from polyvox.costs.tracking import CostCallbackHandler
from polyvox.openai import ChatOpenAI
from polyvox.rlm.accounting import Accountant, model_identity, price_usage
from polyvox.rlm.inputs import RLMResult
from polyvox.rlm.rlm import RecursiveLanguageModel
from polyvox.rlm.trajectory import SubCall, Trajectory
from polyvox.testing import Emulator, Reply, Usage
from tests.rlm.conftest import ROOT, SUB, repl

CHILD = "gpt-4.1-mini"
"""The root model of the depth-1 child RLM."""


def _script_depth_two(emulator: Emulator) -> None:
    emulator.script(
        repl("r = rlm_query('Find the code in this piece', context=context[:60])\nprint(r)"),
        repl("FINAL(r)"),
        model=ROOT,
    )
    emulator.script(
        repl("x = llm_query('Say the code: ' + context[-20:])\nprint(x)", "The child looks."),
        Reply(
            "Done.\n```repl\nFINAL(x)\n```",
            usage=Usage(prompt_tokens=1800, completion_tokens=40, cached_tokens=800),
        ),
        model=CHILD,
    )
    # depth 2: the llm_query the child makes
    emulator.script(
        Reply("code 4711", usage=Usage(prompt_tokens=321, completion_tokens=7)), model=SUB
    )


def _rlm(chat: Callable[[str], ChatOpenAI]) -> RecursiveLanguageModel:
    return RecursiveLanguageModel(
        root=chat(ROOT),
        models_by_depth={1: chat(CHILD), 2: chat(SUB)},
        max_depth=2,
    )


def _check_ledger_matches(result: RLMResult, ledger: Ledger) -> None:
    assert result.answer == "code 4711"
    trajectory = result.trajectory
    [child] = trajectory.children
    assert child.depth == 1
    assert child.model == CHILD
    assert child.answer == "code 4711"
    pointer = trajectory.steps[0].subcalls[0]
    assert pointer.kind == "rlm_query"
    assert pointer.child == 0
    assert not pointer.is_model_call
    calls = list(trajectory.calls())
    assert [(c.kind, c.depth, c.model) for c in calls] == [
        ("root", 0, ROOT),
        ("root", 0, ROOT),
        ("root", 1, CHILD),
        ("llm_query", 2, SUB),
        ("root", 1, CHILD),
    ]
    ledger.flush()
    records = ledger.records()
    assert len(records) == len(calls) == 5
    # the ledger's total is the sum of every call in the trajectory, exactly
    trajectory_total = sum((c.cost_usd for c in calls if c.cost_usd is not None), Decimal(0))
    assert all(c.cost_usd is not None for c in calls)
    assert ledger.total_cost() == trajectory_total == trajectory.total_cost_usd
    assert result.usage.total_cost_usd == trajectory_total
    # call by call: same run id, tokens and cost; the run's attribution plus rlm_depth
    by_run = {r.run_id: r for r in records}
    for call in calls:
        record = by_run[call.run_id]
        assert (record.model, record.provider) == (call.model, "openai")
        assert (record.input_tokens, record.output_tokens) == (
            call.input_tokens,
            call.output_tokens,
        )
        assert record.cost == call.cost_usd
        assert (record.workspace_id, record.agent_id) == ("w1", "a7")
        assert record.attributes["rlm_depth"] == str(call.depth)
    cached = by_run[calls[4].run_id]
    assert cached.cache_read_tokens == 800
    # per depth and per model
    usage = result.usage
    assert {d: t.calls for d, t in usage.by_depth.items()} == {0: 2, 1: 2, 2: 1}
    assert usage.by_model[f"openai/{SUB}"].input_tokens == 321
    assert pointer.input_tokens == sum(c.input_tokens for c in child.calls())


def test_depth_two_ledger_equals_trajectory_sync(
    emulator: Emulator, chat: Callable[[str], ChatOpenAI], ledger: Ledger
) -> None:
    _script_depth_two(emulator)
    config = {
        "callbacks": [CostCallbackHandler(ledger)],
        "metadata": {"workspace_id": "w1", "agent_id": "a7"},
    }
    result = _rlm(chat).invoke({"question": "What is the code?", "context": "x" * 50}, config)
    _check_ledger_matches(result, ledger)


async def test_depth_two_ledger_equals_trajectory_async(
    emulator: Emulator, chat: Callable[[str], ChatOpenAI], ledger: Ledger, tmp_path: Path
) -> None:
    _script_depth_two(emulator)
    config = {
        "callbacks": [CostCallbackHandler(ledger)],
        "metadata": {"workspace_id": "w1", "agent_id": "a7"},
    }
    result = await _rlm(chat).ainvoke(
        {"question": "What is the code?", "context": "x" * 50}, config
    )
    _check_ledger_matches(result, ledger)
    # the real trajectory survives JSON lines, and the page shows the child nested
    saved = result.trajectory.to_jsonl(tmp_path / "run.jsonl")
    assert Trajectory.from_jsonl(saved) == result.trajectory
    page = result.trajectory.to_html()
    assert "Child RLM 1 (depth 1)" in page
    assert "Say the code: " in page


def test_cost_is_priced_like_the_ledger() -> None:
    usage = {"input_tokens": 1000, "output_tokens": 100, "total_tokens": 1100}
    price = default_catalog().price_for("openai", ROOT)
    expected = compute_cost(usage, price).total
    assert price_usage(usage, "openai", ROOT) == (expected, "USD", expected)
    assert price_usage(None, "openai", ROOT) == (Decimal(0), "USD", Decimal(0))
    assert price_usage(usage, "openai", "no-such-model-xyz") == (None, None, None)


def test_model_identity_falls_back_to_ls_params(chat: Callable[[str], ChatOpenAI]) -> None:
    assert model_identity(chat(SUB)) == ("openai", SUB)


def test_accountant_counts_exactly_across_threads() -> None:
    accountant = Accountant()
    call = SubCall(
        kind="llm_query",
        depth=1,
        model="m",
        provider="p",
        input_tokens=3,
        output_tokens=2,
        cost_usd=Decimal("0.001"),
    )
    unpriced = SubCall(kind="root", depth=0, model="u", input_tokens=1)

    def work() -> None:
        for _ in range(500):
            accountant.add(call)
            accountant.add(unpriced)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = accountant.report()
    assert report.calls == 8000
    assert report.total.input_tokens == 8 * 500 * 4
    assert report.total.cost_usd == Decimal("4.000")
    assert report.total.unpriced_calls == 4000
    assert report.by_depth[1].calls == 4000
    assert report.by_model["unknown/u"].calls == 4000
    pointer = SubCall(kind="rlm_query", depth=1, model="m", child=0, input_tokens=99)
    accountant.add(pointer)
    assert accountant.totals().calls == 8000  # a pointer to a child is not a call


def test_total_cost_is_none_when_nothing_was_priced() -> None:
    accountant = Accountant()
    accountant.add(SubCall(kind="root", depth=0, model="u"))
    assert accountant.report().total_cost_usd is None
    assert Accountant().report().total_cost_usd == Decimal(0)


@pytest.mark.parametrize("limit", [Decimal("0.5")])
def test_report_merge(limit: Decimal) -> None:
    first, second = Accountant(), Accountant()
    first.add(SubCall(kind="root", depth=0, model="a", provider="p", cost_usd=limit))
    second.add(SubCall(kind="root", depth=1, model="a", provider="p", cost_usd=limit))
    merged = first.report()
    merged.merge(second.report())
    assert merged.calls == 2
    assert merged.total_cost_usd == 2 * limit
    assert set(merged.by_depth) == {0, 1}
    assert merged.by_model["p/a"].calls == 2
    assert merged.as_dict()["total"]["cost_usd"] == "1.0"
