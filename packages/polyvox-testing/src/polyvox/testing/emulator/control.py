"""The HTTP control API, for an emulator running in another process (``polyvox emulate``).

* ``POST /_emulator/script`` ``{"replies": [Reply, ...], "model": null}``
* ``POST /_emulator/fail`` ``{"fault": Fault, "times": 1, "model": null}``
* ``POST /_emulator/reset``
* ``GET /_emulator/requests`` the request log, oldest first
* ``GET /_emulator/health`` ``{"status": "ok", "protocols": [...]}``

Bodies mirror the dataclasses (``Reply.to_dict()``, ``Fault.to_dict()``). Control requests
are not recorded in the request log.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from polyvox.testing.emulator.faults import Fault
from polyvox.testing.emulator.protocol import json_response
from polyvox.testing.emulator.replies import Reply
from polyvox.testing.emulator.state import EmulatorState

__all__ = ["CONTROL_PREFIX", "control_routes"]

CONTROL_PREFIX = "/_emulator"
"""Where the control API lives."""


async def _json(request: Request) -> dict[str, Any]:
    body = await request.body()
    data = json.loads(body) if body.strip() else {}
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _bad(error: Exception) -> Response:
    return json_response({"error": f"{type(error).__name__}: {error}"}, 400)


def control_routes(state: EmulatorState, protocols: Sequence[str]) -> list[BaseRoute]:
    """Make the control routes.

    Args:
        state: The emulator's state.
        protocols: The names of the mounted protocols (reported by ``health``).

    Returns:
        The routes.
    """

    async def script(request: Request) -> Response:
        try:
            data = await _json(request)
            items = data.get("replies", [data["reply"]] if "reply" in data else [])
            replies = [Reply.from_dict(item) for item in items]
        except (ValueError, KeyError, TypeError) as error:
            return _bad(error)
        state.add_replies(replies, data.get("model"))
        return json_response({"queued": len(replies), "pending": state.pending_replies()})

    async def fail(request: Request) -> Response:
        try:
            data = await _json(request)
            fault = Fault.from_dict(data.get("fault") or {})
            state.add_fault(fault, data.get("times", 1), data.get("model"))
        except (ValueError, KeyError, TypeError) as error:
            return _bad(error)
        return json_response({"ok": True})

    async def reset(request: Request) -> Response:
        state.reset()
        return json_response({"ok": True})

    async def requests(request: Request) -> Response:
        return json_response([r.to_dict() for r in state.requests])

    async def health(request: Request) -> Response:
        return json_response({"status": "ok", "protocols": list(protocols)})

    return [
        Route(f"{CONTROL_PREFIX}/script", script, methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/fail", fail, methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/reset", reset, methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/requests", requests, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/health", health, methods=["GET"]),
    ]
