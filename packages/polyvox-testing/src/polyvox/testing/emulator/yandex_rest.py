"""The Yandex foundation-models REST API (``https://llm.api.cloud.yandex.net``).

The paths of the protos' ``google.api.http`` annotations: ``POST
/foundationModels/v1/completion`` (one ``{"result": ...}`` object, or, with
``completionOptions.stream``, one per line with the text so far), ``completionAsync``
(an operation, polled at ``GET /operations/{id}``, done on its first poll), ``tokenize``,
``tokenizeCompletion`` and ``textEmbedding``. Bodies are the protobuf messages' JSON form:
camelCase, **int64 values as strings**. The same logic answers the gRPC half
(:mod:`~polyvox.testing.emulator.yandex_logic`), so a script or a fault applies to
whichever transport takes the next request.

The credential goes in ``Authorization`` (``Api-Key ...`` or ``Bearer ...``): none, or one
starting with ``invalid``, answers 401. Errors are ``{"error": {"grpcCode", "httpCode",
"message", "httpStatus", "details"}}``; a raw scripted reply (a recorded body) is sent as
it is.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.protocol import (
    Protocol,
    dump_json,
    json_response,
    raw_response,
    receive,
)
from polyvox.testing.emulator.state import EmulatorState, RecordedRequest
from polyvox.testing.emulator.streaming import send_frames
from polyvox.testing.emulator.yandex_logic import (
    InvalidRequest,
    completion_frames,
    completion_texts,
    embedding_response,
    error_body,
    model_of,
    parse_completion,
    tokenize_response,
)

__all__ = ["PROTOCOL"]

PREFIX = "/foundationModels/v1"
_JSON = "application/json"
_OPERATION_TYPE = "type.googleapis.com/yandex.cloud.ai.foundation_models.v1.CompletionResponse"

Handler = Callable[[dict[str, Any], Fault | None], Response]


def _error(status: int, message: str) -> Response:
    return json_response(error_body(status, Fault(status=status, message=message)), status)


def _unauthorized(recorded: RecordedRequest) -> Response | None:
    scheme, _, token = recorded.headers.get("authorization", "").partition(" ")
    if scheme not in ("Api-Key", "Bearer") or not token:
        return _error(401, "The token is invalid")
    if token.startswith("invalid"):
        return _error(401, "Unknown api key 'invalid…'")
    return None


def _malformed(fault: Fault) -> Response:
    body = fault.body if isinstance(fault.body, str) else '{"result":{"alternatives":[{"mess'
    return raw_response(body, _JSON)


def _completion(body: dict[str, Any], fault: Fault | None, reply: Any) -> Response:
    if fault is not None and fault.malformed:
        return _malformed(fault)
    request = parse_completion(body)
    frames = [dump_json({"result": f}) + b"\n" for f in completion_frames(request, reply, fault)]
    if not request.stream and fault is not None and fault.break_after is not None:
        whole = frames[0]
        cut = Fault(break_after=1)
        return send_frames([whole[: len(whole) // 2], whole[len(whole) // 2 :]], cut,
                           content_type=_JSON)  # fmt: skip
    return send_frames(frames, fault, content_type=_JSON, error_frame=_error_line)


def _error_line(fault: Fault) -> bytes:
    return dump_json(error_body(500, fault)) + b"\n"


def _routes(state: EmulatorState) -> list[BaseRoute]:
    operations: dict[str, dict[str, Any]] = {}
    ids = itertools.count(1)

    async def start(request: Request) -> tuple[RecordedRequest, dict[str, Any], Fault | None]:
        recorded = await receive(request, state)
        if (denied := _unauthorized(recorded)) is not None:
            raise _Answer(denied)
        body = recorded.json
        if not isinstance(body, dict):
            raise _Answer(_error(400, "the request body must be a JSON object"))
        fault = state.take_fault(model_of(str(body.get("modelUri", ""))))
        if fault is not None and fault.delay > 0:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.is_error:
            assert fault.status is not None
            error = fault.body if fault.body is not None else error_body(fault.status, fault)
            if isinstance(error, str):
                raise _Answer(raw_response(error, _JSON, fault.status, fault.response_headers()))
            raise _Answer(json_response(error, fault.status, fault.response_headers()))
        return recorded, body, fault

    def endpoint(handler: Callable[..., Response]) -> Callable[[Request], Any]:
        async def handle(request: Request) -> Response:
            try:
                _, body, fault = await start(request)
                return handler(body, fault)
            except _Answer as answer:
                return answer.response
            except InvalidRequest as exc:
                return _error(400, str(exc))

        return handle

    def completion(body: dict[str, Any], fault: Fault | None) -> Response:
        reply = state.take_reply(model_of(str(body.get("modelUri", ""))))
        if reply is not None and reply.raw_response is not None:
            raw = reply.raw_response
            return raw_response(raw.body, raw.content_type, raw.status)
        return _completion(body, fault, reply)

    def completion_async(body: dict[str, Any], fault: Fault | None) -> Response:
        request = parse_completion(body, stream=False)
        reply = state.take_reply(request.model)
        final = completion_frames(request, reply, fault)[-1]
        operation_id = f"d7q{next(ids):017d}"
        operations[operation_id] = final
        return json_response({"id": operation_id, "description": "Async GPT Completion",
                              "done": False})  # fmt: skip

    def tokenize(body: dict[str, Any], fault: Fault | None) -> Response:
        if not str(body.get("modelUri") or "").startswith("gpt://"):
            raise InvalidRequest("modelUri: a model URI like gpt://<folder>/yandexgpt is required")
        return json_response(tokenize_response([str(body.get("text", ""))]))

    def tokenize_completion(body: dict[str, Any], fault: Fault | None) -> Response:
        parsed = parse_completion(body, stream=False)
        return json_response(tokenize_response(completion_texts(parsed)))

    def embedding(body: dict[str, Any], fault: Fault | None) -> Response:
        if fault is not None and fault.malformed:
            return _malformed(fault)
        return json_response(embedding_response(body))

    async def operation(request: Request) -> Response:
        recorded = await receive(request, state)
        if (denied := _unauthorized(recorded)) is not None:
            return denied
        operation_id = str(request.path_params["id"])
        response = operations.get(operation_id)
        if response is None:
            return _error(404, f"Operation {operation_id} not found")
        return json_response({"id": operation_id, "description": "Async GPT Completion",
                              "done": True, "response": {"@type": _OPERATION_TYPE,
                                                         **response}})  # fmt: skip

    methods: dict[str, Callable[..., Response]] = {
        "completion": completion,
        "completionAsync": completion_async,
        "tokenize": tokenize,
        "tokenizeCompletion": tokenize_completion,
        "textEmbedding": embedding,
    }
    routes: list[BaseRoute] = [
        Route(f"{PREFIX}/{name}", endpoint(handler), methods=["POST"])
        for name, handler in methods.items()
    ]
    routes.append(Route("/operations/{id}", operation, methods=["GET"]))
    return routes


class _Answer(Exception):  # noqa: N818  (not an error: the response to send)
    def __init__(self, response: Response) -> None:
        super().__init__("answered early")
        self.response = response


PROTOCOL = Protocol(name="yandex", prefix="/foundationModels", routes=_routes,
                    error_body=error_body)  # fmt: skip
"""The Yandex foundation-models REST protocol."""
