"""Embeddings (float and base64, dimensions, token arrays, similarity), models and 404s."""

from __future__ import annotations

import base64
import math
import struct

import httpx
import openai
import pytest

from polyvox.testing import Emulator


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_float_embeddings_shape(http: httpx.Client) -> None:
    body = {
        "model": "text-embedding-3-small",
        "input": ["hello world", "bye"],
        "encoding_format": "float",
    }
    response = http.post("/v1/embeddings", json=body).json()
    assert response["object"] == "list"
    assert response["model"] == "text-embedding-3-small"
    assert [d["index"] for d in response["data"]] == [0, 1]
    assert all(d["object"] == "embedding" for d in response["data"])
    vector = response["data"][0]["embedding"]
    assert len(vector) == 1536
    assert math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0, rel_tol=1e-6)
    assert response["usage"]["prompt_tokens"] == response["usage"]["total_tokens"] > 0


def test_base64_matches_float(http: httpx.Client) -> None:
    request = {"model": "text-embedding-3-small", "input": "round trip", "dimensions": 64}
    floats = http.post("/v1/embeddings", json={**request, "encoding_format": "float"}).json()
    packed = http.post("/v1/embeddings", json={**request, "encoding_format": "base64"}).json()
    raw = base64.b64decode(packed["data"][0]["embedding"])
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    expected = floats["data"][0]["embedding"]
    assert len(decoded) == len(expected) == 64
    assert all(
        math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7)
        for a, b in zip(decoded, expected, strict=True)
    )


def test_sdk_decodes_base64_by_default(openai_client: openai.OpenAI) -> None:
    result = openai_client.embeddings.create(model="text-embedding-3-large", input="hello")
    assert len(result.data[0].embedding) == 3072
    small = openai_client.embeddings.create(
        model="text-embedding-3-small", input="hello", dimensions=8
    )
    assert len(small.data[0].embedding) == 8


def test_vectors_are_deterministic_and_meaningful(openai_client: openai.OpenAI) -> None:
    texts = [
        "The cat sat on the mat.",
        "A cat is sitting on a mat.",
        "Quarterly revenue grew in the finance department.",
        "The cat sat on the mat.",
    ]
    vectors = [d.embedding for d in openai_client.embeddings.create(model="e", input=texts).data]
    assert vectors[0] == vectors[3]
    assert cosine(vectors[0], vectors[1]) > 0.5
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.3


def test_retrieval_ranks_the_matching_document(openai_client: openai.OpenAI) -> None:
    documents = [
        "Paris is the capital of France and sits on the Seine.",
        "Photosynthesis turns sunlight into chemical energy in plants.",
        "The Python programming language was created by Guido van Rossum.",
    ]
    queries = {
        "What is the capital of France?": 0,
        "How do plants use sunlight?": 1,
        "Who created Python?": 2,
    }
    doc_vectors = [
        d.embedding for d in openai_client.embeddings.create(model="e", input=documents).data
    ]
    for query, expected in queries.items():
        q = openai_client.embeddings.create(model="e", input=query).data[0].embedding
        scores = [cosine(q, d) for d in doc_vectors]
        assert scores.index(max(scores)) == expected, query


def test_token_array_inputs(http: httpx.Client) -> None:
    single = http.post(
        "/v1/embeddings", json={"model": "e", "input": [1, 2, 3], "dimensions": 4}
    ).json()
    many = http.post(
        "/v1/embeddings", json={"model": "e", "input": [[1, 2, 3], [4]], "dimensions": 4}
    ).json()
    assert len(single["data"]) == 1
    assert len(many["data"]) == 2
    assert single["data"][0]["embedding"] == many["data"][0]["embedding"]
    assert many["usage"]["prompt_tokens"] == 4


@pytest.mark.parametrize(
    "body",
    [
        {"model": "e"},
        {"model": "e", "input": []},
        {"model": "e", "input": "x", "encoding_format": "int8"},
        {"model": "e", "input": [{"a": 1}]},
    ],
)
def test_bad_embedding_requests_are_400(http: httpx.Client, body: dict[str, object]) -> None:
    response = http.post("/v1/embeddings", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_models(openai_client: openai.OpenAI) -> None:
    listed = [m.id for m in openai_client.models.list()]
    assert "gpt-4o" in listed
    assert "text-embedding-3-small" in listed
    model = openai_client.models.retrieve("anything/custom-model:free")
    assert model.id == "anything/custom-model:free"
    assert model.object == "model"


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/unknown"), ("GET", "/v1/chat/completions"), ("DELETE", "/nope")],
)
def test_unknown_routes_are_404_with_the_envelope(
    emulator: Emulator, http: httpx.Client, method: str, path: str
) -> None:
    response = http.request(method, path)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["message"] == f"Invalid URL ({method} {path})"
    assert error["type"] == "invalid_request_error"
    assert error["param"] is None
    assert error["code"] is None
    assert emulator.requests[-1].path == path


def test_sdk_sees_not_found(openai_client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        openai_client.completions.create(model="m", prompt="legacy")  # /v1/completions
