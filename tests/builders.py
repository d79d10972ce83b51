"""Builders of episodes, turns and cues for the tests (imported by conftest and tests)."""

from __future__ import annotations

import random

from podsearch.models import EXACT, LABELLED, UNTIMED, Cue, Turn

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
        cue_turn(HOST, t0, [paragraph(rng, [14, 21, 16]), paragraph(rng, [25, 18]),
                            paragraph(rng, [30, 26])]),
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
