"""AssemblyAI transcript JSON: ``utterances`` [{speaker, start, end, text, words}] or ``words``.

Times are milliseconds. With speaker labels, each utterance is a turn of its speaker ("A"
becomes "Speaker A"), cut into about-a-sentence cues by its word timings when present.
Without them (``utterances`` null), the ``words`` list is grouped into sentence cues, the
speaker being a word's ``speaker`` when given, else None.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...core.errors import ReaderError
from ...core.models import Episode
from ._common import Piece, coalesce, make_episode
from ._diarized import anonymous_speaker, number, sentence_pieces
from ._json import load_json, parse_json

NAME = "assemblyai_json"
EXTENSIONS = {".json"}
_SIGNS = ("audio_url", "language_code", "acoustic_model", "speaker_labels", "audio_duration")


def _records(value: object, keys: set[str]) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, Mapping) and keys <= v.keys() for v in value[:5])
    )


def detect(text: str, path: Path) -> float:
    """A JSON object with AssemblyAI "utterances", or "words" having "text"/"start"/"end"."""
    if '"utterances"' not in text and '"words"' not in text:
        return 0.0
    data = parse_json(text)
    if not isinstance(data, Mapping) or "results" in data or "segments" in data:
        return 0.0
    if _records(data.get("utterances"), {"speaker", "start", "end", "text"}):
        return 0.97
    if _records(data.get("words"), {"text", "start", "end"}):
        return 0.95 if any(k in data for k in _SIGNS) else 0.85
    return 0.0


def _word_pieces(
    words: list[Any], where: str, path: Path, speaker: str | None = None, *, own: bool = False
) -> list[Piece]:
    """Sentence pieces of a word list; ``own``: each word's "speaker", else ``speaker``."""
    out: list[Piece] = []
    for j, w in enumerate(words):
        at = f"{where}word {j}"
        if not isinstance(w, Mapping) or not isinstance(w.get("text"), str):
            raise ReaderError(path, f'{at}: expected an object with "text"')
        label = anonymous_speaker(w.get("speaker")) if own else speaker
        start = number(w.get("start"), path, f'{at} "start"', per=1000)
        end = number(w.get("end"), path, f'{at} "end"', per=1000)
        out.append((label, start, end, w["text"]))
    return sentence_pieces(out)


def read(text: str, path: Path) -> Episode:
    """Turns from the utterances (or the words), sentence cues inside each."""
    data = load_json(text, path)
    if not isinstance(data, Mapping):
        raise ReaderError(path, "not an AssemblyAI transcript: expected a JSON object")
    status = data.get("status")
    if status in ("queued", "processing"):
        raise ReaderError(path, f"AssemblyAI transcript is not finished (status {status!r})")
    if status == "error":
        raise ReaderError(path, f"AssemblyAI transcription failed: {data.get('error')}")
    utterances, words = data.get("utterances"), data.get("words")
    pieces: list[Piece] = []
    if isinstance(utterances, list) and utterances:
        for i, u in enumerate(utterances):
            where = f"utterance {i}"
            if not isinstance(u, Mapping) or not isinstance(u.get("text"), str):
                raise ReaderError(path, f'{where}: expected an object with "text"')
            speaker = anonymous_speaker(u.get("speaker"))
            start = number(u.get("start"), path, f'{where} "start"', per=1000)
            end = number(u.get("end"), path, f'{where} "end"', per=1000)
            uw = u.get("words")
            if isinstance(uw, list) and uw:
                pieces.extend(_word_pieces(uw, f"{where} ", path, speaker))
            else:
                pieces.append((speaker, start, end, u["text"]))
    elif isinstance(words, list) and words:
        pieces = _word_pieces(words, "", path, own=True)
    else:
        raise ReaderError(
            path, 'not an AssemblyAI transcript: no "utterances" or "words" with text'
        )
    meta: dict[str, str] = {}
    lang = data.get("language_code")
    if isinstance(lang, str) and lang:
        meta["language"] = lang.replace("_", "-")
    audio = data.get("audio_url")
    if isinstance(audio, str) and audio.startswith(("http://", "https://")):
        meta["audio_url"] = audio
    return make_episode(path, coalesce(pieces), **meta)
