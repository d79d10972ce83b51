"""Podcasting 2.0 JSON transcripts: {"version", "segments": [{speaker, startTime, endTime, body}]}.

Segments are often single words. Consecutive segments of one speaker coalesce into a turn
and each segment stays a cue, which keeps word-level times. A punctuation-only body ("," or
".") is attached to the cue before it, so turn text reads "Hello, world" and still equals
its cue texts joined by spaces. A segment without a speaker has speaker None (no carry-over).
Times are seconds; times that look like milliseconds are refused (``_json.check_seconds``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ...core.errors import ReaderError
from ...core.models import Episode
from ._common import Piece, coalesce, make_episode, normalize_speaker
from ._json import (
    check_seconds,
    json_meta,
    load_json,
    parse_json,
    seconds,
    segments_of,
)

NAME = "podcasting_json"
EXTENSIONS = {".json"}


def _is_ours(segs: list[object] | None) -> bool:
    if not segs:
        return False
    return all(isinstance(s, Mapping) and "startTime" in s and "body" in s for s in segs[:5])


def detect(text: str, path: Path) -> float:
    """A JSON object whose "segments" have "startTime" and "body"."""
    if "startTime" not in text:  # cheap test before parsing
        return 0.0
    data = parse_json(text)
    return 0.95 if isinstance(data, Mapping) and _is_ours(segments_of(data)) else 0.0


def read(text: str, path: Path) -> Episode:
    """Turns of consecutive same-speaker segments, one cue per segment."""
    data = load_json(text, path)
    segs = segments_of(data) if isinstance(data, Mapping) else None
    if segs is None or not _is_ours(segs):
        raise ReaderError(
            path, 'not a Podcasting 2.0 transcript: expected "segments" with "startTime" and "body"'
        )
    pieces: list[Piece] = []
    for i, seg in enumerate(segs):
        if not isinstance(seg, Mapping):
            raise ReaderError(path, f"segment {i} is not an object")
        body = seg.get("body")
        if not isinstance(body, str):
            raise ReaderError(path, f'segment {i}: "body" is not text')
        start = seconds(seg.get("startTime"), path, f'segment {i} "startTime"')
        end = seconds(seg.get("endTime"), path, f'segment {i} "endTime"')
        raw = seg.get("speaker")
        speaker = normalize_speaker(raw) if isinstance(raw, str) else None
        body = body.strip()
        if not body:
            continue
        if pieces and not any(c.isalnum() for c in body) and pieces[-1][0] == speaker:
            sp, st, en, prev = pieces[-1]
            pieces[-1] = (sp, st, end if end is not None else en, prev + body)
            continue
        pieces.append((speaker, start, end, body))
    # The spec says seconds: times that look like milliseconds are refused, never 1000x off.
    integers = all(
        isinstance(s.get(k), int)
        for s in segs
        if isinstance(s, Mapping)
        for k in ("startTime", "endTime")
    )
    check_seconds(pieces, integers, path, "Podcasting 2.0 JSON")
    return make_episode(path, coalesce(pieces), **json_meta(data))
