"""When a run ends: only FINAL from code that ran answers; limits stop it with partial answers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest

from polyvox.openai import ChatOpenAI
from polyvox.rlm.errors import (
    CostLimitError,
    IterationLimitError,
    RLMLimitError,
    TimeLimitError,
    TokenLimitError,
)
from polyvox.rlm.rlm import RecursiveLanguageModel
from polyvox.testing import Emulator, Fault, Reply, Usage
from tests.rlm.conftest import ROOT, SUB, repl

Make = Callable[..., RecursiveLanguageModel]
INPUT = {"question": "What is the total?", "context": "a=1, b=2, c=3"}


def _root_messages(emulator: Emulator) -> list[str]:
    """The last user message of each request to the root model."""
    found = []
    for request in emulator.requests:
        if request.json and request.json.get("model") == ROOT:
            found.append(request.json["messages"][-1]["content"])
    return found


async def test_final_in_prose_is_refused(emulator: Emulator, make_rlm: Make) -> None:
    emulator.script(
        Reply("I am confident. FINAL(42)"),
        repl("total = sum(int(x.split('=')[1]) for x in context.split(', '))\nFINAL(total)"),
        model=ROOT,
    )
    result = await make_rlm().ainvoke(INPUT)
    assert result.answer == "6"  # the invented 42 was never accepted
    first = result.trajectory.steps[0]
    assert first.final is None
    assert first.results == []
    assert "outside a repl block" in first.notes[0]
    assert "did not run and no answer was accepted" in _root_messages(emulator)[1]


async def test_final_before_the_code_ran_is_refused(emulator: Emulator, make_rlm: Make) -> None:
    emulator.script(
        repl("x = 5\nprint(x)", "The answer is FINAL(99). Let me check anyway:"),
        repl("FINAL(x + 1)"),
        model=ROOT,
    )
    result = await make_rlm().ainvoke(INPUT)
    assert result.answer == "6"
    first = result.trajectory.steps[0]
    assert first.final is None
    assert first.results[0]["output"] == "5\n"
    assert any("ignored" in note for note in first.notes)


async def test_final_in_a_block_that_failed_first_is_refused(
    emulator: Emulator, make_rlm: Make
) -> None:
    emulator.script(
        repl("ratio = 1 / 0\nFINAL('a guess')"),
        repl("FINAL('checked')"),
        model=ROOT,
    )
    result = await make_rlm().ainvoke(INPUT)
    assert result.answer == "checked"
    first = result.trajectory.steps[0]
    assert first.final is None
    assert first.results[0]["error"] is not None
    assert "ZeroDivisionError" in first.results[0]["error"]
    assert "mentions FINAL but raised" in first.notes[0]
    assert "ZeroDivisionError" in _root_messages(emulator)[1]


async def test_final_in_a_block_that_does_not_run_is_refused(
    emulator: Emulator, make_rlm: Make
) -> None:
    emulator.script(
        Reply("Here:\n```\nFINAL('untagged')\n```\n```text\nFINAL('text')\n```"),
        repl("FINAL('ran')"),
        model=ROOT,
    )
    result = await make_rlm().ainvoke(INPUT)
    assert result.answer == "ran"
    assert result.trajectory.steps[0].results == []


async def test_blocks_after_an_accepted_final_do_not_run(
    emulator: Emulator, make_rlm: Make
) -> None:
    emulator.script(
        Reply("```repl\nFINAL('first')\n```\n```repl\nllm_query('never sent')\n```"), model=ROOT
    )
    result = await make_rlm().ainvoke(INPUT)
    assert result.answer == "first"
    step = result.trajectory.steps[0]
    assert len(step.code_blocks) == 2
    assert len(step.results) == 1
    assert step.notes == ["Block 2 was not run: an earlier block gave the final answer."]
    assert not any(r.json and r.json.get("model") == SUB for r in emulator.requests)


async def test_final_var_answers_from_a_variable(emulator: Emulator, make_rlm: Make) -> None:
    emulator.script(repl("result = context.count('=')\nFINAL_VAR('result')"), model=ROOT)
    result = await make_rlm().ainvoke(INPUT)
    assert result.answer == "3"


async def test_iteration_limit_keeps_the_answer_variable(
    emulator: Emulator, make_rlm: Make
) -> None:
    emulator.script(
        repl("answer = 'about 6'\nprint('thinking')"),
        repl("print('still thinking')"),
        model=ROOT,
    )
    with pytest.raises(IterationLimitError) as info:
        await make_rlm(max_iterations=2).ainvoke(INPUT)
    error = info.value
    assert error.partial_answer == "about 6"
    assert error.limit == 2
    assert error.trajectory is not None
    assert len(error.trajectory.steps) == 2
    assert error.trajectory.stopped == "max_iterations"
    assert error.usage is not None
    assert error.usage.calls == 2
    assert "last turn" in _root_messages(emulator)[1]


async def test_iteration_limit_falls_back_to_the_last_subcall(
    emulator: Emulator, make_rlm: Make
) -> None:
    emulator.script(repl("r = llm_query('what is a+b+c?')"), model=ROOT)
    with pytest.raises(IterationLimitError) as info:
        await make_rlm(max_iterations=1).ainvoke(INPUT)
    assert info.value.partial_answer == "You said: what is a+b+c?"


async def test_token_limit(emulator: Emulator, make_rlm: Make) -> None:
    emulator.script(
        Reply("big", usage=Usage(prompt_tokens=5000, completion_tokens=10)),
        model=SUB,
    )
    emulator.script(
        repl("answer = 'partial'\nr = llm_query('expensive')\nprint('after the call')"),
        repl("FINAL('never')"),
        model=ROOT,
    )
    with pytest.raises(TokenLimitError) as info:
        await make_rlm(max_tokens=2000).ainvoke(INPUT)
    error = info.value
    assert isinstance(error, RLMLimitError)
    assert error.partial_answer == "partial"
    assert error.used is not None
    assert error.used > 2000
    assert error.trajectory is not None
    assert error.trajectory.stopped == "max_tokens"
    assert len(error.trajectory.steps) == 1  # the second root turn was never asked for


async def test_token_limit_without_any_partial_answer(emulator: Emulator, make_rlm: Make) -> None:
    emulator.script(repl("x = 1"), model=ROOT)
    with pytest.raises(TokenLimitError) as info:
        await make_rlm(max_tokens=10).ainvoke(INPUT)
    assert info.value.partial_answer == ""
    assert info.value.trajectory is not None


async def test_cost_limit(emulator: Emulator, make_rlm: Make) -> None:
    # the root turn's prompt estimate fits the limit; the usage it reports does not
    emulator.script(
        replace(
            repl("r = llm_query_batched(['a', 'b'])\nprint(r)"),
            usage=Usage(prompt_tokens=100_000, completion_tokens=10),
        ),
        model=ROOT,
    )
    with pytest.raises(CostLimitError) as info:
        await make_rlm(max_cost_usd=Decimal("0.05")).ainvoke(INPUT)
    error = info.value
    assert error.usage is not None
    assert error.usage.total.cost_usd > Decimal("0.05")
    assert error.usage.calls == 1  # stopped after the root's first turn: no sub-call was sent
    assert not any(r.json and r.json.get("model") == SUB for r in emulator.requests)
    assert "still finish and count in full" in str(error)


async def test_cost_limit_checked_before_the_call(emulator: Emulator, make_rlm: Make) -> None:
    emulator.script(repl("FINAL('never')"), model=ROOT)
    with pytest.raises(CostLimitError) as info:
        await make_rlm(max_cost_usd=Decimal("0.000001")).ainvoke(INPUT)
    error = info.value
    assert "the next call was not sent" in str(error)
    assert error.usage is not None
    assert error.usage.calls == 0
    assert not emulator.requests  # the root's prompt alone was estimated over the limit


async def test_token_limit_bounds_concurrent_subcalls(emulator: Emulator, make_rlm: Make) -> None:
    # Eight 3,000-character prompts at once: each is estimated at about 1,000 tokens and held
    # while in flight, so only those that fit the budget left after the root turn are sent.
    emulator.script(
        replace(
            repl("r = llm_query_batched(['x' * 3000] * 8)\nprint(r)"),
            usage=Usage(prompt_tokens=1000, completion_tokens=10),
        ),
        model=ROOT,
    )
    emulator.script(
        *[Reply("ok", usage=Usage(prompt_tokens=750, completion_tokens=5))] * 3, model=SUB
    )
    with pytest.raises(TokenLimitError) as info:
        await make_rlm(max_tokens=4500, subcall_concurrency=8).ainvoke(INPUT)
    error = info.value
    sent = [r for r in emulator.requests if r.json and r.json.get("model") == SUB]
    assert len(sent) == 3  # 1,010 used + 3 x 1,003 held fit 4,500; a fourth would not
    assert "the next call was not sent" in str(error)
    assert error.usage is not None
    assert error.usage.total.total_tokens <= 4500  # replies came in under their estimates


def _warm(model: ChatOpenAI) -> ChatOpenAI:
    """Make one call first, so a cold start (imports, client set-up) does not eat the limit."""
    model.invoke("warm up")
    return model


def test_time_limit_stops_a_slow_subcall(
    emulator: Emulator, make_rlm: Make, chat: Callable[[str], ChatOpenAI]
) -> None:
    root = _warm(chat(ROOT))
    # a model of its own: the abandoned request still waits in the emulator after the test,
    # and must not take a reply scripted for a later test's model
    slow = "rlm-test-slow-sub"
    emulator.fail(Fault.slow(1.6), times=None, model=slow)
    emulator.script(repl("answer = 'early guess'\nr = llm_query('slow')\nFINAL(r)"), model=ROOT)
    started = time.perf_counter()
    with pytest.raises(TimeLimitError) as info:
        make_rlm(root=root, sub=chat(slow), max_time_s=1.0).invoke(INPUT)
    assert time.perf_counter() - started < 2.5
    error = info.value
    assert error.limit == 1.0
    assert error.partial_answer == "early guess"  # read from the REPL after the call stopped
    assert error.trajectory is not None
    assert error.trajectory.stopped == "max_time_s"
    assert error.usage is not None
    [call] = error.trajectory.steps[0].subcalls
    assert call.error is not None  # the stopped call is on record (the ledger sees it too)


def test_time_limit_stops_busy_code(
    emulator: Emulator, make_rlm: Make, chat: Callable[[str], ChatOpenAI]
) -> None:
    root = _warm(chat(ROOT))
    emulator.script(repl("answer = 'so far'\nwhile True:\n    pass"), model=ROOT)
    started = time.perf_counter()
    with pytest.raises(TimeLimitError) as info:
        make_rlm(root=root, max_time_s=0.5).invoke(INPUT)
    assert time.perf_counter() - started < 2.5  # the limit plus its grace, not the cell timeout
    assert info.value.trajectory is not None
    assert info.value.trajectory.stopped == "max_time_s"


async def test_child_out_of_iterations_gives_its_partial_answer(
    emulator: Emulator, make_rlm: Make
) -> None:
    from polyvox.rlm.settings import RLMSettings

    emulator.script(
        repl("r = rlm_query('Count the letters', context='abcabc')\nFINAL('child said ' + r)"),
        model=ROOT,
    )
    emulator.script(repl("answer = str(len(context))\nprint('not done')"), model=SUB)
    rlm = make_rlm(depth_settings={1: RLMSettings(max_iterations=1)})
    result = await rlm.ainvoke(INPUT)
    assert result.answer == "child said 6"
    [child] = result.trajectory.children
    assert child.stopped == "max_iterations"
    assert child.answer is None
    assert result.trajectory.steps[0].subcalls[0].error == "max_iterations"


async def test_limit_passed_inside_a_child_stops_the_whole_tree(
    emulator: Emulator, make_rlm: Make
) -> None:
    emulator.script(
        repl("answer = 'root partial'\nr = rlm_query('Look', context='abc')\nFINAL(r)"),
        model=ROOT,
    )
    emulator.script(
        repl("x = llm_query('big question')\nprint(x)"),
        Reply("big", usage=Usage(prompt_tokens=50_000, completion_tokens=10)),
        model=SUB,
    )
    with pytest.raises(TokenLimitError) as info:
        await make_rlm(max_tokens=20_000).ainvoke(INPUT)
    error = info.value
    assert error.partial_answer == "root partial"
    assert error.trajectory is not None
    assert error.trajectory.depth == 0
    assert error.trajectory.stopped == "max_tokens"
    assert error.trajectory.children[0].stopped == "max_tokens"
    # the root's code saw the child's failure as an exception in rlm_query
    assert "TokenLimitError" in error.trajectory.steps[0].results[0]["output"]


async def test_live_sandboxes_are_capped_per_run(emulator: Emulator, make_rlm: Make) -> None:
    emulator.script(repl("r = rlm_query('Go deeper', context='abc')\nFINAL(r)"), model=ROOT)
    emulator.script(
        repl(
            "try:\n"
            "    r = rlm_query('Deeper still', context='ab')\n"
            "except Exception as exc:\n"
            "    r = 'refused: ' + str(exc)\n"
            "FINAL(r)"
        ),
        model=SUB,
    )
    result = await make_rlm(max_depth=2, max_live_sandboxes=2).ainvoke(INPUT)
    assert result.answer.startswith("refused: ")
    assert "this run already has 2 REPL sandboxes running (max_live_sandboxes=2)" in result.answer
    assert "llm_query" in result.answer  # the model is told what it can do instead
    [child] = result.trajectory.children
    [grandchild] = child.children
    assert grandchild.stopped is not None
    assert "max_live_sandboxes=2" in grandchild.stopped
    assert not grandchild.steps  # no model was asked for the refused child
    assert len([r for r in emulator.requests if r.json and r.json.get("model") == SUB]) == 1


async def test_live_sandboxes_are_given_back(emulator: Emulator, make_rlm: Make) -> None:
    # children that finished no longer count: two in a row fit a cap of two
    emulator.script(
        repl(
            "a = rlm_query('One', context='abc')\nb = rlm_query('Two', context='de')\nFINAL(a + b)"
        ),
        model=ROOT,
    )
    emulator.script(repl("FINAL(len(context))"), repl("FINAL(len(context))"), model=SUB)
    result = await make_rlm(max_depth=1, max_live_sandboxes=2).ainvoke(INPUT)
    assert result.answer == "32"
    assert [c.answer for c in result.trajectory.children] == ["3", "2"]


async def test_partial_answer_is_read_whole_even_with_print_rebound(
    emulator: Emulator, make_rlm: Make
) -> None:
    # longer than the cell's output cap, and print rebound: the value is read directly
    emulator.script(
        repl("answer = 'x' * 30000 + 'END'\nprint = lambda *a, **k: None\nprint('gone')"),
        model=ROOT,
    )
    with pytest.raises(IterationLimitError) as info:
        await make_rlm(max_iterations=1).ainvoke(INPUT)
    assert info.value.partial_answer == "x" * 30000 + "END"
    [step] = info.value.trajectory.steps  # type: ignore[union-attr]
    assert len(step.results) == 1  # reading `answer` ran no extra cell
