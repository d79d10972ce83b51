""" "Did you mean": the known names closest to a mistyped one, for error messages."""

from __future__ import annotations

from collections.abc import Iterable

MIN_SCORE = 60  # rapidfuzz WRatio (0-100): below this a "suggestion" is noise


def closest(wanted: str, choices: Iterable[str], limit: int = 3) -> list[str]:
    """Up to ``limit`` of ``choices`` closest to ``wanted`` (case and accents ignored), best
    first; none when nothing is close."""
    from rapidfuzz import fuzz, process

    from .text import fold

    names = list(dict.fromkeys(c for c in choices if c))
    found = process.extract(fold(wanted), [fold(n) for n in names], scorer=fuzz.WRatio, limit=limit)
    return [names[i] for _, score, i in found if score >= MIN_SCORE]


def unknown_message(kind: str, wanted: str, choices: Iterable[str], listing: str) -> str:
    """ "no KIND 'wanted'; closest: A, B (LISTING lists them all)"."""
    choices = list(choices)
    near = closest(wanted, choices)
    hint = f"; closest: {', '.join(near)}" if near else ""
    return f"no {kind} {wanted!r} in this library{hint} ('{listing}' lists them all)"
