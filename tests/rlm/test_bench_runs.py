"""The RLM benchmark end to end: scripted RLM runs in the real sandbox, baselines, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.rlm.__main__ import main
from benchmarks.rlm.baselines import direct, tree_summarize
from benchmarks.rlm.generators import generate
from benchmarks.rlm.measure import CallRecorder, by_depth
from benchmarks.rlm.oracle import OracleChatModel
from benchmarks.rlm.report import MECHANICS_NOTE
from benchmarks.rlm.runner import RunOptions, run_method, scripted_models
from benchmarks.rlm.scripted import ScriptedRootModel
from polyvox.rlm.rlm import RecursiveLanguageModel
from polyvox.testing import Emulator, Reply

FAST = {"latency_s": 0.0, "latency_per_1k_s": 0.0}
OPTIONS = RunOptions(sizes=(1 << 13,), max_time_s=60)


@pytest.mark.parametrize("method", ["rlm_d0", "rlm_d1", "rlm_d2"])
@pytest.mark.parametrize("family", ["needle", "count"])
async def test_scripted_rlm_solves_small_needle_and_count_exactly(family: str, method: str) -> None:
    task = generate(family, 1 << 13, seed=0)  # type: ignore[arg-type]
    row = await run_method(task, method, scripted_models(oracle=FAST, root_latency_s=0), OPTIONS)
    assert row.note == ""
    assert row.score == 1.0, row.answer
    depth = int(method[-1])
    deepest = max(row.calls_by_depth)
    assert deepest == (0 if method == "rlm_d0" and family == "needle" else max(depth, 1))
    assert row.peak_root_tokens is not None
    assert row.peak_root_tokens < task.chars // 4 // 4  # the root never holds the context
    assert row.cost_usd is not None
    assert row.cost_usd > 0
    assert row.context_read is not None
    if family == "count":
        assert row.context_read == 1.0  # every record must be read
    else:
        assert 0 < row.context_read < 0.5  # search, then windows around the hits


@pytest.mark.parametrize("family", ["top", "pairs", "multihop"])
async def test_scripted_rlm_solves_the_other_families(family: str) -> None:
    task = generate(family, 1 << 14, seed=1)  # type: ignore[arg-type]
    row = await run_method(task, "rlm_d1", scripted_models(oracle=FAST, root_latency_s=0), OPTIONS)
    assert row.score == 1.0, row.answer
    assert row.calls_by_depth[1] >= 2


async def test_call_records_match_the_rlm_usage_report() -> None:
    task = generate("count", 1 << 14, seed=2)
    recorder = CallRecorder()
    root = ScriptedRootModel(mode="recursive", latency_s=0.0, callbacks=[recorder])
    models = scripted_models(oracle=FAST)
    sub = models.sub(2)
    sub.callbacks = [recorder]
    rlm = RecursiveLanguageModel(root=root, sub=sub, max_depth=2, max_iterations=6)
    result = await rlm.ainvoke({"question": task.question, "context": task.context})
    assert task.score(result.answer) == 1.0
    calls, tokens = by_depth(recorder.calls)
    report = result.usage
    assert sum(calls.values()) == report.calls
    assert {d: t.calls for d, t in report.by_depth.items()} == dict(calls)
    assert {d: t.total_tokens for d, t in report.by_depth.items()} == dict(tokens)
    assert set(calls) == {0, 1, 2}
    assert len(result.trajectory.children) >= 2
    assert all(r.role != "root" or r.depth in (0, 1) for r in recorder.calls)


async def test_direct_call_is_refused_above_the_window_and_degrades_below() -> None:
    oracle = OracleChatModel(**FAST)
    big = generate("needle", 1 << 17, seed=0)
    outcome = await direct(big, oracle)
    assert outcome.answer == ""
    assert outcome.note.startswith("refused:")
    assert outcome.peak_prompt_tokens is not None
    assert outcome.peak_prompt_tokens > oracle.context_window
    mid = generate("count", 1 << 16, seed=0)
    answer = (await direct(mid, oracle)).answer
    assert 0 <= mid.score(answer) < 1.0  # read at 64K tokens, with records missed


async def test_tree_summarize_merges_counts_but_loses_cross_chunk_hops() -> None:
    oracle = OracleChatModel(**FAST)
    count = generate("count", 1 << 15, seed=0)
    outcome = await tree_summarize(count, oracle, chunk_chars=16_000)
    assert count.score(outcome.answer) == 1.0
    hop = generate("multihop", 1 << 15, seed=0)
    outcome = await tree_summarize(hop, oracle, chunk_chars=16_000)
    assert hop.score(outcome.answer) == 0.0
    assert hop.details["city"] in outcome.answer  # the first hop was found, the second lost


def test_cli_quick_run_writes_json_and_markdown(tmp_path: Path) -> None:
    out, md = tmp_path / "rlm.json", tmp_path / "rlm.md"
    status = main(
        [
            "--quick",
            "--families",
            "needle,multihop",
            "--methods",
            "direct,rlm_d1",
            "--oracle-latency-ms",
            "0",
            "--json",
            str(out),
            "--markdown",
            str(md),
        ]
    )
    assert status == 0
    data = json.loads(out.read_text())
    assert data["scripted"] is True
    assert [(r["family"], r["method"]) for r in data["rows"]] == [
        ("needle", "direct"),
        ("needle", "rlm_d1"),
        ("multihop", "direct"),
        ("multihop", "rlm_d1"),
    ]
    assert all(r["score"] == 1.0 for r in data["rows"])
    report = md.read_text()
    assert MECHANICS_NOTE in report
    assert "| needle | 8K | RLM depth 1 | 1.00 |" in report


def test_cli_refuses_half_a_real_model() -> None:
    assert main(["--base-url", "http://localhost:1/v1"]) == 2
    assert main(["--families", "poems"]) == 2


def test_real_model_mode_runs_against_an_openai_compatible_server(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = generate("needle", 1 << 13, seed=0)
    project = task.details["project"]
    code = (
        f"hits = search(r'project {project}')\n"
        "window = context[hits[0]['start'] - 2000:hits[-1]['end'] + 2000]\n"
        f"FINAL(llm_query({task.question!r} + window))\n"
    )
    emulator.script(
        Reply(f"The code is {task.gold}."),  # the direct call
        Reply(f"Let me search.\n```repl\n{code}```"),  # the RLM root's first turn
        Reply(f"It is {task.gold}."),  # its llm_query
        model="gpt-4o-mini",
    )
    monkeypatch.setenv("BENCH_TEST_KEY", "sk-test")
    out = tmp_path / "real.json"
    status = main(
        [
            *("--base-url", emulator.openai_base_url, "--model", "gpt-4o-mini"),
            *("--api-key-env", "BENCH_TEST_KEY", "--sizes", "13", "--families", "needle"),
            *("--methods", "direct,rlm_d1", "--json", str(out)),
        ]
    )
    assert status == 0
    data = json.loads(out.read_text())
    assert data["scripted"] is False
    assert data["note"] == ""
    direct_row, rlm_row = data["rows"]
    assert direct_row["score"] == rlm_row["score"] == 1.0
    assert rlm_row["calls_by_depth"] == {"0": 1, "1": 1}
    assert rlm_row["cost_usd"] > 0
    assert 0 < rlm_row["context_read"] < 1
    assert [r.json["model"] for r in emulator.requests] == ["gpt-4o-mini"] * 3
