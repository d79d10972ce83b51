"""Boilerplate: the text a show repeats from episode to episode (its intro and outro, sponsor
reads, network promos), found the way same-episode detection finds shared text.

Each passage is reduced to its word 4-gram shingles (``alignment.shingle_hashes``, the
shingles of ``merging``). A shingle is boilerplate for a show when more than
``BOILERPLATE_SHARE`` of the show's episodes (and at least ``MIN_EPISODES``) hold it; a
passage's share is the fraction of its shingles that are boilerplate. On the 309 episodes of
The Seen and the Unseen, 1,370 of 123,549 passages have a share of at least 0.5: welcome
lines, "if you enjoyed listening to this episode, head on over to...", sponsor reads and
network promos; interview text sits below 0.5 (the highest seen, 0.45, quoted a common
phrase). Ranking demotes passages at or above ``DEMOTE_AT`` (``query.rank``); nothing is
deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np

from .alignment import SHINGLE, shingle_hashes, token_ids, tokens
from .merging import BOILERPLATE_SHARE

MIN_EPISODES = 3  # a shingle in three episodes or fewer is never boilerplate
DEMOTE_AT = 0.5  # a passage with at least this share of boilerplate shingles is demoted


def boilerplate_shares(
    texts: Sequence[str], episode_ids: Sequence[str], shows: Sequence[str | None]
) -> np.ndarray:
    """For each passage, the share (0..1) of its shingles that its show repeats in more than
    ``BOILERPLATE_SHARE`` of its episodes. ``shows[i]`` is passage i's show (None: the
    passages without a show form one group). Vectorised over the whole library."""
    n = len(texts)
    if not (n == len(episode_ids) == len(shows)):
        raise ValueError("one episode id and one show per passage")
    words = [tokens(t) for t in texts]
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=n)
    passage_of = np.repeat(np.arange(n), lengths)
    hashes = shingle_hashes(token_ids(list(chain.from_iterable(words))))
    inside = passage_of[: len(hashes)] == passage_of[SHINGLE - 1 :]  # not across passages
    owner, hashes = passage_of[: len(hashes)][inside], hashes[inside]
    if not len(hashes):
        return np.zeros(n, np.float32)
    episode = np.unique(np.asarray(episode_ids, dtype=object), return_inverse=True)[1]
    show = np.unique(np.asarray([s or "" for s in shows], dtype=object), return_inverse=True)[1]
    # Each (shingle, episode) once, then per (shingle, show): how many episodes hold it.
    # Keys mix two codes into one int64 (wrapping): a collision costs a miscount, no error.
    with np.errstate(over="ignore"):
        _, first = np.unique(hashes * _MIX + episode[owner], return_index=True)
        keys, inverse = np.unique(hashes * _MIX + show[owner], return_inverse=True)
    held = np.bincount(inverse[first], minlength=len(keys))
    episodes_in_show = np.bincount(show[np.unique(episode, return_index=True)[1]])
    limit = np.maximum(MIN_EPISODES, (BOILERPLATE_SHARE * episodes_in_show).astype(np.int64))
    common = held[inverse] > limit[show[owner]]
    counts = np.bincount(owner, minlength=n)
    shared = np.bincount(owner, weights=common, minlength=n)
    return (shared / np.maximum(counts, 1)).astype(np.float32)


_MIX = np.int64(0x9E3779B97F4A7C15 - (1 << 64))  # an odd 64-bit multiplier (golden ratio)
