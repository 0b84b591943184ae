"""The emulator server: a Starlette app on uvicorn, in a background thread or in the foreground.

:class:`Emulator` binds 127.0.0.1 on a free port and serves every protocol in
:data:`PROTOCOL_MODULES` plus the control API; :func:`shared_emulator` is the process-wide
instance tests share; :func:`serve` / :func:`main` run one in the foreground for
``polyvox emulate``. A new protocol is one module exposing ``PROTOCOL`` and one line here.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import socket
import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from polyvox.testing.emulator.control import CONTROL_PREFIX, control_routes
from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.protocol import Protocol, json_response, receive
from polyvox.testing.emulator.replies import Reply
from polyvox.testing.emulator.state import EmulatorState, RecordedRequest

if TYPE_CHECKING:
    from polyvox.testing.emulator.ollama_protocol import OllamaModels

__all__ = [
    "PROTOCOL_MODULES",
    "Emulator",
    "build_app",
    "load_protocols",
    "main",
    "serve",
    "shared_emulator",
]

PROTOCOL_MODULES: tuple[str, ...] = (
    "polyvox.testing.emulator.openai_protocol",
    "polyvox.testing.emulator.ollama_protocol",
    "polyvox.testing.emulator.gemini_protocol",
    "polyvox.testing.emulator.anthropic_protocol",
    "polyvox.testing.emulator.huggingface_protocol",
    "polyvox.testing.emulator.gigachat_protocol",
    "polyvox.testing.emulator.yandex_rest",
)
"""Modules whose ``PROTOCOL`` the emulator mounts; the first one answers unknown paths."""

_START_TIMEOUT = 10.0


def load_protocols(modules: Sequence[str] = PROTOCOL_MODULES) -> list[Protocol]:
    """Import protocol modules and return their ``PROTOCOL`` objects.

    Args:
        modules: Dotted module names.

    Returns:
        The protocols, in order.
    """
    return [importlib.import_module(name).PROTOCOL for name in modules]


def build_app(state: EmulatorState, protocols: Sequence[Protocol]) -> Starlette:
    """Make the Starlette app: the control API, every protocol's routes and a 404 fallback.

    Args:
        state: The state the routes share.
        protocols: The protocols to mount (at least one).

    Returns:
        The app.
    """
    ordered = sorted(protocols, key=lambda p: len(p.prefix), reverse=True)

    async def not_found(request: Request) -> Response:
        path = request.url.path
        if path.startswith(CONTROL_PREFIX):
            return json_response({"error": f"unknown control path {path}"}, 404)
        await receive(request, state)
        protocol = next((p for p in ordered if path.startswith(p.prefix)), protocols[0])
        message = f"Invalid URL ({request.method} {path})"
        return json_response(protocol.error_body(404, Fault(status=404, message=message)), 404)

    routes: list[BaseRoute] = control_routes(state, [p.name for p in protocols])
    for protocol in protocols:
        routes.extend(protocol.routes(state))
    routes.append(
        Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    )
    return Starlette(routes=routes)


def _config(app: Starlette, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=None,
        access_log=False,
        lifespan="off",
        loop="asyncio",
        http="h11",
        ws="none",
        timeout_keep_alive=75,
        timeout_graceful_shutdown=1,
    )


class Emulator:
    """A local server that speaks provider wire protocols, for tests and demos.

    Examples:
        ``with Emulator() as emu: OpenAI(base_url=emu.openai_base_url, api_key="k")``
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, protocols: Sequence[Protocol] | None = None
    ) -> None:
        """Prepare an emulator (nothing listens until :meth:`start`).

        Args:
            host: The interface to bind.
            port: The port; 0 picks a free one.
            protocols: The protocols to serve; all of :data:`PROTOCOL_MODULES` by default.
        """
        self.state = EmulatorState()
        """Scripts, faults and the request log."""
        self._protocols = list(protocols) if protocols is not None else load_protocols()
        self._host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._yandex: Any = None  # the Yandex gRPC server, started on first use

    @property
    def running(self) -> bool:
        """Whether the server is up."""
        return self._server is not None and self._server.started

    @property
    def port(self) -> int:
        """The bound port (the requested one before :meth:`start`)."""
        return self._port

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:PORT``."""
        return f"http://{self._host}:{self._port}"

    @property
    def openai_base_url(self) -> str:
        """The ``base_url`` for OpenAI clients, ``{url}/v1``."""
        return f"{self.url}/v1"

    @property
    def gemini_base_url(self) -> str:
        """The ``base_url`` for ``google-genai`` clients: the server root (the SDK adds ``/v1``)."""
        return self.url

    @property
    def anthropic_base_url(self) -> str:
        """The ``base_url`` for Anthropic clients: the server root (the SDK adds ``/v1``)."""
        return self.url

    @property
    def yandex_endpoint(self) -> str:
        """``host:port`` of the Yandex gRPC services, started on first use.

        What ``AIStudio(endpoint=..., verify=False)`` and polyvox's ``base_url`` take (needs
        the ``yandex`` extra).
        """
        if self._yandex is None:
            from polyvox.testing.emulator.yandex_grpc import YandexGrpcServer

            self._yandex = YandexGrpcServer(self.state, self._host).start()
        return str(self._yandex.address)

    @property
    def gigachat_base_url(self) -> str:
        """The ``base_url`` for GigaChat clients, ``{url}/api/v1``."""
        return f"{self.url}/api/v1"

    @property
    def gigachat_auth_url(self) -> str:
        """The ``auth_url`` for GigaChat clients, ``{url}/api/v2/oauth``."""
        return f"{self.url}/api/v2/oauth"

    @property
    def ollama_url(self) -> str:
        """The ``host`` for ``ollama.Client``: the server root, ``http://127.0.0.1:PORT``."""
        return self.url

    @property
    def ollama_models(self) -> OllamaModels:
        """The models "pulled" on the emulated Ollama server; :meth:`reset` restores them."""
        from polyvox.testing.emulator.ollama_protocol import models_for

        return models_for(self.state)

    def start(self) -> Emulator:
        """Start serving in a background thread; does nothing when already running.

        Returns:
            The emulator itself.

        Raises:
            RuntimeError: If the server does not come up.
        """
        with self._lock:
            if self._thread is not None:
                return self
            # proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets
            # whose proto says TCP, and without it Nagle adds ~40 ms to every response.
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._port))
            sock.listen(1024)
            self._port = sock.getsockname()[1]
            app = build_app(self.state, self._protocols)
            server = uvicorn.Server(_config(app, self._host, self._port, "warning"))
            thread = threading.Thread(
                target=server.run, kwargs={"sockets": [sock]}, name="polyvox-emulator", daemon=True
            )
            thread.start()
            deadline = time.monotonic() + _START_TIMEOUT
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    sock.close()
                    raise RuntimeError("the polyvox emulator did not start")
                time.sleep(0.001)
            self._server, self._thread, self._socket = server, thread, sock
            return self

    def stop(self) -> None:
        """Stop the server and wait for its thread; safe to call twice."""
        with self._lock:
            server, thread, sock = self._server, self._thread, self._socket
            self._server = self._thread = self._socket = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=5)
        if sock is not None:
            sock.close()
        if self._yandex is not None:
            self._yandex.stop()
            self._yandex = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def reset(self) -> None:
        """Clear scripts, faults and recorded requests, and restore the Ollama models."""
        self.state.reset()
        self.ollama_models.reset()

    def script(self, *replies: Reply | str, model: str | None = None) -> None:
        """Queue replies, answered first in, first out, before the auto behaviour.

        Args:
            *replies: Replies (a string is ``Reply(content=...)``).
            model: Serve them only to requests for this model.
        """
        queued = [Reply(content=r) if isinstance(r, str) else r for r in replies]
        self.state.add_replies(queued, model)

    def fail(self, fault: Fault, times: int | None = 1, model: str | None = None) -> None:
        """Inject a fault.

        Args:
            fault: What goes wrong.
            times: How many requests it hits; ``None`` for all until :meth:`reset`.
            model: Only hit requests for this model.
        """
        self.state.add_fault(fault, times, model)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received since the last reset (control requests excepted)."""
        return self.state.requests

    @property
    def last_request(self) -> RecordedRequest | None:
        """The most recent request, or ``None``."""
        recorded = self.state.requests
        return recorded[-1] if recorded else None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"Emulator(url={self.url!r}, {state})"


_shared: Emulator | None = None
_shared_lock = threading.Lock()


def shared_emulator() -> Emulator:
    """Return the process-wide emulator, started on first use and stopped at exit.

    Returns:
        The running emulator.
    """
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.running:
            _shared = Emulator().start()
            atexit.register(_shared.stop)
        return _shared


def serve(host: str = "127.0.0.1", port: int = 8765, *, log_level: str = "info") -> None:
    """Run an emulator in the foreground until interrupted (``polyvox emulate``).

    Once listening it prints its URLs and the ``export`` lines that point the OpenAI and
    Ollama SDKs (and polyvox) at it.

    Args:
        host: The interface to bind (``0.0.0.0`` or ``::`` for all of them).
        port: The port; 0 picks a free one (the printed lines name it).
        log_level: uvicorn's log level.

    Raises:
        ValueError: ``port`` is not 0-65535.
        OSError: The address cannot be bound: the port is taken, the host is not an
            address of this machine, or binding needs more privileges.
    """
    sock = _listening_socket(host, port)
    state = EmulatorState()
    app = build_app(state, load_protocols())
    bound = sock.getsockname()[1]
    yandex = _start_yandex_grpc(state, host, bound + 1 if port else 0)
    server = _AnnouncingServer(_config(app, host, bound, log_level))
    server.yandex_endpoint = yandex.address if yandex is not None else None
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        if yandex is not None:
            yandex.stop()


def _start_yandex_grpc(state: EmulatorState, host: str, port: int) -> Any:
    """The Yandex gRPC services beside the HTTP server, when the ``yandex`` extra is installed.

    gRPC needs HTTP/2 on a port of its own: ``port`` (the HTTP port plus one), or any free
    port when that one is taken.

    Args:
        state: The HTTP server's state (the two share scripts, faults and the request log).
        host: The interface to bind.
        port: The port to try first; 0 for any free one.

    Returns:
        The running ``YandexGrpcServer``, or ``None`` without the extra.
    """
    try:
        from polyvox.testing.emulator.yandex_grpc import YandexGrpcServer
    except ImportError:  # grpcio / yandexcloud are the optional ``yandex`` extra
        return None
    try:
        return YandexGrpcServer(state, host, port).start()
    except RuntimeError:  # grpc could not bind the port: take any free one
        return YandexGrpcServer(state, host, 0).start()


def _listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening (IPv4 or IPv6, as ``host`` is).

    Args:
        host: A host name or address.
        port: The port; 0 picks a free one.

    Returns:
        The socket.

    Raises:
        ValueError: ``port`` is not 0-65535.
        OSError: The address cannot be resolved or bound.
    """
    if not 0 <= port <= 65535:
        msg = f"port {port} is not 0-65535"
        raise ValueError(msg)
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
    )[0]
    # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets whose proto says TCP
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":  # on Windows SO_REUSEADDR would let two servers share the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except BaseException:
        sock.close()
        raise
    return sock


def _client_url(host: str, port: int) -> str:
    """The URL clients on this machine use for a server bound to ``host:port``.

    Args:
        host: The bound interface; a wildcard (``0.0.0.0``, ``::``) becomes loopback.
        port: The bound port.

    Returns:
        ``http://HOST:PORT``, with an IPv6 address in brackets.
    """
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


EMULATOR_GIGACHAT_CREDENTIALS = "ZW11bGF0b3I6c2VjcmV0"
"""The GigaChat authorization key ``polyvox emulate`` suggests: base64 of
``emulator:secret`` (the emulator's OAuth endpoint takes any well-formed key)."""


def _announcement(url: str, yandex_endpoint: str | None = None) -> str:
    """What ``polyvox emulate`` prints once listening at ``url``.

    Args:
        url: The server's root URL (``http://127.0.0.1:8765``).
        yandex_endpoint: ``host:port`` of the Yandex gRPC services; ``None`` when they are
            not served (polyvox-testing without its ``yandex`` extra).

    Returns:
        The lines, ending with a newline; the ``export`` lines paste into a POSIX shell.
    """
    if yandex_endpoint is None:
        yandex_line = "  Yandex gRPC: not served (pip install 'polyvox-testing[yandex]')\n"
        yandex_exports = ""
    else:
        yandex_line = (
            f"  Yandex AI Studio (yandex-ai-studio-sdk, gRPC): endpoint={yandex_endpoint} "
            "(any folder and API key)\n"
        )
        yandex_exports = (
            f"export YC_API_ENDPOINT={yandex_endpoint}\n"
            "export YC_API_KEY=AQVN-emulator\n"
            "export YC_FOLDER_ID=b1g-emulator\n"
        )
    return (
        f"polyvox emulator listening on {url}\n"
        f"  OpenAI-compatible clients: base_url={url}/v1 (any API key)\n"
        f"  Ollama clients: host={url}\n"
        f"  Anthropic clients: base_url={url} (any API key)\n"
        f"  Gemini (google-genai) clients: base_url={url} (any API key; or set "
        f"GOOGLE_GEMINI_BASE_URL={url})\n"
        f"  Yandex foundation-models REST: {url}/foundationModels/v1 (any API key)\n"
        f"{yandex_line}"
        f"  Hugging Face (huggingface_hub) clients: base_url={url}/huggingface/router/v1 (a "
        f"token starting hf_; or set HF_ROUTER_URL={url}/huggingface/router/v1)\n"
        f"    Hub API: HF_ENDPOINT={url}/huggingface/hub; a TGI endpoint: {url}/huggingface/tgi; "
        f"TEI: {url}/huggingface/tei\n"
        f"  GigaChat clients: base_url={url}/api/v1, auth_url={url}/api/v2/oauth "
        "(credentials: any base64 client_id:secret)\n"
        "    plain HTTP on loopback, so there is no certificate to verify; against Sber's "
        "servers\n"
        "    set GIGACHAT_CA_BUNDLE_FILE to the Russian Trusted Root CA (never "
        "GIGACHAT_VERIFY_SSL_CERTS=false)\n"
        f"  control API: {url}/_emulator/health, /_emulator/script, /_emulator/fail\n"
        "\n"
        "To point the OpenAI, Ollama, Anthropic, GigaChat and Yandex SDKs (and polyvox) at "
        "it, run in another shell:\n"
        "\n"
        f"export OPENAI_BASE_URL={url}/v1\n"
        "export OPENAI_API_KEY=sk-emulator\n"
        f"export OLLAMA_HOST={url}\n"
        f"export ANTHROPIC_BASE_URL={url}\n"
        "export ANTHROPIC_API_KEY=sk-ant-emulator\n"
        f"export GIGACHAT_BASE_URL={url}/api/v1\n"
        f"export GIGACHAT_AUTH_URL={url}/api/v2/oauth\n"
        f"export GIGACHAT_CREDENTIALS={EMULATOR_GIGACHAT_CREDENTIALS}\n"
        f"{yandex_exports}"
        "\n"
        "Press Ctrl-C to stop.\n"
    )


class _AnnouncingServer(uvicorn.Server):
    """A uvicorn server that says where it listens once the socket is bound."""

    yandex_endpoint: str | None = None
    """``host:port`` of the Yandex gRPC services served beside it, if any."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            url = _client_url(self.config.host, self.config.port)
            print(_announcement(url, self.yandex_endpoint), end="", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: ``--host``, ``--port``, ``--log-level``; runs :func:`serve`.

    Args:
        argv: The arguments (``sys.argv[1:]`` when ``None``).

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(prog="polyvox emulate", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    serve(args.host, args.port, log_level=args.log_level)
    return 0
