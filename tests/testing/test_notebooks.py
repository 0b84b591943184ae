"""The notebook runner: ``python -m polyvox.testing.notebooks FOLDER``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from polyvox.testing.notebooks import NOTEBOOK_API_KEY, find_notebooks, kernel_environment, main


def write_notebook(path: Path, *cells: str) -> Path:
    """Write a notebook; a cell starting with ``#`` is markdown, any other is code."""
    path.parent.mkdir(parents=True, exist_ok=True)
    notebook = new_notebook(
        cells=[new_markdown_cell(c) if c.startswith("#") else new_code_cell(c) for c in cells]
    )
    nbformat.write(notebook, path)
    return path


def test_passing_notebook_runs_on_this_interpreter_against_the_emulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # an installed "python3" kernelspec for some other Python must not be used
    spec = tmp_path / "jupyter" / "kernels" / "python3" / "kernel.json"
    spec.parent.mkdir(parents=True)
    argv = ["/nonexistent/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.write_text(json.dumps({"argv": argv, "display_name": "Other", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    notebook = write_notebook(
        tmp_path / "guide" / "ok.ipynb",
        "# A notebook written for real users",
        "import os, sys\n"
        f"assert sys.executable == {sys.executable!r}, sys.executable\n"
        f"assert os.getcwd() == {str(tmp_path / 'guide')!r}, os.getcwd()\n"
        f"assert os.environ['OPENAI_API_KEY'] == {NOTEBOOK_API_KEY!r}\n"
        "root = os.environ['POLYVOX_EMULATOR_URL']\n"
        "assert os.environ['OPENAI_BASE_URL'] == root + '/v1'",
        # a chat completion the way the openai SDK sends it (stdlib only: a fast test)
        "import json, urllib.request\n"
        "body = {'model': 'gpt-4o-mini', 'messages': [{'role': 'user', 'content': 'ping'}]}\n"
        "request = urllib.request.Request(\n"
        "    os.environ['OPENAI_BASE_URL'] + '/chat/completions',\n"
        "    data=json.dumps(body).encode(),\n"
        "    headers={'Authorization': 'Bearer ' + os.environ['OPENAI_API_KEY'],\n"
        "             'Content-Type': 'application/json'},\n"
        ")\n"
        "opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))\n"
        "with opener.open(request, timeout=10) as response:\n"
        "    reply = json.load(response)['choices'][0]['message']['content']\n"
        "assert reply == 'You said: ping', reply\n"
        "print(reply)",
    )
    # a checkpoint copy that would fail: hidden folders are not searched
    write_notebook(tmp_path / "guide" / ".ipynb_checkpoints" / "ok-checkpoint.ipynb", "1 / 0")
    before = notebook.read_bytes()

    status = main([str(tmp_path / "guide")])

    out = capsys.readouterr().out
    assert status == 0, out
    assert f"ok   {notebook} (" in out
    assert "checkpoint" not in out
    assert "all 1 notebook(s) passed" in out
    assert notebook.read_bytes() == before, "the runner must not write outputs back"


def test_failing_cell_is_named_and_the_exit_status_is_not_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook = write_notebook(
        tmp_path / "broken.ipynb",
        "x = 1",
        "# The next cell fails",
        "raise ValueError(f'boom-{x + 41}')",
        "print('never reached')",
    )
    before = notebook.read_bytes()

    status = main([str(notebook), "--timeout", "30"])

    captured = capsys.readouterr()
    assert status == 1
    error = "cell 3 (raise ValueError(f'boom-{x + 41}')): ValueError: boom-42"
    assert f"FAIL {notebook} (" in captured.out
    assert f"s): {error}" in captured.out
    assert "1 of 1 notebook(s) failed" in captured.err
    assert f"{notebook}: {error}" in captured.err
    assert "Traceback" in captured.err  # the cell's traceback, for the CI log
    assert "\x1b[" not in captured.err, "terminal colours are stripped"
    assert notebook.read_bytes() == before


def test_no_notebooks_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("not a notebook")
    write_notebook(tmp_path / ".ipynb_checkpoints" / "x-checkpoint.ipynb", "1")

    assert main([str(tmp_path)]) == 2
    assert "no notebooks" in capsys.readouterr().err

    assert main([str(tmp_path / "missing")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_module_entry_point_fails_on_an_empty_folder(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "polyvox.testing.notebooks", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "no notebooks (*.ipynb) found" in result.stderr


def test_find_notebooks_sorts_folders_and_files(tmp_path: Path) -> None:
    b = write_notebook(tmp_path / "b.ipynb", "1")
    a = write_notebook(tmp_path / "sub" / "a.ipynb", "1")
    write_notebook(tmp_path / ".hidden" / "c.ipynb", "1")
    (tmp_path / "readme.md").write_text("x")

    assert find_notebooks([tmp_path]) == [b, a]
    assert find_notebooks([b, tmp_path / "sub", b]) == [b, a]
    assert find_notebooks([tmp_path / "readme.md"]) == []
    with pytest.raises(FileNotFoundError):
        find_notebooks([tmp_path / "nope"])


def test_kernel_environment_points_openai_at_the_emulator() -> None:
    base = {"PATH": os.environ.get("PATH", ""), "OPENAI_API_KEY": "sk-real"}

    env = kernel_environment("http://127.0.0.1:1234", base)

    assert env["OPENAI_BASE_URL"] == "http://127.0.0.1:1234/v1"
    assert env["POLYVOX_EMULATOR_URL"] == "http://127.0.0.1:1234"
    assert env["OPENAI_API_KEY"] == NOTEBOOK_API_KEY
    assert env["PATH"] == base["PATH"]
    assert base["OPENAI_API_KEY"] == "sk-real", "the base mapping is not changed"
