"""Transcripts out: an Episode as WebVTT, SRT or JSON (``podsearch transcript``).

Cues are built from the turns' own cues, joined into caption lines that end at a sentence end
or after ``LINE_WORDS`` words (an audio transcript's cues are single words), never across a
speaker change. Caption formats need times: an untimed episode is written as JSON only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..core.errors import InvalidRequestError, PodsearchError
from ..core.models import LIKELY, Episode

FORMATS = ("vtt", "srt", "json")
LINE_WORDS = 14


@dataclass
class Caption:
    start: float
    end: float
    speaker: str | None
    text: str


def captions(ep: Episode) -> list[Caption]:
    """The episode's timed text as caption lines, in order."""
    out: list[Caption] = []
    for turn in ep.turns:
        cues = turn.cues or []
        # A voice tag states who speaks: a guessed speaker is left out (JSON keeps it, with
        # its speaker_source).
        speaker = turn.speaker if turn.speaker_source != LIKELY else None
        if not cues and turn.start is not None:
            out.append(Caption(turn.start, turn.end or turn.start, speaker, turn.text))
            continue
        words: list[str] = []
        start: float | None = None
        end: float | None = None
        for cue in cues:
            if cue.start is None:
                continue
            if start is None:
                start = cue.start
            words.extend(cue.text.split())
            end = cue.end if cue.end is not None else cue.start
            if len(words) >= LINE_WORDS or cue.text.rstrip().endswith((".", "?", "!")):
                out.append(Caption(start, end, speaker, " ".join(words)))
                words, start = [], None
        if words and start is not None and end is not None:
            out.append(Caption(start, end, speaker, " ".join(words)))
    return out


def _clock(seconds: float, sep: str) -> str:
    ms = round(max(0.0, seconds) * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _timed(ep: Episode, fmt: str) -> list[Caption]:
    lines = captions(ep)
    if not lines:
        raise PodsearchError(
            f"episode {ep.id} has no times, so it cannot be written as {fmt}: use --format json"
        )
    return lines


def to_vtt(ep: Episode) -> str:
    """WebVTT with ``<v Name>`` voice tags where the speaker is known."""
    parts = ["WEBVTT", ""]
    for c in _timed(ep, "vtt"):
        voice = f"<v {c.speaker}>" if c.speaker else ""
        parts += [f"{_clock(c.start, '.')} --> {_clock(c.end, '.')}", voice + c.text, ""]
    return "\n".join(parts)


def to_srt(ep: Episode) -> str:
    """SubRip with a ``Name:`` prefix where the speaker is known."""
    parts: list[str] = []
    for i, c in enumerate(_timed(ep, "srt"), 1):
        prefix = f"{c.speaker}: " if c.speaker else ""
        parts += [str(i), f"{_clock(c.start, ',')} --> {_clock(c.end, ',')}", prefix + c.text, ""]
    return "\n".join(parts)


def to_json(ep: Episode) -> str:
    """The episode's metadata and turns, each with its timed cues."""
    doc = {
        "id": ep.id,
        "title": ep.title,
        "podcast": ep.podcast,
        "published": ep.published,
        "audio_url": ep.audio_url,
        "sources": ep.sources,
        "turns": [
            {
                "speaker": t.speaker,
                "speaker_source": t.speaker_source,
                "start": t.start,
                "end": t.end,
                "time_precision": t.time_precision,
                "text": t.text,
                "cues": [{"start": c.start, "end": c.end, "text": c.text} for c in t.cues],
            }
            for t in ep.turns
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def write_transcript(ep: Episode, fmt: str) -> str:
    """The episode in ``fmt`` (vtt, srt or json)."""
    writers = {"vtt": to_vtt, "srt": to_srt, "json": to_json}
    if fmt not in writers:
        raise InvalidRequestError("--format", f"use one of {', '.join(FORMATS)}, not {fmt!r}")
    return writers[fmt](ep)
