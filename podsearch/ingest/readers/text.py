"""Plain text: one utterance per line or per paragraph; the fallback for unclaimed text.

Speakers: a "Name:" (or "[Name]:") label holds for the following unlabelled lines of its
paragraph. A blank line ends it, so an unlabelled paragraph has speaker None: guessing that
it continues the last speaker would risk attributing narration, ads or intros to a person.
A label alone on its line ("Alice:") is a heading for the paragraph after it.
Consecutive text of one speaker (None included) becomes one turn.

Times: a leading "[00:01:23]" or "(1:23)" on a line (before or after the label) is that
line's start, and its end is the next timed line's start. Lines without one are untimed.
"""

from __future__ import annotations

import re
from pathlib import Path

from ...core.errors import ReaderError
from ...core.models import Episode
from ...core.text import parse_timestamp
from ._common import Piece, coalesce, make_episode, strip_trailer
from ._json import looks_like_json
from ._labels import label_lines

NAME = "text"
EXTENSIONS = {".txt", ".text"}

_TIME = re.compile(r"^\s*[\[(](\d{1,2}(?::\d{1,2}){1,2}(?:[.,]\d+)?)[\])]\s*")
# Markup, not "<laughs>"-style asides that plain transcripts may start with.
_MARKUP = re.compile(
    r"\s*<(!doctype|\?xml|(html|head|body|div|p|section|article|cite|time|span|h[1-6]|meta|title)"
    r"[\s/>])",
    re.IGNORECASE,
)
_SRT = re.compile(r"\A\s*\d+[ \t]*\n[^\n]*-->")


def detect(text: str, path: Path) -> float:
    """A low score for any text that no more specific reader should claim."""
    if not text.strip() or looks_like_json(text, path) or _MARKUP.match(text):
        return 0.0
    head = text.lstrip("\ufeff").lstrip()
    return 0.0 if head.startswith("WEBVTT") or _SRT.match(text) else 0.1


def _take_time(line: str, no: int, path: Path) -> tuple[float | None, str]:
    m = _TIME.match(line)
    if not m:
        return None, line
    try:
        return parse_timestamp(m.group(1)), line[m.end() :]
    except ValueError:
        raise ReaderError(path, f'malformed time "{m.group(1)}" on line {no + 1}') from None


def read(text: str, path: Path) -> Episode:
    """Turns from labelled or unlabelled lines, timed where a line starts with a time."""
    lines, truncated = strip_trailer(text.split("\n"))
    kept: list[str] = []  # lines without their leading times; time-only lines dropped
    numbers: list[int] = []  # each kept line's number in the file, for errors
    times: dict[int, float] = {}  # kept index -> start
    pending: float | None = None  # a time alone on its line starts the next line
    for no, line in enumerate(lines):
        t, rest = _take_time(line, no, path)
        if t is not None and not rest.strip():
            pending = t
            continue
        start = t if t is not None else pending
        if rest.strip() and start is not None:
            times[len(kept)], pending = start, None
        kept.append(rest)
        numbers.append(no)
    labelled = []
    for k, speaker, body in label_lines(kept):
        if k not in times:  # "Alice: [00:01:23] text"
            t, body = _take_time(body, numbers[k], path)
            if t is not None:
                times[k] = t
        labelled.append((k, speaker, body))
    pieces: list[Piece] = []
    next_start: float | None = None
    for k, speaker, body in reversed(labelled):
        start = times.get(k)
        pieces.append((speaker, start, next_start if start is not None else None, body))
        next_start = start if start is not None else next_start
    pieces.reverse()
    return make_episode(path, coalesce(pieces), truncated=truncated)
