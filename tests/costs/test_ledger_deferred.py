"""Records built on the writer thread (``Ledger.record_later``): priced there, never lost."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import pytest

from polyvox.costs.ledger import CallRecord, Ledger
from polyvox.costs.tracking.attribution import Attribution
from polyvox.costs.tracking.recorder import CallRecorder


def _ledger(tmp_path: Path) -> Ledger:
    return Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")


def test_a_deferred_record_is_built_on_the_writer_thread(tmp_path: Path) -> None:
    threads: list[str] = []

    def build() -> CallRecord:
        threads.append(threading.current_thread().name)
        return CallRecord(provider="openai", model="gpt-4o-mini", cost=Decimal("0.5"))

    with _ledger(tmp_path) as ledger:
        ledger.record_later(build)
        assert ledger.flush(10)
        assert [r.cost for r in ledger.records()] == [Decimal("0.5")]
    assert threads == ["polyvox-ledger-writer"]


def test_the_handler_path_prices_exactly_what_the_sync_path_prices(tmp_path: Path) -> None:
    usage = {
        "input_tokens": 1200,
        "output_tokens": 300,
        "total_tokens": 1500,
        "input_token_details": {"cache_read": 1000},
        "output_token_details": {"reasoning": 100},
    }
    with _ledger(tmp_path) as ledger:
        recorder = CallRecorder(ledger)
        now = recorder.record_call(
            "openai", "o3", usage, latency_ms=5.0, attribution=Attribution("w1")
        )  # type: ignore[arg-type]
        recorder.record_call_later(
            "openai", "o3", usage, latency_ms=5.0, attribution=Attribution("w1"), record_id="later"
        )  # type: ignore[arg-type]
        usage["input_tokens"] = 0  # a later change to the message's usage does not leak in
        assert ledger.flush(10)
        later = next(r for r in ledger.records() if r.id == "later")
    assert now.cost is not None
    assert now.cost > 0
    assert (later.cost, later.currency, later.input_tokens) == (now.cost, now.currency, 1200)
    assert later.workspace_id == "w1"


def test_a_builder_that_raises_is_counted_and_does_not_hang_flush(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> CallRecord:
        raise RuntimeError("bug in a builder")

    with _ledger(tmp_path) as ledger:
        ledger.record_later(broken)
        ledger.record(CallRecord(provider="openai", model="m"))
        assert ledger.flush(10)
        health = ledger.health()
        assert (health.written, health.failed, health.pending) == (1, 1, 0)
    assert "could not build a deferred record" in caplog.text


def test_after_close_a_deferred_record_is_spilled_not_lost(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    ledger.close()
    ledger.record_later(lambda: CallRecord(provider="openai", model="late"))
    lines = ledger.spill_path.read_text().splitlines()
    assert any('"late"' in line for line in lines)
