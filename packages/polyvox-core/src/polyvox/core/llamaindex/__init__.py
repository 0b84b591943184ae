"""LlamaIndex bridges: any LangChain chat model or embeddings as their LlamaIndex kind.

Needs the `llamaindex` extra (`pip install "polyvox-core[llamaindex]"`).
"""

from polyvox.core.extras import require

require(
    "llama_index.core",
    "llamaindex",
    packages=("polyvox-openai", "polyvox-ollama", "polyvox-core"),
)

from polyvox.core.llamaindex.embeddings import LangChainEmbedding, to_llamaindex_embedding  # noqa: E402
from polyvox.core.llamaindex.llm import LangChainLLM, to_llamaindex  # noqa: E402

__all__ = ["LangChainEmbedding", "LangChainLLM", "to_llamaindex", "to_llamaindex_embedding"]
