"""``GoogleGenerativeAIEmbeddings``: Gemini embeddings (``gemini-embedding-001``).

Documents and queries are embedded for their purpose: ``embed_documents`` sends the task
type ``RETRIEVAL_DOCUMENT`` and ``embed_query`` ``RETRIEVAL_QUERY`` (as
langchain-google-genai does), unless ``task_type`` says otherwise. Batches of up to 100
texts go in one ``batchEmbedContents`` request; ``output_dimensionality`` shortens the
vectors.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, Self

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, model_validator

from polyvox.core.embeddings import PolyvoxEmbeddings
from polyvox.core.errors import ProviderResponseError
from polyvox.core.retry import acall_with_retries, call_with_retries
from polyvox.google.chat_models import GoogleModelMixin, _errors

__all__ = ["GoogleGenerativeAIEmbeddings"]

_DOCUMENT = "RETRIEVAL_DOCUMENT"
_QUERY = "RETRIEVAL_QUERY"


class GoogleGenerativeAIEmbeddings(GoogleModelMixin, PolyvoxEmbeddings):
    """Embeddings from a Gemini embedding model, on the Developer API or Vertex AI.

    A drop-in for ``langchain_google_genai.GoogleGenerativeAIEmbeddings``.

    Example:
        .. code-block:: python

            from polyvox.google import GoogleGenerativeAIEmbeddings

            embeddings = GoogleGenerativeAIEmbeddings(model="gemini-embedding-001")
            vectors = embeddings.embed_documents(["a", "b"])
    """

    provider: ClassVar[str] = "google"
    api_key_env: ClassVar[str | None] = "GOOGLE_API_KEY"
    base_url_env: ClassVar[str | None] = "GOOGLE_GEMINI_BASE_URL"
    requires_api_key: ClassVar[bool] = False  # Vertex AI may use Google credentials instead

    model: str = "gemini-embedding-001"
    """The embedding model (``models/`` in front is accepted)."""

    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("api_key", "google_api_key")
    )
    """The API key; read from ``GOOGLE_API_KEY``, then ``GEMINI_API_KEY``. Never shown."""

    task_type: str | None = None
    """The task type for both documents and queries (``SEMANTIC_SIMILARITY``,
    ``CLASSIFICATION``...); ``None`` uses ``RETRIEVAL_DOCUMENT`` and ``RETRIEVAL_QUERY``."""

    output_dimensionality: int | None = Field(default=None, gt=0)
    """Shorten vectors to this many dimensions (``gemini-embedding-001``: up to 3072)."""

    chunk_size: int = Field(default=100, gt=0, le=100)
    """Texts sent in one ``batchEmbedContents`` request (the API takes at most 100)."""

    vertexai: bool = False
    """Call Vertex AI instead of the Developer API (also ``GOOGLE_GENAI_USE_VERTEXAI``)."""

    project: str | None = None
    """The Google Cloud project (Vertex AI)."""

    location: str | None = None
    """The Google Cloud region (Vertex AI)."""

    credentials: Any = Field(default=None, exclude=True)
    """Google credentials (``google.auth.credentials.Credentials``) for Vertex AI; ``None``
    uses the environment's (Application Default Credentials). Never serialised."""

    api_version: str | None = None
    """The API version path; the SDK's default when ``None``."""

    additional_headers: dict[str, str] | None = None
    """Headers sent with every request."""

    _client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        self._check_credentials()
        return self

    def _config(self, task: str | None, dimensions: int | None) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if task := self.task_type if task is None else task:
            config["task_type"] = task
        if (dims := dimensions or self.output_dimensionality) is not None:
            config["output_dimensionality"] = dims
        return config

    def _vectors(self, response: Any, expected: int) -> list[list[float]]:
        embeddings = getattr(response, "embeddings", None) or []
        vectors = [list(map(float, e.values or [])) for e in embeddings]
        if len(vectors) != expected or any(not v for v in vectors):
            msg = f"{self.provider} returned {len(vectors)} embeddings for {expected} texts"
            raise ProviderResponseError(msg, provider=self.provider)
        return vectors

    def _embed_task(
        self, texts: list[str], task: str | None, dimensions: int | None
    ) -> list[list[float]]:
        try:
            response = self.client.models.embed_content(
                model=self.model,
                contents=texts,  # type: ignore[arg-type]  # a list of str is a list of contents
                config=self._config(task, dimensions),  # type: ignore[arg-type]
            )
        except _errors() as exc:
            raise self._fail(exc) from exc
        return self._vectors(response, len(texts))

    async def _aembed_task(
        self, texts: list[str], task: str | None, dimensions: int | None
    ) -> list[list[float]]:
        try:
            response = await self.async_client.models.embed_content(
                model=self.model, contents=texts, config=self._config(task, dimensions)
            )
        except _errors() as exc:
            raise self._fail(exc) from exc
        return self._vectors(response, len(texts))

    def _embed(self, texts: list[str]) -> list[list[float]]:
        return self._embed_task(texts, None, None)

    async def _aembed(self, texts: list[str]) -> list[list[float]]:
        return await self._aembed_task(texts, None, None)

    def embed_documents(
        self,
        texts: list[str],
        *,
        task_type: str | None = None,
        output_dimensionality: int | None = None,
    ) -> list[list[float]]:
        """Embed texts for storage (task type ``RETRIEVAL_DOCUMENT`` by default).

        Args:
            texts: The texts.
            task_type: This call's task type.
            output_dimensionality: This call's vector size.

        Returns:
            One vector per text, in order.
        """
        task = task_type or self.task_type or _DOCUMENT
        out: list[list[float]] = []
        for batch in self._batches(texts):
            call = functools.partial(self._embed_task, batch, task, output_dimensionality)
            out += call_with_retries(call, self.max_retries)
        return out

    def embed_query(
        self,
        text: str,
        *,
        task_type: str | None = None,
        output_dimensionality: int | None = None,
    ) -> list[float]:
        """Embed a search query (task type ``RETRIEVAL_QUERY`` by default).

        Args:
            text: The query.
            task_type: This call's task type.
            output_dimensionality: This call's vector size.

        Returns:
            Its vector.
        """
        task = task_type or self.task_type or _QUERY
        call = functools.partial(self._embed_task, [text], task, output_dimensionality)
        return call_with_retries(call, self.max_retries)[0]

    async def aembed_documents(
        self,
        texts: list[str],
        *,
        task_type: str | None = None,
        output_dimensionality: int | None = None,
    ) -> list[list[float]]:
        """Embed texts for storage, asynchronously.

        Args:
            texts: The texts.
            task_type: This call's task type.
            output_dimensionality: This call's vector size.

        Returns:
            One vector per text, in order.
        """
        task = task_type or self.task_type or _DOCUMENT
        out: list[list[float]] = []
        for batch in self._batches(texts):
            call = functools.partial(self._aembed_task, batch, task, output_dimensionality)
            out += await acall_with_retries(call, self.max_retries)
        return out

    async def aembed_query(
        self,
        text: str,
        *,
        task_type: str | None = None,
        output_dimensionality: int | None = None,
    ) -> list[float]:
        """Embed a search query, asynchronously.

        Args:
            text: The query.
            task_type: This call's task type.
            output_dimensionality: This call's vector size.

        Returns:
            Its vector.
        """
        task = task_type or self.task_type or _QUERY
        call = functools.partial(self._aembed_task, [text], task, output_dimensionality)
        return (await acall_with_retries(call, self.max_retries))[0]
