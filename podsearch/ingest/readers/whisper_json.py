"""Whisper and WhisperX JSON: {"text", "segments": [{start, end, text, speaker?}], "language"?}.

Consecutive segments of one speaker (WhisperX labels such as "SPEAKER_00"; None when absent)
coalesce into a turn with one cue per segment. A bare array of segments is ``json_cues``'s.
Times are seconds; times that look like milliseconds are refused (``_json.check_seconds``).
This reader also claims any other JSON at a low score, so that invalid JSON or an unknown
JSON shape gets a clear error (listing every shape podsearch reads) instead of
"unrecognised format".
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ...core.errors import ReaderError
from ...core.models import Episode
from ._common import Piece, coalesce, make_episode, normalize_speaker
from ._json import (
    UNKNOWN_SHAPE,
    check_seconds,
    json_meta,
    load_json,
    looks_like_json,
    parse_json,
    seconds,
    segments_of,
)

NAME = "whisper_json"
EXTENSIONS = {".json"}


def _is_ours(segs: list[object] | None) -> bool:
    if not segs:
        return False
    return all(isinstance(s, Mapping) and "start" in s and "text" in s for s in segs[:5])


def detect(text: str, path: Path) -> float:
    """Segments with "start"/"end"/"text"; any other JSON-looking text at 0.2."""
    if not looks_like_json(text, path):
        return 0.0
    data = parse_json(text)
    return 0.95 if isinstance(data, Mapping) and _is_ours(segments_of(data)) else 0.2


def read(text: str, path: Path) -> Episode:
    """Turns of consecutive same-speaker segments, one cue per segment."""
    data = load_json(text, path)
    segs = segments_of(data)
    if not isinstance(data, Mapping) or not _is_ours(segs):
        raise ReaderError(path, UNKNOWN_SHAPE)
    pieces: list[Piece] = []
    for i, seg in enumerate(segs or []):
        if not isinstance(seg, Mapping):
            raise ReaderError(path, f"segment {i} is not an object")
        body = seg.get("text")
        if not isinstance(body, str):
            raise ReaderError(path, f'segment {i}: "text" is not text')
        raw = seg.get("speaker")
        speaker = normalize_speaker(raw) if isinstance(raw, str) else None
        pieces.append(
            (
                speaker,
                seconds(seg.get("start"), path, f'segment {i} "start"'),
                seconds(seg.get("end"), path, f'segment {i} "end"'),
                body,
            )
        )
    integers = all(isinstance(s.get(k), int) for s in segs or [] for k in ("start", "end"))
    check_seconds(pieces, integers, path, "Whisper JSON")
    return make_episode(path, coalesce(pieces), **json_meta(data))
