"""Reading the root model's reply: which blocks run, and FINAL claimed outside code."""

from __future__ import annotations

from polyvox.rlm.parsing import mentions_final, parse_reply


def test_repl_and_python_blocks_run_in_order() -> None:
    text = (
        "First I look.\n```repl\nprint(1)\n```\nThen:\n```python\nprint(2)\n```\n"
        "~~~py\nprint(3)\n~~~\n"
    )
    parsed = parse_reply(text)
    assert parsed.code_blocks == ("print(1)\n", "print(2)\n", "print(3)\n")
    assert "First I look." in parsed.prose
    assert "print" not in parsed.prose
    assert not parsed.final_in_prose


def test_untagged_and_other_language_blocks_do_not_run() -> None:
    parsed = parse_reply("```\nFINAL(1)\n```\n```text\nout\n```\n```repl\n\n```")
    assert parsed.code_blocks == ()  # the empty repl block has nothing to run
    assert parsed.other_blocks == ("FINAL(1)\n", "out\n")
    assert parsed.final_in_prose  # FINAL in a block that never runs is still "prose"


def test_final_in_prose_is_detected() -> None:
    parsed = parse_reply("The answer is FINAL(42).\n```repl\nx = 1\n```")
    assert parsed.code_blocks == ("x = 1\n",)
    assert parsed.final_in_prose
    assert mentions_final('FINAL_VAR ("x")')
    assert not mentions_final("FINALLY done; FINAL answer soon")


def test_unclosed_fence_is_prose_and_longer_fences_nest() -> None:
    assert parse_reply("```repl\nprint(1)\n").code_blocks == ()
    parsed = parse_reply("````repl\ns = '''\n```\n'''\nprint(s)\n````")
    assert parsed.code_blocks == ("s = '''\n```\n'''\nprint(s)\n",)
