"""Install each polyvox distribution alone in a fresh virtual environment, and use it.

``python3 dev.py installs`` builds every package's wheel, then for each distribution makes
a new venv, installs that one wheel (its polyvox dependencies from the wheels just built,
everything else from the package registry), and imports its public names. It proves
that each distribution declares what it needs and nothing of the workspace leaks in:
a provider package installs without ``polyvox-costs``, the LlamaIndex module names its
extra when LlamaIndex is missing, and so on.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What each distribution alone must be able to do (run in its fresh venv).
SMOKE = {
    "polyvox-core": """
import polyvox.core as m
m.PolyvoxChatModel, m.ErrorKind
""",
    "polyvox-costs": """
from polyvox.costs import compute_cost, default_catalog
assert default_catalog().find("gpt-4o") is not None
""",
    "polyvox-cache": """
from polyvox.cache import InMemoryResponseCache
InMemoryResponseCache()
""",
    "polyvox-language": """
from polyvox.language import detect_language
assert detect_language("dzien dobry, jak sie masz") == "pl"
""",
    "polyvox-openai": """
import importlib.util
from polyvox.openai import ChatOpenAI
ChatOpenAI(model="gpt-4o", api_key="x")
assert importlib.util.find_spec("polyvox.costs") is None  # a provider needs core alone
try:
    import polyvox.openai.llamaindex
except ModuleNotFoundError as e:
    assert "polyvox-openai[llamaindex]" in str(e), e
else:
    raise SystemExit("LlamaIndex is not installed, yet no error named the extra")
""",
    "polyvox-anthropic": """
import importlib.util
from polyvox.anthropic import ChatAnthropic
ChatAnthropic(model="claude-haiku-4-5", api_key="x")
assert importlib.util.find_spec("polyvox.costs") is None  # a provider needs core alone
try:
    import polyvox.anthropic.llamaindex
except ModuleNotFoundError as e:
    assert "polyvox-anthropic[llamaindex]" in str(e), e
else:
    raise SystemExit("LlamaIndex is not installed, yet no error named the extra")
""",
    "polyvox-gigachat": """
import importlib.util
from polyvox.gigachat import GigaChat, GigaChatEmbeddings
GigaChat(model="GigaChat-2-Max", credentials="eDp5")
GigaChatEmbeddings(credentials="eDp5")
assert importlib.util.find_spec("polyvox.costs") is None  # a provider needs core alone
try:
    import polyvox.gigachat.llamaindex
except ModuleNotFoundError as e:
    assert "polyvox-gigachat[llamaindex]" in str(e), e
else:
    raise SystemExit("LlamaIndex is not installed, yet no error named the extra")
""",
    "polyvox-ollama": """
from polyvox.ollama import ChatBielik, ChatOllama
ChatOllama(model="m")
try:
    from polyvox.ollama import detect_language
except ModuleNotFoundError as e:
    assert "polyvox-ollama[polish]" in str(e), e
else:
    raise SystemExit("polyvox-language is not installed, yet no error named the extra")
""",
    "polyvox-google": """
import importlib.util
from polyvox.google import ChatGoogleGenerativeAI, GoogleGenerativeAIEmbeddings
ChatGoogleGenerativeAI(model="gemini-2.5-flash", api_key="x")
GoogleGenerativeAIEmbeddings(api_key="x")
assert importlib.util.find_spec("polyvox.costs") is None  # a provider needs core alone
try:
    import polyvox.google.llamaindex
except ModuleNotFoundError as e:
    assert "polyvox-google[llamaindex]" in str(e), e
else:
    raise SystemExit("LlamaIndex is not installed, yet no error named the extra")
""",
    "polyvox-yandex": """
import importlib.util
from polyvox.yandex import ChatYandexGPT, YandexGPT, YandexGPTEmbeddings
ChatYandexGPT(model="yandexgpt", folder_id="b1g", api_key="x")
YandexGPTEmbeddings(folder_id="b1g", api_key="x")
assert importlib.util.find_spec("polyvox.costs") is None  # a provider needs core alone
try:
    import polyvox.yandex.llamaindex
except ModuleNotFoundError as e:
    assert "polyvox-yandex[llamaindex]" in str(e), e
else:
    raise SystemExit("LlamaIndex is not installed, yet no error named the extra")
""",
    "polyvox-huggingface": """
import importlib.util
from polyvox.huggingface import ChatHuggingFace, HuggingFaceEndpoint, HuggingFaceEndpointEmbeddings
ChatHuggingFace(model="meta-llama/Llama-3.3-70B-Instruct", api_key="hf_x")
HuggingFaceEndpoint(endpoint_url="http://127.0.0.1:9")
HuggingFaceEndpointEmbeddings(model="http://127.0.0.1:9")
assert importlib.util.find_spec("polyvox.costs") is None  # a provider needs core alone
assert importlib.util.find_spec("torch") is None  # no local transformers pipelines
try:
    import polyvox.huggingface.llamaindex
except ModuleNotFoundError as e:
    assert "polyvox-huggingface[llamaindex]" in str(e), e
else:
    raise SystemExit("LlamaIndex is not installed, yet no error named the extra")
""",
    "polyvox-router": """
from polyvox.router import Router
from polyvox.core import PolyvoxChatModel
""",
    "polyvox-rlm": """
from polyvox.rlm import RecursiveLanguageModel, sandbox_report
sandbox_report()
""",
    "polyvox-testing": """
from polyvox.testing import Emulator
""",
    "polyvox-cli": """
import os, subprocess, sys
polyvox = os.path.join(os.path.dirname(sys.executable), "polyvox")
out = subprocess.run([polyvox, "--version"], capture_output=True, text=True, check=True)
assert "0.1.0" in out.stdout, out.stdout
""",
}


def main() -> int:
    """Build, install alone, smoke-test; print one line per distribution."""
    uv = sys.argv[1] if len(sys.argv) > 1 else "uv"
    failed = []
    with tempfile.TemporaryDirectory(prefix="polyvox-installs-") as tmp:
        dist = Path(tmp) / "dist"
        subprocess.run(
            [uv, "build", "--all-packages", "--wheel", "-q", "-o", str(dist)], cwd=ROOT, check=True
        )
        for name, code in SMOKE.items():
            env = Path(tmp) / name
            subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(env)], check=True)
            python = env / "bin" / "python"
            wheel = next(dist.glob(name.replace("-", "_") + "-*.whl"))
            install = subprocess.run(
                [
                    uv,
                    "pip",
                    "install",
                    "-q",
                    "--python",
                    str(python),
                    "--find-links",
                    str(dist),
                    str(wheel),
                ],
                capture_output=True,
                text=True,
            )
            run = (
                install
                if install.returncode
                else subprocess.run([str(python), "-c", code], capture_output=True, text=True)
            )
            ok = install.returncode == 0 and run.returncode == 0
            print(f"{'ok  ' if ok else 'FAIL'} {name}", flush=True)
            if not ok:
                failed.append(name)
                print((run.stderr or run.stdout)[-2000:])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
