"""Reading one source file: its episode (a transcript read, or audio transcribed), the
content hash the index keeps for it, and the record of a file that could not be read."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import ReaderError
from ..core.models import Episode
from ..ingest.audio import Transcriber, is_audio_file
from ..ingest.files import file_hash
from .report import FileFailure, IndexReport


def source_hash(path: Path, transcriber: Transcriber) -> str:
    """The hash the index keeps for a source file: its content's, and for audio also the
    speech model's (another model transcribes again)."""
    h = file_hash(path)
    return transcriber.source_hash(h) if is_audio_file(path) else h


def read_source(
    path: Path, transcriber: Transcriber, content_hash: str | None = None
) -> tuple[Episode, str, list[str]]:
    """(episode, format, warnings) of a transcript file, or of an audio file transcribed
    (or read from the transcript cache; ``content_hash``: the file's, when already
    computed); ReaderError when it cannot be read."""
    from ..ingest.readers import read_file

    if is_audio_file(path):
        ep = transcriber.read(path, content_hash or file_hash(path))
        ep.audio_url = str(path.resolve())  # playback, kept when merged with a transcript
        return ep, "audio", []
    result = read_file(path)
    return result.episode, result.format, result.warnings


def fail(report: IndexReport, path: Path | str, reason: str, strict: bool) -> None:
    """Record that ``path`` could not be read (``strict``: raise ReaderError instead)."""
    if strict:
        raise ReaderError(path, reason)
    report.failed.append(FileFailure(str(path), reason))
