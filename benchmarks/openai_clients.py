"""The three OpenAI clients compared, built the same way against one server.

* ``openai SDK`` (the baseline): ``openai.OpenAI`` / ``openai.AsyncOpenAI`` called directly;
* ``polyvox``: ``polyvox.openai.ChatOpenAI``;
* ``langchain-openai``: ``langchain_openai.ChatOpenAI``, the package polyvox replaces.

All three: no retries, the same model name, token usage requested on streams, and their
own HTTP connection pool (keep-alive), so none shares warm connections with another.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CLIENTS",
    "KEY",
    "LANGCHAIN",
    "MODEL",
    "POLYVOX",
    "RAW",
    "langchain_model",
    "polyvox_model",
    "raw_async_client",
    "raw_client",
]

MODEL = "gpt-4o-mini"
KEY = "sk-benchmark"

RAW = "openai SDK (baseline)"
POLYVOX = "polyvox"
LANGCHAIN = "langchain-openai"
CLIENTS = (RAW, POLYVOX, LANGCHAIN)


def raw_client(base_url: str) -> Any:
    import openai

    return openai.OpenAI(api_key=KEY, base_url=base_url, max_retries=0)


def raw_async_client(base_url: str) -> Any:
    import openai

    return openai.AsyncOpenAI(api_key=KEY, base_url=base_url, max_retries=0)


def polyvox_model(base_url: str) -> Any:
    from polyvox.openai import ChatOpenAI

    return ChatOpenAI(model=MODEL, api_key=KEY, base_url=base_url, max_retries=0)


def langchain_model(base_url: str) -> Any:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=MODEL, api_key=KEY, base_url=base_url, max_retries=0, stream_usage=True)
