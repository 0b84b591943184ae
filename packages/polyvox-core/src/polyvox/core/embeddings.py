"""The base every polyvox embeddings class subclasses: keys, URLs, queries from documents.

A provider sets its class variables and implements ``_embed`` and ``_aembed`` (one batch
of texts → vectors); batching by ``chunk_size``, empty input, ``embed_query`` and the
async forms live here once.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, Self

from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from polyvox.core.credentials import resolve_api_key, resolve_base_url
from polyvox.core.errors import ProviderResponseError
from polyvox.core.lifecycle import ClientsMixin
from polyvox.core.retry import acall_with_retries, call_with_retries

__all__ = ["PolyvoxEmbeddings"]


class PolyvoxEmbeddings(ClientsMixin, BaseModel, Embeddings):
    """Base class of every polyvox embeddings class.

    Its SDK clients are shared as a chat model's are; ``close()``, ``aclose()``, ``with``
    and ``async with`` give them back, and copies and pickles leave them out
    (:mod:`polyvox.core.lifecycle`).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())

    provider: ClassVar[str] = ""
    """The provider id, named in errors."""

    api_key_env: ClassVar[str | None] = None
    """Environment variable the key is read from when ``api_key`` is not given."""

    base_url_env: ClassVar[str | None] = None
    """Environment variable the base URL is read from when ``base_url`` is not given."""

    default_base_url: ClassVar[str | None] = None
    """Base URL used when neither ``base_url`` nor :attr:`base_url_env` gives one."""

    requires_api_key: ClassVar[bool] = True
    """Whether a missing key is an error at construction."""

    is_local: ClassVar[bool] = False
    """Whether the model runs on the user's own machine or network."""

    sdk_retries: ClassVar[bool] = False
    """Whether the provider's SDK retries by itself (else polyvox retries with tenacity)."""

    model: str
    """The embedding model."""

    api_key: SecretStr | None = None
    """The API key; read from :attr:`api_key_env` when not given. Never shown."""

    base_url: str | None = None
    """The server's base URL; read from :attr:`base_url_env` or the default when not given."""

    timeout: float | None = None
    """Seconds to wait for each request."""

    max_retries: int = 2
    """Retries on retryable failures."""

    chunk_size: int = Field(default=1000, gt=0)
    """Texts sent in one request."""

    _held: Any = PrivateAttr(default=None)  # this model's shares of the SDK clients

    @model_validator(mode="after")
    def _resolve_key_and_url(self) -> Self:
        cls = type(self)
        self.api_key = resolve_api_key(
            self.api_key, env=cls.api_key_env, required=cls.requires_api_key, owner=cls.__name__
        )
        self.base_url = resolve_base_url(
            self.base_url, env=cls.base_url_env, default=cls.default_base_url
        )
        return self

    def _embed(self, texts: list[str]) -> list[list[float]]:
        """Embed one batch (at most ``chunk_size`` texts); providers implement it."""
        raise NotImplementedError

    async def _aembed(self, texts: list[str]) -> list[list[float]]:
        """Embed one batch asynchronously; providers implement it natively."""
        raise NotImplementedError

    def _checked(self, vectors: list[list[float]], expected: int) -> list[list[float]]:
        if len(vectors) != expected:
            msg = f"{self.provider} returned {len(vectors)} embeddings for {expected} texts"
            raise ProviderResponseError(msg, provider=self.provider)
        return vectors

    def _batches(self, texts: list[str]) -> list[list[str]]:
        return [texts[i : i + self.chunk_size] for i in range(0, len(texts), self.chunk_size)]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts for storage.

        Args:
            texts: The texts.

        Returns:
            One vector per text, in order.
        """
        out: list[list[float]] = []
        for batch in self._batches(texts):
            retries = 0 if type(self).sdk_retries else self.max_retries
            vectors = call_with_retries(functools.partial(self._embed, batch), retries)
            out += self._checked(vectors, len(batch))
        return out

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query.

        Args:
            text: The query.

        Returns:
            Its vector.
        """
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts for storage, asynchronously.

        Args:
            texts: The texts.

        Returns:
            One vector per text, in order.
        """
        out: list[list[float]] = []
        for batch in self._batches(texts):
            retries = 0 if type(self).sdk_retries else self.max_retries
            vectors = await acall_with_retries(functools.partial(self._aembed, batch), retries)
            out += self._checked(vectors, len(batch))
        return out

    async def aembed_query(self, text: str) -> list[float]:
        """Embed a search query, asynchronously.

        Args:
            text: The query.

        Returns:
            Its vector.
        """
        return (await self.aembed_documents([text]))[0]
