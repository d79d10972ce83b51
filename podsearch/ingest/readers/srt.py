"""SubRip (.srt) subtitles, parsed with the srt package.

Speakers are written as "Name:" at the start of a card only when the speaker changes, so a
label holds for the following unlabelled cards until the next label. Cards before the first
label have speaker None. Formatting tags (<i>, <font ...>, {\\an8}) are stripped.
"""

from __future__ import annotations

import re
from pathlib import Path

import srt

from ...core.errors import ReaderError
from ...core.models import Episode
from ._common import Piece, coalesce, make_episode, normalize_speaker, split_speaker_prefix

NAME = "srt"
EXTENSIONS = {".srt"}

_START = re.compile(r"\A\s*\d+[ \t]*\n[ \t]*\d+:\d+:\d+[,.]\d+[ \t]*-->")
_LOOSE_START = re.compile(r"\A\s*\d+[ \t]*\n[^\n]*-->")
_TIMING = re.compile(r"^(\s*)(\S+)(\s*-->\s*)(\S+)(.*)$")
_TIME = re.compile(r"(\d{1,3}):([0-5]\d):([0-5]\d)[,.](\d{1,3})")
_TAGS = re.compile(r"<[^>\n]*>|\{\\[^}\n]*\}")


def detect(text: str, path: Path) -> float:
    """An index line followed by a "00:00:01,000 --> 00:00:02,000" line."""
    if _START.match(text):
        return 0.95
    # Still ours when a time is broken, so the error names it instead of "unknown format".
    return 0.7 if _LOOSE_START.match(text) else 0.0


def _canonical(text: str, path: Path) -> str:
    """The text with timing lines checked and rewritten as HH:MM:SS,mmm.

    The srt package reads "00:00:01,5" as 1.005 s; padding the fraction reads it as 1.5 s.
    """
    lines = text.split("\n")
    for no, line in enumerate(lines):
        m = _TIMING.match(line) if "-->" in line else None
        if not m or not (no == 0 or lines[no - 1].strip().isdigit()):
            continue
        times = []
        for t in (m.group(2), m.group(4)):
            tm = _TIME.fullmatch(t)
            if not tm:
                raise ReaderError(path, f'malformed time "{t}" on line {no + 1}')
            h, mi, s, ms = tm.groups()
            times.append(f"{int(h):02d}:{mi}:{s},{ms.ljust(3, '0')}")
        lines[no] = f"{m.group(1)}{times[0]}{m.group(3)}{times[1]}{m.group(5)}"
    return "\n".join(lines)


def read(text: str, path: Path) -> Episode:
    """Turns of consecutive same-speaker cards, each card's times kept."""
    canonical = _canonical(text, path)
    try:
        subs = list(srt.parse(canonical))
    except srt.SRTParseError as e:
        skipped = len(e.unmatched_content) - len(e.unmatched_content.lstrip())
        line = canonical.count("\n", 0, e.expected_start + skipped) + 1
        snippet = " ".join(e.unmatched_content.split())[:60]
        raise ReaderError(path, f'malformed subtitle block at line {line}: "{snippet}"') from e
    pieces: list[Piece] = []
    speaker: str | None = None
    for sub in subs:
        body = " ".join(_TAGS.sub("", sub.content).split())
        label, rest = split_speaker_prefix(body)
        if label is not None:
            speaker, body = normalize_speaker(label), rest
        start = sub.start.total_seconds()
        pieces.append((speaker, start, max(start, sub.end.total_seconds()), body))
    return make_episode(path, coalesce(pieces))
