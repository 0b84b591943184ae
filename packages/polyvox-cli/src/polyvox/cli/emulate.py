"""``polyvox emulate``: the provider emulator in the foreground, until Ctrl-C."""

from __future__ import annotations

import errno
import socket
import sys

from polyvox.cli.errors import CommandError

__all__ = ["run_emulate"]

_OTHER_PORT = "choose another with --port (e.g. --port 8766), or --port 0 for any free one"
_GOOD_HOSTS = "give --host 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"


def run_emulate(host: str, port: int) -> int:
    """Serve the emulator on ``host:port`` until interrupted.

    It prints its URLs and the ``export`` lines that point clients at it; Ctrl-C stops it
    (exit status 0: that is how it is meant to end).

    Args:
        host: The interface to bind.
        port: The port; 0 for any free one.

    Returns:
        0 once stopped.

    Raises:
        CommandError: The address cannot be bound (port taken, unknown host, no rights).
    """
    from polyvox.testing.emulator import serve

    try:
        serve(host=host, port=port)
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after a graceful shutdown
        print("polyvox emulator stopped", file=sys.stderr)
    except OSError as exc:
        raise _bind_error(exc, host, port) from exc
    return 0


def _bind_error(exc: OSError, host: str, port: int) -> CommandError:
    """Say why ``host:port`` could not be bound, and what to do instead."""
    where = f"{host}:{port}"
    reason = exc.strerror or str(exc)
    if isinstance(exc, socket.gaierror):
        return CommandError(
            f"cannot listen on {where}: unknown host {host!r} ({reason})", hint=_GOOD_HOSTS
        )
    if exc.errno == errno.EADDRINUSE:
        return CommandError(
            f"cannot listen on {where}: the port is already in use (another emulator or server)",
            hint=_OTHER_PORT,
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        hint = "ports below 1024 need administrator rights; " if 0 < port < 1024 else ""
        return CommandError(f"cannot listen on {where}: permission denied", hint=hint + _OTHER_PORT)
    if exc.errno == errno.EADDRNOTAVAIL:
        return CommandError(
            f"cannot listen on {where}: {host} is not an address of this machine", hint=_GOOD_HOSTS
        )
    return CommandError(
        f"cannot listen on {where}: {reason}", hint=_GOOD_HOSTS + "; " + _OTHER_PORT
    )
