"""Helpers shared by the readers: speaker labels, turn building, dates (``core.dates``,
re-exported), promo trailers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ...core.dates import normalize_date as normalize_date  # re-exported for the readers
from ...core.models import EXACT, LABELLED, UNTIMED, Cue, Episode, Turn, episode_id_for

Piece = tuple[str | None, float | None, float | None, str]

# First words of "Word:" line openings that are headings or sentences, not speaker names.
NOT_SPEAKERS = set(
    """note notes question answer q a update warning edit source transcript summary chapter
    episode music applause laughter intro outro title date published podcast description
    speakers url link links tags keywords disclaimer sponsor sponsors timestamps tip important
    example caution hint reminder correction context step part lesson ps nb tldr bonus final
    and but so well yes no now here also remember the this that these those it in on at for
    with by of my our your his her their what why how when where who which if then re fwd
    subject to from cc key main bottom first next last one why pros cons result results
    conclusion overview background recap agenda goal problem solution faq""".split()
)
_TITLES = {"dr.", "mr.", "mrs.", "ms.", "prof.", "st.", "jr.", "sr.", "rev."}
_PARTICLES = {"de", "da", "del", "della", "der", "di", "du", "van", "von", "bin", "al", "la", "le"}
_BRACKET_LABEL = re.compile(r"\[([^\[\]\n]{1,40})\]:\s*")
_PLAIN_LABEL = re.compile(r"([^\s:][^:\n]{0,39}):(?:\s+|$)")
_UNKNOWN = {"", "unknown", "unknown speaker", "unidentified", "unidentified speaker", "?"}


def is_name(name: str) -> bool:
    words = name.split()
    if not 1 <= len(words) <= 4 or not words[0][:1].isalpha():
        return False
    if words[0].casefold() in NOT_SPEAKERS and not (len(words) > 1 and name.isupper()):
        return False  # "Note: ..." is a heading; "FIRST MATE:" is a caption's speaker
    for i, w in enumerate(words):
        if w.casefold() in _TITLES or re.fullmatch(r"([A-Z]\.)+", w):
            continue  # "Dr." and initials are the only words allowed a dot
        if i and (w in _PARTICLES or re.fullmatch(r"\d{1,3}", w)):
            continue  # "Ludwig van Beethoven", "Speaker 2"
        if not (w[0].isupper() and re.fullmatch(r"[\w'’-]+", w)):
            return False
    return True


def split_speaker_prefix(text: str) -> tuple[str | None, str]:
    """Split a leading "[Name]:" or "Name:" speaker label off text: (name or None, rest)."""
    s = text.lstrip()
    m = _BRACKET_LABEL.match(s)
    if m and m.group(1).strip() and not re.fullmatch(r"[\d:.,\s]+", m.group(1)):
        if m.group(1).split()[0].casefold() not in NOT_SPEAKERS:
            return m.group(1).strip(), s[m.end() :]
    m = _PLAIN_LABEL.match(s)
    if m and is_name(m.group(1).strip()):
        return m.group(1).strip(), s[m.end() :]
    return None, text


def normalize_speaker(name: str | None) -> str | None:
    """Trimmed, whitespace-collapsed speaker name; None for empty or "Unknown" labels."""
    if name is None:
        return None
    s = " ".join(name.split())
    return None if s.casefold() in _UNKNOWN else s


def coalesce(items: Iterable[Piece]) -> list[Turn]:
    """Merge consecutive (speaker, start, end, text) pieces of one speaker into Turns."""
    turns: list[Turn] = []
    for speaker, start, end, text in items:
        text = " ".join(text.split())
        if not text:
            continue
        cue = Cue(start, end, text)
        if turns and turns[-1].speaker == speaker:
            turns[-1].cues.append(cue)
            continue
        turns.append(Turn(speaker, None, None, "", cues=[cue]))
    for t in turns:
        t.text = " ".join(c.text for c in t.cues)
        # First/last known time, so one untimed piece doesn't erase the turn's timing.
        t.start = next((c.start for c in t.cues if c.start is not None), None)
        t.end = next((c.end for c in reversed(t.cues) if c.end is not None), None)
        t.time_precision = EXACT if t.start is not None else UNTIMED
        t.speaker_source = LABELLED if t.speaker is not None else None
    return turns


def make_episode(path: Path, turns: list[Turn], **meta: Any) -> Episode:
    """An Episode with its stable id computed from the metadata, else the text."""
    eid = episode_id_for(
        guid=meta.get("guid"),
        podcast=meta.get("podcast"),
        title=meta.get("title"),
        published=meta.get("published"),
        content=" ".join(t.text for t in turns),
    )
    return Episode(id=eid, turns=turns, **meta)


# Promotional text some transcript sites append; it must never be indexed.
_STRONG_PROMO = re.compile(
    r"more (minutes|hours?) of (the )?transcript below|feed this to your agent|spoken\.md"
    r"|^\s*curl\s+(-|https?://)|works with claude, chatgpt|credits never expire"
    r"|try it now\s*[—–-]+\s*copy, paste",
    re.IGNORECASE,
)
_WEAK_PROMO = re.compile(r"per transcript|no subscription|using your own key", re.IGNORECASE)
_TRAILER_WINDOW = 60  # a trailer is only looked for in the last lines, never mid-episode
_TRUNCATED = re.compile(r"more (minutes|hours?) of (the )?transcript below", re.IGNORECASE)


def strip_trailer(lines: list[str]) -> tuple[list[str], bool]:
    """Lines without a promotional trailer, and whether it said the transcript continues."""
    tail = range(max(0, len(lines) - _TRAILER_WINDOW), len(lines))
    strong = next((i for i in tail if len(lines[i]) < 200 and _STRONG_PROMO.search(lines[i])), None)
    if strong is None:
        return lines, False
    # Weak phrases ("per transcript") only count right before a strong one, never mid-episode.
    cut = strong
    while cut > 0 and (not lines[cut - 1].strip() or _WEAK_PROMO.search(lines[cut - 1])):
        cut -= 1
    truncated = any(_TRUNCATED.search(ln) for ln in lines[cut:])
    return lines[:cut], truncated
