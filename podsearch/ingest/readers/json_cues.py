"""A JSON array of cues: [{"start", "end", "text", "speaker"?}], as subtitle tools export them.

Times are numbers (or "h:mm:ss.t" strings). Their unit is detected from the data, since
tools write seconds or milliseconds under the same keys: milliseconds when the largest time
exceeds any plausible episode length in seconds, or when all times are integers that as
seconds would leave far too few words per second (``_json.in_seconds``); a unit detected as
milliseconds is reported as a warning. Consecutive cues of one speaker form a turn.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ...core.errors import ReaderError
from ...core.models import Episode
from ._common import Piece, coalesce, make_episode, normalize_speaker
from ._json import in_seconds, load_json, parse_json, seconds

NAME = "json_cues"
EXTENSIONS = {".json"}
_TEXT_KEYS = ("text", "content", "caption")


def _is_cue(item: object) -> bool:
    return isinstance(item, Mapping) and "start" in item and any(k in item for k in _TEXT_KEYS)


def detect(text: str, path: Path) -> float:
    """A top-level JSON array whose first items have "start" and "text"."""
    if not text.lstrip().startswith("["):
        return 0.0
    data = parse_json(text)
    if not isinstance(data, list) or not data:
        return 0.0
    return 0.96 if all(_is_cue(item) for item in data[:5]) else 0.0


def read(text: str, path: Path) -> Episode:
    """Turns of consecutive same-speaker cues, one cue per item."""
    data = load_json(text, path)
    if not isinstance(data, list):
        raise ReaderError(path, 'not a JSON array of cues: expected [{"start", "text"}, ...]')
    pieces: list[Piece] = []
    integers = True
    for i, item in enumerate(data):
        if not _is_cue(item):
            raise ReaderError(path, f'cue {i}: expected an object with "start" and "text"')
        body = next(item[k] for k in _TEXT_KEYS if k in item)
        if not isinstance(body, str):
            raise ReaderError(path, f"cue {i}: the text is not text")
        raw = item.get("speaker")
        speaker = normalize_speaker(raw) if isinstance(raw, str) else None
        start = seconds(item.get("start"), path, f'cue {i} "start"')
        end = seconds(item.get("end"), path, f'cue {i} "end"')
        integers = integers and all(
            isinstance(item.get(k), int) for k in ("start", "end") if item.get(k) is not None
        )
        pieces.append((speaker, start, end, body))
    return make_episode(path, coalesce(in_seconds(pieces, integers)))
