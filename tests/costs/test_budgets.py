"""Budgets: reserve, commit, release, the error, and overshoot under concurrency."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from polyvox.costs.ledger import (
    Budget,
    BudgetCurrencyError,
    BudgetExceededError,
    BudgetGuard,
    CallRecord,
    Ledger,
    LedgerUnavailableError,
)
from tests.costs.test_ledger_support import BACKENDS, REFUSED_PG_URL, Target, spawn_pool, target

W1 = {"workspace_id": "w1", "agent_id": "a1"}


@pytest.fixture(params=BACKENDS)
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    with target(request.param, tmp_path) as found:
        yield found


@pytest.fixture
def ledger(where: Target) -> Iterator[Ledger]:
    led = where.ledger()
    yield led
    led.close()


def _call(ledger: Ledger, cost: Decimal, *, time_: datetime | None = None) -> None:
    """What the cost callback handler does when a call ends."""
    ledger.record(
        CallRecord(
            provider="openai",
            model="gpt-x",
            cost=cost,
            currency="USD",
            time=time_ or datetime.now(UTC),
            workspace_id="w1",
            agent_id="a1",
        )
    )


def test_budget_validation() -> None:
    assert Budget("workspace", "w1", 5).limit == Decimal(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scope"):
        Budget("team", "t", Decimal(1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="period"):
        Budget("agent", "a", Decimal(1), period="week")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        Budget("agent", "a", Decimal(-1))


def test_reserve_commit_release(ledger: Ledger) -> None:
    guard = BudgetGuard(ledger, [Budget("workspace", "w1", Decimal("1.00"))])
    first = guard.reserve(W1, Decimal("0.40"))
    assert guard.remaining("workspace", "w1") == Decimal("0.60")
    second = guard.reserve(W1, Decimal("0.50"))
    assert guard.remaining("workspace", "w1") == Decimal("0.10")
    _call(ledger, Decimal("0.30"))
    first.commit(Decimal("0.30"))
    assert (first.state, first.actual) == ("committed", Decimal("0.30"))
    assert guard.remaining("workspace", "w1") == Decimal("0.20")  # 1 - 0.30 spent - 0.50 held
    second.release()
    assert guard.remaining("workspace", "w1") == Decimal("0.70")
    (status,) = guard.status()
    assert (status.spent, status.reserved, status.remaining) == (
        Decimal("0.30"),
        Decimal(0),
        Decimal("0.70"),
    )
    second.commit()  # already released: nothing happens
    assert second.state == "released"


def test_exceeding_a_budget_names_every_number(ledger: Ledger) -> None:
    guard = BudgetGuard(ledger, [Budget("workspace", "w1", Decimal("1.00"), period="day")])
    _call(ledger, Decimal("0.70"))
    held = guard.reserve(W1, Decimal("0.20"))
    with pytest.raises(BudgetExceededError) as info:
        guard.reserve(W1, Decimal("0.15"))
    message = str(info.value)
    assert message == (
        "budget exceeded for workspace 'w1' (this UTC day): spent 0.70 USD + reserved 0.20 USD"
        " + estimate 0.15 USD = 1.05 USD > limit 1.00 USD"
    )
    error = info.value
    assert isinstance(error, RuntimeError)
    assert (error.spent, error.reserved, error.estimate, error.limit) == (
        Decimal("0.70"),
        Decimal("0.20"),
        Decimal("0.15"),
        Decimal("1.00"),
    )
    assert str(pickle.loads(pickle.dumps(error))) == message
    guard.reserve(W1, Decimal("0.10")).release()  # exactly up to the limit is allowed
    held.release()


def test_the_tightest_applicable_budget_decides(ledger: Ledger) -> None:
    guard = BudgetGuard(
        ledger,
        [
            Budget("workspace", "w1", Decimal(100)),
            Budget("agent", "a1", Decimal(1)),
            Budget("agent", "a2", Decimal(0)),
        ],
    )
    with pytest.raises(BudgetExceededError, match="agent 'a1'"):
        guard.reserve(W1, Decimal(2))
    guard.reserve({"workspace_id": "w1", "agent_id": "a3"}, Decimal(2)).release()
    free = guard.reserve({"workspace_id": "elsewhere"}, Decimal(1000))
    assert (free.id, free.budgets) == (None, ())
    free.commit()
    assert guard.remaining("agent", "a1") == 1
    with pytest.raises(ValueError, match="no budget for agent 'zz'"):
        guard.remaining("agent", "zz")


def test_periods_count_only_their_own_spend(ledger: Ledger) -> None:
    now = datetime.now(UTC)
    _call(ledger, Decimal(5), time_=now - timedelta(days=40))
    _call(ledger, Decimal(1), time_=now)
    guard = BudgetGuard(
        ledger,
        [
            Budget("agent", "a1", Decimal(10), period="day"),
            Budget("agent", "a1", Decimal(10), period="month"),
            Budget("agent", "a1", Decimal(10), period="total"),
        ],
    )
    assert [s.spent for s in guard.status()] == [Decimal(1), Decimal(1), Decimal(6)]
    assert guard.remaining("agent", "a1") == Decimal(4)


def test_currencies_are_not_mixed(ledger: Ledger) -> None:
    guard = BudgetGuard(ledger, [Budget("workspace", "w1", Decimal(10), currency="USD")])
    with pytest.raises(BudgetCurrencyError, match="priced in RUB but the budget for workspace"):
        guard.reserve(W1, Decimal(1), "RUB")
    ledger.record(
        CallRecord(
            provider="gigachat", model="g", cost=Decimal(500), currency="RUB", workspace_id="w1"
        )
    )
    assert guard.remaining("workspace", "w1") == Decimal(10)  # RUB is not counted as USD


def test_context_managers(ledger: Ledger) -> None:
    guard = BudgetGuard(ledger, [Budget("workspace", "w1", Decimal(1))])
    with guard.reserve(W1, Decimal("0.5")) as ok:
        _call(ledger, Decimal("0.5"))
    assert ok.state == "committed"
    with pytest.raises(KeyError), guard.reserve(W1, Decimal("0.5")) as failed:
        raise KeyError("the call failed")
    assert failed.state == "released"
    assert guard.remaining("workspace", "w1") == Decimal("0.5")


async def test_async_reservations(ledger: Ledger) -> None:
    guard = BudgetGuard(ledger, [Budget("workspace", "w1", Decimal(1))])
    async with await guard.areserve(W1, Decimal("0.6")) as held:
        _call(ledger, Decimal("0.6"))
        with pytest.raises(BudgetExceededError):
            await guard.areserve(W1, Decimal("0.6"))
    assert held.state == "committed"
    spare = await guard.areserve(W1, Decimal("0.4"))
    await spare.arelease()
    assert guard.remaining("workspace", "w1") == Decimal("0.4")


def test_abandoned_reservations_expire(ledger: Ledger) -> None:
    budgets = [Budget("workspace", "w1", Decimal(1))]
    crashed = BudgetGuard(ledger, budgets, reservation_ttl=60).reserve(W1, Decimal(1))
    assert crashed.state == "held"  # never committed: it counts until it expires
    with pytest.raises(BudgetExceededError):
        BudgetGuard(ledger, budgets).reserve(W1, Decimal("0.1"))
    crashed.release()
    BudgetGuard(ledger, budgets, reservation_ttl=0).reserve(W1, Decimal(1))  # expires at once
    BudgetGuard(ledger, budgets).reserve(W1, Decimal(1)).release()


def test_an_unreachable_ledger_fails_closed(tmp_path: Path) -> None:
    with Ledger(REFUSED_PG_URL, spill_path=tmp_path / "s.jsonl") as led:
        guard = BudgetGuard(led, [Budget("workspace", "w1", Decimal(1))])
        with pytest.raises(LedgerUnavailableError, match="checking a budget"):
            guard.reserve(W1, Decimal("0.1"))


ESTIMATE = Decimal("0.25")
LIMIT = Decimal("2.60")  # room for 10 calls at the estimate, not 11


def _guarded_calls(led: Ledger, threads: int) -> int:
    """Race ``threads`` reservers against one budget; each granted call costs its estimate."""
    guard = BudgetGuard(led, [Budget("workspace", "shared", LIMIT)])
    barrier = threading.Barrier(threads)
    granted = []

    def work() -> None:
        barrier.wait()
        try:
            reservation = guard.reserve({"workspace_id": "shared"}, ESTIMATE)
        except BudgetExceededError:
            return
        led.record(
            CallRecord(
                provider="p", model="m", workspace_id="shared", cost=ESTIMATE, currency="USD"
            )
        )
        reservation.commit(ESTIMATE)
        granted.append(1)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(granted)


def _check_overshoot(led: Ledger, granted: int) -> None:
    spent = led.total_cost(where={"workspace_id": "shared"})
    assert spent <= LIMIT + ESTIMATE  # the promise: overshoot at most one request's estimate
    assert spent > LIMIT - ESTIMATE  # and no room left for another call
    assert spent == ESTIMATE * granted


def test_fifty_threads_overshoot_at_most_one_estimate(ledger: Ledger) -> None:
    # Usually exactly 10 are granted; under rare interleavings on PostgreSQL an 11th is
    # (still within the promised bound of one estimate).
    granted = _guarded_calls(ledger, 50)
    _check_overshoot(ledger, granted)
    if granted < 10:
        # Fewer only when a commit could not confirm its ledger write within its timeout
        # (a loaded machine): its reservation then stays, and counts, until it expires;
        # failing safe, by design. Every missing grant is accounted for by a held one.
        [status] = BudgetGuard(ledger, [Budget("workspace", "shared", LIMIT)]).status()
        assert status.reserved >= ESTIMATE * (10 - granted) - ESTIMATE, status
    assert granted <= 11


def _process_reserver(url: str, schema: str | None) -> int:
    with Ledger(url, schema=schema) as led:
        return _guarded_calls(led, 8)


@pytest.mark.postgres
def test_four_processes_share_one_budget(tmp_path: Path) -> None:
    with target("postgres", tmp_path) as where:
        where.ledger().close()  # create the tables before the race
        args = [(where.url, where.schema)] * 4
        granted = spawn_pool().starmap(_process_reserver, args, chunksize=1)
        assert sum(granted) in (10, 11)
        with where.ledger() as led:
            _check_overshoot(led, sum(granted))
