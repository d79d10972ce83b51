"""Cut an episode's turns into passages: the units that are embedded and returned as quotes.

Rules:
- A passage never crosses a speaker change: it is always a stretch of one turn.
- Long turns are split at sentence ends into passages of ``min_words``..``max_words`` words,
  balanced so that a 130-word turn gives two passages of ~65 words rather than 80 + 50.
  Sentences are found by nupunkt over the whole turn (its cues joined: captions end
  mid-sentence); a sentence longer than ``max_words`` is cut at a clause boundary.
- Every word of a turn lands in exactly one passage, except turns shorter than
  ``min_turn_words`` ("Yeah.", "Absolutely.", "Thanks for having me."). Those are left out of
  ranking on purpose: alone they carry no topic, yet a dense model scores such short texts
  high against vague questions, so they would push real answers down. They stay in the
  episode's turns and are shown as context around neighbouring quotes.
- Times come from the source's cues, interpolated by word position inside a cue or turn; a
  turn with a start but no end is given an estimated end from a typical speaking rate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields

from ..core.models import (
    ESTIMATED,
    EXACT,
    INTERPOLATED,
    UNTIMED,
    Cue,
    Episode,
    Passage,
    Turn,
    short_hash,
)

# Conversational English runs at about 150 words a minute; used only where a source has a
# turn start and no end (the last turn of a file).
WORDS_PER_SECOND = 2.5


@dataclass(frozen=True)
class ChunkConfig:
    # all-MiniLM-L6-v2 was trained on texts of up to 128 word pieces: 80 words (~105 pieces,
    # 100 at the 1.25 stretch) stay inside it. On the dev set (E41-E80, hybrid) 30..80 gave
    # R@5 0.926 / MRR 0.777, against 0.852 / 0.705 for 40..120 and 0.852 / 0.769 for 25..60.
    min_words: int = 30
    max_words: int = 80
    min_turn_words: int = 8
    # Words spoken just before a passage that the model also sees (indexing.embed_texts).
    # Off by default: 30 words of context lowered the dev set's R@5 from 0.852 to 0.815.
    context_words: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, int] | None) -> ChunkConfig:
        """The config recorded in a manifest (unknown keys ignored, missing ones default)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in (data or {}).items() if k in names})

    def as_dict(self) -> dict[str, int]:
        return {
            "min_words": self.min_words,
            "max_words": self.max_words,
            "min_turn_words": self.min_turn_words,
            "context_words": self.context_words,
        }


@dataclass
class _Word:
    text: str
    time: float | None
    precision: str


def _turn_words(turn: Turn, next_start: float | None) -> list[_Word]:
    """The turn's words, each with the best time the source allows."""
    cues = turn.cues or []
    if not cues:
        cues = [Cue(turn.start, turn.end, turn.text)]
    words: list[_Word] = []
    for i, cue in enumerate(cues):
        tokens = cue.text.split()
        if not tokens:
            continue
        start = cue.start
        end = cue.end
        if end is None:
            end = cues[i + 1].start if i + 1 < len(cues) else (turn.end or next_start)
        precision = turn.time_precision if start is not None else UNTIMED
        if start is not None and end is None:
            end = start + len(tokens) / WORDS_PER_SECOND
            inner = ESTIMATED
        else:
            inner = INTERPOLATED
        for j, tok in enumerate(tokens):
            if start is None:
                words.append(_Word(tok, None, UNTIMED))
            elif j == 0:
                words.append(_Word(tok, start, precision))
            else:
                t = start + (end - start) * j / len(tokens)  # type: ignore[operator]
                worse = inner if precision == EXACT else precision
                words.append(_Word(tok, t, worse))
    return words


# Where an over-long sentence may be cut: after a clause's punctuation, or before a word that
# usually opens a clause. Speech runs on ("and then ..., so ..., because ...") far past any
# passage size; a cut there reads better than one after an arbitrary word count.
_CLAUSE_END = re.compile(r"[,;:—–-][\"'”’)\]]*$")
_CLAUSE_OPENERS = frozenset(
    "and but so because or which where when while although though whereas then".split()
)


def sentence_word_counts(text: str) -> list[int]:
    """Word counts of the text's sentences, in order, summing to the text's word count.

    Sentences come from nupunkt (Punkt with an abbreviation list: "Mr. Smith", "U.S. policy",
    "J. R. D. Tata" stay whole). Words are the text's whitespace-separated tokens, each given
    to the sentence its first character falls in, so no word is ever lost or added.
    """
    import nupunkt  # index time only; a cold ``ask`` never chunks

    words = [m.start() for m in re.finditer(r"\S+", text)]
    if not words:
        return []
    counts: list[int] = []
    w = 0
    for _, end in nupunkt.sent_spans(text):
        n = 0
        while w < len(words) and words[w] < end:
            n += 1
            w += 1
        if n:
            counts.append(n)
    if w < len(words):  # text past the last span (never seen; kept rather than lost)
        counts.append(len(words) - w)
    return counts


def _clause_cuts(words: list[str], limit: int) -> list[int]:
    """Piece sizes for one sentence longer than ``limit`` words.

    Pieces are as even as the count allows (each within a quarter of the even size, never
    over ``limit``), and each cut goes to the clause boundary nearest the even split, or the
    even split itself when no boundary is near.
    """
    sizes: list[int] = []
    pos = 0
    n = len(words)
    while n - pos > limit:
        left = n - pos
        target = left / math.ceil(left / limit)
        lo = pos + max(1, math.ceil(target * 0.75))
        hi = pos + min(limit, math.floor(target * 1.25))
        ideal = pos + round(target)
        best: tuple[float, int] | None = None
        for c in range(lo, hi + 1):
            if _CLAUSE_END.search(words[c - 1]) or words[c].lower() in _CLAUSE_OPENERS:
                cost = abs(c - ideal)
                if best is None or cost < best[0]:
                    best = (cost, c)
        cut = best[1] if best else ideal
        sizes.append(cut - pos)
        pos = cut
    sizes.append(n - pos)
    return sizes


def _sentence_spans(text: str, limit: int) -> list[int]:
    """Word counts of the text's sentences; sentences over ``limit`` words cut at clauses."""
    counts: list[int] = []
    words = text.split()
    at = 0
    for n in sentence_word_counts(text):
        if n > limit:
            counts.extend(_clause_cuts(words[at : at + n], limit))
        else:
            counts.append(n)
        at += n
    return counts


def _group(counts: list[int], cfg: ChunkConfig) -> list[int]:
    """Group sentence word counts into passage word counts of balanced size.

    Cuts only at sentence ends. Of all the ways to cut, takes the one that first avoids
    passages under ``min_words`` or over ``max_words * 1.25``, then words over ``max_words``,
    then stays closest to an even split. (A greedy pass cannot see that keeping a sentence now
    leaves a tail too short to stand alone, and made passages of 35 or 159 words.)
    """
    total = sum(counts)
    if total <= cfg.max_words:
        return [total]
    target = total / math.ceil(total / cfg.max_words)
    stretch = cfg.max_words * 1.25
    # best[j]: cost of the best grouping of counts[:j], as (words outside min..stretch,
    # words over max_words, squared distance from the target); cut[j]: where its last group
    # starts. A group is never longer than ``stretch`` unless it is a single sentence piece.
    best: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)]
    cut = [0]
    for j in range(1, len(counts) + 1):
        size = 0
        choice: tuple[tuple[float, float, float], int] | None = None
        for i in range(j - 1, -1, -1):
            size += counts[i]
            if size > stretch and i < j - 1:
                break
            hard, over, dev = best[i]
            cost = (
                hard + max(0.0, size - stretch) + max(0, cfg.min_words - size),
                over + max(0, size - cfg.max_words),
                dev + (size - target) ** 2,
            )
            if choice is None or cost < choice[0]:
                choice = (cost, i)
        assert choice is not None
        best.append(choice[0])
        cut.append(choice[1])
    groups: list[int] = []
    j = len(counts)
    while j:
        groups.append(sum(counts[cut[j] : j]))
        j = cut[j]
    return groups[::-1]


def chunk_turn(
    episode_id: str, turn_index: int, turn: Turn, next_start: float | None, cfg: ChunkConfig
) -> list[Passage]:
    """The passages of one turn, covering all its words in order."""
    words = _turn_words(turn, next_start)
    if not words:
        return []
    # The turn's cues joined: captions end mid-sentence, sentences are found across them,
    # and each word keeps the time of its own cue.
    counts = _sentence_spans(" ".join(w.text for w in words), cfg.max_words)
    passages = []
    offset = 0
    for size in _group(counts, cfg):
        chunk = words[offset : offset + size]
        text = " ".join(w.text for w in chunk)
        ends = [w.time for w in words[offset + size : offset + size + 1] if w.time is not None]
        end = ends[0] if ends else (turn.end if turn.end is not None else chunk[-1].time)
        if end is None and chunk[0].time is not None:
            end = chunk[-1].time
        passages.append(
            Passage(
                id=short_hash(episode_id, turn_index, offset, text),
                episode_id=episode_id,
                speaker=turn.speaker,
                start=chunk[0].time,
                end=end,
                text=text,
                turn_index=turn_index,
                time_precision=chunk[0].precision,
                speaker_source=turn.speaker_source,
                word_offset=offset,
            )
        )
        offset += size
    return passages


def _next_starts(turns: list[Turn]) -> list[float | None]:
    """For each turn, the start of the first timed turn after it (one pass, from the end)."""
    out: list[float | None] = [None] * len(turns)
    nxt: float | None = None
    for i in range(len(turns) - 1, -1, -1):
        out[i] = nxt
        if turns[i].start is not None:
            nxt = turns[i].start
    return out


def _group_passages(
    episode_id: str, turns: list[Turn], nexts: list[float | None], first: int, sizes: list[int]
) -> list[Passage]:
    """Passages of consecutive short turns ``first``, ``first + 1``, ...: each passage is
    ``sizes[k]`` whole turns, its text their texts joined, its speaker theirs when they share
    one (else unknown), its times from their words."""
    passages = []
    at = first
    for n in sizes:
        group = turns[at : at + n]
        words = [w for k, t in enumerate(group, at) for w in _turn_words(t, nexts[k])]
        if words:
            text = " ".join(w.text for w in words)
            after = nexts[at + n - 1]
            end = after if after is not None else group[-1].end
            if end is None and words[0].time is not None:
                end = words[-1].time
            speakers = {_who(t) for t in group}
            speaker, source = speakers.pop() if len(speakers) == 1 else (None, None)
            passages.append(
                Passage(
                    id=short_hash(episode_id, at, 0, text),
                    episode_id=episode_id,
                    speaker=speaker,
                    start=words[0].time,
                    end=end,
                    text=text,
                    turn_index=at,
                    time_precision=words[0].precision,
                    speaker_source=source,
                    word_offset=0,
                )
            )
        at += n
    return passages


def _sized(counts: list[int], cfg: ChunkConfig) -> list[int]:
    """How many of the items (word ``counts``) go in each passage: ``_group`` sizes mapped
    back to item counts (``_group`` only cuts between items)."""
    sizes = []
    i = 0
    for words in _group(counts, cfg):
        n = 0
        while words > 0:
            words -= counts[i + n]
            n += 1
        sizes.append(n)
        i += n
    return sizes


def _who(turn: Turn) -> tuple[str | None, str | None]:
    """A turn's speaker and where the name came from: turns group only when both agree."""
    return turn.speaker, turn.speaker_source


def _short_run(
    episode_id: str,
    turns: list[Turn],
    nexts: list[float | None],
    span: tuple[int, int],
    cfg: ChunkConfig,
    across: bool,
) -> list[Passage]:
    """Passages for the run of short turns ``span[0]..span[1]-1`` (each under
    ``min_turn_words``).

    Consecutive turns of one speaker (a source that cuts one person's speech into short
    segments) are grouped: together they are a passage when they reach ``min_turn_words``.
    What is left, a backchannel between two other speakers' turns, stays out of ranking,
    unless ``across`` (an episode made mostly of short turns): then it is grouped with its
    short neighbours whoever speaks, so that every word of such an episode can be found.
    """
    passages: list[Passage] = []

    def emit(first: int, last: int) -> None:  # turns first..last-1, in balanced passages
        counts = [len(t.text.split()) for t in turns[first:last]]
        passages.extend(_group_passages(episode_id, turns, nexts, first, _sized(counts, cfg)))

    # Stretches of one speaker: [first turn, end turn, word count].
    stretches: list[list[int]] = []
    for i in range(*span):
        n = len(turns[i].text.split())
        if stretches and _who(turns[i]) == _who(turns[stretches[-1][0]]):
            stretches[-1][1:] = [i + 1, stretches[-1][2] + n]
        else:
            stretches.append([i, i + 1, n])
    pending: int | None = None  # first turn of the short stretches not yet emitted
    for first, end, words in stretches:
        if words >= cfg.min_turn_words:
            if pending is not None and across:
                emit(pending, first)
            pending = None
            emit(first, end)
        elif pending is None:
            pending = first
    if pending is not None and across:
        emit(pending, span[1])
    return passages


def chunk_episode(episode: Episode, cfg: ChunkConfig | None = None) -> list[Passage]:
    """All passages of an episode, in order.

    Turns of ``min_turn_words`` or more are cut by ``chunk_turn``. Runs of shorter turns go
    to ``_short_run``: in a normal episode only a speaker's consecutive short turns that
    together reach the minimum become passages; in an episode whose words are mostly in
    short turns (a dialogue of short lines, a transcript cut into phrases) they are grouped
    across speakers too, so an episode with words never has no passage.
    """
    cfg = cfg or ChunkConfig()
    turns = episode.turns
    nexts = _next_starts(turns)
    counts = [len(t.text.split()) for t in turns]
    short_words = sum(n for n in counts if n < cfg.min_turn_words)
    across = short_words * 2 > sum(counts)
    passages: list[Passage] = []
    i = 0
    while i < len(turns):
        if counts[i] >= cfg.min_turn_words:
            passages.extend(chunk_turn(episode.id, i, turns[i], nexts[i], cfg))
            i += 1
            continue
        j = i
        while j < len(turns) and counts[j] < cfg.min_turn_words:
            j += 1
        passages.extend(_short_run(episode.id, turns, nexts, (i, j), cfg, across))
        i = j
    return passages
