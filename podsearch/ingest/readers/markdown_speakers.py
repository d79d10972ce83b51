"""Markdown with a header and "**Name** (m:ss)" turn markers (spoken.md style exports).

Header lines before the first marker: an optional "... artwork" line, the title, the show,
a date line, the description and "Speakers: A, B". A promotional trailer at the end
("7 more minutes of transcript below", "Feed this to your agent", curl examples) is cut off;
"more minutes of transcript below" marks the episode as truncated.
"""

from __future__ import annotations

import re
from pathlib import Path

from ...core.errors import ReaderError
from ...core.models import Episode, Person
from ...core.text import parse_timestamp
from ._common import Piece, coalesce, make_episode, normalize_date, normalize_speaker, strip_trailer

NAME = "markdown_speakers"
EXTENSIONS = {".md", ".markdown", ".txt"}

# Loose on the time so a malformed one is reported rather than read as text.
_MARKER = re.compile(r"^\*\*(?P<name>[^*\n]{1,80})\*\*\s*\((?P<time>\d[^()\n]{0,15})\)\s*$")
_SPEAKERS = re.compile(r"^\s*speakers?\s*:\s*(?P<names>.+)$", re.IGNORECASE)


def detect(text: str, path: Path) -> float:
    """Certain with three or more "**Name** (m:ss)" lines."""
    n = 0
    for line in text.splitlines():
        if _MARKER.match(line):
            n += 1
            if n >= 3:
                return 0.97
    return {0: 0.0, 1: 0.4, 2: 0.7}[n]


def _header(lines: list[str]) -> dict[str, object]:
    meta: dict[str, object] = {}
    before_date: list[str] = []
    after_date: list[str] = []
    for raw in lines:
        line = raw.strip().lstrip("#").strip()
        if not line:
            continue
        m = _SPEAKERS.match(line)
        if m:
            names = [normalize_speaker(n) for n in m.group("names").split(",")]
            meta["people"] = [Person(n) for n in names if n]
        elif line.casefold().endswith(" artwork"):
            meta.setdefault("_artwork", line[: -len(" artwork")].strip())
        elif "published" not in meta and normalize_date(line):
            meta["published"] = normalize_date(line)
        else:
            (after_date if "published" in meta else before_date).append(line)
    if before_date:
        meta["title"] = before_date[0]
    if len(before_date) > 1:
        meta["podcast"] = before_date[1]
    extra = before_date[2:] + after_date
    if extra:
        meta["description"] = " ".join(extra)
    artwork = meta.pop("_artwork", None)
    if "title" not in meta and artwork:
        meta["title"] = artwork  # the artwork line is "<title> artwork"
    return meta


def read(text: str, path: Path) -> Episode:
    """Turns from the markers; each runs until the next marker's time."""
    lines = text.split("\n")
    first = next((i for i, ln in enumerate(lines) if _MARKER.match(ln)), None)
    if first is None:
        raise ReaderError(path, 'no "**Name** (m:ss)" turn markers found')
    meta = _header(lines[:first])
    # The trailer is searched for only below the header, where a description can't trip it.
    body, truncated = strip_trailer(lines[first:])
    lines = lines[:first] + body
    turns: list[tuple[str | None, float, list[str]]] = []
    for i in range(first, len(lines)):
        m = _MARKER.match(lines[i])
        if m:
            try:
                start = parse_timestamp(m.group("time"))
            except ValueError:
                raise ReaderError(
                    path, f'malformed time "{m.group("time")}" on line {i + 1}'
                ) from None
            turns.append((normalize_speaker(m.group("name")), start, []))
        elif lines[i].strip():
            turns[-1][2].append(lines[i].strip())
    pieces: list[Piece] = []
    for k, (speaker, start, paras) in enumerate(turns):
        end = turns[k + 1][1] if k + 1 < len(turns) else None
        pieces.append((speaker, start, end, " ".join(paras)))
    return make_episode(path, coalesce(pieces), truncated=truncated, **meta)
