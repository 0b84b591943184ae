"""The Hugging Face clients compared, built the same way against the emulated router.

* ``huggingface_hub SDK`` (the baseline): ``InferenceClient`` / ``AsyncInferenceClient``
  with ``base_url`` at the router, called directly;
* ``polyvox``: ``polyvox.huggingface.ChatHuggingFace``.

langchain-huggingface, the package polyvox replaces, cannot be measured beside them: its
1.2.3 requires ``huggingface-hub<2``, and polyvox is built on ``huggingface-hub`` 2, so the
two are never installed together. polyvox has no retries (``max_retries=0``); the SDK
retries nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CLIENTS",
    "MODEL",
    "POLYVOX",
    "RAW",
    "TOKEN",
    "polyvox_model",
    "raw_async_client",
    "raw_client",
    "router_url",
]

MODEL = "meta-llama/Llama-3.3-70B-Instruct"
TOKEN = "hf_bench"

RAW = "huggingface_hub SDK (baseline)"
POLYVOX = "polyvox"
CLIENTS = (RAW, POLYVOX)


def router_url(emulator_url: str) -> str:
    """The emulated Inference Providers router's OpenAI-style base URL."""
    return f"{emulator_url}/huggingface/router/v1"


def raw_client(base_url: str) -> Any:
    """A ``huggingface_hub.InferenceClient`` for the router."""
    from huggingface_hub import InferenceClient

    return InferenceClient(base_url=base_url, api_key=TOKEN)


def raw_async_client(base_url: str) -> Any:
    """A ``huggingface_hub.AsyncInferenceClient`` for the router."""
    from huggingface_hub import AsyncInferenceClient

    return AsyncInferenceClient(base_url=base_url, api_key=TOKEN)


def polyvox_model(base_url: str) -> Any:
    """polyvox's chat model for the router."""
    from polyvox.huggingface import ChatHuggingFace

    return ChatHuggingFace(model=MODEL, api_key=TOKEN, base_url=base_url, max_retries=0)
