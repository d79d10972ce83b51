"""Helpers for speech-to-text output: anonymous speaker labels and word timings.

Diarization labels ("A", "B", 0, 1, "SPEAKER_01") become readable anonymous names such as
"Speaker A" or "Speaker 1"; a real name is kept as it is. Word lists become pieces of about a
sentence each, so that turns keep fine timing without one cue per word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from ...core.errors import ReaderError
from ._common import Piece, normalize_speaker

_LETTER = re.compile(r"[A-Za-z]")
_NUMBERED = re.compile(r"(?:speaker|spk|spkr)[\s_-]*(\d+|[A-Za-z])", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")


def anonymous_speaker(label: object, *, zero_based: bool = False) -> str | None:
    """A readable speaker name for a diarization label; None when there is no label.

    ``zero_based`` numbers (Deepgram's 0, 1, ...) are shown counting from 1.
    """
    if label is None or isinstance(label, bool):
        return None
    if isinstance(label, float) and label.is_integer():
        label = int(label)
    if isinstance(label, int):
        return f"Speaker {label + 1 if zero_based else label}" if label >= 0 else None
    if not isinstance(label, str):
        return None
    s = " ".join(label.split())
    if s.isdigit():
        return f"Speaker {int(s) + 1 if zero_based else int(s)}"
    if _LETTER.fullmatch(s):
        return f"Speaker {s.upper()}"
    m = _NUMBERED.fullmatch(s)
    if m:
        tag = m.group(1)
        return f"Speaker {int(tag)}" if tag.isdigit() else f"Speaker {tag.upper()}"
    return normalize_speaker(s)


def number(value: object, path: Path, where: str, *, per: float = 1.0) -> float | None:
    """A non-negative JSON number divided by ``per`` (1000 for milliseconds); None if absent."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value) / per
    shown = f'"{value}"' if isinstance(value, str) else repr(value)
    raise ReaderError(path, f"malformed time {shown} in {where}")


def sentence_pieces(
    words: Iterable[Piece], *, max_words: int = 40, max_gap: float = 2.0
) -> list[Piece]:
    """Consecutive words of one speaker joined into pieces ending at a sentence end or a pause."""
    pieces: list[Piece] = []
    group: list[Piece] = []

    def flush() -> None:
        if group:
            text = " ".join(w[3] for w in group)
            pieces.append((group[0][0], group[0][1], group[-1][2], text))
            group.clear()

    for word in words:
        speaker, start, _end, text = word
        text = text.strip()
        if not text:
            continue
        if group:
            last = group[-1]
            gap = start - last[2] if start is not None and last[2] is not None else 0.0
            if (
                speaker != last[0]
                or _SENTENCE_END.search(last[3])
                or gap > max_gap
                or len(group) >= max_words
            ):
                flush()
        group.append((speaker, start, word[2], text))
    flush()
    return pieces
