"""``YandexGPTEmbeddings``: AI Studio's text embeddings, one model per side of a search.

Yandex trains two models for retrieval: ``text-search-doc`` for the texts stored and
``text-search-query`` for the queries that search them. ``embed_documents`` uses the first,
``embed_query`` the second (``emb://<folder>/<model>/latest``). The API embeds one text
per call (``EmbeddingsService.TextEmbedding``): the async methods send a batch's calls
concurrently, the sync ones in turn.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar, Self

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, model_validator

from polyvox.core.embeddings import PolyvoxEmbeddings
from polyvox.yandex.chat_models import YandexModelMixin, _rpc_error
from polyvox.yandex.uris import model_uri

__all__ = ["YandexGPTEmbeddings"]

_DEFAULT_TIMEOUT = 60.0


class YandexGPTEmbeddings(YandexModelMixin, PolyvoxEmbeddings):
    """Embeddings from Yandex AI Studio, documents and queries each on their own model.

    A drop-in for ``langchain_community.embeddings.YandexGPTEmbeddings`` (``model_name``
    for queries, ``doc_model_name`` for documents, or the whole ``model_uri`` /
    ``doc_model_uri``).

    Example:
        .. code-block:: python

            from polyvox.yandex import YandexGPTEmbeddings

            embeddings = YandexGPTEmbeddings(folder_id="b1g...")  # YC_API_KEY
            vectors = embeddings.embed_documents(["Москва — столица России"])
            query = embeddings.embed_query("столица России")
    """

    provider: ClassVar[str] = "yandex"
    api_key_env: ClassVar[str | None] = "YC_API_KEY"
    requires_api_key: ClassVar[bool] = False
    sdk_retries: ClassVar[bool] = True  # the SDK retries UNAVAILABLE and RESOURCE_EXHAUSTED

    model: str = Field(
        default="text-search-query", validation_alias=AliasChoices("model", "model_name")
    )
    """The query model (short name or ``emb://`` URI)."""

    doc_model_name: str = "text-search-doc"
    """The document model (short name or ``emb://`` URI)."""

    model_uri: str | None = None
    """The query model's whole URI; wins over ``model``."""

    doc_model_uri: str | None = None
    """The document model's whole URI; wins over ``doc_model_name``."""

    model_version: str = "latest"
    """The branch of both models."""

    folder_id: str | None = None
    """The Yandex Cloud folder billed; read from ``YC_FOLDER_ID``."""

    iam_token: SecretStr | None = None
    """An IAM token; read from ``YC_IAM_TOKEN``. Never shown."""

    oauth_token: SecretStr | None = None
    """A Yandex OAuth token, exchanged for IAM tokens; ``YC_OAUTH_TOKEN``. Never shown."""

    service_account_key: SecretStr | None = None
    """A service account's authorized key (JSON or path); ``YC_SERVICE_ACCOUNT_KEY_FILE``."""

    verify: bool | str | None = None
    """TLS: ``True``, ``False`` or a CA bundle; ``None`` is plaintext for loopback hosts."""

    dimensions: int | None = None
    """The vectors' size where the model can shorten them (``dim``); its own by default."""

    _client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        self._read_environment()
        return self

    @property
    def query_uri(self) -> str:
        """The URI queries are embedded with."""
        return self.model_uri or model_uri(
            self.model, self.folder_id, scheme="emb", branch=self.model_version
        )

    @property
    def doc_uri(self) -> str:
        """The URI documents are embedded with."""
        return self.doc_model_uri or model_uri(
            self.doc_model_name, self.folder_id, scheme="emb", branch=self.model_version
        )

    def _model(self, studio: Any, uri: str) -> Any:
        model = studio.models.text_embeddings(uri)
        return model.configure(dimensions=self.dimensions) if self.dimensions else model

    def _timeout(self) -> float:
        return self.timeout if self.timeout is not None else _DEFAULT_TIMEOUT

    def _run(self, uri: str, texts: list[str]) -> list[list[float]]:
        model = self._model(self.studio, uri)
        try:
            return [list(model.run(text, timeout=self._timeout())) for text in texts]
        except _rpc_error() as exc:
            raise self._fail(exc) from exc

    async def _arun(self, uri: str, texts: list[str]) -> list[list[float]]:
        model = self._model(self.async_studio, uri)
        try:
            results = await asyncio.gather(*(model.run(t, timeout=self._timeout()) for t in texts))
        except _rpc_error() as exc:
            raise self._fail(exc) from exc
        return [list(r) for r in results]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts for storage, with the document model.

        Args:
            texts: The texts.

        Returns:
            One vector per text, in order.
        """
        return self._checked(self._run(self.doc_uri, list(texts)), len(texts))

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query, with the query model.

        Args:
            text: The query.

        Returns:
            Its vector.
        """
        return self._checked(self._run(self.query_uri, [text]), 1)[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts for storage, asynchronously (the calls of a batch concurrently).

        Args:
            texts: The texts.

        Returns:
            One vector per text, in order.
        """
        out: list[list[float]] = []
        for batch in self._batches(list(texts)):
            out += self._checked(await self._arun(self.doc_uri, batch), len(batch))
        return out

    async def aembed_query(self, text: str) -> list[float]:
        """Embed a search query asynchronously, with the query model.

        Args:
            text: The query.

        Returns:
            Its vector.
        """
        return self._checked(await self._arun(self.query_uri, [text]), 1)[0]
