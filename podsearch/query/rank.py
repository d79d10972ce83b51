"""Ranking: lexical (BM25) and dense candidates, filtered inside both searches, fused into one
ranking, shaped into hits with a confidence flag."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

from ..core.errors import ModelLoadError
from ..core.text import latin_share
from ..embed.base import Embedder
from ..embed.factory import load_query_embedder
from ..embed.names import check_model, reads_english_only
from ..embed.rerank import Reranker, installed_reranker, load_reranker
from ..store.index import Index
from ..store.lexical import split_query, words_of
from .context import attach_answers
from .filters import allowed_rows, filter_sets, undated_left_out
from .hits import BOILERPLATE_AT, make_hits, merge_adjacent, overlaps
from .names import known_speakers, speaker_book, speaker_roles
from .parse import ParsedQuestion, parse_question
from .types import (
    FEW_WORDS,
    LOW_SCORE,
    MODES,
    OFF_TOPIC_EPISODE,
    OTHER_SCRIPT,
    AskResult,
    Filters,
    Hit,
)
from .validate import check_episode_filters, scoped_speakers, unknown_speaker

A = TypeVar("A")
B = TypeVar("B")

# A hit is "confident" when its score reaches the threshold of its scale. Calibrated with
# scripts/calibrate.py on the dev index (E41-E80, 27 answerable questions, the 3 dev
# negatives and 21 generic off-topic questions in scripts/data/offtopic_questions.txt):
# - hybrid (weighted fusion): off-topic top hits reach 0.32 at most (90th pct 0.31), the first
#   correct hits of answerable questions start at 0.30 (10th pct 0.35, median 0.50);
# - cosine (semantic mode, rrf fusion): off-topic questions still find passages at up to 0.40
#   (fishing in a mountain lake), so only a higher bar keeps them out.
CONFIDENT_FUSED = 0.33
CONFIDENT_COSINE = 0.40
# ... and when its episode is about the question: the question's mean cosine over the
# episode's passages (``store.episode_means``) reaches ON_TOPIC, unless the passage itself
# scores CONFIDENT_ANYWAY (near the question's own words). A passage's best score grows with
# the library: on 187 episodes (87,223 passages) 15 of the 21 off-topic questions reached
# 0.33 (ski wax, tulip bulbs), against 0-2 on 40-episode libraries; an episode's mean cosine
# does not grow. The answers found to the three question sets (54) have episode means from
# 0.041 (two asides of the host's) up, 0.077 at the 5th pct; off-topic questions' best
# passages 0.045-0.057 at the 90th. At 0.03: 4 of those 21 confident on 187 episodes, 0 or
# 1 on the 40-episode ones, and the same 53 of the 54 answers (scripts/calibrate.py).
ON_TOPIC = 0.03
CONFIDENT_ANYWAY = 0.6
# Lexical mode has no cosine: a hit is confident when it holds most of the question's words.
CONFIDENT_COVERAGE = 0.75
RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al. 2009)
# Weighted fusion: FUSION_WEIGHT * cosine + (1 - FUSION_WEIGHT) * coverage, where coverage is
# the idf-weighted share of the question's terms found in the passage (0..1). Unlike
# min-max-normalised BM25, coverage is absolute: for a paraphrase no passage covers much and
# the dense score decides; a rare name or number that a passage holds lifts it to the top.
# Dev set (E41-E80): R@5 is 0.926 for every weight from 0.6 to 0.9; 0.7 is mid-plateau.
FUSION_WEIGHT = 0.7
# A passage whose show repeats at least BOILERPLATE_AT of its text across episodes (intros,
# outros, sponsor reads: ``episodes.boilerplate``; 1.1% of the passages of the 309 episodes
# of The Seen and the Unseen) ranks as if its score were lower by BOILERPLATE_PENALTY times
# that share, unless the request includes boilerplate: a pure sponsor read loses 0.2, the
# gap between a weak match and a typical correct one on the fused scale. Measured on the dev
# index (E41-E80): vague questions ("thank you for listening", "where can I follow you on
# twitter", "download the app", 7 in all) had 8 boilerplate hits in their top 5s, none with
# a penalty of 0.1 to 0.3, and the dev figures did not move; ranking boilerplate after
# everything else instead cost a question whose answer shares a passage with the intro
# (MRR@10 0.762 -> 0.737).
BOILERPLATE_PENALTY = 0.2  # BOILERPLATE_AT (0.5) is in query.hits, which flags such hits
# BM25 (lexical mode) and rank-fusion scores have no fixed range: there the penalty is this
# share of the best score of the ranking (0.2 is about 0.4 of a typical correct top score,
# 0.5, on the fused scale).
BOILERPLATE_PENALTY_RELATIVE = 0.4
# An answer often spreads over neighbouring passages (a setup, then the point), and a passage
# cut from a longer answer can miss the words that make it match. So in hybrid ranking each
# passage ranks as if its fused score were higher by NEIGHBOUR_WEIGHT times the mean cosine of
# the question to the passages just before and after it in its episode (the scores shown stay
# the passage's own). Measured with scripts/eval.py (MiniLM, hybrid): dev set (E41-E80, 27
# answerable) R@1 0.630 -> 0.741, MRR@10 0.762 -> 0.815, R@5 0.963 both; held-out set
# (E100-E140, 15) R@1 0.800 both, MRR@10 0.844 -> 0.854. Weights 0.15..0.3 all helped both
# sets; the max of the two neighbours, the previous one alone (the question before an answer)
# or two on each side helped less, and lifting the turn after a question did not help at all.
NEIGHBOUR_WEIGHT = 0.25
# The second stage (by default when the first is unsure, see RERANK_UNSURE; every time with
# --rerank): the first RERANK_DEPTH hits (of RERANK_POOL made: more hits made lets adjacent
# passages merge into the first ones, which gives the cross-encoder whole answers) are
# ordered again by reciprocal rank fusion (constant RERANK_RRF_K) of the cross-encoder's
# ranking and the first stage's at RERANK_FIRST_STAGE of its weight. Measured with
# scripts/eval.py on the three question sets (dev, held-out, second held-out), MRR@10 0.815,
# 0.898, 0.708 -> 0.867, 0.908, 0.756 (one library of all 309 episodes: 0.628, 0.844, 0.561
# -> 0.701, 0.867, 0.722); the cross-encoder alone 0.871, 0.873, 0.750; constants 3-10 the
# same within a question; the whole of 20 hits reranked: no better, twice the time.
RERANK_DEPTH = 10
RERANK_POOL = 20
RERANK_RRF_K = 5
RERANK_FIRST_STAGE = 0.5
# By default (rerank=None) the cross-encoder reads the first hits only when the first stage
# is unsure: its best hit is confident but scores under RERANK_UNSURE. A sure first stage is
# rarely wrong, and an off-topic question (no confident hit) has no answer to find, so
# neither pays the second stage's 1-2 s. Measured on the three sets (scripts/eval.py, each
# its own 40-episode index): 12 of 30 dev questions reranked, 0 of 16 held-out, 6 of 16
# second held-out; MRR@10 0.815, 0.898, 0.708 -> 0.867, 0.898, 0.697 (every time: 0.867,
# 0.908, 0.756). On one library of all 309 episodes 0.628, 0.844, 0.561 -> 0.692, 0.844,
# 0.629 (every time: 0.701, 0.867, 0.722). The bar is the highest that reranks fewer than
# half of the questions of every set: at 0.52 half of the second held-out set's.
RERANK_UNSURE = 0.5
FOREIGN_LATIN_SHARE = 0.5  # under half of the question's letters Latin: another script


def fuse_rrf(rankings: list[list[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of several rankings of row ids, best first."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, 1):
            scores[row] = scores.get(row, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda x: (-x[1], x[0]))


def search(
    index: Index,
    question: str,
    *,
    top: int = 10,
    filters: Filters | None = None,
    embedder: Embedder | None = None,
    model: str | None = None,
    parse: bool = True,
    mode: str = "hybrid",
    fusion: str = "weighted",
    rerank: bool | Reranker | None = None,
) -> AskResult:
    """Rank the index's passages for a question and return the top hits.

    ``mode``: hybrid (default), semantic or lexical. ``fusion`` (hybrid only): weighted
    (cosine plus query-term coverage, the default) or rrf (reciprocal rank fusion).
    ``parse=False`` searches the question as it is, never taking a speaker out of it.
    ``rerank``: the first hits are ranked again with a cross-encoder (True: the bundled one,
    ``embed.rerank``, which must be installed; or a ``Reranker``); None (the default): with
    the bundled one when it is installed and the first stage is unsure (``RERANK_UNSURE``,
    hybrid weighted ranking only); False: never."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    model_name = check_model(index.model, model, index.path)
    # Started first: its model loads in a thread while the question is embedded and searched.
    reranker = load_reranker() if rerank is True else (rerank or None)
    when_unsure = rerank is None and mode == "hybrid" and fusion == "weighted"
    filters = filters or Filters()
    parsed = (
        parse_question(question, known_speakers(index), speaker_roles(index), speaker_book(index))
        if parse and not filters.speakers
        else ParsedQuestion(query=question)
    )
    if parsed.speakers:
        filters = filters.with_speakers(parsed.speakers, include_unknown=True)
    elif filters.speakers:
        known = known_speakers(index)
        from ..speakers.questions import expand_query_name

        book = speaker_book(index)
        resolved = []
        for s in filters.speakers:
            found = scoped_speakers(s, known, filters) or expand_query_name(s, known, book)
            if not found:
                raise unknown_speaker(s, known)
            resolved += found
        filters = filters.with_speakers(resolved)
    if filters.podcast or filters.episode:
        check_episode_filters(index, filters)
    episodes, speakers = filter_sets(index, filters)
    depth = max(100, top * 10)
    phrases, _ = split_query(parsed.query)

    lexical: list[tuple[int, float]] = []
    dense: list[tuple[int, float]] = []
    vector = None
    words = index.lexical if mode != "semantic" or phrases else None

    def lexical_search() -> list[tuple[int, float]]:
        assert words is not None
        return words.search(parsed.query, depth, episodes=episodes, speakers=speakers)

    if mode != "lexical":
        embedder = embedder or load_query_embedder(model_name)
        vector = embedder.encode([parsed.query])[0]
        allowed = allowed_rows(index, filters)

        def dense_search() -> list[tuple[int, float]]:
            return index.nearest(vector, depth, allowed)

        if words is None:
            dense = dense_search()
        else:
            dense, lexical = _alongside(dense_search, lexical_search)
    else:
        lexical = lexical_search()
    if phrases:
        # Quoted text must appear: keep only passages the phrase query matched.
        matched = {r for r, _ in lexical}
        dense = [(r, sc) for r, sc in dense if r in matched]

    if mode == "semantic":
        ranked = dense[:depth]
    elif mode == "lexical":
        ranked = lexical[:depth]
    else:
        ranked = _fuse(index, parsed.query, vector, dense, lexical, fusion)[:depth]
    lift = vector if mode == "hybrid" and fusion == "weighted" else None
    # BM25 and rank-fusion scores are on no fixed scale: the penalty is taken of the best.
    relative = mode == "lexical" or (mode == "hybrid" and fusion == "rrf")
    ranked = _reorder(
        index, ranked, lift, demote=not filters.include_boilerplate, relative=relative
    )
    if mode == "hybrid" and fusion == "rrf" and vector is not None:
        # Rank fusion numbers mean nothing to a reader: show the cosine instead.
        cosine = _cosines(index, vector, dense, [r for r, _ in ranked])
        ranked = [(r, cosine[r]) for r, _ in ranked]
    # A question mostly in another script, asked of an English-only model: its nearest
    # passages are near by accident (on the 309-episode library a Hindi question scored 0.61
    # against unrelated Hindi passages), so none is a confident match; quoted text still is.
    foreign = (
        not phrases
        and latin_share(parsed.query) < FOREIGN_LATIN_SHARE
        and reads_english_only(model_name)
    )
    # A question about a person of the library (named in it, or --speaker) is about the
    # library: its episodes need not be about it ("what did Clem say about distillation"
    # finds his one remark on it in an episode about open source), only the score bar holds.
    means = index.episode_means if vector is not None and not filters.speakers else None

    def candidates() -> Iterator[tuple[int, Hit]]:
        """Each ranked row's hit, best first, judged and made a batch at a time."""
        batch = max(2 * top, 20)
        for at in range(0, len(ranked), batch):
            chunk = ranked[at : at + batch]
            for (row, _), h in zip(chunk, make_hits(index, chunk), strict=True):
                mean = means.get(h.episode_id) if means else None
                h.weak_because = (
                    OTHER_SCRIPT
                    if foreign
                    else _weakness(
                        h,
                        mode,
                        fusion,
                        parsed.query,
                        bool(phrases),
                        None if mean is None else float(mean @ vector),
                    )
                )
                h.confident = h.weak_because is None
                if parsed.speakers and h.speaker is None and not h.confident:
                    # Unattributed text may hold the named person's words, but only a strong
                    # match earns a place beside their labelled passages.
                    continue
                yield row, h

    made = candidates()
    hits: list[Hit] = []
    spans: list[tuple[int, int]] = []  # the first and last row of each hit's passages

    def fill(want: int) -> None:
        """Take candidates, best first, until ``want`` hits; again later for more."""
        for row, h in made:
            if merge_adjacent(hits, spans, h, row):
                continue  # it extended a better hit: one quote, one time range
            if any(overlaps(h, k) for k in hits):
                continue  # no two hits cover the same span of one episode
            hits.append(h)
            spans.append((row, row))
            if len(hits) >= want:
                return

    fill(max(top, RERANK_POOL) if reranker else top)
    if when_unsure and hits and hits[0].confident and hits[0].score < RERANK_UNSURE:
        reranker = installed_reranker()
        if reranker:
            fill(max(top, RERANK_POOL))  # the same hits as a pool made at once
    reranked = False
    if reranker and hits:
        try:
            scores = reranker.score(parsed.query, [h.text for h in hits[:RERANK_DEPTH]])
        except ModelLoadError:
            if not when_unsure:
                raise  # asked for: say so; by default the first stage's order stands
            scores = None
        if scores is not None:
            order = _rerank_order(scores)
            hits = [hits[i] for i in order] + hits[RERANK_DEPTH:]
            spans = [spans[i] for i in order] + spans[RERANK_DEPTH:]
            reranked = True
    hits, spans = hits[:top], spans[:top]
    for i, h in enumerate(hits, 1):
        h.rank = i
    attach_answers(index, hits, [hi for _, hi in spans])
    return AskResult(
        question=question,
        query=parsed.query,
        speakers=list(filters.speakers),
        hits=hits,
        index=str(index.path),
        undated_left_out=undated_left_out(index, filters),
        reranked=reranked,
    )


_WORKERS: ThreadPoolExecutor | None = None
_WORKERS_LOCK = threading.Lock()


def _alongside(here: Callable[[], A], there: Callable[[], B]) -> tuple[A, B]:
    """``here()`` in this thread while ``there()`` runs in a worker: the HNSW walk and the
    lexical search take ~1.2 and ~0.6 ms of a warm question and both release the GIL, so on
    two cores the second costs nothing (a warm ask 4.9 ms one after the other, 4.35 ms side
    by side). An exception of either is raised here."""
    global _WORKERS
    with _WORKERS_LOCK:
        if _WORKERS is None:
            _WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="podsearch-query")
        future = _WORKERS.submit(there)
    try:
        first = here()
    finally:
        second = future.result()  # never left running against a closed index
    return first, second


def _forget_workers() -> None:
    global _WORKERS
    _WORKERS = None  # a forked child has none of its parent's threads: it starts its own


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_forget_workers)


def _rerank_order(scores: np.ndarray) -> list[int]:
    """The first hits' new order: reciprocal rank fusion of the cross-encoder's ranking and,
    at half its weight, the first stage's (which knows the neighbours and the question's
    words; the cross-encoder alone lost answers the first stage had first)."""
    by_reranker = np.argsort(-scores, kind="stable")
    place = np.empty(len(scores), dtype=np.int64)
    place[by_reranker] = np.arange(len(scores))
    key = [
        1.0 / (RERANK_RRF_K + place[i] + 1) + RERANK_FIRST_STAGE / (RERANK_RRF_K + i + 1)
        for i in range(len(scores))
    ]
    return sorted(range(len(scores)), key=lambda i: (-key[i], i))


def _reorder(
    index: Index,
    ranked: list[tuple[int, float]],
    vector: np.ndarray | None,
    *,
    demote: bool,
    relative: bool = False,
) -> list[tuple[int, float]]:
    """The ranking ordered by each passage's score plus its neighbours' lift (when ``vector``
    is given, ``NEIGHBOUR_WEIGHT``) minus its boilerplate penalty (when ``demote``,
    ``BOILERPLATE_PENALTY`` times its share, or ``BOILERPLATE_PENALTY_RELATIVE`` of the best
    score times its share when ``relative``); the scores shown stay as they are."""
    if not ranked:
        return ranked
    rows = np.fromiter((r for r, _ in ranked), dtype=np.int64, count=len(ranked))
    key = np.fromiter((sc for _, sc in ranked), dtype=np.float64, count=len(ranked))
    changed = False
    if vector is not None:
        key += NEIGHBOUR_WEIGHT * _neighbour_cosine(index, vector, rows)
        changed = True
    shares = index.boilerplate
    if demote and len(shares):
        share = shares[rows]
        if (share >= BOILERPLATE_AT).any():
            penalty = (
                BOILERPLATE_PENALTY_RELATIVE * float(np.abs(key).max())
                if relative
                else BOILERPLATE_PENALTY
            )
            key -= np.where(share >= BOILERPLATE_AT, penalty * share, 0.0)
            changed = True
    if not changed:
        return ranked
    order = np.lexsort((np.arange(len(ranked)), -key))  # ties keep their fused order
    return [ranked[i] for i in order.tolist()]


def _neighbour_cosine(index: Index, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per row, the mean cosine of the question to the passages just before and after it in
    its episode (an episode's passages are consecutive rows); 0 for a lone passage."""
    _, episode = index.passage_codes("episode_id")
    n = len(episode)
    total = np.zeros(len(rows))
    count = np.zeros(len(rows))
    sides = []
    for step in (-1, 1):
        other = np.clip(rows + step, 0, n - 1)
        same = (other != rows) & (episode[other] == episode[rows])
        sides.append((other, same))
    wanted = np.unique(np.concatenate([o[s] for o, s in sides]))
    if not len(wanted):
        return total
    cosine = index.vectors_for(wanted.tolist()) @ vector
    for other, same in sides:
        at = np.searchsorted(wanted, other[same])
        total[same] += cosine[at]
        count[same] += 1
    return total / np.maximum(count, 1)


def _cosines(
    index: Index, vector: np.ndarray, dense: list[tuple[int, float]], rows: list[int]
) -> dict[int, float]:
    """Cosine of the question to each row: from the dense results, else from stored vectors."""
    cosine = dict(dense)
    missing = [r for r in rows if r not in cosine]
    if missing:
        cosine.update(zip(missing, (index.vectors_for(missing) @ vector).tolist(), strict=True))
    return cosine


def _fuse(
    index: Index,
    query: str,
    vector: np.ndarray,
    dense: list[tuple[int, float]],
    lexical: list[tuple[int, float]],
    fusion: str,
) -> list[tuple[int, float]]:
    """One ranking from the dense and lexical candidates."""
    if fusion == "rrf":
        return fuse_rrf([[r for r, _ in dense], [r for r, _ in lexical]])
    if fusion != "weighted":
        raise ValueError("fusion must be weighted or rrf")
    rows = list(dict.fromkeys([r for r, _ in dense] + [r for r, _ in lexical]))
    if not rows:
        return []
    cosine = _cosines(index, vector, dense, rows)
    coverage = index.lexical.coverage(query, rows)
    fused = {
        r: FUSION_WEIGHT * cosine[r] + (1 - FUSION_WEIGHT) * c
        for r, c in zip(rows, coverage, strict=True)
    }
    return sorted(fused.items(), key=lambda x: (-x[1], x[0]))


def _weakness(
    hit: Hit, mode: str, fusion: str, query: str, phrase: bool, on_topic: float | None = None
) -> str | None:
    """Why the hit is not a confident match (``query.types.WEAK_REASONS``), or None when it
    is. ``on_topic``: the question's mean cosine over the hit's episode (None: not known)."""
    if phrase:
        return None  # the quoted words are in the passage
    if mode != "lexical":
        bar = CONFIDENT_FUSED if mode == "hybrid" and fusion == "weighted" else CONFIDENT_COSINE
        if hit.score < bar:
            return LOW_SCORE
        if on_topic is not None and on_topic < ON_TOPIC and hit.score < CONFIDENT_ANYWAY:
            return OFF_TOPIC_EPISODE
        return None
    _, words = split_query(query)
    stems = {w.lower()[:5] for w in words}
    text = {w[:5] for w in words_of(hit.text.lower())}
    if len(stems) >= 2 and len(stems & text) / len(stems) >= CONFIDENT_COVERAGE:
        return None
    return FEW_WORDS
