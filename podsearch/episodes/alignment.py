"""Word alignment of two transcripts of one episode, time estimates and speaker inference.

Used by ``merging.merge_episodes``. Words are compared after normalisation (case and accents
folded, apostrophes dropped, split at punctuation: "open-source" = "open source"), so
punctuation and casing differences cost nothing and ASR substitutions ("blow"/"slow") cost
one word each.
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
import zlib
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from typing import NamedTuple

import numpy as np
from rapidfuzz.distance import Levenshtein

from ..core.models import EXACT, UNTIMED, Episode
from ..core.text import is_question, split_sentences

_TOKEN = re.compile(r"[^\W_]+")
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

SHINGLE = 4  # words per shingle: long enough to be specific, short enough to survive ASR


def normalize(text: str) -> str:
    """Case- and accent-folded text with apostrophes removed ("Who's" -> "whos")."""
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    return text.casefold().replace("'", "").replace("’", "")


def tokens(text: str) -> list[str]:
    """The normalised words of a text; numbers are kept as words, punctuation dropped."""
    return _TOKEN.findall(normalize(text))


def token_ids(words: list[str]) -> np.ndarray:
    """Ids of words (their CRC-32), the same in every process: sketches made by one run are
    kept (``pipeline/sketches.py``) and compared with the next run's. (Python's ``hash`` of a
    string changes from process to process: a second source of an episode indexed in a later
    run shared no shingle with the cached sketch of the first.) Two words of a 100k-word
    vocabulary share an id about once; a shingle hashes four ids into 64 bits."""
    crc = zlib.crc32
    return np.fromiter(
        (crc(w.encode("utf-8", "surrogatepass")) for w in words), np.int64, len(words)
    )


_MULT = np.int64(1_000_003)


def shingle_hashes(ids: np.ndarray, k: int = SHINGLE) -> np.ndarray:
    """The hash of every run of ``k`` consecutive word ids, in order (wrapping arithmetic)."""
    n = len(ids) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    h = np.zeros(n, dtype=np.int64)
    with np.errstate(over="ignore"):
        for i in range(k):
            h = h * _MULT + ids[i : i + n]
    return h


def lis_indices(seq: list[int]) -> list[int]:
    """Indices of a longest strictly increasing subsequence of ``seq`` (patience sorting)."""
    tail_values: list[int] = []  # smallest last value of an increasing run of each length
    tail_index: list[int] = []  # and where in seq that value is
    prev = [-1] * len(seq)
    for i, x in enumerate(seq):
        k = bisect.bisect_left(tail_values, x)
        if k > 0:
            prev[i] = tail_index[k - 1]
        if k == len(tail_values):
            tail_values.append(x)
            tail_index.append(i)
        else:
            tail_values[k] = x
            tail_index[k] = i
    out: list[int] = []
    i = tail_index[-1] if tail_index else -1
    while i >= 0:
        out.append(i)
        i = prev[i]
    return out[::-1]


# Anchors whose offset (position in b minus position in a) jumps by more than this from
# their neighbours', in runs of fewer than MIN_RUN anchors, are chance matches and dropped.
OFFSET_JUMP = 50
MIN_RUN = 3
# At the ends, beyond the first and last anchors, an alignment may only advance in step:
# a pair more than END_SLACK words further on one side than the other ends it there.
END_SLACK = 5


def align(a: list[str], b: list[str]) -> list[tuple[int, int]]:
    """Monotonic pairs (i, j): word i of ``a`` is word j of ``b`` (same or substituted).

    Anchors are the shingles that occur once in each text, kept along a longest increasing
    chain; the words between anchors are aligned by edit distance (rapidfuzz), which pairs
    substitutions ("DeLong"/"Delangue") by position. Text of one side that the other lacks
    (the tail of a truncated source) stays unpaired.
    """
    ida, idb = token_ids(a), token_ids(b)
    anchors = _anchors(ida, idb)
    pairs: list[tuple[int, int]] = []
    for i, j in anchors:
        for t in range(SHINGLE):
            if not pairs or (i + t > pairs[-1][0] and j + t > pairs[-1][1]):
                pairs.append((i + t, j + t))
    if not pairs:
        return _tighten(_edit_pairs(a, b, 0, 0), forward=True)
    out: list[tuple[int, int]] = []
    # Head: the words before the first anchor, aligned backwards from it.
    i0, j0 = pairs[0]
    lo = max(0, j0 - int(i0 * 1.3) - 10)
    head = _edit_pairs(a[:i0], b[lo:j0], 0, lo)
    out.extend(_tighten(head[::-1], forward=False, start=(i0, j0))[::-1])
    for (i0, j0), (i1, j1) in pairwise(pairs):
        out.append((i0, j0))
        if i1 - i0 > 1 and j1 - j0 > 1:
            out.extend(_edit_pairs(a[i0 + 1 : i1], b[j0 + 1 : j1], i0 + 1, j0 + 1))
    out.append(pairs[-1])
    # Tail: the words after the last anchor, aligned forwards from it.
    i1, j1 = pairs[-1]
    hi = min(len(b), j1 + 1 + int((len(a) - i1) * 1.3) + 10)
    tail = _edit_pairs(a[i1 + 1 :], b[j1 + 1 : hi], i1 + 1, j1 + 1)
    out.extend(_tighten(tail, forward=True, start=(i1, j1)))
    return out


def _anchors(ida: np.ndarray, idb: np.ndarray) -> list[tuple[int, int]]:
    sa, sb = shingle_hashes(ida), shingle_hashes(idb)
    ua, ia, ca = np.unique(sa, return_index=True, return_counts=True)
    ub, ib, cb = np.unique(sb, return_index=True, return_counts=True)
    ua, ia = ua[ca == 1], ia[ca == 1]
    ub, ib = ub[cb == 1], ib[cb == 1]
    _, xa, xb = np.intersect1d(ua, ub, assume_unique=True, return_indices=True)
    order = np.argsort(ia[xa])
    pa, pb = ia[xa][order].tolist(), ib[xb][order].tolist()
    chain = [(pa[k], pb[k]) for k in lis_indices(pb)]
    if len(chain) < MIN_RUN:
        return chain
    runs: list[list[tuple[int, int]]] = [[chain[0]]]
    for prev, cur in pairwise(chain):
        if abs((cur[1] - cur[0]) - (prev[1] - prev[0])) > OFFSET_JUMP:
            runs.append([])
        runs[-1].append(cur)
    kept = [p for run in runs if len(run) >= MIN_RUN for p in run]
    return kept or chain


def _edit_pairs(a: list[str], b: list[str], oa: int, ob: int) -> list[tuple[int, int]]:
    """Equal and substituted word pairs of an edit-distance alignment, offset by (oa, ob)."""
    if not a or not b:
        return []
    out = []
    for tag, a0, a1, b0, b1 in Levenshtein.opcodes(list(token_ids(a)), list(token_ids(b))):
        if tag in ("equal", "replace"):
            out.extend((oa + a0 + t, ob + b0 + t) for t in range(min(a1 - a0, b1 - b0)))
    return out


def _tighten(
    pairs: list[tuple[int, int]], *, forward: bool, start: tuple[int, int] | None = None
) -> list[tuple[int, int]]:
    """Keep pairs while both sides advance in step from ``start``: past the other text's end
    an edit alignment may put leftover words anywhere at no cost, and those are dropped."""
    out: list[tuple[int, int]] = []
    last = start
    for i, j in pairs:
        if last is not None:
            di, dj = abs(i - last[0]), abs(j - last[1])
            if di > dj + END_SLACK or dj > di + END_SLACK:
                break
        out.append((i, j))
        last = (i, j)
    return out


@dataclass
class Unit:
    """One utterance of a source: a cue, a line, or a whole turn without cues."""

    text: str
    speaker: str | None
    speaker_source: str | None
    start: float | None
    end: float | None
    precision: str
    turn: int  # index of its turn in the source; -1 for text that came from another source
    has_cues: bool = True


@dataclass
class Source:
    """A source cut into units, with its words normalised for alignment."""

    units: list[Unit]
    words: list[str] = field(default_factory=list)
    word_unit: list[int] = field(default_factory=list)  # unit of each word
    word_pos: list[int] = field(default_factory=list)  # whitespace-word index in its unit

    def __post_init__(self) -> None:
        for u, unit in enumerate(self.units):
            for w, raw in enumerate(unit.text.split()):
                for tok in tokens(raw):
                    self.words.append(tok)
                    self.word_unit.append(u)
                    self.word_pos.append(w)

    def unit_words(self, u: int) -> range:
        lo = bisect.bisect_left(self.word_unit, u)
        return range(lo, bisect.bisect_right(self.word_unit, u, lo))


def source_units(episode: Episode) -> Source:
    """The episode's turns cut into units (their cues when they have some)."""
    units = []
    for i, turn in enumerate(episode.turns):
        cues = turn.cues or []
        pieces = [(c.start, c.end, c.text) for c in cues] or [(turn.start, turn.end, turn.text)]
        for start, end, text in pieces:
            if not text.strip():
                continue
            units.append(
                Unit(
                    text=text,
                    speaker=turn.speaker,
                    speaker_source=turn.speaker_source,
                    start=start,
                    end=end,
                    precision=turn.time_precision if start is not None else UNTIMED,
                    turn=i,
                    has_cues=bool(cues),
                )
            )
    return Source(units)


def word_times(src: Source, wps: float) -> np.ndarray:
    """A time for every word (NaN where unknown), by position between its unit's start and
    end; a unit without an end ends at the next unit's start or after ``wps`` words/s."""
    times = np.full(len(src.words), np.nan)
    starts = [u.start for u in src.units]
    for u, unit in enumerate(src.units):
        if unit.start is None:
            continue
        rng = src.unit_words(u)
        end = unit.end
        if end is None:
            end = next((s for s in starts[u + 1 :] if s is not None), None)
        if end is None or end < unit.start:
            end = unit.start + len(rng) / wps
        if len(rng):
            times[rng.start : rng.stop] = unit.start + (end - unit.start) * np.arange(
                len(rng)
            ) / len(rng)
    return times


# A measured speaking rate outside this range (words a second) means the anchors are wrong.
PLAUSIBLE_WPS = (1.2, 5.0)


def speaking_rate(pairs: list[tuple[int, int]], src_a: Source, default: float) -> float:
    """Words of the other source per second over the aligned part: the words between the
    first and last exactly timed unit starts of ``src_a``, over the time between them."""
    anchors = exact_anchors(pairs, src_a)
    if len(anchors) >= 2:
        (j0, t0), (j1, t1) = anchors[0], anchors[-1]
        if t1 - t0 >= 20 and j1 > j0:
            rate = (j1 - j0) / (t1 - t0)
            if PLAUSIBLE_WPS[0] <= rate <= PLAUSIBLE_WPS[1]:
                return rate
    return default


def exact_anchors(pairs: list[tuple[int, int]], src_a: Source) -> list[tuple[int, float]]:
    """(word of the other source, time): where a unit of ``src_a`` with an exact start
    begins, found through the pairs (the first paired word among its first five)."""
    by_a = dict(pairs)
    out: list[tuple[int, float]] = []
    for u, unit in enumerate(src_a.units):
        if unit.start is None or unit.precision != EXACT:
            continue
        rng = src_a.unit_words(u)
        for i in list(rng)[:5]:
            if i in by_a:
                j = by_a[i] - (i - rng.start)
                if not out or (j > out[-1][0] and unit.start > out[-1][1]):
                    out.append((j, unit.start))
                break
    return out


# "..., right?" and "..., you know?" end statements, not questions.
# Speaker inference over the units of an unlabelled source -----------------------------------

OTHER = "\x00other"  # the state "someone not seen in the labelled part"
TEMPER = 0.35  # weight of word evidence: a unit's words are not independent draws
DIRICHLET = 200.0  # smoothing of each speaker's word model towards the whole text's
INFER_MIN = 0.8  # posterior a speaker needs to be named; below it the speaker stays unknown
# Below INFER_MIN the likeliest known speaker is still given as a guess ("likely") when it
# has this share of the posterior of the known speakers (the unseen-speaker state left out).
# scripts/speaker_inference.py (10 episodes, labelled preview of 30% of the turns): 67% of
# the words past the preview get a guess at 0.8, and 80% of those guesses are right (53% in
# 0.6-0.8, 52% in 0.4-0.6: no better than the preview's most frequent speaker, 51%).
GUESS_MIN = 0.8
# Prior pseudo-counts (continue, switch) of the speaker after a question and otherwise.
STAY_PRIOR = {True: (1.0, 1.0), False: (8.5, 1.5)}
MAX_OPENER_RATIO = 20.0  # bound on how much a unit's first word moves the odds of a switch


class Inference(NamedTuple):
    """A unit's speaker as ``infer_speakers`` finds it."""

    speaker: str | None  # named when its posterior reaches INFER_MIN
    posterior: float  # of the likeliest state (an unseen speaker included)
    guess: str | None  # the likeliest of the known speakers, however unlikely
    guess_posterior: float  # its share of the known speakers' posterior


def infer_speakers(
    texts: list[str],
    observed: list[str | None],
    train: list[tuple[str, str]],
    open_turns: frozenset[int] = frozenset(),
) -> list[Inference]:
    """For each unit, an ``Inference`` from a hidden Markov model over the units.

    ``observed`` holds the speakers known from the aligned part (clamped); ``train`` is the
    labelled source's (speaker, text) in order. Learned there: each speaker's words (a
    smoothed unigram model), how often each speaker asks questions (a unit ending in "?"),
    who speaks after whom; learned on the observed units: how often a unit continues the
    previous speaker after a question and otherwise. An extra state stands for an unseen
    speaker. A speaker is named only when its posterior reaches ``INFER_MIN``; the likeliest
    known speaker is always given as the guess. Units in
    ``open_turns`` are known to start a turn whose speaker is unknown: any speaker (the same
    one included) is equally likely to follow there.
    """
    names = sorted({s for s, _ in train if s})
    if not names or not texts:
        return [Inference(None, 0.0, None, 0.0)] * len(texts)
    states = [*names, OTHER]
    n_s = len(states)
    index = {s: k for k, s in enumerate(states)}

    # Word models: each speaker's unigram model, smoothed towards the labelled text's. The
    # unseen state uses the labelled text's model itself. Words absent from the labelled
    # text score the same under every state and so carry no evidence.
    per: dict[str, Counter[str]] = {s: Counter() for s in names}
    for s, text in train:
        per[s].update(tokens(text))
    bg: Counter[str] = Counter()
    for c in per.values():
        bg.update(c)
    total = sum(bg.values())
    emis = np.zeros((len(texts), n_s))
    for u, text in enumerate(texts):
        seen = [w for w in tokens(text) if w in bg]
        for k, s in enumerate(names):
            counts, n = per[s], sum(per[s].values())
            emis[u, k] = TEMPER * sum(
                math.log((counts[w] + DIRICHLET * bg[w] / total) / (n + DIRICHLET) * total / bg[w])
                for w in seen
            )

    # Questions: P(a sentence ends with "?" | speaker), smoothed.
    q_count = Counter[str]()
    s_count = Counter[str]()
    for s, text in train:
        for sent in split_sentences(text) or [text]:
            s_count[s] += 1
            q_count[s] += is_question(sent)
    p_q = [(q_count[s] + 0.5) / (s_count[s] + 1) for s in names]
    p_q.append((sum(q_count.values()) + 0.5) / (sum(s_count.values()) + 1))
    for u, text in enumerate(texts):
        q = is_question(text)
        emis[u] += np.log([p if q else 1 - p for p in p_q])

    # Clamp the units whose speaker the aligned part gives.
    for u, s in enumerate(observed):
        if s is not None and s in index:
            emis[u] = -1e9
            emis[u, index[s]] = 0.0

    # Transitions: continue or switch. The base chance of a switch depends on whether the
    # last unit was a question (learned on the observed units); the first word of the unit
    # moves it ("Yeah," "Well," "Totally." open turns far more often than they continue
    # one), by its likelihood ratio learned on the observed units and the labelled text.
    stay = {k: list(v) for k, v in STAY_PRIOR.items()}
    opens: Counter[str] = Counter()
    goes_on: Counter[str] = Counter()
    for u in range(1, len(texts)):
        a, b = observed[u - 1], observed[u]
        if a is not None and b is not None:
            stay[is_question(texts[u - 1])][0 if a == b else 1] += 1
            (goes_on if a == b else opens)[_first_word(texts[u])] += 1
    last = None
    for s, text in train:
        for i, sent in enumerate(split_sentences(text) or [text]):
            (opens if i == 0 and s != last else goes_on)[_first_word(sent)] += 1
        last = s
    follows = np.full((n_s, n_s), 0.5)  # who speaks after whom, from the labelled turns
    order = [s for s, _ in train]
    for a, b in pairwise(order):
        if a != b:
            follows[index[a], index[b]] += 1
    np.fill_diagonal(follows, 0.0)
    follows /= follows.sum(axis=1, keepdims=True)
    n_words = len(opens | goes_on) + 1
    n_open, n_on = sum(opens.values()), sum(goes_on.values())

    def trans(after_question: bool, word: str) -> np.ndarray:
        st, sw = stay[after_question]
        ratio = ((opens[word] + 1) / (n_open + n_words)) / ((goes_on[word] + 1) / (n_on + n_words))
        odds = sw / st * min(MAX_OPENER_RATIO, max(1 / MAX_OPENER_RATIO, ratio))
        p = 1 / (1 + odds)
        return np.log(np.eye(n_s) * p + follows * (1 - p))

    uniform = np.full((n_s, n_s), -math.log(n_s))
    post = _forward_backward(
        emis,
        [
            uniform if u + 1 in open_turns else trans(is_question(t), _first_word(nxt))
            for u, (t, nxt) in enumerate(pairwise(texts))
        ],
    )
    out: list[Inference] = []
    for u in range(len(texts)):
        k = int(np.argmax(post[u]))
        p = float(post[u, k])
        named = int(np.argmax(post[u, :-1]))  # the likeliest of the known speakers
        guess = (names[named], float(post[u, named] / max(post[u, :-1].sum(), 1e-300)))
        if states[k] != OTHER and p >= INFER_MIN:
            out.append(Inference(states[k], p, *guess))
        else:
            out.append(Inference(None, p, *guess))
    return out


def _first_word(text: str) -> str:
    words = tokens(text[:40])
    return words[0] if words else ""


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(x - m), axis=axis))


def _forward_backward(emis: np.ndarray, trans: list[np.ndarray]) -> np.ndarray:
    """Posterior state probabilities of each unit (log-space forward-backward)."""
    n, k = emis.shape
    fwd = np.zeros((n, k))
    fwd[0] = emis[0] - math.log(k)
    for u in range(1, n):
        fwd[u] = emis[u] + _logsumexp(fwd[u - 1][:, None] + trans[u - 1], axis=0)
    bwd = np.zeros((n, k))
    for u in range(n - 2, -1, -1):
        bwd[u] = _logsumexp(trans[u] + (emis[u + 1] + bwd[u + 1])[None, :], axis=1)
    post = fwd + bwd
    post -= _logsumexp(post, axis=1)[:, None]
    return np.exp(post)
