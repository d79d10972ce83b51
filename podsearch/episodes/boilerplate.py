"""Boilerplate: the text a show repeats from episode to episode (its intro and outro, sponsor
reads, network promos), found the way same-episode detection finds shared text.

Each passage is reduced to its word 4-gram shingles (``alignment.shingle_hashes``, the
shingles of ``detection``). A shingle is boilerplate for a show when more than
``BOILERPLATE_SHARE`` of the show's episodes (and at least ``MIN_EPISODES``) hold it; a
passage's share is the fraction of its shingles that are boilerplate. On the 309 episodes of
The Seen and the Unseen, 1,370 of 123,549 passages have a share of at least 0.5: welcome
lines, "if you enjoyed listening to this episode, head on over to...", sponsor reads and
network promos; interview text sits below 0.5 (the highest seen, 0.45, quoted a common
phrase). Ranking demotes passages at or above 0.5 (``query.hits.BOILERPLATE_AT``); nothing is
deleted.

Adding episodes does not redo the library (``library_shares``): each episode's set of
shingles is kept (``pipeline/sketches.py``), the counts per show come from those sets, and
only the new episodes and the old ones holding a shingle whose boilerplate status flipped
get their passages' shares computed again; the others keep theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from .alignment import SHINGLE, shingle_hashes, token_ids, tokens
from .detection import BOILERPLATE_SHARE

MIN_EPISODES = 3  # a shingle in three episodes or fewer is never boilerplate


@dataclass
class EpisodeText:
    """One episode's passages as ``library_shares`` needs them."""

    id: str
    show: str | None
    texts: list[str]  # its passage texts, in order
    # Its ``passage_shingles`` (hash, passage), if known (kept beside the index).
    shingles: tuple[np.ndarray, np.ndarray] | None = None
    shares: list[float] | None = None  # its passages' shares in the previous generation


def passage_shingles(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(hash, passage) of every shingle inside a passage (none spans two), sorted by hash:
    the episode's distinct shingles are then read off without sorting again."""
    words = [tokens(t) for t in texts]
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    passage_of = np.repeat(np.arange(len(words), dtype=np.int32), lengths)
    hashes = shingle_hashes(token_ids(list(chain.from_iterable(words))))
    inside = passage_of[: len(hashes)] == passage_of[SHINGLE - 1 :]
    hashes, owner = hashes[inside], passage_of[: len(hashes)][inside]
    order = np.argsort(hashes, kind="stable")
    return hashes[order], owner[order]


def _distinct(hashes: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array."""
    return hashes[np.concatenate(([True], hashes[1:] != hashes[:-1]))] if len(hashes) else hashes


def _limit(episodes: int) -> int:
    """A shingle is boilerplate in a show of this many episodes when more hold it."""
    return max(MIN_EPISODES, int(BOILERPLATE_SHARE * episodes))


def library_shares(
    episodes: Sequence[EpisodeText], added: set[str] | None = None
) -> dict[str, np.ndarray]:
    """Episode id -> its passages' boilerplate shares, each show on its own (episodes
    without a show form one group).

    ``added``: the ids of the episodes new since the previous generation, when every other
    episode is in it unchanged (same passages, same show) with its ``shares``; then only the
    added episodes and those holding a shingle whose status the additions flipped are
    computed again. None: every episode is."""
    for e in episodes:
        if e.shingles is None:
            e.shingles = passage_shingles(e.texts)
    by_show: dict[str | None, list[EpisodeText]] = {}
    for e in episodes:
        by_show.setdefault(e.show or None, []).append(e)
    out: dict[str, np.ndarray] = {}
    for group in by_show.values():
        sets = {e.id: _distinct(_shingles(e)[0]) for e in group}
        keys, counts = np.unique(np.concatenate(list(sets.values())), return_counts=True)
        boilerplate = counts > _limit(len(group))
        redo = _to_redo(group, sets, keys, counts, boilerplate, added)
        # Looked up among the boilerplate shingles only (a few percent of them, so the
        # lookups stay in cache: 10x faster than among all of the show's shingles).
        common_keys = keys[boilerplate]
        for e in group:
            if e.id in redo or e.shares is None:
                hashes, owner = _shingles(e)
                at = np.minimum(np.searchsorted(common_keys, hashes), len(common_keys) - 1)
                common = common_keys[at] == hashes if len(common_keys) else np.zeros(len(hashes))
                n = len(e.texts)
                held = np.bincount(owner, minlength=n)
                shared = np.bincount(owner, weights=common, minlength=n)
                out[e.id] = (shared / np.maximum(held, 1)).astype(np.float32)
            else:
                out[e.id] = np.asarray(e.shares, dtype=np.float32)
    return out


def _shingles(e: EpisodeText) -> tuple[np.ndarray, np.ndarray]:
    assert e.shingles is not None  # filled by library_shares
    return e.shingles


def _to_redo(
    group: list[EpisodeText],
    sets: dict[str, np.ndarray],
    keys: np.ndarray,
    counts: np.ndarray,
    boilerplate: np.ndarray,
    added: set[str] | None,
) -> set[str]:
    """The episodes of one show whose shares must be computed (see ``library_shares``)."""
    if added is None:
        return {e.id for e in group}
    new = [e for e in group if e.id in added]
    if len(new) == len(group) or any(e.shares is None for e in group if e.id not in added):
        return {e.id for e in group}
    before = counts.copy()  # each shingle's count without the added episodes
    for e in new:
        before[np.searchsorted(keys, sets[e.id])] -= 1
    flipped = keys[boilerplate != (before > _limit(len(group) - len(new)))]
    redo = {e.id for e in new}
    if len(flipped):
        redo |= {e.id for e in group if np.isin(sets[e.id], flipped).any()}
    return redo


def boilerplate_shares(
    texts: Sequence[str], episode_ids: Sequence[str], shows: Sequence[str | None]
) -> np.ndarray:
    """For each passage, the share (0..1) of its shingles that its show repeats in more than
    ``BOILERPLATE_SHARE`` of its episodes. ``shows[i]`` is passage i's show (None: the
    passages without a show form one group). Passages of one episode may be anywhere."""
    n = len(texts)
    if not (n == len(episode_ids) == len(shows)):
        raise ValueError("one episode id and one show per passage")
    rows: dict[str, list[int]] = {}
    for i, eid in enumerate(episode_ids):
        rows.setdefault(eid, []).append(i)
    episodes = [EpisodeText(eid, shows[r[0]], [texts[i] for i in r]) for eid, r in rows.items()]
    out = np.zeros(n, np.float32)
    for eid, shares in library_shares(episodes).items():
        out[rows[eid]] = shares
    return out
