"""WebVTT captions, parsed with webvtt-py.

The speaker of a cue comes from a ``<v Name>`` voice span or a leading "[Name]:" / "Name:"
label. As in SRT, a label holds for later unlabelled cues until the next label; an explicit
"[Unknown]:" label sets the speaker to None. Other cue tags are stripped. Cue times are kept
as the turns' cues. A cue ending before it starts (the seenunseen corpus has a few) gets its
end set to its start rather than failing the whole file.
"""

from __future__ import annotations

import html
import io
import itertools
import re
from pathlib import Path

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from ...core.errors import ReaderError
from ...core.models import Episode
from ._common import Piece, coalesce, make_episode, normalize_speaker
from ._labels import find_openers
from ._warnings import warn

NAME = "webvtt"
EXTENSIONS = {".vtt", ".webvtt"}

_TIMING = re.compile(r"\s*(\S+)\s*-->\s*(\S+)")
_STANDARD = re.compile(r"(?:\d{2,}:)?\d{2}:\d{2}\.\d{3}")
_LOOSE = re.compile(r"(\d+(?::\d{1,2}){0,2})(?:\.(\d{1,3}))?")  # hours, minutes optional
_VOICE = re.compile(r"<v(?:\.[\w.-]+)*\s+([^>]+)>")
_TAG = re.compile(r"<[^>\n]*>")


def detect(text: str, path: Path) -> float:
    """Certain when the first line (after a BOM) starts with "WEBVTT"."""
    head = text.lstrip("\ufeff")
    if head.startswith("WEBVTT"):
        return 1.0
    return 0.9 if head.lstrip().startswith("WEBVTT") else 0.0


def _standard_time(value: str, no: int, path: Path) -> str:
    """A cue time as webvtt-py wants it (HH:MM:SS.mmm), from the looser forms published:
    "0.860", "7.38", "75.5" (seconds), "1:02.5", "1:02:03.4"."""
    m = _LOOSE.fullmatch(value)
    fields = [int(f) for f in m.group(1).split(":")] if m else []
    if not m or any(f >= 60 for f in fields[1:]):
        hint = " (WebVTT times use '.' before milliseconds)" if "," in value else ""
        raise ReaderError(path, f'malformed cue time "{value}" on line {no}{hint}')
    total = sum(f * 60**i for i, f in enumerate(reversed(fields)))
    hh, rem = divmod(total, 3600)
    return f"{hh:02d}:{rem // 60:02d}:{rem % 60:02d}.{(m.group(2) or '0').ljust(3, '0')}"


def _canonical_timings(text: str, path: Path) -> str:
    """The text with every cue time in the standard form; a malformed one is an error.

    webvtt-py silently drops cues with bad times and refuses hour-less "0.860 --> 7.380"
    (as a large podcast host publishes them); a transcript losing text quietly is worse.
    Standard files are returned as they are: only lines needing it are rewritten."""
    lines = text.split("\n")
    changed = False
    timed: list[int] = []
    for no, line in enumerate(lines, 1):
        if "-->" not in line:
            continue
        m = _TIMING.match(line)
        if not m or not any(c.isdigit() for c in m.group(1)):
            continue  # an arrow inside cue text
        timed.append(no - 1)
        a, b = m.group(1), m.group(2)
        if _STANDARD.fullmatch(a) and _STANDARD.fullmatch(b):
            continue
        a2, b2 = _standard_time(a, no, path), _standard_time(b, no, path)
        lines[no - 1] = f"{a2} --> {b2}{line[m.end() :]}"
        changed = True
    orphans = _orphan_blocks(lines, timed)
    if orphans:
        warn(f"{len(orphans)} cue(s) without a timing line: their text joined to the cue before")
        for i in sorted((i for block in orphans for i in block), reverse=True):
            del lines[i]  # the empty line before the block goes (and its number): one cue again
        changed = True
    return "\n".join(lines) if changed else text


def _orphan_blocks(lines: list[str], timed: list[int]) -> list[list[int]]:
    """For each block with no timing line after a cue (webvtt-py would drop its text
    silently): the index of the empty line that cuts it from the cue before, and of its
    number line if it has one; deleting them joins its text to that cue. Only empty lines
    end a cue: a line of spaces does not, for webvtt-py either."""
    if not timed:
        return []
    out: list[list[int]] = []
    i = timed[0] + 1
    timed_set = set(timed)
    n = len(lines)
    while i < n:
        if lines[i]:
            i += 1
            continue
        blank = i
        while i < n and not lines[i]:
            i += 1
        if i >= n:
            break
        block_end = i
        while block_end < n and lines[block_end]:
            block_end += 1
        block = range(i, block_end)
        head = lines[i].lstrip()
        if not any(k in timed_set for k in block) and not head.startswith(
            ("NOTE", "STYLE", "REGION")
        ):
            number = head.strip().isdigit() and block_end - i > 1
            out.append([blank, i] if number else [blank])
        i = block_end
    return out


def _clean(text: str) -> str:
    return html.unescape(text) if "&" in text else text


def _voiced_parts(lines: list[str]) -> list[tuple[str | None, str]]:
    """(voice, text) parts of a cue: a new part at each line opening with a voice span."""
    if not any("<" in line for line in lines):  # the common case, kept cheap
        return [(None, _clean("\n".join(lines)))]
    parts: list[tuple[str | None, list[str]]] = []
    for line in lines:
        m = _VOICE.match(line.lstrip())
        if m or not parts:
            parts.append((m.group(1).strip() if m else None, []))
        parts[-1][1].append(_TAG.sub("", line))
    return [(voice, _clean("\n".join(ls))) for voice, ls in parts]


def _rolling(texts: list[str]) -> bool:
    """True for YouTube-style rolling captions, where a cue opens with the previous cue's
    last line (and 10 ms cues repeat it alone): most cues repeat, not a few."""
    repeats = 0
    for prev, cur in itertools.pairwise(texts):
        last = prev.rstrip().rpartition("\n")[2].strip()
        if last and cur.lstrip().partition("\n")[0].strip() == last:
            repeats += 1
    return repeats >= 2 and repeats >= 0.3 * len(texts)


def _without_repeats(texts: list[str]) -> list[str]:
    """Each text without the words that repeat the end of the text before it."""
    out: list[str] = []
    tail: list[str] = []  # the last words kept: a repeat is never longer than two lines
    for text in texts:
        words = text.split()
        for k in range(min(len(words), len(tail)), 0, -1):
            if words[:k] == tail[-k:]:
                words = words[k:]
                break
        out.append(" ".join(words))
        tail = (tail + words)[-40:]
    return out


def read(text: str, path: Path) -> Episode:
    """Turns of consecutive same-speaker cues, each cue's times kept."""
    text = _canonical_timings(text, path)
    try:
        vtt = webvtt.from_buffer(io.StringIO(text.lstrip("\ufeff").lstrip()))
    except (MalformedFileError, MalformedCaptionError) as e:
        raise ReaderError(path, f"malformed WebVTT: {e}") from e
    parts: list[tuple[float, float, str | None, str]] = []  # start, end, voice, text
    for cap in vtt.captions:
        start = cap.start_time.in_milliseconds() / 1000
        end = max(start, cap.end_time.in_milliseconds() / 1000)
        parts.extend((start, end, voice, part) for voice, part in _voiced_parts(cap.lines))
    texts = [p[3] for p in parts]
    if _rolling(texts):
        texts = _without_repeats(texts)
        warn("rolling captions (each cue repeats the last): repeated words removed")
    pieces: list[Piece] = []
    speaker: str | None = None
    for (start, end, voice, _), part, opener in zip(
        parts, texts, find_openers(texts, subtitles=True), strict=True
    ):
        if voice is not None:
            speaker = normalize_speaker(voice)
        elif opener is not None:
            speaker, part = opener.speaker, opener.rest
        pieces.append((speaker, start, end, " ".join(part.split())))
    meta: dict[str, str] = {}
    for line in vtt.metadata:  # header lines such as "Language: en" (YouTube)
        key, _, value = line.partition(":")
        if key.strip().casefold() == "language" and value.strip():
            meta["language"] = value.strip()
    return make_episode(path, coalesce(pieces), **meta)
