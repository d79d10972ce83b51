"""Timed transcript lines: each turn is a line opening with its time and its speaker,
"0:02:48.3 **Name** text", "[00:02:48] Name: text", "(2:48) **Name:** text".

The time is the turn's start and the next timed line's start its end. The speaker is a bold
name (markup: always a speaker) or a trusted "Name:" label (see ``_labels``); a timed line
without one is an unnamed speaker. Lines without a time continue the line before. Markdown
in the text (emphasis, links, "[laughter]") is cleaned as in ``_markdown``.
"""

from __future__ import annotations

import re
from pathlib import Path

from ...core.errors import ReaderError
from ...core.models import Episode
from ...core.text import parse_timestamp
from ._common import Piece, coalesce, make_episode, normalize_speaker, split_speaker_prefix
from ._labels import find_openers
from ._markdown import clean

NAME = "timed_lines"
EXTENSIONS = {".txt", ".md", ".markdown", ".text"}

_LINE = re.compile(
    r"^\s*(?:\\?\[|\()?(?P<time>\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)(?:\\?\]|\))?"
    r"\s+(?P<rest>\S.*)$"
)
_BOLD = re.compile(r"\*\*(?P<name>[^*\n]{1,60}?)(?::\*\*|\*\*:?)\s*")


def _opening(rest: str) -> bool:
    return bool(_BOLD.match(rest)) or split_speaker_prefix(rest)[0] is not None


def detect(text: str, path: Path) -> float:
    """Certain-ish with three or more lines opening with a time and a speaker."""
    n = 0
    for line in text.splitlines():
        m = _LINE.match(line) if line[:12].count(":") else None
        if m and _opening(m.group("rest")):
            n += 1
            if n >= 3:
                return 0.92
    return 0.0


def read(text: str, path: Path) -> Episode:
    """A turn per timed line, later untimed lines joined to it."""
    rows: list[tuple[float | None, str | None, bool, str]] = []  # start, bold name, timed, text
    for no, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        m = _LINE.match(line)
        if m is None:
            rows.append((None, None, False, line))
            continue
        try:
            start = parse_timestamp(m.group("time"))
        except ValueError:
            raise ReaderError(path, f'malformed time "{m.group("time")}" on line {no}') from None
        rest = m.group("rest")
        bold = _BOLD.match(rest)
        if bold:
            rows.append((start, bold.group("name").strip(), True, rest[bold.end() :]))
        else:
            rows.append((start, None, True, rest))
    if not any(timed for _, _, timed, _ in rows):
        raise ReaderError(path, "no lines opening with a time found")
    openers = find_openers([r[3] if r[2] and r[1] is None else "" for r in rows])
    raw: list[tuple[str | None, float | None, str]] = []
    speaker: str | None = None
    for (start, bold, timed, body), opener in zip(rows, openers, strict=True):
        if timed:
            if bold is not None:
                speaker = normalize_speaker(bold)
            elif opener is not None:
                speaker, body = opener.speaker, opener.rest
            else:
                speaker = None
        elif not raw:
            continue  # a header before the first timed line
        body = clean(body)
        if body:
            raw.append((speaker, start, body))
    pieces: list[Piece] = []
    next_start: float | None = None
    for sp, st, body in reversed(raw):
        pieces.append((sp, st, next_start if st is not None else None, body))
        next_start = st if st is not None else next_start
    pieces.reverse()
    return make_episode(path, coalesce(pieces))
