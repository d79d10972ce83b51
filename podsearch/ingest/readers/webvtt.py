"""WebVTT captions, parsed with webvtt-py.

The speaker of a cue comes from a ``<v Name>`` voice span or a leading "[Name]:" / "Name:"
label. As in SRT, a label holds for later unlabelled cues until the next label; an explicit
"[Unknown]:" label sets the speaker to None. Other cue tags are stripped. Cue times are kept
as the turns' cues. A cue ending before it starts (the seenunseen corpus has a few) gets its
end set to its start rather than failing the whole file.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from ...core.errors import ReaderError
from ...core.models import Episode
from ._common import Piece, coalesce, make_episode, normalize_speaker, split_speaker_prefix

NAME = "webvtt"
EXTENSIONS = {".vtt", ".webvtt"}

_TIMING = re.compile(r"\s*(\S+)\s*-->\s*(\S+)")
_TIME = re.compile(r"(?:\d+:)?([0-5]?\d):([0-5]?\d)\.\d{1,3}")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)*\s+([^>]+)>")
_TAG = re.compile(r"<[^>\n]*>")


def detect(text: str, path: Path) -> float:
    """Certain when the first line (after a BOM) starts with "WEBVTT"."""
    head = text.lstrip("\ufeff")
    if head.startswith("WEBVTT"):
        return 1.0
    return 0.9 if head.lstrip().startswith("WEBVTT") else 0.0


def _check_timings(text: str, path: Path) -> None:
    # webvtt-py silently drops cues with bad times; a transcript losing text quietly is worse.
    for no, line in enumerate(text.split("\n"), 1):
        if "-->" not in line:
            continue
        m = _TIMING.match(line)
        if not m or not any(c.isdigit() for c in m.group(1)):
            continue  # an arrow inside cue text
        for t in (m.group(1), m.group(2)):
            if not _TIME.fullmatch(t):
                hint = " (WebVTT times use '.' before milliseconds)" if "," in t else ""
                raise ReaderError(path, f'malformed cue time "{t}" on line {no}{hint}')


def _voiced_parts(lines: list[str]) -> list[tuple[str | None, str]]:
    """(voice, text) parts of a cue: a new part at each line opening with a voice span."""
    if not any("<" in line for line in lines):  # the common case, kept cheap
        return [(None, " ".join(" ".join(lines).split()))]
    parts: list[tuple[str | None, list[str]]] = []
    for line in lines:
        m = _VOICE.match(line.lstrip())
        if m or not parts:
            parts.append((m.group(1).strip() if m else None, []))
        parts[-1][1].append(_TAG.sub("", line))
    return [(voice, " ".join(" ".join(ls).split())) for voice, ls in parts]


def read(text: str, path: Path) -> Episode:
    """Turns of consecutive same-speaker cues, each cue's times kept."""
    _check_timings(text, path)
    try:
        vtt = webvtt.from_buffer(io.StringIO(text.lstrip("\ufeff").lstrip()))
    except (MalformedFileError, MalformedCaptionError) as e:
        raise ReaderError(path, f"malformed WebVTT: {e}") from e
    pieces: list[Piece] = []
    speaker: str | None = None
    for cap in vtt.captions:
        start = cap.start_time.in_milliseconds() / 1000
        end = max(start, cap.end_time.in_milliseconds() / 1000)
        for voice, part in _voiced_parts(cap.lines):
            if voice is not None:
                speaker = normalize_speaker(voice)
            else:
                label, rest = split_speaker_prefix(part)
                if label is not None:
                    speaker, part = normalize_speaker(label), rest
            pieces.append((speaker, start, end, part))
    meta: dict[str, str] = {}
    for line in vtt.metadata:  # header lines such as "Language: en" (YouTube)
        key, _, value = line.partition(":")
        if key.strip().casefold() == "language" and value.strip():
            meta["language"] = value.strip()
    return make_episode(path, coalesce(pieces), **meta)
