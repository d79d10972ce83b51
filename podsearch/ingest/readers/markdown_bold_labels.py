"""Markdown transcripts with "**Name:**" turns, the form several large podcast networks
publish: a "# Title" and "**Key:** value" header lines, then paragraphs that open with a bold
speaker label ("**Name:**" or "**Name**:"), the speaker holding for the paragraphs after it
until the next label. "[mm:ss]" / "\\[hh:mm:ss\\]" markers anywhere are times (the text after
a marker starts there); links keep their text; "\\[laughter\\]"-style directions and emphasis
are removed (see ``_markdown``).
"""

from __future__ import annotations

import re
from pathlib import Path

from ...core.errors import ReaderError
from ...core.models import Episode
from ._common import NOT_SPEAKERS, Piece, coalesce, make_episode, normalize_speaker, strip_trailer
from ._markdown import LEADING_TIME, timed_pieces
from .markdown_transcript import header_meta

NAME = "markdown_bold_labels"
EXTENSIONS = {".md", ".markdown", ".txt"}

_LABEL = re.compile(r"^\s*\*\*(?P<name>[^*\n]{1,60}?)(?::\*\*|\*\*\s*:)\s*(?P<rest>.*)$")
_RULE = re.compile(r"\s*[-*_]{3,}\s*")  # a horizontal rule
# "**Podcast:** ..." header fields look like labels; they are metadata.
_FIELDS = NOT_SPEAKERS | {
    "show", "series", "guest", "guests", "host", "hosts", "aired", "audio", "guid", "language",
    "release date", "episode url", "audio url", "enclosure", "web", "summary", "runtime",
    "duration", "recorded", "location", "producer", "editor", "transcript by",
}  # fmt: skip


def _speaker_label(line: str) -> tuple[str, str] | None:
    m = _LABEL.match(line)
    if not m:
        return None
    name = " ".join(m.group("name").split())
    if name.casefold() in _FIELDS or not name[:1].isalpha():
        return None
    return name, m.group("rest")


def detect(text: str, path: Path) -> float:
    """Certain with three or more "**Name:**" paragraph openings."""
    n = 0
    for line in text.splitlines():
        if line.lstrip().startswith("**") and _speaker_label(line):
            n += 1
            if n >= 3:
                return 0.96
    return {0: 0.0, 1: 0.3, 2: 0.5}[n]


def read(text: str, path: Path) -> Episode:
    """Turns from the labelled paragraphs, timed where markers say."""
    lines = text.split("\n")
    first = next((i for i, ln in enumerate(lines) if _speaker_label(ln)), None)
    if first is None:
        raise ReaderError(path, 'no "**Name:**" speaker labels found')
    meta = header_meta(lines[:first])
    body, truncated = strip_trailer(lines[first:])
    raw: list[tuple[str | None, float | None, str]] = []
    speaker: str | None = None
    for line in body:
        if not line.strip() or line.lstrip().startswith("#") or _RULE.fullmatch(line):
            continue
        lead = LEADING_TIME.match(line)  # "\[00:03:40\] **Name:** ..." : the time, then the label
        label = _speaker_label(line[lead.end() :] if lead else line)
        if label is not None:
            speaker = normalize_speaker(label[0])
            line = (lead.group(0) if lead else "") + " " + label[1]
        raw.extend((speaker, t, s) for t, s in timed_pieces(line))
    pieces: list[Piece] = []
    next_start: float | None = None
    for sp, st, body_text in reversed(raw):  # a piece ends where the next timed one starts
        pieces.append((sp, st, next_start if st is not None else None, body_text))
        next_start = st if st is not None else next_start
    pieces.reverse()
    return make_episode(path, coalesce(pieces), truncated=truncated, **meta)
