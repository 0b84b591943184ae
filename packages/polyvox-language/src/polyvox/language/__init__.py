"""polyvox.language: language detection tuned for Polish, and Polish⇄English translation.

``detect_language("dzien dobry, jak sie masz")`` returns ``"pl"``
(:mod:`polyvox.language.detection`, built on lingua); :func:`polish_to_english` and
:func:`english_to_polish` translate with any LangChain chat model (Bielik, say), and
:func:`ensure_language` translates only what is not already in the wanted language
(:mod:`polyvox.language.translation`). The router's language routing and
``polyvox.ollama`` (for Bielik users) use them. Names load lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from polyvox.core.lazy import lazy_exports

if TYPE_CHECKING:
    from polyvox.language.detection import (
        DEFAULT_LANGUAGES,
        DEFAULT_POLISH_THRESHOLD,
        FALLBACK_RATIO,
        LanguageDetector,
        default_detector,
        detect_language,
        detect_language_with_confidence,
        is_polish,
        preload,
    )
    from polyvox.language.translation import (
        AUTO,
        LANGUAGE_NAMES,
        TranslationInput,
        english_to_polish,
        ensure_language,
        language_name,
        polish_to_english,
        translation_prompt,
        translator,
    )

_DETECTION = (
    "DEFAULT_LANGUAGES",
    "DEFAULT_POLISH_THRESHOLD",
    "FALLBACK_RATIO",
    "LanguageDetector",
    "default_detector",
    "detect_language",
    "detect_language_with_confidence",
    "is_polish",
    "preload",
)
_TRANSLATION = (
    "AUTO",
    "LANGUAGE_NAMES",
    "TranslationInput",
    "english_to_polish",
    "ensure_language",
    "language_name",
    "polish_to_english",
    "translation_prompt",
    "translator",
)
_EXPORTS = {
    **dict.fromkeys(_DETECTION, "polyvox.language.detection"),
    **dict.fromkeys(_TRANSLATION, "polyvox.language.translation"),
}

__all__ = [
    "AUTO",
    "DEFAULT_LANGUAGES",
    "DEFAULT_POLISH_THRESHOLD",
    "FALLBACK_RATIO",
    "LANGUAGE_NAMES",
    "LanguageDetector",
    "TranslationInput",
    "default_detector",
    "detect_language",
    "detect_language_with_confidence",
    "english_to_polish",
    "ensure_language",
    "is_polish",
    "language_name",
    "polish_to_english",
    "preload",
    "translation_prompt",
    "translator",
]

__version__ = "0.1.0"
"""This distribution's version (the same in every polyvox package of a release)."""

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
