"""RLMQueryEngine: source nodes are the context slices the RLM's code actually read."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from langchain_core.documents import Document
from llama_index.core import Document as LIDocument
from llama_index.core.base.response.schema import Response

from polyvox.rlm.llamaindex import RLMQueryEngine
from polyvox.rlm.rlm import RecursiveLanguageModel
from polyvox.testing import Emulator
from tests.rlm.conftest import ROOT, repl

Make = Callable[..., RecursiveLanguageModel]

DOCS = [
    Document(page_content="Contract A. Term: 12 months. Fee: 100 EUR.", metadata={"file": "a.txt"}),
    Document(page_content="Contract B. Term: 24 months. Fee: 300 EUR.", metadata={"file": "b.txt"}),
    Document(page_content="Unrelated memo about parking.", metadata={"file": "c.txt"}),
]


def test_source_nodes_are_the_slices_read(emulator: Emulator, make_rlm: Make) -> None:
    emulator.script(
        repl(
            "d = documents[1]\npiece = context[d['start'] + 12 : d['start'] + 27]\n"
            "print(piece)\nFINAL(piece.split(': ')[1])"
        ),
        model=ROOT,
    )
    engine = RLMQueryEngine(make_rlm(), DOCS)
    response = engine.query("How long is contract B?")
    assert isinstance(response, Response)
    assert response.response == "24 months"
    [node] = response.source_nodes
    assert node.node.get_content() == "Term: 24 months"
    meta = node.node.metadata
    assert meta["file"] == "b.txt"
    assert (meta["document_index"], meta["doc_start"], meta["doc_end"]) == (1, 12, 27)
    text = response.metadata["trajectory"].steps[0].results[0]["code"]  # type: ignore[index]
    assert "documents[1]" in text
    assert meta["end"] - meta["start"] == 15
    assert response.metadata["usage"]["total"]["calls"] == 1  # type: ignore[index]


async def test_a_read_across_documents_is_split(emulator: Emulator, make_rlm: Make) -> None:
    emulator.script(
        repl(
            "a, b = documents[0], documents[1]\n"
            "span = context[a['end'] - 8 : b['start'] + 10]\nFINAL(len(span))"
        ),
        model=ROOT,
    )
    engine = RLMQueryEngine(
        make_rlm(), [LIDocument(text=d.page_content, metadata=d.metadata) for d in DOCS]
    )
    response = await engine.aquery("Fees?")
    nodes = [n.node for n in response.source_nodes]
    assert [n.metadata["file"] for n in nodes] == ["a.txt", "b.txt"]
    assert nodes[0].get_content() == "100 EUR."
    assert nodes[1].get_content() == "Contract B"
    assert nodes[0].metadata["doc_end"] == len(DOCS[0].page_content)
    assert nodes[1].metadata["doc_start"] == 0
    assert all("doc_id" in n.metadata for n in nodes)  # LlamaIndex ids are kept


def test_plain_text_and_no_reads(emulator: Emulator, make_rlm: Make) -> None:
    emulator.script(repl("FINAL('nothing read')"), model=ROOT)
    response = RLMQueryEngine(make_rlm(), "just some text").query("q")
    assert response.response == "nothing read"
    assert response.source_nodes == []


def test_rlm_imports_without_llama_index() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'llama_index':\n"
        "            raise ImportError('blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import polyvox.rlm.rlm, polyvox.rlm.engine, polyvox.rlm.routing\n"
        "assert not any(m.startswith('llama_index') for m in sys.modules)\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "ok", done.stderr
