"""The RLM benchmark's simulated models: the oracle sub-model and the scripted root models."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import pytest
from langchain_core.exceptions import ContextOverflowError
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from benchmarks.rlm import questions as q
from benchmarks.rlm.generators import FAMILIES, generate
from benchmarks.rlm.oracle import REFUSAL, OracleChatModel
from benchmarks.rlm.scripted import ChildModel, ScriptedRootModel
from benchmarks.rlm.world import needle_fact, record_line
from polyvox.core.errors import is_context_overflow


def oracle(**fields: Any) -> OracleChatModel:
    fields.setdefault("latency_s", 0.0)
    fields.setdefault("latency_per_1k_s", 0.0)
    return OracleChatModel(**fields)


def ask(model: OracleChatModel, question: str, text: str) -> str:
    return model.invoke([HumanMessage(f"{question}\n\nText:\n{text}")]).text


def test_oracle_answers_only_from_the_text_it_is_given() -> None:
    model = oracle()
    question = q.needle_question("Velmar")
    filler = "The quiet harbour watches the wooden boats near the eastern hills. " * 20
    assert ask(model, question, filler) == q.NOT_FOUND
    assert ask(model, question, filler + needle_fact("Corvel", "123-ABC")) == q.NOT_FOUND
    with_needle = filler + needle_fact("Velmar", "482-QXT") + filler
    assert ask(model, question, with_needle) == needle_fact("Velmar", "482-QXT")
    assert ask(model, "What is the weather like?", with_needle) == q.CANNOT


def test_oracle_counts_what_it_reads() -> None:
    model = oracle()
    lines = [
        record_line(random.Random(0), 11111, "Who designed the clock of Vel?"),
        record_line(random.Random(1), 22222, "Where is the fountain of Vel located?"),
        record_line(random.Random(2), 11111, "Whose portrait hangs near the chapel of Ro?"),
    ]
    text = "\n".join(lines)
    assert ask(model, q.count_question("person"), text) == q.count_answer(2, "person")
    assert ask(model, q.count_question("number"), text) == q.count_answer(0, "number")
    users = ask(model, q.users_with_question(["person", "location"]), text)
    assert users == "Users with label person: 11111.\nUsers with label location: 22222."
    assert ask(model, q.pairs_question("person", "location"), text) == "Pairs: none."


def test_oracle_merges_partial_answers_it_is_shown() -> None:
    model = oracle()
    partial = f"{q.count_answer(3, 'entity')}\n---\n{q.count_answer(4, 'entity')}"
    assert ask(model, q.count_question("entity"), partial) == q.count_answer(7, "entity")
    pairs = "Pairs: (1, 2), (3, 4).\nPairs: (1, 2), (5, 6)."
    assert ask(model, q.pairs_question("person", "number"), pairs) == (
        "Pairs: (1, 2), (3, 4), (5, 6)."
    )


def test_oracle_refuses_above_its_window() -> None:
    task = generate("needle", 1 << 13, 0)
    small = oracle(context_window=4_000)
    with pytest.raises(ContextOverflowError) as caught:
        ask(small, task.question, task.text)
    assert is_context_overflow(str(caught.value))
    refusing = oracle(context_window=4_000, overflow="refuse")
    reply = refusing.invoke([HumanMessage(task.text + task.question)])
    assert reply.text == REFUSAL
    assert reply.response_metadata["finish_reason"] == "length"
    assert ask(oracle(), task.question, task.text) == needle_fact(
        task.details["project"], task.gold
    )


def test_oracle_degrades_with_length_reproducibly() -> None:
    model = oracle()
    losses = [model.loss(t) for t in (1_000, 8_192, 16_000, 64_000, 128_000)]
    assert losses[:2] == [0.0, 0.0]
    assert losses[2] < losses[3] < losses[4] == pytest.approx(model.max_loss)
    task = generate("count", 1 << 15, 0)  # 32K tokens: some records are missed
    first = ask(model, task.question, task.text)
    assert first == ask(model, task.question, task.text)
    counted = int(q.COUNT_ANSWER.search(first).group(1))  # type: ignore[union-attr]
    assert 0 < counted < int(task.gold)
    assert (
        oracle(seed=1).invoke([HumanMessage(f"{task.question}\n\nText:\n{task.text}")]).text
        != first
    )
    small = generate("count", 1 << 12, 0)  # under reliable_tokens: exact
    assert ask(model, small.question, small.text) == q.count_answer(
        int(small.gold), small.details["label"]
    )


def test_oracle_reports_usage_and_the_model_it_is_priced_as() -> None:
    reply = oracle().invoke([HumanMessage("x" * 4000 + q.top_question())])
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] == -(-(4000 + len(q.top_question())) // 4)
    assert reply.usage_metadata["output_tokens"] > 0
    assert reply.response_metadata["model_name"] == "gpt-4o-mini"
    assert reply.response_metadata["model_provider"] == "openai"


async def test_oracle_latency_is_simulated_and_concurrent() -> None:
    model = oracle(latency_s=0.1)
    started = time.perf_counter()
    replies = await asyncio.gather(
        *(model.ainvoke([HumanMessage(q.top_question())]) for _ in range(10))
    )
    elapsed = time.perf_counter() - started
    assert 0.1 <= elapsed < 0.6  # ten calls of 0.1 s overlap: asyncio.sleep, not time.sleep
    assert all(r.text == q.NOT_FOUND for r in replies)
    started = time.perf_counter()
    model.invoke([HumanMessage(q.top_question())])
    assert time.perf_counter() - started >= 0.1


def _history(question: str, *outputs: str) -> list[BaseMessage]:
    messages: list[BaseMessage] = [
        SystemMessage("You answer questions with a REPL."),
        HumanMessage(f"Question: {question}"),
    ]
    for output in outputs:
        messages += [AIMessage("```repl\nprint(1)\n```"), HumanMessage(output)]
    return messages


@pytest.mark.parametrize("mode", ["code", "subcalls", "recursive"])
@pytest.mark.parametrize("family", FAMILIES)
def test_scripted_root_writes_valid_code_that_never_holds_the_gold(family: str, mode: str) -> None:
    task = generate(family, 1 << 15, 0)  # type: ignore[arg-type]
    root = ScriptedRootModel(mode=mode, latency_s=0.0)
    probe = root.invoke(_history(task.question)).text
    assert "```repl\n" in probe
    assert "CONTEXT_CHARS" in probe
    outputs = [f"CONTEXT_CHARS={task.chars}\n...", "HOP1_CITY=Velmar\n", "ANSWER=?\n"]
    codes = []
    for turn in (1, 2, 3):
        reply = root.invoke(_history(task.question, *outputs[:turn]))
        assert reply.usage_metadata is not None
        assert reply.usage_metadata["input_tokens"] > 0
        code = reply.text.split("```repl\n", 1)[1].rsplit("```", 1)[0]
        compile(code, f"<{family}-{mode}-{turn}>", "exec")
        codes.append(code)
    two_cells = family == "multihop" and mode != "code"
    assert ("HOP1_CITY" in codes[0]) == two_cells
    assert "FINAL(answer)" in codes[1 if two_cells else 0]
    assert "NameError" in codes[2]  # past its script: answer with what the REPL holds
    assert all(task.gold not in code for code in codes)
    uses = " ".join(codes)
    if mode == "recursive" and family != "multihop":
        assert "delegate(" in uses
    elif mode == "subcalls":
        assert "ask(" in uses
        assert "delegate(" not in uses
    elif mode == "code" and family in ("needle", "multihop"):
        assert "ask(" not in uses
        assert "ask_each(" not in uses


def test_scripted_child_does_not_split_its_part_again() -> None:
    root = ScriptedRootModel(mode="recursive", latency_s=0.0)
    question = q.with_part(q.count_question("entity"), 1, 4)
    reply = root.invoke(_history(question, "CONTEXT_CHARS=1000000\n"))
    assert "ask(" in reply.text
    assert "delegate(" not in reply.text


def test_scripted_root_answers_an_unknown_question_with_final() -> None:
    reply = ScriptedRootModel(latency_s=0.0).invoke(_history("What is love?"))
    assert q.CANNOT in reply.text
    assert "FINAL(answer)" in reply.text


def test_child_model_codes_for_an_rlm_and_reads_for_a_sub_call() -> None:
    child = ChildModel(coder=ScriptedRootModel(latency_s=0.0), reader=oracle())
    question = q.needle_question("Velmar")
    assert "```repl" in child.invoke(_history(question)).text
    text = needle_fact("Velmar", "482-QXT")
    assert child.invoke([HumanMessage(f"{question}\n{text}")]).text == text
