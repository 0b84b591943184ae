"""The three Gemini clients compared, built the same way against one server.

* ``google-genai SDK`` (the baseline): ``google.genai.Client`` (``client.models`` and
  ``client.aio.models``) called directly;
* ``polyvox``: ``polyvox.google.ChatGoogleGenerativeAI``;
* ``langchain-google-genai``: ``langchain_google_genai.ChatGoogleGenerativeAI``, the
  package polyvox replaces.

Each has its own ``google.genai.Client`` and so its own connection pool (keep-alive).
polyvox has no retries (``max_retries=0``); the SDK does not retry by default, and
langchain-google-genai's retries only act on a failure, which these runs have none of.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "API_KEY",
    "CLIENTS",
    "LANGCHAIN",
    "MODEL",
    "POLYVOX",
    "RAW",
    "langchain_model",
    "polyvox_model",
    "raw_async_client",
    "raw_client",
]

MODEL = "gemini-2.5-flash"
API_KEY = "bench-key"

RAW = "google-genai SDK (baseline)"
POLYVOX = "polyvox"
LANGCHAIN = "langchain-google-genai"
CLIENTS = (RAW, POLYVOX, LANGCHAIN)


def raw_client(base_url: str) -> Any:
    """A ``google.genai.Client`` for the emulator (its sync API: ``.models``)."""
    from google import genai

    return genai.Client(api_key=API_KEY, http_options={"base_url": base_url})


def raw_async_client(base_url: str) -> Any:
    """The SDK's async API (``client.aio``), on httpx2 as polyvox's is."""
    import httpx2
    from google import genai

    options = {
        "base_url": base_url,
        "async_client_args": {"transport": httpx2.AsyncHTTPTransport()},
    }
    return genai.Client(api_key=API_KEY, http_options=options).aio


def polyvox_model(base_url: str) -> Any:
    """polyvox's chat model for the emulator."""
    from polyvox.google import ChatGoogleGenerativeAI

    return ChatGoogleGenerativeAI(model=MODEL, api_key=API_KEY, base_url=base_url, max_retries=0)


def langchain_model(base_url: str) -> Any:
    """langchain-google-genai's chat model for the emulator."""
    from langchain_google_genai import ChatGoogleGenerativeAI

    return ChatGoogleGenerativeAI(model=MODEL, google_api_key=API_KEY, base_url=base_url)
