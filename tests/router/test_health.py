"""Active health checks against the emulator: probes, breakers opened and healed by probes."""

from __future__ import annotations

import asyncio
import threading

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from polyvox.openai import ChatOpenAI
from polyvox.router.breaker import BreakerBoard, BreakerConfig, BreakerState
from polyvox.router.deployment import Deployment
from polyvox.router.health import HealthChecker, HealthResult
from polyvox.testing import Emulator, Fault
from tests.router.test_breaker import FakeClock

CONFIG = BreakerConfig(failure_threshold=2, window_s=60, reset_timeout_s=30)


def _deployment(emulator: Emulator, model: str) -> Deployment:
    chat = ChatOpenAI(
        model=model, api_key="sk-test", base_url=emulator.openai_base_url, max_retries=0
    )
    return Deployment.of(chat, name=model)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def board(clock: FakeClock) -> BreakerBoard:
    return BreakerBoard(CONFIG, clock=clock)


@pytest.fixture
def checker(emulator: Emulator, board: BreakerBoard) -> HealthChecker:
    deployments = [_deployment(emulator, "healthy"), _deployment(emulator, "broken")]
    return HealthChecker(deployments, board, interval_s=0.01, timeout_s=60)


def _models(emulator: Emulator) -> list[str]:
    return [request.json["model"] for request in emulator.requests]


async def test_a_round_probes_every_deployment_with_one_token(
    emulator: Emulator, checker: HealthChecker, board: BreakerBoard
) -> None:
    emulator.fail(Fault(status=503), times=None, model="broken")
    results = await checker.acheck_once()
    assert set(results) == {"healthy", "broken"}
    healthy, broken = results["healthy"], results["broken"]
    assert healthy.ok
    assert healthy.error is None
    assert healthy.state is BreakerState.CLOSED
    assert healthy.latency_s is not None
    assert healthy.latency_s > 0
    assert not broken.ok
    assert not broken.skipped
    assert broken.error is not None
    assert "503" in broken.error
    assert board.status("broken").failures == 1
    assert board.status("healthy").failures == 0
    assert sorted(_models(emulator)) == ["broken", "healthy"]
    assert all(r.json["max_completion_tokens"] == 1 for r in emulator.requests)
    assert all(r.json["messages"][-1]["content"] == "ping" for r in emulator.requests)
    assert checker.results == results
    assert checker.rounds == 1


async def test_failed_probes_open_the_breaker_then_it_is_skipped(
    emulator: Emulator, checker: HealthChecker, board: BreakerBoard
) -> None:
    emulator.fail(Fault(status=503), times=None, model="broken")
    await checker.acheck_once()
    results = await checker.acheck_once()
    assert results["broken"].state is BreakerState.OPEN
    assert board.state("broken") is BreakerState.OPEN
    assert _models(emulator).count("broken") == 2

    results = await checker.acheck_once()  # open and not yet due: not probed
    assert results["broken"] == HealthResult("broken", False, BreakerState.OPEN, skipped=True)
    assert results["healthy"].ok
    assert _models(emulator).count("broken") == 2
    assert _models(emulator).count("healthy") == 3


async def test_a_probe_past_the_reset_timeout_heals_the_breaker(
    emulator: Emulator, checker: HealthChecker, board: BreakerBoard, clock: FakeClock
) -> None:
    emulator.fail(Fault(status=503), times=2, model="broken")
    await checker.acheck_once()
    await checker.acheck_once()
    assert board.state("broken") is BreakerState.OPEN
    clock.advance(30)  # the deployment has healed meanwhile (the fault was used up)
    results = await checker.acheck_once()
    assert results["broken"].ok
    assert results["broken"].state is BreakerState.CLOSED
    assert board.allow("broken")
    assert _models(emulator).count("broken") == 3


async def test_a_failed_half_open_probe_reopens(
    emulator: Emulator, checker: HealthChecker, board: BreakerBoard, clock: FakeClock
) -> None:
    emulator.fail(Fault(status=503), times=None, model="broken")
    await checker.acheck_once()
    await checker.acheck_once()
    opened_at = board.status("broken").opened_at
    clock.advance(31)
    results = await checker.acheck_once()
    assert not results["broken"].ok
    assert results["broken"].state is BreakerState.OPEN
    assert board.status("broken").opened_at == opened_at + 31  # type: ignore[operator]


def test_sync_round(emulator: Emulator, checker: HealthChecker, board: BreakerBoard) -> None:
    emulator.fail(Fault(status=503), times=None, model="broken")
    first = checker.check_once()
    assert first["healthy"].ok
    assert not first["broken"].ok
    second = checker.check_once()
    assert second["broken"].state is BreakerState.OPEN
    assert checker.check_once()["broken"].skipped
    assert _models(emulator).count("broken") == 2
    assert all(r.json["max_completion_tokens"] == 1 for r in emulator.requests)
    assert checker.rounds == 3


async def test_a_model_without_max_tokens_gets_a_plain_call() -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage("pong"), AIMessage("pong")]))
    deployment = Deployment.of(model, name="fake")
    board = BreakerBoard(CONFIG)
    checker = HealthChecker([deployment], board)
    assert (await checker.acheck_once())["fake"].ok
    assert checker.check_once()["fake"].ok
    with pytest.raises(StopIteration):  # both probes used the model
        next(model.messages)


async def test_a_custom_async_probe(emulator: Emulator, board: BreakerBoard) -> None:
    seen: list[str] = []

    async def probe(deployment: Deployment) -> bool:
        seen.append(deployment.name)
        return deployment.name != "broken"

    deployments = [_deployment(emulator, "healthy"), _deployment(emulator, "broken")]
    checker = HealthChecker(deployments, board, probe=probe)
    results = await checker.acheck_once()
    assert sorted(seen) == ["broken", "healthy"]
    assert results["healthy"].ok
    assert results["broken"].error == "the probe returned False"
    assert board.status("broken").failures == 1
    assert emulator.requests == []  # the custom probe replaced the model call
    with pytest.raises(TypeError, match="acheck_once"):
        checker.check_once()


async def test_a_custom_sync_probe_runs_off_the_event_loop(
    emulator: Emulator, board: BreakerBoard
) -> None:
    threads: list[int] = []

    def probe(deployment: Deployment) -> None:
        threads.append(threading.get_ident())
        if deployment.name == "broken":
            raise ConnectionError("refused")

    deployments = [_deployment(emulator, "healthy"), _deployment(emulator, "broken")]
    checker = HealthChecker(deployments, board, probe=probe)
    results = await checker.acheck_once()
    assert threading.get_ident() not in threads
    assert results["broken"].error == "ConnectionError: refused"
    assert checker.check_once()["healthy"].ok  # the sync round calls it directly
    assert threads[-1] == threading.get_ident()


async def test_a_probe_that_hangs_times_out(board: BreakerBoard, emulator: Emulator) -> None:
    async def hang(deployment: Deployment) -> None:
        await asyncio.sleep(60)

    checker = HealthChecker([_deployment(emulator, "slow")], board, probe=hang, timeout_s=0.05)
    result = (await checker.acheck_once())["slow"]
    assert not result.ok
    assert result.error == "the probe timed out after 0.05 s"
    assert board.status("slow").failures == 1


def _after_rounds(checker: HealthChecker, rounds: int) -> asyncio.Event:
    """An event set once ``checker`` has completed ``rounds`` rounds."""
    done = asyncio.Event()
    seen: list[dict[str, HealthResult]] = []

    def count(results: dict[str, HealthResult]) -> None:
        seen.append(results)
        if len(seen) >= rounds:
            done.set()

    checker.on_round = count
    return done


async def test_background_checks_run_until_stopped(
    emulator: Emulator, checker: HealthChecker, board: BreakerBoard
) -> None:
    emulator.fail(Fault(status=503), times=None, model="broken")
    three = _after_rounds(checker, 3)
    task = checker.start()
    assert checker.start() is task
    assert checker.running
    async with asyncio.timeout(10):
        await three.wait()
    await checker.stop()
    assert task.done()
    assert not checker.running
    assert board.state("broken") is BreakerState.OPEN  # opened by the background probes
    assert checker.results["broken"].skipped
    rounds = checker.rounds
    await asyncio.sleep(0.05)
    assert checker.rounds == rounds  # really stopped
    await checker.stop()  # stopping twice is harmless


async def test_async_with_starts_and_stops(emulator: Emulator, checker: HealthChecker) -> None:
    one = _after_rounds(checker, 1)
    async with checker:
        assert checker.running
        async with asyncio.timeout(10):
            await one.wait()
    assert not checker.running
    assert checker.results["healthy"].ok


async def test_a_failing_round_does_not_end_the_background_task(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    class FlakyBoard(BreakerBoard):
        calls = 0

        async def aallow(self, name: str) -> bool:
            FlakyBoard.calls += 1
            if FlakyBoard.calls == 1:
                raise RuntimeError("store exploded")
            return await super().aallow(name)

    checker = HealthChecker([_deployment(emulator, "healthy")], FlakyBoard(), interval_s=0.01)
    one = _after_rounds(checker, 1)
    async with checker:
        async with asyncio.timeout(10):
            await one.wait()
    assert checker.results["healthy"].ok
    assert "health check round failed" in caplog.text


def test_start_needs_a_running_loop(checker: HealthChecker) -> None:
    with pytest.raises(RuntimeError):
        checker.start()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"interval_s": 0}, "interval_s"), ({"timeout_s": 0}, "timeout_s")],
)
def test_options_are_validated(board: BreakerBoard, kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        HealthChecker([], board, **kwargs)  # type: ignore[arg-type]


def test_deployment_names_must_be_unique(emulator: Emulator, board: BreakerBoard) -> None:
    twice = [_deployment(emulator, "same"), _deployment(emulator, "same")]
    with pytest.raises(ValueError, match="unique"):
        HealthChecker(twice, board)
