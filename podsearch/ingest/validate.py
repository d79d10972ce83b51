"""The values every reader's Episode must hold, checked in one place after every reader
(``readers.read_text`` calls ``validate_episode``), so readers added later are covered too.

Times are finite, non-negative and below ``MAX_SECONDS``; a time that is not is a reason to
refuse the file (a stored ``Infinity`` broke ``ask`` and ``export`` later). Text is valid
Unicode: lone surrogates (from JSON ``\\ud800`` escapes) are replaced, as Parquet and
UTF-8 output cannot hold them. Speaker names are bounded in length.
"""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path

from ..core.errors import ReaderError
from ..core.models import Episode
from ..core.text import valid_unicode

MAX_SECONDS = 48 * 3600  # no podcast episode is two days long; a bigger time is a bad value
MAX_SPEAKER_CHARS = 200
_TEXT_FIELDS = ("title", "podcast", "published", "url", "audio_url", "description", "guid")


clean_text = valid_unicode  # lone surrogates become U+FFFD


def check_time(value: object, what: str) -> float | None:
    """A valid time in seconds, or None for no time; ValueError saying why it is not valid."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} is not a number ({type(value).__name__})")
    try:
        t = float(value)
    except OverflowError:
        raise ValueError(f"{what} is too large to be a time") from None
    if not math.isfinite(t):
        raise ValueError(f"{what} is {t} (not a finite number)")
    if t < 0:
        raise ValueError(f"{what} is negative ({t:g} s)")
    if t >= MAX_SECONDS:
        raise ValueError(f"{what} is {t:g} s, beyond the {MAX_SECONDS // 3600} h limit")
    return t


def _speaker(name: str | None, what: str) -> str | None:
    if name is None:
        return None
    name = clean_text(str(name))
    if len(name) > MAX_SPEAKER_CHARS:
        raise ValueError(
            f"{what} has a speaker name of {len(name)} characters (at most {MAX_SPEAKER_CHARS})"
        )
    return name


def validate_episode(episode: Episode, path: str | Path) -> Episode:
    """``episode`` with its text made valid Unicode, or ReaderError naming the first bad
    value (a non-finite, negative or huge time, an overlong speaker name)."""
    try:
        _validate(episode)
    except ValueError as e:
        raise ReaderError(path, f"invalid value: {e}") from None
    return episode


def _validate(ep: Episode) -> None:
    for name in _TEXT_FIELDS:
        value = getattr(ep, name)
        if isinstance(value, str):
            setattr(ep, name, clean_text(value))
    for person in ep.people:
        person.name = _speaker(person.name, "a person") or ""
        if person.role is not None:
            person.role = clean_text(str(person.role))[:MAX_SPEAKER_CHARS]
    ep.chapters = [
        (check_time(start, f"chapter {i} start") or 0.0, clean_text(str(title)))
        for i, (start, title) in enumerate(ep.chapters)
    ]
    for i, turn in enumerate(ep.turns):
        what = f"turn {i + 1}"
        turn.start = check_time(turn.start, f"{what} start")
        turn.end = check_time(turn.end, f"{what} end")
        turn.text = clean_text(turn.text)
        turn.speaker = _speaker(turn.speaker, what)
        for j, cue in enumerate(turn.cues):
            cue.start = check_time(cue.start, f"{what} cue {j + 1} start")
            cue.end = check_time(cue.end, f"{what} cue {j + 1} end")
            cue.text = clean_text(cue.text)
    # Any other string field a reader may add later (a new Episode field) is cleaned too.
    for f in fields(ep):
        value = getattr(ep, f.name)
        if isinstance(value, str) and f.name not in _TEXT_FIELDS and f.name != "id":
            setattr(ep, f.name, clean_text(value))
