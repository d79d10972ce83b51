"""One episode in full: its metadata, its turns with speakers and times, and where its audio
can be played from (a URL, or a local file that belongs to the library)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..store.index import Index, resolve_episode_id
from .types import episode_title

# What a browser's <audio> element plays; the extension is all a file is judged by.
AUDIO_TYPES = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".mp4": "audio/mp4",
    ".aac": "audio/aac",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
    ".webm": "audio/webm",
}


def remote_audio(row: dict[str, Any]) -> str | None:
    """The episode's audio URL when it is an http(s) URL (a browser fetches it itself)."""
    url = row.get("audio_url") or ""
    return url if url.startswith(("http://", "https://")) else None


def local_audio(row: dict[str, Any]) -> Path | None:
    """The episode's local audio file, if any: its ``audio_url`` when that is a file path or
    a file:// URL, a source that is itself audio, or an audio file beside a transcript
    source with the same name (``E41.mp3`` for ``E41.mp3.vtt``, ``talk.wav`` for
    ``talk.json``). Only these paths are ever served, so a client cannot name a file."""
    candidates: list[Path] = []
    url = row.get("audio_url") or ""
    if url.startswith("file://"):
        candidates.append(Path(unquote(urlsplit(url).path)))
    elif url and os.path.isabs(url):
        candidates.append(Path(url))
    for source in row.get("sources") or []:
        if source.startswith(("http://", "https://")):
            continue
        path = Path(source)
        candidates.append(path)
        stem = path.with_suffix("")  # E41.mp3.vtt -> E41.mp3; talk.json -> talk
        candidates.append(stem)
        candidates.extend(stem.with_suffix(ext) for ext in AUDIO_TYPES if not stem.suffix)
    for path in candidates:
        if path.suffix.lower() in AUDIO_TYPES and path.is_file():
            return path
    return None


def episode_detail(index: Index, wanted: str) -> dict[str, Any]:
    """The episode ``wanted`` (an id, unique prefix or source file name): its metadata,
    ``turns`` (turn_index, speaker, speaker_source, start, end, time_precision, text), and
    ``audio`` (a URL, ``"local"`` for a file of the library, or None).

    Raises EpisodeNotFoundError."""
    rows = index.episode_rows()
    episode_id = resolve_episode_id(rows, wanted.strip())
    row = rows[episode_id]
    turns = index.read_table(
        "turns.parquet",
        columns=[
            "episode_id",
            "turn_index",
            "speaker",
            "speaker_source",
            "start",
            "end",
            "time_precision",
            "text",
        ],
    )
    import pyarrow.compute as pc

    mine = turns.filter(pc.equal(turns.column("episode_id"), episode_id)).to_pylist()
    mine.sort(key=lambda t: t["turn_index"])
    for t in mine:
        del t["episode_id"]
    audio = remote_audio(row) or ("local" if local_audio(row) else None)
    return {
        "episode_id": episode_id,
        "title": episode_title(row),
        "podcast": row.get("podcast"),
        "published": row.get("published"),
        "url": row.get("url"),
        "audio": audio,
        "description": row.get("description"),
        "people": row.get("people") or [],
        "sources": list(row.get("sources") or []),
        "chapters": row.get("chapters") or [],
        "turns": mine,
    }
