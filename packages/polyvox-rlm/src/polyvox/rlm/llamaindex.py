"""``RLMQueryEngine``: an RLM as a LlamaIndex query engine, citing what it actually read.

The engine holds the documents (LlamaIndex or LangChain ``Document`` s, or plain text) and
answers each query with a :class:`~polyvox.rlm.rlm.RecursiveLanguageModel` over them. The
response's ``source_nodes`` are the slices of the context that the RLM's code read (merged
spans, split at document boundaries), each a ``TextNode`` whose metadata holds the slice's
offsets (``start``/``end`` in the joined context, ``doc_start``/``doc_end`` in its document)
and the document's own metadata. Nothing here is imported by ``polyvox.rlm`` itself: only
this module needs ``llama-index-core`` (the ``llamaindex`` extra).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.documents import Document as LCDocument

from polyvox.core.extras import require

require("llama_index.core", "llamaindex", packages=("polyvox-rlm",))

from llama_index.core.base.response.schema import Response  # noqa: E402
from llama_index.core.query_engine import CustomQueryEngine  # noqa: E402
from llama_index.core.schema import BaseNode, NodeWithScore, TextNode  # noqa: E402
from pydantic import Field  # noqa: E402

from polyvox.rlm.inputs import PreparedContext, RLMResult  # noqa: E402

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

    from polyvox.rlm.rlm import RecursiveLanguageModel

__all__ = ["RLMQueryEngine", "source_nodes"]


class RLMQueryEngine(CustomQueryEngine):
    """A LlamaIndex query engine answering with a Recursive Language Model.

    Example:
        .. code-block:: python

            engine = RLMQueryEngine(rlm, documents)
            response = engine.query("Which clauses changed between the drafts?")
            for node in response.source_nodes:
                print(node.node.metadata["start"], node.node.metadata["file_name"])
    """

    rlm: Any
    """The :class:`~polyvox.rlm.rlm.RecursiveLanguageModel` that answers."""
    documents: list[LCDocument] = Field(default_factory=list)
    """The documents, as LangChain documents (LlamaIndex ones are converted, metadata kept)."""
    config: dict[str, Any] | None = None
    """The LangChain config of each run (callbacks, ``workspace_id`` metadata...)."""

    def __init__(
        self,
        rlm: RecursiveLanguageModel,
        documents: str | Sequence[Any],
        *,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> None:
        """Create the engine.

        Args:
            rlm: The RLM.
            documents: Text, or LlamaIndex/LangChain documents, or strings.
            config: The LangChain config of each run.
            **kwargs: ``callback_manager`` (LlamaIndex's).
        """
        super().__init__(
            rlm=rlm,
            documents=_to_langchain(documents),
            config=dict(config) if config is not None else None,
            **kwargs,
        )

    def _input(self, query_str: str) -> dict[str, Any]:
        return {"question": query_str, "context": list(self.documents)}

    def custom_query(self, query_str: str) -> Response:
        """Answer a query.

        Args:
            query_str: The question.

        Returns:
            The answer, with the slices read as source nodes and the run in ``metadata``.
        """
        result: RLMResult = self.rlm.invoke(self._input(query_str), self.config)
        return _response(result)

    async def acustom_query(self, query_str: str) -> Response:
        """Answer a query natively in async code.

        Args:
            query_str: The question.

        Returns:
            As :meth:`custom_query`.
        """
        result: RLMResult = await self.rlm.ainvoke(self._input(query_str), self.config)
        return _response(result)


def source_nodes(result: RLMResult) -> list[NodeWithScore]:
    """The context slices a run read, as LlamaIndex nodes with offsets and document metadata.

    Args:
        result: An RLM run's result.

    Returns:
        One node per read span and document it touches, in context order (score ``None``).
    """
    context = result.context
    if context is None:
        return []
    nodes: list[NodeWithScore] = []
    for start, end in result.read_spans:
        for node in _slices(context, start, end):
            nodes.append(NodeWithScore(node=node, score=None))
    return nodes


def _slices(context: PreparedContext, start: int, end: int) -> list[BaseNode]:
    found: list[BaseNode] = []
    for index, (doc_start, doc_end) in enumerate(context.spans):
        lo, hi = max(start, doc_start), min(end, doc_end)
        if lo >= hi:
            continue
        metadata: dict[str, Any] = {}
        if context.metadata is not None:
            metadata.update(context.metadata[index])
            metadata.update(document_index=index, doc_start=lo - doc_start, doc_end=hi - doc_start)
        metadata.update(start=lo, end=hi)
        found.append(
            TextNode(
                text=context.text[lo:hi],
                metadata=metadata,
                excluded_embed_metadata_keys=list(metadata),
                excluded_llm_metadata_keys=["start", "end", "doc_start", "doc_end"],
            )
        )
    return found


def _response(result: RLMResult) -> Response:
    return Response(
        response=result.answer,
        source_nodes=source_nodes(result),
        metadata={
            "usage": result.usage.as_dict(),
            "trajectory": result.trajectory,
            "read_spans": list(result.read_spans),
        },
    )


def _to_langchain(documents: str | Sequence[Any]) -> list[LCDocument]:
    if isinstance(documents, str):
        return [LCDocument(page_content=documents)]
    converted: list[LCDocument] = []
    for item in documents:
        if isinstance(item, LCDocument):
            converted.append(item)
        elif isinstance(item, str):
            converted.append(LCDocument(page_content=item))
        elif isinstance(item, BaseNode):  # a LlamaIndex Document or node
            metadata = dict(item.metadata)
            metadata.setdefault("doc_id", item.node_id)
            converted.append(LCDocument(page_content=item.get_content(), metadata=metadata))
        else:
            raise TypeError(
                f"RLMQueryEngine takes text or LlamaIndex/LangChain documents, not "
                f"{type(item).__name__}"
            )
    if not converted:
        raise ValueError("RLMQueryEngine needs at least one document")
    return converted
