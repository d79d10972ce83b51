"""YouTube json3 captions: {"events": [{tStartMs, dDurationMs, segs: [{utf8}]}]}.

Each event with text is a cue (times in milliseconds); its segments' ``utf8`` strings are
joined and line breaks read as spaces. Captions carry no speakers: ">>" speaker-change
marks are dropped, and so are cues that are only a sound tag such as "[Music]".
Events without segments (window definitions) and whitespace-only events are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from ...core.errors import ReaderError
from ...core.models import Episode
from ._common import Piece, coalesce, make_episode
from ._diarized import number
from ._json import load_json, parse_json

NAME = "youtube_json3"
EXTENSIONS = {".json3", ".json"}
_SOUND_ONLY = re.compile(r"(\s*\[[^\[\]]{1,40}\]\s*)+")
_CHEVRONS = re.compile(r"(^|\s)>>\s*")


def detect(text: str, path: Path) -> float:
    """A JSON object whose "events" have "tStartMs"; certain with "wireMagic"."""
    if '"tStartMs"' not in text:
        return 0.0
    data = parse_json(text)
    events = data.get("events") if isinstance(data, Mapping) else None
    if not isinstance(events, list) or not any(
        isinstance(e, Mapping) and "tStartMs" in e for e in events[:20]
    ):
        return 0.0
    return 1.0 if "wireMagic" in data else 0.95  # type: ignore[operator]


def read(text: str, path: Path) -> Episode:
    """A turn without speaker, one cue per caption event."""
    data = load_json(text, path)
    events = data.get("events") if isinstance(data, Mapping) else None
    if not isinstance(events, list):
        raise ReaderError(path, 'not YouTube json3 captions: expected an object with "events"')
    pieces: list[Piece] = []
    for i, ev in enumerate(events):
        if not isinstance(ev, Mapping):
            raise ReaderError(path, f"event {i} is not an object")
        segs = ev.get("segs")
        if not segs:
            continue
        if not isinstance(segs, list):
            raise ReaderError(path, f'event {i}: "segs" is not a list')
        parts: list[str] = []
        for j, seg in enumerate(segs):
            utf8 = seg.get("utf8", "") if isinstance(seg, Mapping) else None
            if not isinstance(utf8, str):
                raise ReaderError(path, f'event {i} segment {j}: "utf8" is not text')
            parts.append(utf8)
        body = _CHEVRONS.sub(" ", "".join(parts).replace("\n", " ")).strip()
        if not body or _SOUND_ONLY.fullmatch(body):
            continue
        start = number(ev.get("tStartMs"), path, f'event {i} "tStartMs"', per=1000)
        duration = number(ev.get("dDurationMs"), path, f'event {i} "dDurationMs"', per=1000)
        end = round(start + duration, 3) if start is not None and duration is not None else None
        pieces.append((None, start, end, body))
    return make_episode(path, coalesce(pieces))
