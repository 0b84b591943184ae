"""Every ```python block in docs/ and in each package's README runs against the emulator.

The blocks of one page share a namespace (like a reader pasting them in order). Provider
keys and base URLs come from the environment, as they would for a user, pointed at the
emulator.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from polyvox.testing import Emulator
from tests.conftest import REPO

DOCS = REPO / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
PAGES = sorted(p for p in DOCS.rglob("*.md") if BLOCK.search(p.read_text(encoding="utf-8")))
READMES = sorted((REPO / "packages").glob("*/README.md"))
PROVIDERS = ("OPENAI", "OPENROUTER", "CLOUDRU", "LLAMACPP", "VLLM", "TOGETHER", "MISTRAL")


def test_docs_have_examples() -> None:
    assert len(PAGES) >= 5


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_page_examples_run(
    page: Path,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _run_blocks(page, emulator, monkeypatch)
    capsys.readouterr()


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.parent.name)
def test_package_readme_stands_alone_and_its_example_runs(
    readme: Path,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = readme.read_text(encoding="utf-8")
    # PyPI shows the README alone: no link may point into the repository by relative path.
    relative = re.findall(r"\]\((?!https?://|#)([^)]+)\)", text)
    assert not relative, f"{readme}: relative links {relative} break on PyPI"
    for heading in ("## Install", "## Example", "## License"):
        assert heading in text, f"{readme} lacks {heading}"
    monkeypatch.chdir(tmp_path)  # examples may write files (a ledger, a cache)
    _run_blocks(readme, emulator, monkeypatch)
    capsys.readouterr()


def _run_blocks(page: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROVIDERS:
        monkeypatch.setenv(f"{name}_API_KEY", "sk-docs-example")
        monkeypatch.setenv(f"{name}_BASE_URL", emulator.openai_base_url)
    monkeypatch.setenv("OLLAMA_HOST", emulator.ollama_url)
    monkeypatch.setenv("GOOGLE_API_KEY", "docs-example-key")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.gemini_base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-docs-example")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", emulator.anthropic_base_url)  # the root: no /v1
    monkeypatch.setenv("GIGACHAT_CREDENTIALS", "ZG9jczpleGFtcGxl")  # base64 of docs:example
    monkeypatch.setenv("GIGACHAT_BASE_URL", emulator.gigachat_base_url)
    monkeypatch.setenv("GIGACHAT_AUTH_URL", emulator.gigachat_auth_url)
    monkeypatch.setenv("YC_API_KEY", "AQVN-docs-example")
    monkeypatch.setenv("YC_FOLDER_ID", "b1g-docs-example")
    monkeypatch.setenv("YC_API_ENDPOINT", emulator.yandex_endpoint)  # gRPC host:port
    monkeypatch.setenv("YANDEX_OPENAI_BASE_URL", emulator.openai_base_url)
    monkeypatch.setenv("HF_TOKEN", "hf_docs-example")
    monkeypatch.setenv("HF_ROUTER_URL", f"{emulator.url}/huggingface/router/v1")
    monkeypatch.setenv("HF_ENDPOINT", f"{emulator.url}/huggingface/hub")
    monkeypatch.setenv("HF_INFERENCE_ENDPOINT", f"{emulator.url}/huggingface/tgi")
    monkeypatch.setenv("TEI_URL", f"{emulator.url}/huggingface/tei")
    namespace: dict[str, object] = {"__name__": f"docs_example_{page.stem}"}
    for number, block in enumerate(BLOCK.findall(page.read_text(encoding="utf-8")), 1):
        code = compile(block, f"{page.relative_to(REPO)} (block {number})", "exec")
        exec(code, namespace)
