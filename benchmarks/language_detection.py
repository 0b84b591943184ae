"""Language detection: accuracy on the Polish test set, latency and build time.

Variants of :class:`polyvox.language.detection.LanguageDetector` over the 300-odd short texts
of ``tests/language/language_samples.py``: the default candidates (Polish, its neighbours
and the big Western European languages) against all 75 of lingua's, with and without the
no-diacritics Polish fallback, and lingua's low-accuracy mode. Polish precision, recall
and F1, the recall on Polish typed without diacritics, accuracy per language, the median
and p90 time of one ``detect()`` (models loaded), and the time to build a detector with
every model loaded in a fresh interpreter.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks.harness import Column, Context, Row, Section, Summary, Target, register

SAMPLES_FILE = Path(__file__).resolve().parents[1] / "tests" / "core" / "language_samples.py"
LANGS = ("pl", "cs", "sk", "ru", "uk", "en", "de", "be")

VARIANTS: dict[str, dict[str, Any]] = {
    "default candidates": {},
    "all 75 languages": {"languages": "all"},
    "default, no fallback": {"polish_fallback": False},
    "all 75, no fallback": {"languages": "all", "polish_fallback": False},
    "default, low accuracy": {"low_accuracy": True},
}
TIMED = ("default candidates", "all 75 languages", "default, low accuracy")

BUILD = (
    "import sys, time; t = time.perf_counter(); "
    "from polyvox.language.detection import LanguageDetector; "
    "LanguageDetector({args}).preload(); print(time.perf_counter() - t)"
)


def _samples() -> ModuleType:
    spec = importlib.util.spec_from_file_location("language_samples", SAMPLES_FILE)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(SAMPLES_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build_ms(kwargs: dict[str, Any], runs: int) -> float:
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", BUILD.format(args=args)],
            check=True,
            capture_output=True,
            text=True,
        )
        times.append(float(out.stdout) * 1e3)
    return Summary.of(times).median


def _score(detector: Any, samples: ModuleType) -> dict[str, float | int | str | None]:
    tp = fp = fn = 0
    hits = dict.fromkeys(samples.BY_LANGUAGE, 0)
    for text, code in samples.SAMPLES:
        got = detector.detect(text)
        hits[code] += got == code
        tp += got == "pl" and code == "pl"
        fp += got == "pl" and code != "pl"
        fn += got != "pl" and code == "pl"
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn)
    plain = sum(detector.detect(t) == "pl" for t in samples.POLISH_PLAIN)
    values: dict[str, float | int | str | None] = {
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "min_pr": min(precision, recall),
        "plain": plain / len(samples.POLISH_PLAIN),
    }
    for code in LANGS:
        values[code] = hits[code] / len(samples.BY_LANGUAGE[code])
    return values


def _latency(detector: Any, texts: list[str], rounds: int) -> Summary:
    for text in texts:  # every model used is loaded before timing
        detector.detect(text)
    clock = time.perf_counter_ns
    times = []
    for _ in range(rounds):
        for text in texts:
            t0 = clock()
            detector.detect(text)
            times.append((clock() - t0) / 1e3)
    return Summary.of(times)


@register("language.detection", "language detection: Polish precision/recall, speed", order=60)
def detection(ctx: Context) -> Section:
    from polyvox.language.detection import LanguageDetector

    samples = _samples()
    texts = [text for text, _ in samples.SAMPLES]
    rounds, builds = ctx.scale(5, 1), ctx.scale(3, 1)
    target = Target("min_pr", ">=", 0.97, "Polish recall and precision each ≥ 0.97")
    rows = []
    for label, kwargs in VARIANTS.items():
        detector = LanguageDetector(**kwargs).preload()
        values = _score(detector, samples)
        if label in TIMED:
            latency = _latency(detector, texts, rounds)
            values |= {"median_us": latency.median, "p90_us": latency.p90}
            values["build_ms"] = _build_ms(kwargs, builds)
        rows.append(Row(label, values, target if label in TIMED[:2] else None))

    ratio = "{:.3f}"
    share = "{:.2f}"
    counts = ", ".join(f"{c} {len(samples.BY_LANGUAGE[c])}" for c in LANGS)
    default, every = rows[0].values, rows[1].values
    return Section(
        name="language.detection",
        title="short-text language detection (lingua) on the Polish test set",
        columns=[
            Column("precision", "PL prec", ratio),
            Column("recall", "PL rec", ratio),
            Column("f1", "PL F1", ratio),
            Column("plain", "PL no-diacr rec", ratio),
            *(Column(code, code, share) for code in LANGS),
            Column("median_us", "median µs"),
            Column("p90_us", "p90 µs"),
            Column("build_ms", "build ms"),
        ],
        rows=rows,
        setup=[
            f"{len(texts)} texts of 3-15 words from tests/language/language_samples.py "
            f"({counts}; Polish: 50 with diacritics, 50 without)",
            "per-language columns: accuracy (share of that language's texts detected right)",
            f"latency: one detect() per text, models preloaded, {rounds} round(s) over the set",
            f"build: LanguageDetector(...).preload() in a fresh interpreter, median of {builds}",
        ],
        notes=[
            "the target is checked on the two main variants (min of precision and recall)",
            "default candidates: " + ", ".join(sorted(LanguageDetector().languages)),
            f"all 75 languages is {_x(every, default, 'median_us')} slower per text and "
            f"{_x(every, default, 'build_ms')} slower to build than the default candidates",
            "no fallback = lingua's answer alone; the fallback only touches ASCII-only text "
            "where Polish and a Latin-script Slavic neighbour are the close candidates",
        ],
    )


def _x(a: dict[str, Any], b: dict[str, Any], key: str) -> str:
    if not a.get(key) or not b.get(key):
        return "?"
    return f"{a[key] / b[key]:.1f}x"
