"""JSON helpers shared by the JSON transcript readers."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from ...core.errors import ReaderError
from ...core.text import parse_timestamp
from ._common import normalize_date
from ._warnings import warn

# How a JSON document opens: an object with a key, or an array of objects or strings. Text that
# opens like this is JSON even when it is truncated, so it fails as JSON instead of being
# indexed as plain text; "{laughs} ..." or "[Music] ..." do not open like this.
_JSON_OPENING = re.compile(r'\A\s*(\{\s*("|\}\s*\Z)|\[\s*(\{|"|\]\s*\Z))')
_JSON_SUFFIXES = {".json", ".json3"}


def looks_like_json(text: str, path: Path) -> bool:
    """True when the content (or, for broken JSON, a .json/.json3 extension) says JSON."""
    if path.suffix.lower() in _JSON_SUFFIXES or _JSON_OPENING.match(text):
        return True
    s = text.strip()
    return (s[:1], s[-1:]) in {("{", "}"), ("[", "]")} and parse_json(text) is not None


@lru_cache(maxsize=4)
def parse_json(text: str) -> object | None:
    """The parsed JSON value, or None when the text is not JSON (cached: detectors share it)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def load_json(text: str, path: Path) -> object:
    """The parsed JSON value, or a ReaderError saying where it is invalid."""
    cached = parse_json(text)  # usually parsed already by detect()
    if cached is not None:
        return cached
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ReaderError(path, f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from e
    except RecursionError as e:
        raise ReaderError(path, "invalid JSON: nested too deeply") from e


def segments_of(data: object) -> list[Any] | None:
    """The "segments" list of a JSON transcript (a bare list counts too), else None."""
    segs = data.get("segments") if isinstance(data, Mapping) else data
    if isinstance(segs, list) and segs and all(isinstance(s, Mapping) for s in segs[:5]):
        return segs
    return None


def seconds(value: object, path: Path, where: str) -> float | None:
    """A JSON time (number or "h:mm:ss" string) in seconds; None when absent."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if isinstance(value, str):
        try:
            return parse_timestamp(value)
        except ValueError:
            pass
    shown = json.dumps(value) if not isinstance(value, str) else f'"{value}"'
    raise ReaderError(path, f"malformed time {shown} in {where}")


def json_meta(data: object) -> dict[str, Any]:
    """Episode metadata from optional top-level keys of a JSON transcript."""
    if not isinstance(data, Mapping):
        return {}
    keys = {
        "title": "title",
        "podcast": "podcast",
        "show": "podcast",
        "description": "description",
        "url": "url",
        "language": "language",
        "guid": "guid",
    }
    meta = {f: data[k] for k, f in keys.items() if isinstance(data.get(k), str) and data[k]}
    date = data.get("published") or data.get("date")
    if normalize_date(date):
        meta["published"] = normalize_date(date)
    return meta


# Longer than any episode: a larger time in "seconds" is in milliseconds (issue 14 caps times
# at 48 h as well).
MAX_SECONDS = 48 * 3600
# Fewer words per second than this over the whole span is not speech: the times are
# milliseconds (a 3-minute clip in ms spans 180000, "50 hours" for a few hundred words).
_MIN_WORDS_PER_SECOND = 0.05


def milliseconds(pieces: list[Any], integers: bool) -> str | None:
    """Why the times of (speaker, start, end, text) pieces are milliseconds, or None when
    they are seconds: the largest time exceeds any plausible episode length in seconds, or
    the times are all integers and as seconds would give far too few words per second."""
    times = [t for p in pieces for t in (p[1], p[2]) if t is not None]
    if not times or not all(math.isfinite(t) for t in times):
        return None  # an infinite time is no unit: the value check refuses it by name
    largest, span = max(times), max(times) - min(times)
    words = sum(len(p[3].split()) for p in pieces)
    if largest > MAX_SECONDS:
        return f"the largest, {largest:g}, would be {largest / 3600:.0f} h as seconds"
    if integers and span > 0 and words / span < _MIN_WORDS_PER_SECOND:
        return f"as seconds, {words} words would span {span / 3600:.1f} h"
    return None


def check_seconds(pieces: list[Any], integers: bool, path: Path, fmt: str) -> None:
    """A ReaderError when a format whose times are seconds by definition (Whisper,
    Podcasting 2.0) holds times that look like milliseconds: refused, never 1000x off."""
    why = milliseconds(pieces, integers)
    if why:
        raise ReaderError(
            path,
            f"times look like milliseconds ({why}), but {fmt} times are seconds: "
            'export it as a JSON array of {"start", "end", "text"} cues instead',
        )


def in_seconds(pieces: list[Any], integers: bool) -> list[Any]:
    """(speaker, start, end, text) pieces with their times in seconds, the unit detected
    from the data (``milliseconds``) for shapes that do not define it; a unit detected as
    milliseconds is reported as a warning."""
    why = milliseconds(pieces, integers)
    if why is None:
        return pieces
    warn(f"times read as milliseconds ({why})")

    def ms(t: float | None) -> float | None:
        return None if t is None else t / 1000

    return [(sp, ms(a), ms(b), text) for sp, a, b, text in pieces]


UNKNOWN_SHAPE = (
    "JSON is not a known transcript shape. Known: Whisper/WhisperX "
    '{"segments": [{"start", "end", "text"}]}; an array of {"start", "end", "text", "speaker"?} '
    '(seconds or milliseconds); Podcasting 2.0 {"segments": [{"startTime", "endTime", "body"}]}; '
    'AssemblyAI {"utterances"} or {"words"}; Deepgram {"results": {"channels"}}; '
    'YouTube json3 {"events": [{"tStartMs", "segs"}]}'
)
