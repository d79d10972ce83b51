"""Deepgram transcript JSON (pre-recorded API response).

Read from, in order of preference: ``results.channels[0].alternatives[0].paragraphs``
(speaker paragraphs of timed sentences), ``results.utterances``, the alternative's ``words``
(``punctuated_word`` preferred), else its bare ``transcript`` (untimed). Times are seconds.
Diarized speakers are numbers counted from 0 and are shown as Deepgram numbers them: speaker 0
is "Speaker 0", as in Deepgram's own tools (and in the other files a user has of the episode).
Only the first channel is read.
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

NAME = "deepgram_json"
EXTENSIONS = {".json"}


def _alternative(data: object) -> Mapping[str, Any] | None:
    """results.channels[0].alternatives[0], or None when the shape is different."""
    results = data.get("results") if isinstance(data, Mapping) else None
    channels = results.get("channels") if isinstance(results, Mapping) else None
    if not isinstance(channels, list) or not channels or not isinstance(channels[0], Mapping):
        return None
    alts = channels[0].get("alternatives")
    if not isinstance(alts, list) or not alts or not isinstance(alts[0], Mapping):
        return None
    return alts[0]


def detect(text: str, path: Path) -> float:
    """A JSON object with "results" holding channels of alternatives, or utterances."""
    if '"results"' not in text:
        return 0.0
    data = parse_json(text)
    alt = _alternative(data)
    if alt is not None and ("transcript" in alt or "words" in alt):
        return 0.97
    results = data.get("results") if isinstance(data, Mapping) else None
    if isinstance(results, Mapping) and isinstance(results.get("utterances"), list):
        return 0.9
    return 0.0


def _speaker(item: Mapping[str, Any]) -> str | None:
    return anonymous_speaker(item.get("speaker"))


def _from_paragraphs(paras: list[Any], path: Path) -> list[Piece]:
    pieces: list[Piece] = []
    for i, p in enumerate(paras):
        if not isinstance(p, Mapping) or not isinstance(p.get("sentences"), list):
            raise ReaderError(path, f'paragraph {i}: expected an object with "sentences"')
        speaker = _speaker(p)
        for j, s in enumerate(p["sentences"]):
            where = f"paragraph {i} sentence {j}"
            if not isinstance(s, Mapping) or not isinstance(s.get("text"), str):
                raise ReaderError(path, f'{where}: expected an object with "text"')
            start = number(s.get("start"), path, f'{where} "start"')
            end = number(s.get("end"), path, f'{where} "end"')
            pieces.append((speaker, start, end, s["text"]))
    return pieces


def _from_words(words: list[Any], path: Path, where: str, speaker: Any = None) -> list[Piece]:
    out: list[Piece] = []
    for j, w in enumerate(words):
        at = f"{where}word {j}"
        token = (w.get("punctuated_word") or w.get("word")) if isinstance(w, Mapping) else None
        if not isinstance(token, str):
            raise ReaderError(path, f'{at}: expected an object with "word"')
        label = _speaker(w) if speaker is None else speaker
        start = number(w.get("start"), path, f'{at} "start"')
        end = number(w.get("end"), path, f'{at} "end"')
        out.append((label, start, end, token))
    return sentence_pieces(out)


def _from_utterances(utts: list[Any], path: Path) -> list[Piece]:
    pieces: list[Piece] = []
    for i, u in enumerate(utts):
        where = f"utterance {i}"
        if not isinstance(u, Mapping) or not isinstance(u.get("transcript"), str):
            raise ReaderError(path, f'{where}: expected an object with "transcript"')
        words = u.get("words")
        if isinstance(words, list) and words:
            pieces.extend(_from_words(words, path, f"{where} ", _speaker(u)))
            continue
        start = number(u.get("start"), path, f'{where} "start"')
        end = number(u.get("end"), path, f'{where} "end"')
        pieces.append((_speaker(u), start, end, u["transcript"]))
    return pieces


def read(text: str, path: Path) -> Episode:
    """Turns of consecutive same-speaker sentences, one cue per sentence."""
    data = load_json(text, path)
    alt = _alternative(data)
    results = data.get("results") if isinstance(data, Mapping) else None
    if not isinstance(results, Mapping):
        raise ReaderError(path, 'not a Deepgram response: expected an object with "results"')
    paras = alt.get("paragraphs") if alt else None
    paras = paras.get("paragraphs") if isinstance(paras, Mapping) else None
    utts = results.get("utterances")
    words = alt.get("words") if alt else None
    if isinstance(paras, list) and paras:
        pieces = _from_paragraphs(paras, path)
    elif isinstance(utts, list) and utts:
        pieces = _from_utterances(utts, path)
    elif isinstance(words, list) and words:
        pieces = _from_words(words, path, "")
    elif alt and isinstance(alt.get("transcript"), str) and alt["transcript"].strip():
        pieces = [(None, None, None, alt["transcript"])]
    else:
        raise ReaderError(
            path, "Deepgram response has no paragraphs, utterances, words or transcript"
        )
    meta: dict[str, str] = {}
    channels = results.get("channels")
    channel = channels[0] if isinstance(channels, list) and channels else None
    lang = channel.get("detected_language") if isinstance(channel, Mapping) else None
    if isinstance(lang, str) and lang:
        meta["language"] = lang
    return make_episode(path, coalesce(pieces), **meta)
