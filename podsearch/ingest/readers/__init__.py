"""Transcript readers: one module per format behind a registry that detects the format.

Each reader module defines ``NAME``, ``EXTENSIONS``, ``detect(text, path) -> float`` (0 when the
content is not of its format, up to 1 when certain) and ``read(text, path) -> Episode``.
Detection looks at the content first; the file extension only breaks ties.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from ...core.errors import ReaderError, UnknownFormatError
from ...core.models import Episode
from ..files import read_bounded
from ..validate import validate_episode
from . import (
    apple_ttml,
    assemblyai_json,
    deepgram_json,
    dfxp,
    json_cues,
    markdown_bold_labels,
    markdown_speakers,
    markdown_transcript,
    podcasting_html,
    podcasting_json,
    srt,
    text,
    timed_lines,
    w3c_ttml,
    webvtt,
    whisper_json,
    youtube_json3,
)
from ._decode import decode_bytes
from ._warnings import collecting

# Order matters only for equal scores: more specific formats first.
READERS: list[ModuleType] = [
    markdown_speakers,
    markdown_bold_labels,
    markdown_transcript,
    webvtt,
    srt,
    podcasting_json,
    assemblyai_json,
    deepgram_json,
    youtube_json3,
    json_cues,
    whisper_json,
    apple_ttml,
    w3c_ttml,
    dfxp,
    podcasting_html,
    timed_lines,
    text,
]

MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass
class ReadResult:
    """A file read: its episode, the reader's name, and warnings about the file (an encoding
    guessed, bad bytes replaced, cues skipped, a time unit detected) for the user to see."""

    episode: Episode
    format: str
    warnings: list[str] = field(default_factory=list)


def reader_names() -> list[str]:
    return [r.NAME for r in READERS]


def load_text(path: str | os.PathLike[str]) -> str:
    """The file's text, or a ReaderError for empty, binary, oversized or undecodable files."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ReaderError(
                p, f"file is {size} bytes, larger than the {MAX_FILE_BYTES} byte limit"
            )
        data = read_bounded(p, MAX_FILE_BYTES)  # a FIFO or device is refused, never opened
    except OSError as e:
        raise ReaderError(p, f"cannot read file: {e.strerror or e}") from e
    if not data.strip():
        raise ReaderError(p, "file is empty")
    text_ = decode_bytes(data, p)
    return text_.replace("\r\n", "\n").replace("\r", "\n")


def detect(text_: str, path: str | os.PathLike[str]) -> ModuleType:
    """The reader whose format the content is, or UnknownFormatError."""
    p = Path(path)
    suffix = "".join(p.suffixes[-1:]).lower()
    best: tuple[float, ModuleType] | None = None
    for reader in READERS:
        score = float(reader.detect(text_, p))
        if score <= 0:
            continue
        if suffix in reader.EXTENSIONS:
            score += 0.05
        if best is None or score > best[0]:
            best = (score, reader)
    if best is None:
        raise UnknownFormatError(
            p, f"unrecognised transcript format (known formats: {', '.join(reader_names())})"
        )
    return best[1]


def get_reader(name: str) -> ModuleType:
    for reader in READERS:
        if reader.NAME == name:
            return reader
    raise ReaderError(name, f"no reader named {name!r} (known: {', '.join(reader_names())})")


def read_file(path: str | os.PathLike[str], format: str | None = None) -> ReadResult:
    """Read one transcript file into an Episode, detecting its format unless one is given."""
    p = Path(path)
    with collecting():  # shared with read_text's: decoding warnings come first
        return read_text(load_text(p), p, format)


def read_text(text_: str, path: str | os.PathLike[str], format: str | None = None) -> ReadResult:
    """Read transcript text already loaded; ``path`` names it (its suffix breaks ties)."""
    p = Path(path)
    with collecting() as warnings:
        reader = get_reader(format) if format else detect(text_, p)
        try:
            episode = reader.read(text_, p)
        except ReaderError:
            raise
        except (ValueError, KeyError, TypeError, IndexError, ArithmeticError, RecursionError) as e:
            # ArithmeticError: a frame rate of 0, a 400-digit time; RecursionError: deep nesting.
            raise ReaderError(p, f"malformed {reader.NAME} transcript: {e}") from e
    if not episode.turns:
        raise ReaderError(p, f"no transcript text found ({reader.NAME} format)")
    validate_episode(episode, p)  # one check after every reader: finite times, valid text
    episode.sources = [str(p)]
    episode.formats = [reader.NAME]
    return ReadResult(episode, reader.NAME, list(warnings))
