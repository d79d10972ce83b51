"""SubRip (.srt) subtitles, parsed line by line so that real-world files read right.

A cue is a timing line ("00:00:01,000 --> 00:00:02,500", hours optional, "." or "," before
the fraction) and the text lines after it; the number line before it is optional, as many
tools leave it out. A numbered block without a timing line (a cue whose time was lost) is
joined to the cue before it, with a warning; text before the first timing line is skipped,
with a warning. Formatting tags (<i>, <font ...>, {\\an8}) are stripped.

Speakers: a trusted label (see ``_labels``) at the start of a cue, written only when the
speaker changes, holds for the following cues until the next label; a "- " dialogue dash
or ">>" opens an unnamed speaker. Cues before the first label have speaker None.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from ...core.errors import ReaderError
from ...core.models import Episode
from ._common import Piece, coalesce, make_episode
from ._labels import find_openers
from ._warnings import warn

NAME = "srt"
EXTENSIONS = {".srt"}

_TIMING = re.compile(r"^[ \t]*(\S+)[ \t]*-->[ \t]*(\S+)")
_TIME = re.compile(r"(?:(\d{1,3}):)?([0-5]?\d):([0-5]\d)(?:[,.](\d{1,3}))?")
_START = re.compile(r"\A\s*(?:\d+[ \t]*\n)?[ \t]*(?:\d+:)?\d+:\d+[,.]\d+[ \t]*-->")
_LOOSE_START = re.compile(r"\A\s*\d+[ \t]*\n[^\n]*-->")
_TAGS = re.compile(r"<[^>\n]*>|\{\\[^}\n]*\}")


def detect(text: str, path: Path) -> float:
    """A timing line "00:00:01,000 --> 00:00:02,000" first, with or without a number line."""
    if _START.match(text):
        return 0.95
    # Still ours when a time is broken, so the error names it instead of "unknown format".
    return 0.7 if _LOOSE_START.match(text) else 0.0


def _seconds(value: str, line: int, path: Path) -> float:
    m = _TIME.fullmatch(value)
    if not m:
        raise ReaderError(path, f'malformed time "{value}" on line {line}')
    h, mi, s, frac = m.groups()
    # "00:00:01,5" is 1.5 s, not 1.005 s: the fraction is read as a decimal.
    return int(h or 0) * 3600 + int(mi) * 60 + int(s) + float(f"0.{frac or 0}")


def _is_timing(line: str) -> re.Match[str] | None:
    m = _TIMING.match(line) if "-->" in line else None
    # An arrow inside cue text ("a --> b") is not a timing line: times start with a digit.
    return m if m and m.group(1)[:1].isdigit() else None


def _cues(text: str, path: Path) -> list[tuple[float, float, list[str]]]:
    """(start, end, text lines) of each cue, blocks without a timing line joined or skipped."""
    lines = text.split("\n")
    cues: list[tuple[float, float, list[str]]] = []
    orphans = 0
    for no, line in enumerate(lines, 1):
        m = _is_timing(line)
        if m is None:
            if cues:
                cues[-1][2].append(line)
            elif line.strip() and not line.strip().isdigit():
                orphans += 1
            continue
        start, end = _seconds(m.group(1), no, path), _seconds(m.group(2), no, path)
        body = cues[-1][2] if cues else []
        if body and body[-1].strip().isdigit() and (len(body) == 1 or not body[-2].strip()):
            body.pop()  # this cue's number, read as the previous cue's last line
        cues.append((start, max(start, end), []))
    if orphans:
        warn(f"{orphans} line(s) before the first timing line skipped")
    out: list[tuple[float, float, list[str]]] = []
    joined = 0
    for start, end, body in cues:
        # A blank line ends a cue; what follows it up to the next timing line is a block whose
        # timing line is missing: its number is dropped and its text joined to this cue.
        blocks = "\n".join(body).strip("\n").split("\n\n")
        kept = [ln for ln in blocks[0].split("\n") if ln.strip()]
        for block in blocks[1:]:
            extra = [ln for ln in block.split("\n") if ln.strip()]
            if extra and extra[0].strip().isdigit():
                extra = extra[1:]
            if extra:
                joined += 1
                kept += extra
        out.append((start, end, kept))
    if joined:
        warn(f"{joined} cue(s) without a timing line: their text joined to the cue before")
    return out


def read(text: str, path: Path) -> Episode:
    """Turns of consecutive same-speaker cues, each cue's times kept."""
    cues = _cues(text, path)
    bodies = []
    for _, _, body in cues:
        s = _TAGS.sub("", "\n".join(body))
        bodies.append(html.unescape(s) if "&" in s else s)
    pieces: list[Piece] = []
    speaker: str | None = None
    for (start, end, _), body, opener in zip(
        cues, bodies, find_openers(bodies, subtitles=True), strict=True
    ):
        if opener is not None:
            speaker, body = opener.speaker, opener.rest
        pieces.append((speaker, start, end, " ".join(body.split())))
    return make_episode(path, coalesce(pieces))
