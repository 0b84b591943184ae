"""Circuit breakers: the state machine (shared by every store), and the in-memory store.

:class:`BreakerContract` holds the behaviour every store must show; ``test_breaker_redis``
runs it again against Redis. Time is a :class:`FakeClock`, so nothing sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from polyvox.router.breaker import (
    BreakerBoard,
    BreakerConfig,
    BreakerState,
    BreakerStatus,
    MemoryBreakerStore,
)

Factory = Callable[..., BreakerBoard]


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


CONFIG = BreakerConfig(failure_threshold=3, window_s=10.0, reset_timeout_s=30.0)


class BreakerContract:
    """The state machine, written once; subclasses provide the ``make`` fixture.

    ``make(config=CONFIG)`` returns a board on an empty store driven by ``self.clock``.
    """

    clock: FakeClock

    def _open(self, board: BreakerBoard, name: str = "a") -> None:
        for _ in range(board.config.failure_threshold):
            board.record_failure(name)
        assert board.state(name) is BreakerState.OPEN

    def test_starts_closed(self, make: Factory) -> None:
        board = make()
        assert board.allow("a")
        assert board.available("a")
        assert board.state("a") is BreakerState.CLOSED
        assert board.status("a") == BreakerStatus(BreakerState.CLOSED, 0)

    def test_opens_at_the_threshold_and_fails_fast(self, make: Factory) -> None:
        board = make()
        board.record_failure("a")
        board.record_failure("a")
        assert board.state("a") is BreakerState.CLOSED
        assert board.status("a").failures == 2
        assert board.allow("a")
        board.record_failure("a")
        assert board.state("a") is BreakerState.OPEN
        assert [board.allow("a") for _ in range(5)] == [False] * 5
        assert not board.available("a")
        status = board.status("a")
        assert status.opened_at == pytest.approx(self.clock.now)
        assert status.retry_in_s == pytest.approx(30.0)
        assert status.failures == 3

    def test_failures_outside_the_window_do_not_count(self, make: Factory) -> None:
        board = make()
        board.record_failure("a")  # t=0
        self.clock.advance(1)
        board.record_failure("a")  # t=1
        self.clock.advance(10.5)
        board.record_failure("a")  # t=11.5: the one at t=0 and t=1 have left the window
        assert board.state("a") is BreakerState.CLOSED
        assert board.status("a").failures == 1
        self.clock.advance(0.5)
        board.record_failure("a")  # t=12: window holds 11.5 and 12
        assert board.state("a") is BreakerState.CLOSED
        self.clock.advance(0.5)
        board.record_failure("a")  # t=12.5: three within 10 s
        assert board.state("a") is BreakerState.OPEN

    def test_successes_do_not_clear_the_window(self, make: Factory) -> None:
        board = make()
        for _ in range(3):
            board.record_failure("a")
            board.record_success("a")
            self.clock.advance(1)
        assert board.state("a") is BreakerState.OPEN

    def test_half_open_probe_after_the_reset_timeout(self, make: Factory) -> None:
        board = make()
        self._open(board)
        self.clock.advance(29.9)
        assert not board.allow("a")
        assert board.status("a").retry_in_s == pytest.approx(0.1)
        self.clock.advance(0.1)
        assert board.status("a").retry_in_s == 0.0
        assert board.state("a") is BreakerState.OPEN  # until someone asks
        assert board.allow("a")  # the probe
        assert board.state("a") is BreakerState.HALF_OPEN
        assert board.status("a").probes_in_flight == 1
        assert not board.allow("a")  # one probe at a time
        assert not board.available("a")

    def test_half_open_grants_at_most_max_calls(self, make: Factory) -> None:
        board = make(BreakerConfig(failure_threshold=1, reset_timeout_s=5, half_open_max_calls=3))
        board.record_failure("a")
        self.clock.advance(5)
        assert [board.allow("a") for _ in range(5)] == [True, True, True, False, False]
        assert board.status("a").probes_in_flight == 3

    def test_probe_success_closes(self, make: Factory) -> None:
        board = make()
        self._open(board)
        self.clock.advance(30)
        assert board.allow("a")
        board.record_success("a")
        assert board.state("a") is BreakerState.CLOSED
        assert board.status("a").failures == 0  # the window starts afresh
        assert all(board.allow("a") for _ in range(3))
        board.record_failure("a")
        board.record_failure("a")
        assert board.state("a") is BreakerState.CLOSED

    def test_probe_failure_reopens(self, make: Factory) -> None:
        board = make()
        self._open(board)
        self.clock.advance(31)
        assert board.allow("a")
        board.record_failure("a")
        assert board.state("a") is BreakerState.OPEN
        assert board.status("a").opened_at == pytest.approx(self.clock.now)
        self.clock.advance(29)
        assert not board.allow("a")  # a full reset timeout again, from the re-opening
        self.clock.advance(1)
        assert board.allow("a")
        board.record_success("a")
        assert board.state("a") is BreakerState.CLOSED

    def test_outcomes_reported_while_open_change_nothing(self, make: Factory) -> None:
        board = make()
        self._open(board)
        opened_at = board.status("a").opened_at
        self.clock.advance(10)
        board.record_success("a")  # a call that started before the breaker opened
        board.record_failure("a")
        status = board.status("a")
        assert status.state is BreakerState.OPEN
        assert status.opened_at == opened_at

    def test_an_unreported_probe_is_granted_again_after_the_timeout(self, make: Factory) -> None:
        board = make()
        self._open(board)
        self.clock.advance(30)
        assert board.allow("a")  # its caller never reports back
        self.clock.advance(29)
        assert not board.allow("a")
        self.clock.advance(1)
        assert board.status("a").probes_in_flight == 0
        assert board.available("a")
        assert board.allow("a")
        assert not board.allow("a")

    def test_available_takes_no_probe(self, make: Factory) -> None:
        board = make()
        self._open(board)
        self.clock.advance(30)
        assert board.available("a")
        assert board.available("a")
        assert board.state("a") is BreakerState.OPEN
        assert board.allow("a")
        assert not board.available("a")

    def test_breakers_are_independent(self, make: Factory) -> None:
        board = make()
        self._open(board, "a")
        board.record_failure("b")
        assert not board.allow("a")
        assert board.allow("b")
        assert board.allow("c")
        assert board.state("b") is BreakerState.CLOSED

    def test_snapshot(self, make: Factory) -> None:
        board = make()
        self._open(board, "a")
        board.record_failure("b")
        snap = board.snapshot()
        assert set(snap) == {"a", "b"}
        assert snap["a"].state is BreakerState.OPEN
        assert snap["a"].retry_in_s == pytest.approx(30.0)
        assert snap["b"] == BreakerStatus(BreakerState.CLOSED, 1)
        named = board.snapshot(["a", "c"])
        assert list(named) == ["a", "c"]
        assert named["c"] == BreakerStatus(BreakerState.CLOSED, 0)

    def test_reset(self, make: Factory) -> None:
        board = make()
        self._open(board, "a")
        self._open(board, "b")
        board.reset("a")
        assert board.state("a") is BreakerState.CLOSED
        assert board.status("a").failures == 0
        assert board.state("b") is BreakerState.OPEN
        board.reset()
        assert board.state("b") is BreakerState.CLOSED
        assert board.snapshot() == {}

    async def test_async_state_machine(self, make: Factory) -> None:
        board = make()
        for _ in range(3):
            assert await board.aallow("a")
            await board.arecord_failure("a")
        assert await board.astate("a") is BreakerState.OPEN
        assert not await board.aallow("a")
        assert not await board.aavailable("a")
        self.clock.advance(30)
        assert await board.aavailable("a")
        assert await board.aallow("a")
        assert not await board.aallow("a")
        assert (await board.astatus("a")).state is BreakerState.HALF_OPEN
        await board.arecord_failure("a")
        assert await board.astate("a") is BreakerState.OPEN
        self.clock.advance(30)
        assert await board.aallow("a")
        await board.arecord_success("a")
        assert await board.astate("a") is BreakerState.CLOSED
        await board.arecord_failure("b")
        assert (await board.asnapshot())["b"].failures == 1
        assert (await board.asnapshot(["c"]))["c"].state is BreakerState.CLOSED
        await board.areset()
        assert await board.asnapshot() == {}


class TestMemoryBreaker(BreakerContract):
    """The contract on the in-memory store."""

    @pytest.fixture
    def make(self) -> Factory:
        self.clock = FakeClock()

        def factory(config: BreakerConfig = CONFIG) -> BreakerBoard:
            return BreakerBoard(config, clock=self.clock)

        return factory


def test_defaults() -> None:
    board = BreakerBoard()
    assert board.config == BreakerConfig(5, 60.0, 30.0, 1)
    assert isinstance(board.store, MemoryBreakerStore)
    assert board.redis_store is None
    assert "MemoryBreakerStore" in repr(board)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("failure_threshold", 0),
        ("window_s", 0),
        ("reset_timeout_s", -1),
        ("half_open_max_calls", 0),
    ],
)
def test_config_is_validated(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        BreakerConfig(**{field: value})  # type: ignore[arg-type]


def test_the_default_clock_is_monotonic_time() -> None:
    board = BreakerBoard(BreakerConfig(failure_threshold=1, reset_timeout_s=0.0))
    board.record_failure("a")
    assert board.state("a") is BreakerState.OPEN
    assert board.allow("a")  # a zero timeout lets the probe through at once
    board.record_success("a")
    assert board.state("a") is BreakerState.CLOSED


def test_a_recovered_breaker_is_forgotten() -> None:
    board = BreakerBoard(BreakerConfig(failure_threshold=1, reset_timeout_s=0.0))
    board.record_failure("a")
    assert board.allow("a")
    board.record_success("a")
    assert board.snapshot() == {}


def _run_together(threads: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(i)`` on ``threads`` threads released at the same moment."""
    barrier = threading.Barrier(threads)

    def task(index: int) -> object:
        barrier.wait()
        return work(index)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(task, range(threads)))


def test_no_failure_is_lost_across_threads() -> None:
    threads, each = 8, 500
    board = BreakerBoard(BreakerConfig(failure_threshold=threads * each + 1, window_s=3600))

    def record(index: int) -> None:
        for _ in range(each):
            board.record_failure("a")
            board.record_success("a")
            board.allow("a")

    _run_together(threads, record)
    assert board.status("a") == BreakerStatus(BreakerState.CLOSED, threads * each)
    board.record_failure("a")
    assert board.state("a") is BreakerState.OPEN


def test_concurrent_failures_reaching_the_threshold_trip_the_breaker() -> None:
    threads, each = 8, 250
    board = BreakerBoard(BreakerConfig(failure_threshold=threads * each, window_s=3600))

    def record(index: int) -> None:
        for _ in range(each):
            board.record_failure("a")

    _run_together(threads, record)  # a lost update would leave it closed
    assert board.state("a") is BreakerState.OPEN


def test_concurrent_probes_are_granted_at_most_max_calls() -> None:
    clock = FakeClock()
    config = BreakerConfig(failure_threshold=1, reset_timeout_s=5, half_open_max_calls=3)
    board = BreakerBoard(config, clock=clock)
    for _ in range(20):  # many rounds: open, wait, let 16 threads race for the probes
        board.record_failure("a")
        clock.advance(5)
        granted = _run_together(16, lambda _: board.allow("a"))
        assert granted.count(True) == 3
        board.record_failure("a")  # a probe failed: open again
        assert board.state("a") is BreakerState.OPEN


def test_threads_on_many_breakers() -> None:
    board = BreakerBoard(BreakerConfig(failure_threshold=50, window_s=3600))
    names = [f"d{i}" for i in range(4)]

    def work(index: int) -> None:
        for step in range(400):
            name = names[(index + step) % len(names)]
            if board.allow(name):
                board.record_failure(name)
            board.snapshot()

    _run_together(8, work)
    snap = board.snapshot(names)
    assert all(status.state is BreakerState.OPEN for status in snap.values())
