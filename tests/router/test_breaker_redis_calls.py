"""Redis breakers on the router's call path: round trips per call, whatever the deployments.

The filter reads every candidate's breaker in one script call; ``allow`` is one more; a
success is sent only when it can close a half-open breaker. Round trips are counted on
the store's own clients. Redis runs for real at ``POLYVOX_TEST_REDIS_URL``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from polyvox.router.breaker import BreakerBoard, BreakerConfig, BreakerState
from polyvox.router.deployment import Deployment
from polyvox.router.redis_state import RedisBreakerStore
from polyvox.router.router import Router
from polyvox.testing import Emulator, Fault
from tests.router.conftest import REDIS_URL, OpenAIFactory, called
from tests.router.test_breaker import CONFIG, FakeClock

pytestmark = pytest.mark.redis


class Trips:
    """Counts the commands a client sends (each is one round trip: no pipelines here)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def watch(self, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """Count every command ``client`` (sync or async) sends from now on."""
        original = client.execute_command

        if isinstance(client, redis.Redis):

            def counted(*args: Any, **options: Any) -> Any:
                self.sent.append(str(args[0]))
                return original(*args, **options)

            monkeypatch.setattr(client, "execute_command", counted)
        else:

            async def acounted(*args: Any, **options: Any) -> Any:
                self.sent.append(str(args[0]))
                return await original(*args, **options)

            monkeypatch.setattr(client, "execute_command", acounted)

    def take(self) -> list[str]:
        """The commands sent since the last take."""
        sent, self.sent = self.sent, []
        return sent


@pytest.fixture
def board(prefix: str) -> Iterator[BreakerBoard]:
    made = BreakerBoard.redis(REDIS_URL, prefix=prefix, config=CONFIG)
    yield made
    assert made.redis_store is not None
    assert made.redis_store.reachable  # nothing passed by failing open
    made.redis_store.close()


def _store(board: BreakerBoard) -> RedisBreakerStore:
    store = board.redis_store
    assert store is not None
    return store


def test_one_read_answers_for_every_breaker(prefix: str) -> None:
    clock = FakeClock(1_700_000_000.0)
    config = BreakerConfig(failure_threshold=1, window_s=10, reset_timeout_s=30)
    board = BreakerBoard.redis(REDIS_URL, prefix=prefix, config=config, clock=clock)
    board.record_failure("open")
    board.record_failure("due")
    board.record_failure("probing")
    clock.advance(30)
    assert board.allow("probing")  # the only probe is out
    board.record_failure("open")  # (a late failure of an open breaker changes nothing)
    board.reset("open")
    board.record_failure("open")  # opened at the current time: 30 s to go
    names = ["closed", "open", "due", "probing", "never-seen"]
    one_by_one = {name: board.available(name) for name in names}
    assert one_by_one == {
        "closed": True,
        "open": False,
        "due": True,
        "probing": False,
        "never-seen": True,
    }
    assert board.available_many(names) == one_by_one
    assert board.state("due") is BreakerState.OPEN  # asking granted no probe
    _store(board).close()


async def test_async_read_matches(board: BreakerBoard) -> None:
    for _ in range(3):
        board.record_failure("b")
    assert await board.aavailable_many(["a", "b"]) == {"a": True, "b": False}
    assert await board.aavailable_many([]) == {}
    await _store(board).aclose()


def test_a_success_on_a_breaker_seen_closed_is_not_sent(
    board: BreakerBoard, monkeypatch: pytest.MonkeyPatch
) -> None:
    trips = Trips()
    trips.watch(_store(board)._sync_client()[0], monkeypatch)
    assert board.allow("a")
    assert len(trips.take()) == 1
    board.record_success("a")
    assert trips.take() == []  # closed a moment ago: it cannot be half-open
    board.record_failure("a")  # the first failure still goes to Redis
    assert len(trips.take()) == 1
    assert board.status("a").failures == 1


def test_a_success_is_sent_once_the_breaker_may_be_half_open(prefix: str) -> None:
    clock = FakeClock(1_700_000_000.0)
    here = BreakerBoard.redis(REDIS_URL, prefix=prefix, config=CONFIG, clock=clock)
    there = BreakerBoard.redis(REDIS_URL, prefix=prefix, config=CONFIG, clock=clock)
    assert here.allow("a")  # seen closed
    for _ in range(3):
        there.record_failure("a")
    clock.advance(29)
    here.record_success("a")  # not sent; it could not have changed anything
    assert here.state("a") is BreakerState.OPEN
    clock.advance(1)  # the reset timeout since "here" saw it closed
    assert there.allow("a")  # the probe
    assert here.state("a") is BreakerState.HALF_OPEN
    here.record_success("a")  # may find it half-open: sent, and it closes
    assert there.state("a") is BreakerState.CLOSED
    for board in (here, there):
        _store(board).close()


def test_our_own_probe_success_closes_the_breaker(board: BreakerBoard) -> None:
    config = BreakerConfig(failure_threshold=1, window_s=10, reset_timeout_s=1.0)
    clock = FakeClock(1_700_000_000.0)
    probing = BreakerBoard(config, store=_store(board), clock=clock)
    assert probing.allow("a")  # seen closed
    probing.record_failure("a")
    assert probing.state("a") is BreakerState.OPEN
    clock.advance(1.0)
    assert probing.allow("a")  # a probe, not "closed": the success must be sent
    probing.record_success("a")
    assert probing.state("a") is BreakerState.CLOSED


def in_order(candidates: Any, request: Any, stats: Any) -> list[Any]:
    """A fixed chain: the deployments in the order given."""
    return list(candidates)


def _fleet(openai_model: OpenAIFactory, board: BreakerBoard) -> Router:
    names = [f"d{i:02d}" for i in range(20)]
    deployments = [Deployment.of(openai_model("gpt-4o-mini"), name=name) for name in names]
    return Router(deployments, strategy=in_order, breakers=board, max_retries=0)


def test_a_sync_call_costs_two_round_trips_with_20_deployments(
    board: BreakerBoard,
    openai_model: OpenAIFactory,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    router = _fleet(openai_model, board)
    for _ in range(3):
        board.record_failure("d00")  # one open breaker: the read must still drop it
    trips = Trips()
    trips.watch(_store(board)._sync_client()[0], monkeypatch)
    for _ in range(3):
        answer = router.invoke("hello")
        assert answer.response_metadata["router"]["deployment"] == "d01"
        assert [c.upper() for c in trips.take()] == ["EVALSHA", "EVALSHA"]  # read, allow
    assert called(emulator) == ["gpt-4o-mini"] * 3
    assert "circuit breaker open" in router.explain("hello").dropped["d00"]


async def test_an_async_call_costs_two_round_trips_with_20_deployments(
    board: BreakerBoard,
    openai_model: OpenAIFactory,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    router = _fleet(openai_model, board)
    for _ in range(3):
        await board.arecord_failure("d00")
    trips = Trips()
    trips.watch(_store(board)._async_client()[0], monkeypatch)
    for _ in range(3):
        answer = await router.ainvoke("hello")
        assert answer.response_metadata["router"]["deployment"] == "d01"
        assert [c.upper() for c in trips.take()] == ["EVALSHA", "EVALSHA"]
    await _store(board).aclose()


def test_a_failed_call_still_reaches_redis(
    board: BreakerBoard,
    openai_model: OpenAIFactory,
    emulator: Emulator,
    prefix: str,
    server: redis.Redis,
) -> None:
    router = _fleet(openai_model, board)
    emulator.fail(Fault(status=500), times=1)
    answer = router.invoke("hello")
    assert answer.response_metadata["router"]["deployment"] == "d01"  # fell back
    assert board.status("d00").failures == 1
    assert server.exists(f"{prefix}fail:d00")
