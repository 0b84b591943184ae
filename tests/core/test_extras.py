"""A missing optional dependency names the command that installs it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from polyvox.core.extras import require

BLOCK_LLAMAINDEX = (
    "import sys\n"
    "class Block:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name == 'llama_index' or name.startswith('llama_index.'):\n"
    "            raise ModuleNotFoundError(f\"No module named '{name}'\", name=name)\n"
    "sys.meta_path.insert(0, Block())\n"
)


@pytest.mark.parametrize(
    ("module", "command"),
    [
        ("polyvox.openai.llamaindex", 'pip install "polyvox-openai[llamaindex]"'),
        ("polyvox.ollama.llamaindex", 'pip install "polyvox-ollama[llamaindex]"'),
        ("polyvox.rlm.llamaindex", 'pip install "polyvox-rlm[llamaindex]"'),
    ],
)
def test_a_missing_llamaindex_names_the_extra(module: str, command: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_LLAMAINDEX + f"import {module}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "ModuleNotFoundError: llama_index.core is not installed" in done.stderr
    assert command in done.stderr


def test_a_present_module_passes() -> None:
    require("json", "none", packages=("polyvox-core",))
