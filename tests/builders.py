"""Builders of episodes, turns and cues for the tests (imported by conftest and tests)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np

from podsearch.core.models import EXACT, LABELLED, UNTIMED, Cue, Episode, Turn
from podsearch.store.writer import IndexContents

HOST = "Theo Jaffee"
GUEST = "Clément Delangue"
THIRD = "Sofia Puccini"
SPEAKERS = [HOST, GUEST, THIRD]

VOCABULARY = (
    "model models open source weights training data distillation robotics china regulation "
    "bubble compute chips research community startup product users license release benchmark "
    "agents reasoning inference cost scale team hugging face hub library dataset evaluation "
    "alignment safety policy market investors revenue growth hardware robot arm factory"
).split()


def sentence(rng: random.Random, n: int, *, end: str = ".") -> str:
    """``n`` lowercase vocabulary words, capitalised, with ``end`` as the final mark.

    No word carries punctuation of its own, so the text splits into sentences exactly at
    the ends given here."""
    words = [rng.choice(VOCABULARY) for _ in range(n)]
    words[0] = words[0].capitalize()
    return " ".join(words) + end


def paragraph(rng: random.Random, sentence_lengths: list[int]) -> str:
    return " ".join(sentence(rng, n) for n in sentence_lengths)


def cue_turn(
    speaker: str | None,
    start: float,
    cue_texts: list[str],
    *,
    seconds_per_word: float = 0.4,
    drop_cue_ends: bool = False,
) -> Turn:
    """A turn made of back-to-back timed cues whose texts join into the turn's text."""
    cues: list[Cue] = []
    t = start
    for text in cue_texts:
        dur = len(text.split()) * seconds_per_word
        cues.append(Cue(t, None if drop_cue_ends else t + dur, text))
        t += dur
    return Turn(speaker, start, t, " ".join(cue_texts), EXACT, LABELLED, cues)


def timed_turn(speaker: str | None, start: float, end: float | None, text: str) -> Turn:
    """A turn with times from a turn marker and no cues; ``end`` may be None."""
    return Turn(speaker, start, end, text, EXACT, LABELLED if speaker else None)


def untimed_turn(speaker: str | None, text: str) -> Turn:
    return Turn(speaker, None, None, text, UNTIMED, LABELLED if speaker else None)


def standard_turns(rng: random.Random) -> list[Turn]:
    """Several speakers, timed cues, backchannels, a turn with a start and no end (the last
    timed one, so its end must be estimated) and untimed turns after it."""
    t0 = 12.0
    turns = [
        # 0: the host's long question in three cues (~150 words: split in two passages).
        cue_turn(
            HOST,
            t0,
            [paragraph(rng, [14, 21, 16]), paragraph(rng, [25, 18]), paragraph(rng, [30, 26])],
        ),
    ]
    t = turns[-1].end or t0
    turns += [
        # 1: a backchannel, too short to be a passage.
        timed_turn(GUEST, t, t + 0.6, "Yeah."),
    ]
    t += 0.6
    turns += [
        # 2: the guest's long answer, turn times only (no cues), ~230 words.
        timed_turn(GUEST, t, t + 92.0, paragraph(rng, [22, 31, 17, 40, 28, 19, 35, 24, 14])),
    ]
    t += 92.0
    turns += [
        timed_turn(HOST, t, t + 0.8, "Absolutely."),  # 3
        timed_turn(THIRD, t + 0.8, t + 2.5, "Thanks for having me here."),  # 4: 5 words
    ]
    t += 2.5
    turns += [
        # 5: a medium turn from the third speaker, one passage.
        cue_turn(THIRD, t, [paragraph(rng, [12, 9]), paragraph(rng, [17])]),
    ]
    t = turns[-1].end or t
    turns += [
        # 6: the last timed turn: a start and no end (~170 words).
        timed_turn(GUEST, t + 0.5, None, paragraph(rng, [20, 26, 33, 18, 27, 22, 24])),
        # 7-9: untimed turns, with and without a speaker.
        untimed_turn(HOST, paragraph(rng, [16, 22, 11])),
        untimed_turn(GUEST, "Yeah."),
        untimed_turn(None, paragraph(rng, [30, 45, 28, 36])),
    ]
    return turns


# The type of the ``make_episode`` fixture (see conftest.py).
MakeEpisode = Callable[..., Episode]


def unit_vectors(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


HAND_EPISODES: list[dict[str, Any]] = [
    {
        "episode_id": "a1",
        "title": "Open Source and Distillation",
        "podcast": "Latent Space",
        "published": "2024-01-10",
        "url": "https://example.com/a1",
        "audio_url": None,
        "description": "Clem on open models.",
        "people": [{"name": HOST, "role": "host"}, {"name": GUEST, "role": "guest"}],
        "sources": ["/t/latent_open_source.vtt"],
        "source_hashes": ["h-a1"],
        "formats": ["webvtt"],
        "truncated": False,
        "episode_number": 12,
        "guid": "guid-a1",
        "language": "en",
        "duration": 3600.0,
        "chapters": [],
        "extra": None,
    },
    {
        "episode_id": "b2",
        "title": "Robots Everywhere",
        "podcast": "Robot Talk",
        "published": "2024-06-01",
        "url": None,
        "audio_url": "https://example.com/b2.mp3",
        "description": None,
        "people": [{"name": THIRD, "role": None}],
        "sources": ["/t/robots.srt", "/t/robots.json"],
        "source_hashes": ["h-b2a", "h-b2b"],
        "formats": ["srt", "podcasting_json"],
        "truncated": True,
        "episode_number": None,
        "guid": None,
        "language": None,
        "duration": None,
        "chapters": [],
        "extra": None,
    },
    {
        "episode_id": "c3",
        "title": None,
        "podcast": "Latent Space",
        "published": None,
        "url": None,
        "audio_url": None,
        "description": None,
        "people": [],
        "sources": ["/t/mystery_episode.txt"],
        "source_hashes": ["h-c3"],
        "formats": ["text"],
        "truncated": False,
        "episode_number": None,
        "guid": None,
        "language": None,
        "duration": None,
        "chapters": [],
        "extra": None,
    },
]


def hand_contents(
    n_passages: int = 24, dim: int = 16, seed: int = 0, model: str = "fake-16"
) -> IndexContents:
    """Index contents written by hand (no chunking, no embedder): three episodes, passages
    cycling through them and through the speakers (and no speaker), random unit vectors."""
    rng = random.Random(seed)
    speakers: list[str | None] = [*SPEAKERS, None]
    passages: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for i in range(n_passages):
        ep = HAND_EPISODES[i % len(HAND_EPISODES)]["episode_id"]
        timed = ep != "c3"
        text = paragraph(rng, [rng.randint(5, 20), rng.randint(5, 20)])
        row = {
            "passage_id": f"{ep}-p{i:04d}",
            "episode_id": ep,
            "speaker": speakers[i % len(speakers)],
            "speaker_source": LABELLED if speakers[i % len(speakers)] else None,
            "start": 10.0 * i if timed else None,
            "end": 10.0 * i + 9.5 if timed else None,
            "time_precision": EXACT if timed else UNTIMED,
            "turn_index": i,
            "word_offset": 0,
            "text": text,
            "embed_text": text,
            "chapter": None,
        }
        passages.append(row)
        turns.append(
            {
                k: row[k]
                for k in (
                    "episode_id",
                    "turn_index",
                    "speaker",
                    "speaker_source",
                    "start",
                    "end",
                    "time_precision",
                    "text",
                )
            }
            | {"label": row["speaker"]}
            | {"cues": [{"start": row["start"], "end": row["end"], "text": text}]}
        )
    manifest = {
        "model": {"name": model, "dimension": dim, "normalized": True},
        "counts": {"passages": n_passages, "episodes": len(HAND_EPISODES)},
        "seed": seed,
    }
    vectors = unit_vectors(np.random.default_rng(seed), n_passages, dim)
    return IndexContents(manifest, passages, [dict(e) for e in HAND_EPISODES], turns, vectors)


def vtt(cues: list[tuple[str | None, str]], seconds: int = 10) -> str:
    """A WebVTT file of (speaker or None, text) cues, one every ``seconds`` seconds."""
    lines = ["WEBVTT", ""]
    for n, (who, text) in enumerate(cues):
        start, end = seconds * n, seconds * n + seconds - 1
        voice = f"<v {who}>" if who else ""
        lines += [f"{_clock(start)} --> {_clock(end)}", f"{voice}{text}", ""]
    return "\n".join(lines)


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.000"
