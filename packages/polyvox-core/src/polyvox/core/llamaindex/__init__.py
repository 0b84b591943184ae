"""LlamaIndex bridges: any LangChain chat model or embeddings as their LlamaIndex kind.

Needs the `llamaindex` extra (`pip install "polyvox-core[llamaindex]"`).
"""

from polyvox.core.llamaindex.embeddings import LangChainEmbedding, to_llamaindex_embedding
from polyvox.core.llamaindex.llm import LangChainLLM, to_llamaindex

__all__ = ["LangChainEmbedding", "LangChainLLM", "to_llamaindex", "to_llamaindex_embedding"]
