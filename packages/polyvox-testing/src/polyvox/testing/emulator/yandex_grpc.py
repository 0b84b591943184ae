"""The Yandex foundation-models gRPC services, on a real ``grpc.server`` on loopback.

Served with the official protos (the ``yandexcloud`` package's generated
``*_pb2_grpc`` modules, which ``yandex-ai-studio-sdk`` itself calls), so the SDK talks to
it unmodified (``AIStudio(endpoint="127.0.0.1:PORT", verify=False)``): endpoint discovery
(``ApiEndpointService.List`` names this server for every service), ``TextGenerationService
.Completion`` (server-streaming), ``TextGenerationAsyncService.Completion`` with
``OperationService.Get``, ``TokenizerService``, ``EmbeddingsService.TextEmbedding`` and
``IamTokenService.Create`` (an OAuth token or a service account's JWT for an IAM token).

The credential goes in the ``authorization`` metadata (``Api-Key ...`` or ``Bearer ...``):
none, or one starting with ``invalid``, answers ``UNAUTHENTICATED``. Faults become gRPC
statuses (429 → ``RESOURCE_EXHAUSTED``, 503 → ``UNAVAILABLE``...); a stream cut after N
messages ends ``UNAVAILABLE`` ("Connection reset by peer"), an error event ``INTERNAL``. A
raw scripted reply (a recorded NDJSON body of ``CompletionResponse`` JSON messages) is
replayed message by message. Needs the ``yandex`` extra of polyvox-testing.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import json_format

from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.state import EmulatorState, RecordedRequest
from polyvox.testing.emulator.yandex_logic import (
    InvalidRequest,
    completion_frames,
    completion_texts,
    embedding_response,
    grpc_code,
    model_of,
    parse_completion,
    tokenize_response,
)

__all__ = ["YandexGrpcServer"]

_SERVICES = ("ai-foundation-models", "operation", "iam", "endpoint")


def _pb() -> dict[str, Any]:
    from yandex.cloud.ai.foundation_models.v1.embedding import embedding_service_pb2 as emb
    from yandex.cloud.ai.foundation_models.v1.embedding import (
        embedding_service_pb2_grpc as emb_grpc,
    )
    from yandex.cloud.ai.foundation_models.v1.text_generation import (
        text_generation_service_pb2 as gen,
    )
    from yandex.cloud.ai.foundation_models.v1.text_generation import (
        text_generation_service_pb2_grpc as gen_grpc,
    )
    from yandex.cloud.endpoint import api_endpoint_service_pb2 as ep
    from yandex.cloud.endpoint import api_endpoint_service_pb2_grpc as ep_grpc
    from yandex.cloud.iam.v1 import iam_token_service_pb2 as iam
    from yandex.cloud.iam.v1 import iam_token_service_pb2_grpc as iam_grpc
    from yandex.cloud.operation import operation_pb2 as op
    from yandex.cloud.operation import operation_service_pb2_grpc as op_grpc

    return {
        "emb": emb, "emb_grpc": emb_grpc, "gen": gen, "gen_grpc": gen_grpc, "ep": ep,
        "ep_grpc": ep_grpc, "iam": iam, "iam_grpc": iam_grpc, "op": op, "op_grpc": op_grpc,
    }  # fmt: skip


class _Abort(Exception):  # noqa: N818  (not an error: a status to answer)
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _status(status: int) -> grpc.StatusCode:
    return getattr(grpc.StatusCode, grpc_code(status)[0])


class YandexGrpcServer:
    """The gRPC half of the Yandex protocol, sharing an emulator's scripts and faults."""

    def __init__(self, state: EmulatorState, host: str = "127.0.0.1", port: int = 0) -> None:
        """Prepare the server (nothing listens until :meth:`start`).

        Args:
            state: The emulator's state (scripts, faults, request log).
            host: The interface to bind.
            port: The port; 0 picks a free one.
        """
        self.state = state
        self._host = host
        self._port = port
        self._server: grpc.Server | None = None
        self._operations: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        """``host:port`` clients of this machine reach the server at (the SDK's ``endpoint``).

        A wildcard bind (``0.0.0.0``, ``::``) is reached at loopback.
        """
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(self._host, self._host)
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"{host}:{self._port}"

    def start(self) -> YandexGrpcServer:
        """Start serving (worker threads); does nothing when already running.

        Returns:
            The server itself.
        """
        with self._lock:
            if self._server is not None:
                return self
            pb = _pb()
            server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
            server.add_generic_rpc_handlers((_completion_handler(_Generation(self), pb),))
            pb["gen_grpc"].add_TextGenerationAsyncServiceServicer_to_server(_Deferred(self), server)
            pb["gen_grpc"].add_TokenizerServiceServicer_to_server(_Tokenizer(self), server)
            pb["emb_grpc"].add_EmbeddingsServiceServicer_to_server(_Embeddings(self), server)
            pb["op_grpc"].add_OperationServiceServicer_to_server(_Operations(self), server)
            pb["ep_grpc"].add_ApiEndpointServiceServicer_to_server(_Endpoints(self), server)
            pb["iam_grpc"].add_IamTokenServiceServicer_to_server(_Iam(self), server)
            bind = f"[{self._host}]" if ":" in self._host else self._host
            self._port = server.add_insecure_port(f"{bind}:{self._port}")
            server.start()
            self._server = server
            return self

    def stop(self) -> None:
        """Stop serving; safe to call twice."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop(grace=0.5).wait(2)

    # ---- shared steps ------------------------------------------------------------------

    def receive(self, method: str, request: Any, context: grpc.ServicerContext) -> dict[str, Any]:
        """Record a call and return its request as JSON."""
        body: dict[str, Any] = json_format.MessageToDict(request)
        headers = {k.lower(): str(v) for k, v in context.invocation_metadata()}
        self.state.record(
            RecordedRequest(method="POST", path=f"/{method}", headers=headers, json=body)
        )
        return body

    def authorize(self, context: grpc.ServicerContext) -> None:
        """Refuse a call without a credential, or with one starting with ``invalid``."""
        auth = dict(context.invocation_metadata()).get("authorization", "")
        scheme, _, token = str(auth).partition(" ")
        if scheme not in ("Api-Key", "Bearer") or not token:
            raise _Abort(grpc.StatusCode.UNAUTHENTICATED, "The token is invalid")
        if token.startswith("invalid"):
            raise _Abort(grpc.StatusCode.UNAUTHENTICATED, "Unknown api key 'invalid…'")

    def fault(self, model: str | None) -> Fault | None:
        """Take the pending fault, wait its delay and raise its status when it has one."""
        fault = self.state.take_fault(model)
        if fault is None:
            return None
        if fault.delay > 0:
            time.sleep(fault.delay)
        if fault.is_error:
            assert fault.status is not None
            raise _Abort(_status(fault.status), fault.message or f"HTTP {fault.status}")
        return fault

    def completion(
        self, body: dict[str, Any], stream: bool | None
    ) -> tuple[list[Any], Fault | None]:
        """The ``CompletionResponse`` messages for a request, and the fault to apply."""
        pb = _pb()
        model = model_of(str(body.get("modelUri", "")))
        fault = self.fault(model)
        reply = self.state.take_reply(model)
        if reply is not None and reply.raw_response is not None:
            lines = [ln for ln in reply.raw_response.body.splitlines() if ln.strip()]
            return [json_format.Parse(ln, pb["gen"].CompletionResponse()) for ln in lines], fault
        try:
            request = parse_completion(body, stream=stream)
        except InvalidRequest as exc:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from exc
        frames = completion_frames(request, reply, fault)
        return [json_format.ParseDict(f, pb["gen"].CompletionResponse()) for f in frames], fault

    def operation(self, response: Any) -> Any:
        """A finished-on-first-poll operation holding ``response``."""
        op = _pb()["op"].Operation(
            id=f"d7q{next(self._ids):017d}", description="Async GPT Completion", done=False
        )
        self._operations[op.id] = {"response": response}
        return op


MALFORMED_MESSAGE = b"\xff\xffnot a CompletionResponse"
"""Bytes no protobuf parser reads (field 0 is invalid): a malformed 200's message."""


def _raw_or_message(message: Any) -> bytes:
    """Serialise a response message, or send bytes as they are (a malformed answer)."""
    return message if isinstance(message, bytes) else bytes(message.SerializeToString())


def _completion_handler(servicer: _Generation, pb: dict[str, Any]) -> grpc.GenericRpcHandler:
    """``TextGenerationService`` as the generated code registers it, but for its serialiser.

    The generated ``add_TextGenerationServiceServicer_to_server`` serialises every answer
    with ``CompletionResponse.SerializeToString``; this one also lets raw bytes through,
    so a fault can answer with a message the client cannot parse, as a broken gateway would.
    """
    method = grpc.unary_stream_rpc_method_handler(
        servicer.Completion,
        request_deserializer=pb["gen"].CompletionRequest.FromString,
        response_serializer=_raw_or_message,
    )
    return grpc.method_handlers_generic_handler(
        "yandex.cloud.ai.foundation_models.v1.TextGenerationService", {"Completion": method}
    )


def _guard(handler: Callable[..., Any]) -> Callable[..., Any]:
    def run(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return handler(self, request, context)
        except _Abort as exc:
            context.abort(exc.code, exc.message)

    return run


def _guard_stream(handler: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    def run(self: Any, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            yield from handler(self, request, context)
        except _Abort as exc:
            context.abort(exc.code, exc.message)

    return run


class _Servicer:
    def __init__(self, server: YandexGrpcServer) -> None:
        self.server = server

    def __getattr__(self, name: str) -> Callable[[Any, grpc.ServicerContext], Any]:
        """A method the emulator does not serve answers ``UNIMPLEMENTED``, as gRPC does."""

        def unimplemented(request: Any, context: grpc.ServicerContext) -> Any:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"Method not implemented: {name}")

        return unimplemented


class _Generation(_Servicer):
    @_guard_stream
    def Completion(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:  # noqa: N802
        body = self.server.receive(
            "yandex.cloud.ai.foundation_models.v1.TextGenerationService/Completion",
            request,
            context,
        )
        self.server.authorize(context)
        frames, fault = self.server.completion(body, None)
        if fault is not None and fault.malformed:
            # a string body is the whole answer: "" is an empty stream, anything else a
            # message that is not a CompletionResponse
            if fault.body != "":
                yield MALFORMED_MESSAGE
            return
        if fault is not None and fault.break_after is not None and len(frames) == 1:
            # a whole answer is one message: cut, the connection breaks before it
            raise _Abort(grpc.StatusCode.UNAVAILABLE, "Connection reset by peer")
        for index, frame in enumerate(frames):
            if fault is not None and index and fault.chunk_delay:
                time.sleep(fault.chunk_delay)
            if fault is not None and fault.break_after is not None and index >= fault.break_after:
                raise _Abort(grpc.StatusCode.UNAVAILABLE, "Connection reset by peer")
            if fault is not None and fault.error_after is not None and index >= fault.error_after:
                raise _Abort(grpc.StatusCode.INTERNAL, fault.message or "Upstream error")
            yield frame


class _Deferred(_Servicer):
    @_guard
    def Completion(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        body = self.server.receive(
            "yandex.cloud.ai.foundation_models.v1.TextGenerationAsyncService/Completion",
            request,
            context,
        )
        self.server.authorize(context)
        frames, _ = self.server.completion(body, False)
        return self.server.operation(frames[-1])


class _Operations(_Servicer):
    @_guard
    def Get(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self.server.receive("yandex.cloud.operation.OperationService/Get", request, context)
        self.server.authorize(context)
        entry = self.server._operations.get(request.operation_id)
        if entry is None:
            raise _Abort(grpc.StatusCode.NOT_FOUND, f"Operation {request.operation_id} not found")
        op = _pb()["op"].Operation(
            id=request.operation_id, description="Async GPT Completion", done=True
        )
        op.response.Pack(entry["response"])
        return op


class _Tokenizer(_Servicer):
    @_guard
    def Tokenize(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        body = self.server.receive(
            "yandex.cloud.ai.foundation_models.v1.TokenizerService/Tokenize", request, context
        )
        self.server.authorize(context)
        self.server.fault(model_of(str(body.get("modelUri", ""))))
        answer = tokenize_response([str(body.get("text", ""))])
        return json_format.ParseDict(answer, _pb()["gen"].TokenizeResponse())

    @_guard
    def TokenizeCompletion(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        body = self.server.receive(
            "yandex.cloud.ai.foundation_models.v1.TokenizerService/TokenizeCompletion",
            request,
            context,
        )
        self.server.authorize(context)
        self.server.fault(model_of(str(body.get("modelUri", ""))))
        try:
            parsed = parse_completion(body, stream=False)
        except InvalidRequest as exc:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from exc
        answer = tokenize_response(completion_texts(parsed))
        return json_format.ParseDict(answer, _pb()["gen"].TokenizeResponse())


class _Embeddings(_Servicer):
    @_guard
    def TextEmbedding(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        body = self.server.receive(
            "yandex.cloud.ai.foundation_models.v1.EmbeddingsService/TextEmbedding", request, context
        )
        self.server.authorize(context)
        self.server.fault(model_of(str(body.get("modelUri", ""))))
        try:
            answer = embedding_response(body)
        except InvalidRequest as exc:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from exc
        return json_format.ParseDict(answer, _pb()["emb"].TextEmbeddingResponse())


class _Endpoints(_Servicer):
    def List(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        from yandex.cloud.endpoint.api_endpoint_pb2 import ApiEndpoint

        endpoints = [ApiEndpoint(id=s, address=self.server.address) for s in _SERVICES]
        return _pb()["ep"].ListApiEndpointsResponse(endpoints=endpoints)


class _Iam(_Servicer):
    @_guard
    def Create(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        body = self.server.receive("yandex.cloud.iam.v1.IamTokenService/Create", request, context)
        if not (body.get("yandexPassportOauthToken") or body.get("jwt")):
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "an OAuth token or a JWT is required")
        self.server.fault(None)
        response = _pb()["iam"].CreateIamTokenResponse(
            iam_token=f"t1.emulator-{next(self.server._ids)}"
        )
        response.expires_at.FromSeconds(int(time.time()) + 12 * 3600)
        return response
