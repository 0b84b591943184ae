"""Language detection for short texts, built on lingua (the ``language`` extra).

``detect_language("dzien dobry, jak sie masz")`` returns ``"pl"``; codes are ISO 639-1.
Importing this module is free: lingua is imported when a :class:`LanguageDetector` is
created, and its models load on the first detection (1.5 to 2.5 seconds, paid by that
call) or at :func:`preload`, which servers call at start-up, or with
``preload(background=True)``, which loads them in a daemon thread without delaying
start-up (detections made meanwhile wait for it rather than load twice). One detector per
process is shared by every caller and every thread.

Polish typed without diacritics (``"podaj mi haslo do wifi"``) is where lingua is weakest:
its Czech and Slovak models, stripped of ``č š ř``, look much like stripped Polish. On the
test set (``tests/language/language_samples.py``) lingua alone missed 3 of 50 such texts and,
on its held-out texts, took 2 stripped Czech/Slovak greetings for Polish. So for ASCII-only text
whose top candidates are Polish and a Latin-script Slavic neighbour within a factor of 4
(:data:`FALLBACK_RATIO`), the choice between them goes by orthographic evidence that
stripping cannot erase: Polish ``w``, ``sz``, ``cz``, ``rz`` and function words (``sie``,
``jest``, ``i``…) against Czech/Slovak ``v`` and function words (``se``, ``sa``, ``je``,
``a``…); the side with more evidence wins, a tie leaves lingua's answer. With it, Polish
recall on the test set is 0.99 (0.98 without diacritics), precision 1.0, and the held-out
greetings come out right. ``polish_fallback=False`` turns it off.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import lingua

__all__ = [
    "DEFAULT_LANGUAGES",
    "DEFAULT_POLISH_THRESHOLD",
    "FALLBACK_RATIO",
    "LanguageDetector",
    "default_detector",
    "detect_language",
    "detect_language_with_confidence",
    "is_polish",
    "preload",
]

DEFAULT_LANGUAGES: tuple[str, ...] = (
    *("pl", "cs", "sk", "de", "lt", "ru", "uk", "be"),  # Polish and its neighbours
    *("en", "fr", "es", "it", "pt", "nl"),  # the widest-spoken others of Europe
)
"""The default candidates. Each extra one costs time and invites confusions, and lingua can
only answer with a candidate; ``benchmarks/language_detection.py`` compares this set with
all 75 of lingua's languages: the same Polish scores, about 5x less time per text."""

DEFAULT_POLISH_THRESHOLD = 0.2
""":func:`is_polish` default, under the weakest Polish win on the test set (0.25)."""

FALLBACK_RATIO = 4.0
"""The no-diacritics fallback runs when Polish is within this factor of the top language."""

_NEIGHBOURS = frozenset({"pl", "cs", "sk", "sl", "hr", "bs"})


def _words(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


# Frequent words as typed without diacritics, none shared by Polish and Czech/Slovak.
_POLISH_WORDS = _words(
    "w i sie jest ze juz tez jestem jestes bedzie moze mozna gdzie dzien dzieki dziekuje "
    "mnie bardzo tylko lub oraz albo"
)
_CZECH_SLOVAK_WORDS = _words(
    "se sa a je k jsem jsi jste jsme jsou som si sme ste ako aj pre uz prosim dekuji "
    "dakujem mate mas neni"
)
_WORD = re.compile(r"[a-z]+")
_TIE = 1e-12
_INSTALL_HINT = "language detection needs lingua: pip install polyvox-language"


def _require_lingua() -> None:
    """Import lingua, or say how to install it."""
    try:
        import lingua  # noqa: F401
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc


def _polish_evidence(text: str) -> int:
    """Polish orthographic evidence minus Czech/Slovak evidence in ASCII text."""
    low = text.lower()
    words = _WORD.findall(low)
    polish = sum(w in _POLISH_WORDS for w in words) + low.count("w")
    polish += low.count("sz") + low.count("cz") + low.count("rz")
    other = sum(w in _CZECH_SLOVAK_WORDS for w in words) + low.count("v")
    return polish - other


class LanguageDetector:
    """A lingua detector over a fixed set of candidate languages, built once, thread-safe.

    Args:
        languages: ISO 639-1 codes of the candidates (default :data:`DEFAULT_LANGUAGES`),
            or ``"all"`` for every language lingua knows. Fewer candidates are faster and,
            for short texts, more accurate; a language outside the set is reported as
            the most similar candidate.
        low_accuracy: Use lingua's low-accuracy mode: smaller models, twice as fast, worse
            below ~120 characters (on the test set Polish recall falls from 0.99 to 0.95).
        min_relative_distance: Return ``None`` when the two best candidates' confidences
            are closer than this (0 to 0.99; lingua's own measure).
        polish_fallback: Decide between Polish and Czech/Slovak by spelling evidence when
            ASCII-only text leaves lingua unsure (see the module's docstring).
        min_letters: Fewer letters than this is too short to tell: ``None``.

    Raises:
        ImportError: When lingua is not installed.
        ValueError: For an unknown language code or an out-of-range distance.
    """

    def __init__(
        self,
        languages: Iterable[str] | Literal["all"] | None = None,
        *,
        low_accuracy: bool = False,
        min_relative_distance: float = 0.0,
        polish_fallback: bool = True,
        min_letters: int = 2,
    ) -> None:
        _require_lingua()
        from lingua import Language

        if languages == "all":
            self._languages = Language.all()
        else:
            codes = DEFAULT_LANGUAGES if languages is None else tuple(languages)
            self._languages = frozenset(_to_language(code) for code in codes)
        if len(self._languages) < 2:
            raise ValueError("a language detector needs at least two candidate languages")
        if not 0.0 <= min_relative_distance <= 0.99:
            raise ValueError("min_relative_distance must be between 0.0 and 0.99")
        self.low_accuracy = low_accuracy
        self.min_relative_distance = min_relative_distance
        self.polish_fallback = polish_fallback
        self.min_letters = min_letters
        self._lock = threading.Lock()
        self._detector: lingua.LanguageDetector | None = None
        self._preloaded = False
        self._loader: threading.Thread | None = None
        self._loader_lock = threading.Lock()

    @property
    def languages(self) -> frozenset[str]:
        """The candidates' ISO 639-1 codes."""
        return frozenset(_code(lang) for lang in self._languages)

    @property
    def preloaded(self) -> bool:
        """Whether every model is in memory (no detection will pause to load one)."""
        return self._preloaded

    def preload(self, *, background: bool = False) -> LanguageDetector:
        """Load every model now (a second or two, once), so that no detection pauses for it.

        Args:
            background: Load in a daemon thread and return at once. Detections made
                meanwhile wait for that load instead of loading models themselves, so the
                models are loaded once; a second background preload starts nothing.

        Returns:
            This detector.
        """
        if not background:
            self._lingua(preload=True)
            return self
        with self._loader_lock:
            if self._preloaded or (self._loader is not None and self._loader.is_alive()):
                return self
            holding = threading.Event()
            self._loader = threading.Thread(
                target=self._load_in_background,
                args=(holding,),
                name="polyvox-language-preload",
                daemon=True,
            )
            self._loader.start()
        holding.wait()  # the loader holds the lock: detections from now on wait for it
        return self

    def _load_in_background(self, holding: threading.Event) -> None:
        with self._lock, contextlib.suppress(Exception):
            holding.set()
            # On failure nothing is kept: the next detection builds its own, and raises.
            self._build_locked(preload=True)

    def wait_preloaded(self, timeout: float | None = None) -> bool:
        """Wait for a background :meth:`preload` to finish.

        Args:
            timeout: The most seconds to wait (``None``: as long as it takes).

        Returns:
            Whether every model is now loaded.
        """
        loader = self._loader
        if loader is not None:
            loader.join(timeout)
        return self._preloaded

    def _lingua(self, *, preload: bool = False) -> lingua.LanguageDetector:
        detector = self._detector
        if detector is not None and (self._preloaded or not preload):
            return detector
        with self._lock:
            return self._build_locked(preload=preload)

    def _build_locked(self, *, preload: bool) -> lingua.LanguageDetector:
        """Build lingua's detector unless a good enough one exists; hold ``_lock``."""
        if self._detector is None or (preload and not self._preloaded):
            self._detector = self._build(preload=preload)
            self._preloaded = preload
        return self._detector

    def _build(self, *, preload: bool) -> lingua.LanguageDetector:
        from lingua import LanguageDetectorBuilder

        builder = LanguageDetectorBuilder.from_languages(*self._languages)
        if self.low_accuracy:
            builder = builder.with_low_accuracy_mode()
        if preload:
            builder = builder.with_preloaded_language_models()
        return builder.build()

    def confidences(self, text: str) -> list[tuple[str, float]]:
        """Every candidate's confidence for ``text`` (lingua's, summing to 1), best first.

        Args:
            text: The text.

        Returns:
            ``(code, confidence)`` pairs; empty when the text has too few letters.
        """
        if sum(ch.isalpha() for ch in text) < max(self.min_letters, 1):
            return []
        values = self._lingua().compute_language_confidence_values(text)
        return [(_code(v.language), v.value) for v in values]

    def detect_with_confidence(self, text: str) -> tuple[str | None, float]:
        """The language of ``text`` and lingua's confidence in it.

        Args:
            text: The text.

        Returns:
            ``(code, confidence)``, or ``(None, 0.0)`` when unsure: no or too few letters,
            no candidate fits, or the best two are closer than ``min_relative_distance``.
            When the Polish fallback overrules lingua, the chosen language takes the
            confidence lingua gave its own first choice.
        """
        ranked = self.confidences(text)
        if not ranked or ranked[0][1] <= 0.0:
            return None, 0.0
        (top, value), runner_up = ranked[0], ranked[1][1] if len(ranked) > 1 else 0.0
        if self.polish_fallback and text.isascii() and top in _NEIGHBOURS:
            polish = dict(ranked).get("pl", 0.0)
            if polish > 0.0 and polish * FALLBACK_RATIO >= value:
                evidence = _polish_evidence(text)
                if top != "pl" and evidence > 0:
                    return "pl", value
                if top == "pl" and evidence < 0:
                    return ranked[1][0], value
        if value - runner_up < max(self.min_relative_distance, _TIE):
            return None, 0.0
        return top, value

    def detect(self, text: str) -> str | None:
        """The ISO 639-1 code (``"pl"``) of the language of ``text``, or ``None`` if unsure."""
        return self.detect_with_confidence(text)[0]

    def __repr__(self) -> str:
        codes = ",".join(sorted(self.languages))
        return f"LanguageDetector(languages={codes!r}, low_accuracy={self.low_accuracy})"


def _to_language(code: str) -> lingua.Language:
    from lingua import IsoCode639_1, Language

    try:
        return Language.from_iso_code_639_1(IsoCode639_1.from_str(code.strip().lower()))
    except ValueError:
        raise ValueError(f"lingua does not know the language {code!r}") from None


def _code(language: lingua.Language) -> str:
    return language.iso_code_639_1.name.lower()


_default: LanguageDetector | None = None
_default_lock = threading.Lock()


def default_detector() -> LanguageDetector:
    """The process-wide detector over :data:`DEFAULT_LANGUAGES`, created on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = LanguageDetector()
    return _default


def preload(
    detector: LanguageDetector | None = None, *, background: bool = False
) -> LanguageDetector:
    """Load every model now, so that no request pays for it (call at server start-up).

    Without it, the first detection loads the models it needs: about 1.5 to 2.5 seconds
    (more on a busy machine), paid by whichever request comes first.

    Args:
        detector: The detector to load (default: :func:`default_detector`).
        background: Load in a daemon thread and return at once (see
            :meth:`LanguageDetector.preload`): start-up is not delayed, and a detection
            made before the load ends waits for it rather than loading again.

    Returns:
        The detector (loaded, or loading in the background).
    """
    return (detector or default_detector()).preload(background=background)


def detect_language(text: str, *, detector: LanguageDetector | None = None) -> str | None:
    """Detect the language of a short text.

    Args:
        text: The text.
        detector: The detector to use (default: :func:`default_detector`).

    Returns:
        An ISO 639-1 code (``"pl"``, ``"en"``, ``"cs"``…), or ``None`` when unsure.
    """
    return (detector or default_detector()).detect(text)


def detect_language_with_confidence(
    text: str, *, detector: LanguageDetector | None = None
) -> tuple[str | None, float]:
    """Detect the language of a short text, with lingua's confidence (0 to 1).

    Args:
        text: The text.
        detector: The detector to use (default: :func:`default_detector`).

    Returns:
        ``(code, confidence)``, or ``(None, 0.0)`` when unsure.
    """
    return (detector or default_detector()).detect_with_confidence(text)


def is_polish(
    text: str,
    *,
    threshold: float = DEFAULT_POLISH_THRESHOLD,
    detector: LanguageDetector | None = None,
) -> bool:
    """Whether ``text`` is Polish (with or without diacritics).

    Args:
        text: The text.
        threshold: The least confidence to accept; confidences shrink as candidates are
            added, so raise it only for small candidate sets.
        detector: The detector to use (default: :func:`default_detector`).

    Returns:
        True when Polish is detected with at least ``threshold`` confidence.
    """
    code, confidence = detect_language_with_confidence(text, detector=detector)
    return code == "pl" and confidence >= threshold
