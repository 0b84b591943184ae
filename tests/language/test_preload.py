"""Preloading the detector's models, in the foreground or in a background thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from polyvox.language import detection
from polyvox.language.detection import LanguageDetector, default_detector, preload

POLISH = "Gdzie jest najbliższa apteka?"
PLAIN = "gdzie jest najblizsza apteka"
CZECH = "Kde je nejbližší lékárna?"


class Builds:
    """Counts lingua builds; each waits for ``gate`` (to hold a load open on purpose)."""

    def __init__(self) -> None:
        self.calls: list[bool] = []  # the preload flag of each build
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()
        self._lock = threading.Lock()


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[Builds]:
    counter = Builds()
    real = LanguageDetector._build

    def counted(self: LanguageDetector, *, preload: bool) -> Any:
        with counter._lock:
            counter.calls.append(preload)
        counter.started.set()
        assert counter.gate.wait(60)
        return real(self, preload=preload)

    monkeypatch.setattr(LanguageDetector, "_build", counted)
    yield counter
    counter.gate.set()


def _small() -> LanguageDetector:
    return LanguageDetector(["pl", "cs", "en"])


def test_detection_after_a_background_preload(builds: Builds) -> None:
    detector = _small()
    assert detector.preload(background=True) is detector
    assert detector.detect(POLISH) == "pl"
    assert detector.wait_preloaded(60)
    assert detector.preloaded
    assert (detector.detect(PLAIN), detector.detect(CZECH)) == ("pl", "cs")
    assert builds.calls == [True], "one load, with every model"


def test_the_background_preload_returns_at_once_and_detections_wait_for_it(
    builds: Builds,
) -> None:
    builds.gate.clear()  # the load cannot finish until the test says so
    detector = _small()
    detector.preload(background=True)
    assert not detector.preloaded, "returned while the models were still loading"
    assert not detector.wait_preloaded(0.01)
    with ThreadPoolExecutor(8) as pool:
        pending = [pool.submit(detector.detect, text) for text in [POLISH, CZECH] * 4]
        assert not any(f.done() for f in pending), "they wait for the load"
        builds.gate.set()
        found = [f.result(timeout=60) for f in pending]
    assert found == ["pl", "cs"] * 4
    assert builds.calls == [True], "the detections did not load the models again"


def test_concurrent_first_detections_load_once(builds: Builds) -> None:
    builds.gate.clear()
    detector = _small()
    with ThreadPoolExecutor(8) as pool:
        pending = [pool.submit(detector.detect, POLISH) for _ in range(8)]
        assert builds.started.wait(60)
        builds.gate.set()
        assert [f.result(timeout=60) for f in pending] == ["pl"] * 8
    assert builds.calls == [False]


def test_a_second_background_preload_starts_nothing(builds: Builds) -> None:
    builds.gate.clear()
    detector = _small()
    detector.preload(background=True)
    detector.preload(background=True)
    assert len([t for t in threading.enumerate() if t.name == "polyvox-language-preload"]) >= 1
    builds.gate.set()
    assert detector.wait_preloaded(60)
    detector.preload(background=True)
    detector.preload()
    assert builds.calls == [True]


def test_a_failed_background_load_leaves_detection_to_load_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = LanguageDetector._build
    failures = iter([RuntimeError("disk full")])

    def flaky(self: LanguageDetector, *, preload: bool) -> Any:
        if error := next(failures, None):
            raise error
        return real(self, preload=preload)

    monkeypatch.setattr(LanguageDetector, "_build", flaky)
    detector = _small()
    detector.preload(background=True)
    assert not detector.wait_preloaded(60)
    assert detector.detect(POLISH) == "pl"
    detector.preload(background=True)  # may be tried again
    assert detector.wait_preloaded(60)


def test_the_module_preload_can_run_in_the_background() -> None:
    loaded = preload(background=True)
    assert loaded is default_detector()
    assert loaded.wait_preloaded(120)
    assert detection.detect_language(POLISH) == "pl"
