"""Database outages: nothing raises into the call path, nothing is lost, the log says where."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from polyvox.costs.ledger import Ledger
from tests.costs.test_ledger_support import (
    BACKENDS,
    PG_URL,
    REFUSED_PG_URL,
    TcpProxy,
    free_port,
    rec,
    require_postgres,
    target,
)


@pytest.mark.parametrize("kind", BACKENDS)
def test_refused_database_spills_on_close_and_replay_restores_exactly_once(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spill = tmp_path / "down.jsonl"
    down = Ledger(REFUSED_PG_URL, spill_path=spill)
    records = [rec(cost=None if i % 7 == 0 else rec().cost) for i in range(50)]
    started = time.perf_counter()
    for record in records:
        down.record(record)  # never raises, never waits
    assert time.perf_counter() - started < 0.5
    assert not down.flush(timeout=0.3)
    assert down.health().pending == 50
    with caplog.at_level(logging.ERROR, logger="polyvox.ledger"):
        down.close()
    message = "50 records were not written to the database"
    assert message in caplog.text
    assert str(spill) in caplog.text
    assert "replay_spill()" in caplog.text
    assert "secret-pw" not in caplog.text
    assert len(spill.read_text().splitlines()) == 50

    with target(kind, tmp_path) as where:
        up = where.ledger()
        up.record(records[0])  # already there before the replay: still one row
        up.flush(timeout=10)
        assert up.replay_spill(spill) == 50
        assert not spill.exists()
        assert up.replay_spill(spill) == 0
        assert sorted(r.id for r in up.records()) == sorted(r.id for r in records)
        assert up.records() == sorted(records, key=lambda r: (r.time, r.id))
        up.close()


def test_overflowing_buffer_spills_before_close(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spill = tmp_path / "overflow.jsonl"
    led = Ledger(REFUSED_PG_URL, spill_path=spill, max_buffer=10)
    with caplog.at_level(logging.ERROR, logger="polyvox.ledger"):
        for _ in range(25):
            led.record(rec())
        deadline = time.monotonic() + 10
        expected = "more than 10 records waited for the database"
        while expected not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.02)
        assert expected in caplog.text, "records over max_buffer were not spilled"
        assert spill.exists()
        led.close()
    lines = spill.read_text().splitlines()
    assert len(lines) == 25
    assert len({json.loads(line)["id"] for line in lines}) == 25


@pytest.mark.postgres
def test_outage_then_recovery_writes_every_buffered_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    require_postgres()
    from sqlalchemy.engine import make_url

    real = make_url(PG_URL)
    proxy = TcpProxy(free_port(), (real.host or "127.0.0.1", real.port or 5432))
    url = real.set(port=proxy.port).render_as_string(hide_password=False)
    with target("postgres", tmp_path) as where:
        led = Ledger(url, schema=where.schema, spill_path=where.spill_path)
        with caplog.at_level(logging.WARNING, logger="polyvox.ledger"):
            for _ in range(30):
                led.record(rec())  # the database is down: buffered
            assert not led.flush(timeout=0.5)
            proxy.start()  # the database comes back
            assert led.flush(timeout=15)
            proxy.stop()  # ... goes away mid-run (pooled connections die)
            for _ in range(20):
                led.record(rec())
            assert not led.flush(timeout=0.5)
            proxy.start()
            assert led.flush(timeout=15)
        assert led.stats().calls == 50
        assert "cannot write" in caplog.text
        assert "the database is back" in caplog.text
        assert not where.spill_path.exists()
        led.close()
        proxy.stop()
