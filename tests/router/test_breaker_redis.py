"""Circuit breakers in Redis: the same state machine, shared between processes, failing open.

Redis runs for real at ``POLYVOX_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``);
each test uses its own key prefix, deleted afterwards.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from polyvox.router.breaker import BreakerBoard, BreakerConfig, BreakerState
from polyvox.router.redis_state import RedisBreakerStore
from tests.router.conftest import REDIS_URL
from tests.router.test_breaker import CONFIG, BreakerContract, Factory, FakeClock

UNREACHABLE = "redis://127.0.0.1:1/0"


@pytest.mark.redis
class TestRedisBreaker(BreakerContract):
    """The contract on the Redis store (the board's clock is a fake: timestamps are data)."""

    @pytest.fixture
    def make(self, prefix: str) -> Iterator[Factory]:
        self.clock = FakeClock(1_700_000_000.0)
        boards: list[BreakerBoard] = []

        def factory(config: BreakerConfig = CONFIG) -> BreakerBoard:
            board = BreakerBoard.redis(REDIS_URL, prefix=prefix, config=config, clock=self.clock)
            boards.append(board)
            return board

        yield factory
        for board in boards:
            assert board.redis_store is not None
            assert board.redis_store.reachable  # no test passed by failing open
            board.redis_store.close()


@pytest.mark.redis
def test_keys_live_under_the_prefix_and_expire(server: redis.Redis, prefix: str) -> None:
    clock = FakeClock(1_700_000_000.0)
    config = BreakerConfig(failure_threshold=2, window_s=20, reset_timeout_s=30)
    board = BreakerBoard.redis(REDIS_URL, prefix=prefix, config=config, clock=clock, ttl_s=600)
    board.record_failure("a")
    keys = {key.decode() for key in server.scan_iter(match=prefix + "*")}
    assert keys == {f"{prefix}fail:a", f"{prefix}names"}
    assert 0 < server.pttl(f"{prefix}fail:a") <= 20_000  # failures live as long as the window
    board.record_failure("a")
    assert board.state("a") is BreakerState.OPEN
    assert server.pttl(f"{prefix}state:a") > 20_000  # open state outlives the window
    assert all(server.pttl(key) > 0 for key in server.scan_iter(match=prefix + "*"))
    assert len(list(server.scan_iter(match="*" + prefix.rstrip(":") + "*"))) == 3
    clock.advance(30)
    assert board.allow("a")
    board.record_success("a")
    assert list(server.scan_iter(match=prefix + "*")) == []  # a closed breaker leaves nothing
    assert board.redis_store is not None
    board.redis_store.close()


@pytest.mark.redis
def test_snapshot_forgets_breakers_whose_keys_expired(server: redis.Redis, prefix: str) -> None:
    board = BreakerBoard.redis(REDIS_URL, prefix=prefix, config=CONFIG)
    board.record_failure("a")
    assert set(board.snapshot()) == {"a"}
    server.delete(f"{prefix}fail:a")  # as its expiry would
    assert board.snapshot() == {}
    assert not server.sismember(f"{prefix}names", "a")


@pytest.mark.redis
def test_stores_with_different_prefixes_do_not_meet(prefix: str) -> None:
    config = BreakerConfig(failure_threshold=1)
    one = BreakerBoard.redis(REDIS_URL, prefix=prefix + "one:", config=config)
    two = BreakerBoard.redis(REDIS_URL, prefix=prefix + "two:", config=config)
    one.record_failure("a")
    assert one.state("a") is BreakerState.OPEN
    assert two.state("a") is BreakerState.CLOSED
    two.reset()
    assert one.state("a") is BreakerState.OPEN


# A second process: applies each action read from stdin to a Redis board, prints the answer.
CHILD = """
import json, sys
from polyvox.router.breaker import BreakerBoard, BreakerConfig
url, prefix, config = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
board = BreakerBoard.redis(url, prefix=prefix, config=BreakerConfig(**config))
for line in sys.stdin:
    verb, name = line.split()
    if verb == "fail":
        answer = board.record_failure(name)
    elif verb == "ok":
        answer = board.record_success(name)
    elif verb == "allow":
        answer = board.allow(name)
    else:
        answer = board.state(name).value
    assert board.redis_store.reachable
    print(json.dumps(answer), flush=True)
"""


class OtherProcess:
    """A separate Python process holding its own board on the same Redis prefix."""

    def __init__(self, prefix: str, config: BreakerConfig) -> None:
        settings = {
            "failure_threshold": config.failure_threshold,
            "window_s": config.window_s,
            "reset_timeout_s": config.reset_timeout_s,
            "half_open_max_calls": config.half_open_max_calls,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, REDIS_URL, prefix, json.dumps(settings)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def __call__(self, verb: str, name: str) -> object:
        """Have the other process do ``verb`` on breaker ``name``; return its answer."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(f"{verb} {name}\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            _, err = self.process.communicate(timeout=10)
            pytest.fail(f"the other process died: {err}")
        return json.loads(line)

    def close(self) -> None:
        """End the process (closing its stdin ends its loop) and check it exited cleanly."""
        _, err = self.process.communicate(timeout=10)
        assert self.process.returncode == 0, err

    def kill(self) -> None:
        """Stop the process if a failed test left it running."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=10)


@pytest.fixture
def spawn() -> Iterator[Callable[[str, BreakerConfig], OtherProcess]]:
    started: list[OtherProcess] = []

    def start(prefix: str, config: BreakerConfig) -> OtherProcess:
        started.append(OtherProcess(prefix, config))
        return started[-1]

    yield start
    for process in started:
        process.kill()


@pytest.mark.redis
def test_two_processes_see_the_same_state(
    prefix: str, spawn: Callable[[str, BreakerConfig], OtherProcess]
) -> None:
    config = BreakerConfig(failure_threshold=3, window_s=60, reset_timeout_s=1.0)
    board = BreakerBoard.redis(REDIS_URL, prefix=prefix, config=config)
    other = spawn(prefix, config)
    assert other.process.pid != os.getpid()

    # Failures counted in both processes open the breaker for both.
    board.record_failure("a")
    other("fail", "a")
    assert board.state("a") is BreakerState.CLOSED
    other("fail", "a")
    assert board.state("a") is BreakerState.OPEN
    assert not board.allow("a")
    assert other("state", "a") == "open"

    # Failures here open a breaker there; the other process fails fast on it.
    for _ in range(3):
        board.record_failure("b")
    assert other("state", "b") == "open"
    assert other("allow", "b") is False

    # After the timeout the other process takes the only probe: none is left here.
    time.sleep(1.0)
    assert other("allow", "a") is True
    assert board.state("a") is BreakerState.HALF_OPEN
    assert not board.allow("a")

    # Its probe succeeds: the breaker is closed for both.
    other("ok", "a")
    assert board.state("a") is BreakerState.CLOSED
    assert board.allow("a")
    assert other("allow", "a") is True

    # Our probe on the other breaker fails: it re-opens for both.
    assert board.allow("b")
    assert other("state", "b") == "half_open"
    assert other("allow", "b") is False
    board.record_failure("b")
    assert other("state", "b") == "open"
    other.close()


@pytest.mark.redis
async def test_async_and_sync_clients_share_state(prefix: str) -> None:
    clock = FakeClock(1_700_000_000.0)
    writer = BreakerBoard.redis(REDIS_URL, prefix=prefix, config=CONFIG, clock=clock)
    reader = BreakerBoard.redis(REDIS_URL, prefix=prefix, config=CONFIG, clock=clock)
    for _ in range(3):
        await writer.arecord_failure("a")
    assert reader.state("a") is BreakerState.OPEN
    clock.advance(30)
    assert reader.allow("a")
    assert not await writer.aallow("a")
    await writer.arecord_success("a")
    assert reader.state("a") is BreakerState.CLOSED
    for board in (writer, reader):
        assert board.redis_store is not None
        await board.redis_store.aclose()
        board.redis_store.close()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_an_unreachable_server_fails_open(caplog: pytest.LogCaptureFixture) -> None:
    board = BreakerBoard.redis(UNREACHABLE, config=BreakerConfig(failure_threshold=1))
    with caplog.at_level(logging.INFO, logger="polyvox.router"):
        board.record_failure("a")
        board.record_failure("a")
        assert board.allow("a")
        assert board.available("a")
        assert board.state("a") is BreakerState.CLOSED
        assert board.snapshot() == {}
    warnings = _warnings(caplog)
    assert len(warnings) == 1
    assert "127.0.0.1:1" in warnings[0]
    assert board.redis_store is not None
    assert not board.redis_store.reachable


def test_retries_during_an_outage_warn_once(caplog: pytest.LogCaptureFixture) -> None:
    # retry_interval_s=0: every call tries the server again, and still only one warning.
    board = BreakerBoard.redis(UNREACHABLE, retry_interval_s=0)
    with caplog.at_level(logging.INFO, logger="polyvox.router"):
        for _ in range(5):
            assert board.allow("a")
            board.record_failure("a")
            board.record_success("a")
    assert len(_warnings(caplog)) == 1


async def test_an_unreachable_server_fails_open_async(caplog: pytest.LogCaptureFixture) -> None:
    board = BreakerBoard.redis(
        UNREACHABLE, config=BreakerConfig(failure_threshold=1), retry_interval_s=0
    )
    with caplog.at_level(logging.INFO, logger="polyvox.router"):
        await board.arecord_failure("a")
        await board.arecord_success("a")
        assert await board.aallow("a")
        assert await board.aavailable("a")
        assert await board.astate("a") is BreakerState.CLOSED
        assert await board.asnapshot() == {}
    assert len(_warnings(caplog)) == 1
    assert board.redis_store is not None
    await board.redis_store.aclose()


def test_reset_is_never_silently_dropped() -> None:
    board = BreakerBoard.redis(UNREACHABLE)
    with pytest.raises(redis.ConnectionError):
        board.reset()


@pytest.mark.redis
def test_each_outage_warns_once_and_recovery_is_noted(
    prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisBreakerStore(UNREACHABLE, prefix=prefix, retry_interval_s=0)
    board = BreakerBoard(BreakerConfig(failure_threshold=1), store=store)
    with caplog.at_level(logging.INFO, logger="polyvox.router"):
        board.record_failure("a")
        assert board.state("a") is BreakerState.CLOSED
        store.close()
        store.url = REDIS_URL  # the server comes back
        board.record_failure("a")
        assert board.state("a") is BreakerState.OPEN
        assert store.reachable
        store.close()
        store.url = UNREACHABLE  # and goes away again
        assert board.allow("a")
    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in messages] == [logging.WARNING, logging.INFO, logging.WARNING]
    assert "available again" in messages[1][1]


def test_the_url_password_is_not_shown() -> None:
    store = RedisBreakerStore("redis://user:s3cret@127.0.0.1:1/0")
    assert "s3cret" not in repr(store)
    assert "***" in repr(store)


def test_store_options_are_validated() -> None:
    with pytest.raises(ValueError, match="prefix"):
        RedisBreakerStore(prefix="")
    with pytest.raises(ValueError, match="ttl_s"):
        RedisBreakerStore(ttl_s=0)


def test_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYVOX_REDIS_URL", "redis://example.invalid:6390/2")
    assert RedisBreakerStore().url == "redis://example.invalid:6390/2"
    monkeypatch.delenv("POLYVOX_REDIS_URL")
    assert RedisBreakerStore().url == "redis://127.0.0.1:6379/0"
