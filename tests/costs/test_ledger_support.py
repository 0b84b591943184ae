"""Shared helpers of the ledger and budget tests (no tests here).

PostgreSQL tests use the real server named by ``POLYVOX_TEST_POSTGRES_URL``, each in a
schema of its own (so parallel workers never meet), dropped afterwards. They fail, with a
message saying so, when the server cannot be reached.
"""

from __future__ import annotations

import atexit
import functools
import multiprocessing
import multiprocessing.pool
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from polyvox.costs.ledger import CallRecord, Ledger

PG_URL = os.environ.get(
    "POLYVOX_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REFUSED_PG_URL = "postgresql+psycopg://postgres:secret-pw@127.0.0.1:1/test"

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@functools.cache
def _postgres_problem() -> str | None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(PG_URL, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT 1"))
    except Exception as exc:
        return str(exc).splitlines()[0]
    finally:
        engine.dispose()
    return None


def require_postgres() -> None:
    """Fail the test (not skip) when the PostgreSQL server is unreachable."""
    if (problem := _postgres_problem()) is not None:
        pytest.fail(
            f"PostgreSQL at {PG_URL} is unreachable ({problem}); start it or point "
            "POLYVOX_TEST_POSTGRES_URL at one",
            pytrace=False,
        )


def drop_schema(schema: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(PG_URL)
    try:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()


@dataclass
class Target:
    """Where a test's ledger lives."""

    url: str
    schema: str | None
    spill_path: Path

    def ledger(self, **kwargs: Any) -> Ledger:
        kwargs.setdefault("spill_path", self.spill_path)
        return Ledger(self.url, schema=self.schema, **kwargs)


@contextmanager
def target(kind: str, tmp_path: Path) -> Iterator[Target]:
    """A fresh SQLite file, or a fresh PostgreSQL schema (dropped afterwards)."""
    if kind == "sqlite":
        yield Target(f"sqlite:///{tmp_path / 'ledger.sqlite3'}", None, tmp_path / "spill.jsonl")
        return
    require_postgres()
    schema = f"pv_test_{uuid.uuid4().hex[:12]}"
    try:
        yield Target(PG_URL, schema, tmp_path / "spill.jsonl")
    finally:
        drop_schema(schema)


T0 = datetime(2025, 1, 31, 23, 0, tzinfo=UTC)


def rec(**kwargs: Any) -> CallRecord:
    """A record with test defaults."""
    defaults: dict[str, Any] = {
        "time": T0,
        "provider": "openai",
        "model": "gpt-x",
        "workspace_id": "w1",
        "agent_id": "a1",
        "input_tokens": 10,
        "output_tokens": 5,
        "cost": Decimal("0.001"),
        "currency": "USD",
        "latency_ms": 100.0,
    }
    return CallRecord(**{**defaults, **kwargs})


_POOL: multiprocessing.pool.Pool | None = None


def spawn_pool() -> multiprocessing.pool.Pool:
    """Four spawned worker processes, started once per test process and reused.

    Starting a process and importing SQLAlchemy in it takes about a second; sharing the
    pool keeps the multi-process tests fast.
    """
    global _POOL
    if _POOL is None:
        _POOL = multiprocessing.get_context("spawn").Pool(4)
        atexit.register(_POOL.terminate)
    return _POOL


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TcpProxy:
    """A TCP forwarder to PostgreSQL that can be started late and stopped: a real outage."""

    def __init__(self, port: int, upstream: tuple[str, int]) -> None:
        self.port = port
        self.upstream = upstream
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []

    def start(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen()
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self._server is not None:
            with suppress(OSError):  # shutdown wakes the thread blocked in accept()
                self._server.shutdown(socket.SHUT_RDWR)
            self._server.close()
            self._server = None
        for conn in self._conns:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        self._conns.clear()
