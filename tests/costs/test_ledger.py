"""The ledger's operations on SQLite (a temporary file) and on the real PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from polyvox.costs.ledger import (
    Ledger,
    LedgerUnavailableError,
    LedgerURLError,
    default_url,
    read_csv,
)
from tests.costs.test_ledger_support import (
    BACKENDS,
    REFUSED_PG_URL,
    T0,
    Target,
    rec,
    require_postgres,
    target,
)


@pytest.fixture(params=BACKENDS)
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    with target(request.param, tmp_path) as found:
        yield found


@pytest.fixture
def ledger(where: Target) -> Iterator[Ledger]:
    led = where.ledger()
    yield led
    led.close()


# location and set-up


def test_importing_the_package_does_not_import_sqlalchemy() -> None:
    code = (
        "import sys\n"
        "import polyvox.costs.ledger as ledger\n"
        "from polyvox.costs.ledger import CallRecord, Budget, BudgetExceededError, read_csv\n"
        "CallRecord(provider='p', model='m')\n"
        "assert 'sqlalchemy' not in sys.modules, 'imported early'\n"
        "ledger.Ledger('sqlite://')\n"
        "assert 'sqlalchemy' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_default_location_follows_the_platform(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("POLYVOX_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_url() == f"sqlite:///{tmp_path}/xdg/polyvox/ledger.sqlite3"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert (
        default_url() == f"sqlite:///{Path.home().as_posix()}/.local/share/polyvox/ledger.sqlite3"
    )
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    assert default_url() == f"sqlite:///{(tmp_path / 'Local/polyvox/ledger.sqlite3').as_posix()}"


def test_default_ledger_is_a_sqlite_file_in_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("POLYVOX_LEDGER_URL", raising=False)
    monkeypatch.delenv("POLYVOX_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with Ledger() as led:
        led.record(rec())
        assert led.flush(timeout=10)
        assert led.health().backend == "sqlite"
    assert (tmp_path / "polyvox" / "ledger.sqlite3").is_file()
    monkeypatch.setenv("POLYVOX_LEDGER_URL", f"sqlite:///{tmp_path}/other.sqlite3")
    with Ledger() as other:
        assert other.url.endswith("other.sqlite3")
        assert other.spill_path == tmp_path / "other.sqlite3-spill.jsonl"


def test_in_memory_sqlite_is_shared_by_threads() -> None:
    with Ledger("sqlite://") as led:
        threads = [threading.Thread(target=led.record, args=(rec(),)) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert led.stats().calls == 20


# writing and reading back


def test_records_come_back_exactly(ledger: Ledger) -> None:
    full = rec(
        run_id="r1",
        parent_run_id="p1",
        execution_id="e1",
        attributes={"team": "núcleo", "tag": "x"},
        cache_read_tokens=3,
        cache_write_tokens=2,
        reasoning_tokens=4,
        cost=Decimal("0.000000123456789"),
        latency_ms=12.345678,
        cache_hit=True,
    )
    failed = rec(
        time=T0 + timedelta(microseconds=1),
        outcome="error",
        error_type="RateLimitError",
        cost=None,
        currency=None,
        latency_ms=None,
        workspace_id=None,
        agent_id=None,
    )
    ledger.record(full)
    ledger.record(failed)
    assert ledger.flush(timeout=10)
    assert ledger.records() == [full, failed]
    assert ledger.records(where={"outcome": "error"}) == [failed]
    assert ledger.records(where={"workspace_id": None}) == [failed]
    assert ledger.records(limit=1) == [full]


def test_a_record_written_twice_is_stored_once(ledger: Ledger) -> None:
    one = rec()
    for _ in range(3):
        ledger.record(one)
    ledger.record(rec())
    assert ledger.flush(timeout=10)
    assert ledger.stats().calls == 2


async def test_aflush_awaits_the_writer(ledger: Ledger) -> None:
    for _ in range(10):
        ledger.record(rec())
    assert await ledger.aflush()
    assert ledger.stats().calls == 10


def test_naive_and_foreign_times_are_stored_as_utc(ledger: Ledger) -> None:
    moscow = datetime(2025, 3, 1, 2, 30, tzinfo=timezone(timedelta(hours=3)))
    ledger.record(rec(time=moscow))
    ledger.record(rec(time=datetime(2025, 3, 1, 12, 0)))
    days = [r.day for r in ledger.report(by=["day"])]
    assert days == ["2025-02-28", "2025-03-01"]
    assert ledger.records()[0].time == datetime(2025, 2, 28, 23, 30, tzinfo=UTC)


# reports


def _sample(ledger: Ledger) -> None:
    jan, feb = T0, T0 + timedelta(hours=2)  # 2025-01-31 23:00 and 2025-02-01 01:00 UTC
    ledger.record(rec(time=jan, latency_ms=100.0, cost=Decimal("0.10")))
    ledger.record(rec(time=jan, latency_ms=300.0, cost=Decimal("0.20"), agent_id="a2"))
    ledger.record(rec(time=feb, model="gpt-y", cost=Decimal("0.05"), latency_ms=200.0))
    ledger.record(
        rec(
            time=feb,
            provider="gigachat",
            model="GigaChat",
            workspace_id="w2",
            agent_id="a3",
            cost=Decimal("12.5"),
            currency="RUB",
            input_tokens=100,
            output_tokens=50,
            latency_ms=None,
        )
    )
    ledger.record(
        rec(time=feb, provider="ollama", model="bielik", cost=None, currency=None, outcome="error")
    )
    assert ledger.flush(timeout=10)


def test_report_by_provider(ledger: Ledger) -> None:
    _sample(ledger)
    rows = {r.provider: r for r in ledger.report(by=["provider"])}
    assert sorted(str(p) for p in rows) == ["gigachat", "ollama", "openai"]
    openai = rows["openai"]
    assert (openai.calls, openai.failures, openai.unpriced_calls) == (3, 0, 0)
    assert (openai.input_tokens, openai.output_tokens, openai.total_tokens) == (30, 15, 45)
    assert openai.costs == {"USD": Decimal("0.35")}
    assert (openai.cost, openai.currency) == (Decimal("0.35"), "USD")
    assert openai.mean_latency_ms == pytest.approx(200.0)
    assert openai.p95_latency_ms == pytest.approx(290.0)  # percentile_cont over 100, 200, 300
    ollama = rows["ollama"]
    assert (ollama.failures, ollama.unpriced_calls, ollama.cost, ollama.costs) == (1, 1, None, {})
    assert rows["gigachat"].costs == {"RUB": Decimal("12.5")}
    assert rows["gigachat"].mean_latency_ms is None


def test_report_by_every_dimension(ledger: Ledger) -> None:
    _sample(ledger)
    assert [(r.model, r.calls) for r in ledger.report(by=["model"])] == [
        ("GigaChat", 1),
        ("bielik", 1),
        ("gpt-x", 2),
        ("gpt-y", 1),
    ]
    assert [(r.workspace_id, r.calls) for r in ledger.report(by=["workspace_id"])] == [
        ("w1", 4),
        ("w2", 1),
    ]
    assert [(r.agent_id, r.calls) for r in ledger.report(by=["agent_id"])] == [
        ("a1", 3),
        ("a2", 1),
        ("a3", 1),
    ]
    assert [(r.day, r.calls) for r in ledger.report(by=["day"])] == [
        ("2025-01-31", 2),
        ("2025-02-01", 3),
    ]
    by_month = ledger.report(by=["month", "provider"])
    assert [(r.month, r.provider, r.calls) for r in by_month] == [
        ("2025-01", "openai", 2),
        ("2025-02", "gigachat", 1),
        ("2025-02", "ollama", 1),
        ("2025-02", "openai", 1),
    ]
    assert by_month[0].day is None
    assert by_month[0].costs == {"USD": Decimal("0.30")}


def test_report_filters(ledger: Ledger) -> None:
    _sample(ledger)
    feb = datetime(2025, 2, 1, tzinfo=UTC)
    assert ledger.stats(since=feb).calls == 3
    assert ledger.stats(until=feb).calls == 2
    assert ledger.stats(since=date(2025, 2, 1)).calls == 3
    assert ledger.stats(where={"provider": ["ollama", "gigachat"]}).calls == 2
    assert ledger.stats(where={"agent_id": "a2"}).cost == Decimal("0.20")
    with pytest.raises(ValueError, match="cannot filter the ledger on 'api_key'"):
        ledger.report(where={"api_key": "x"})
    with pytest.raises(ValueError, match="cannot group a report by"):
        ledger.report(by=["week"])  # type: ignore[list-item]


def test_costs_in_several_currencies(ledger: Ledger) -> None:
    _sample(ledger)
    overall = ledger.stats()
    assert overall.costs == {"USD": Decimal("0.35"), "RUB": Decimal("12.5")}
    assert overall.cost is None  # two currencies and none asked for
    converted = ledger.stats(currency="USD", rates={"RUB": Decimal("0.01")})
    assert (converted.cost, converted.currency) == (Decimal("0.475"), "USD")
    with pytest.raises(ValueError, match="priced in RUB; pass rates="):
        ledger.stats(currency="USD")
    with pytest.raises(ValueError, match="several currencies"):
        ledger.total_cost()
    assert ledger.total_cost(where={"currency": "USD"}) == Decimal("0.35")
    assert ledger.total_cost(currency="RUB", rates={"USD": Decimal(100)}) == Decimal("47.5")
    assert ledger.total_cost(where={"provider": "nobody"}) == 0


def test_stats_of_an_empty_ledger(ledger: Ledger) -> None:
    empty = ledger.stats()
    assert (empty.calls, empty.cost, empty.p95_latency_ms, empty.costs) == (0, None, None, {})
    assert ledger.report(by=["provider"]) == []


# CSV


def test_csv_export_round_trip(ledger: Ledger, tmp_path: Path) -> None:
    _sample(ledger)
    ledger.record(
        rec(attributes={"a": "1", "quote": 'say "hi", then\nleave'}, cost=Decimal("1E-9"))
    )
    path = tmp_path / "calls.csv"
    assert ledger.export_csv(path) == 6
    assert read_csv(path) == ledger.records()
    buffer = io.StringIO(newline="")
    assert ledger.export_csv(buffer, since=datetime(2025, 2, 1, tzinfo=UTC)) == 3
    buffer.seek(0)
    header = buffer.readline().strip().split(",")
    assert header[:6] == ["id", "time", "run_id", "parent_run_id", "provider", "model"]
    buffer.seek(0)
    assert read_csv(buffer) == ledger.records(since=datetime(2025, 2, 1, tzinfo=UTC))


# bad input and health


def test_malformed_or_unsupported_urls_are_clear_errors_when_strict() -> None:
    with pytest.raises(LedgerURLError, match="malformed ledger URL"):
        Ledger("not a url", strict=True)
    with pytest.raises(LedgerURLError, match="unsupported ledger database"):
        Ledger("mysql://u@h/db", strict=True)
    with pytest.raises(LedgerURLError, match="needs PostgreSQL"):
        Ledger("sqlite://", schema="s", strict=True)


def test_unreachable_server_is_a_clear_error_when_strict() -> None:
    with pytest.raises(LedgerUnavailableError, match=r"127\.0\.0\.1:1/test is unavailable") as info:
        Ledger(REFUSED_PG_URL, strict=True)
    assert "secret-pw" not in str(info.value)
    assert "***" in str(info.value)


def test_reading_an_unreachable_database_raises(tmp_path: Path) -> None:
    with Ledger(REFUSED_PG_URL, spill_path=tmp_path / "s.jsonl") as led:
        with pytest.raises(LedgerUnavailableError, match="reading a report"):
            led.report()
        health = led.health()
        assert not health.ok
        assert health.backend == "postgresql"
        assert "secret-pw" not in (health.error or "") + health.url


def test_a_lazy_ledger_with_a_bad_url_spills_instead_of_failing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spill = tmp_path / "spill.jsonl"
    led = Ledger("not a url", spill_path=spill)
    led.record(rec())
    led.record(rec())
    assert not led.health().ok
    with caplog.at_level(logging.ERROR, logger="polyvox.ledger"):
        led.close()
    assert len(spill.read_text().splitlines()) == 2
    assert "2 records were not written to the database" in caplog.text
    assert str(spill) in caplog.text


def test_health_of_a_working_ledger(ledger: Ledger) -> None:
    ledger.record(rec())
    ledger.flush(timeout=10)
    health = ledger.health()
    assert health.ok
    assert (health.pending, health.written, health.spilled, health.error) == (0, 1, 0, None)


@pytest.mark.postgres
def test_records_the_database_refuses_are_spilled_and_the_rest_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with target("postgres", tmp_path) as where:
        led = where.ledger()
        good, bad = rec(), rec(model="nul\x00byte")
        with caplog.at_level(logging.ERROR, logger="polyvox.ledger"):
            led.record(good)
            led.record(bad)
            assert not led.flush(timeout=10)
        assert led.records() == [good]
        spilled = [json.loads(x)["id"] for x in where.spill_path.read_text().splitlines()]
        assert spilled == [bad.id]
        assert "1 records were not written to the database (the database refused them)" in (
            caplog.text
        )
        led.close()


def test_records_left_at_exit_are_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'exit.sqlite3'}"
    code = (
        "from polyvox.costs.ledger import Ledger, CallRecord\n"
        f"led = Ledger({url!r}, flush_interval=60)\n"
        "for _ in range(100): led.record(CallRecord(provider='p', model='m'))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with Ledger(url) as led:
        assert led.stats().calls == 100


@pytest.mark.postgres
def test_postgres_is_reachable() -> None:
    """Says plainly, as a failure, when the PostgreSQL the other tests need is missing."""
    require_postgres()
