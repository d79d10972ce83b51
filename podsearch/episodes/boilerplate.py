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

Adding episodes does not redo the library (``library_shares``): a generation keeps
(``Kept``, beside the index: ``pipeline/sketches.py``) each show's shingle occurrences sorted
by hash, with their passage rows, and each passage's counts of boilerplate and of all
shingles. The next addition reads only its own episodes' shingles, counts how many episodes
hold each of them from the kept occurrences, and adds one to the boilerplate count of each
old passage holding a shingle it made boilerplate: exact integer counts, so the shares equal
those of counting the whole library (1.5 s of adding one episode to 309 became 0.4 s).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from .alignment import SHINGLE, shingle_hashes, token_ids, tokens
from .detection import BOILERPLATE_SHARE
from .postings import merge_sorted, positions_of, runs_of

MIN_EPISODES = 3  # a shingle in three episodes or fewer is never boilerplate


@dataclass
class EpisodeText:
    """One episode's passages as ``library_shares`` needs them."""

    id: str
    show: str | None
    texts: list[str]  # its passage texts, in order
    # Its ``passage_shingles`` (hash, passage), if known (kept beside the index).
    shingles: tuple[np.ndarray, np.ndarray] | None = None


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


def _limit(episodes: int) -> int:
    """A shingle is boilerplate in a show of this many episodes when more hold it."""
    return max(MIN_EPISODES, int(BOILERPLATE_SHARE * episodes))


Fill = Callable[[list[EpisodeText]], None]  # fills episodes' ``shingles`` (read or made)


def _make(episodes: list[EpisodeText]) -> None:
    for e in episodes:
        e.shingles = passage_shingles(e.texts)


@dataclass
class Kept:
    """What a generation keeps for the next addition: each show's shingle occurrences as
    (hash, passage row), sorted by hash and by row within a hash, and per passage row how
    many of its shingles are boilerplate (``common``) and how many it has (``held``). Rows
    number the passages of ``library_shares``' episodes, in order."""

    hashes: dict[str | None, np.ndarray]  # int64, per show
    rows: dict[str | None, np.ndarray]  # int32, per show
    common: np.ndarray  # int32, per passage row
    held: np.ndarray  # int32, per passage row


@dataclass
class Shares:
    """``library_shares``' answer: each episode's passage shares, and what the next addition
    starts from."""

    shares: dict[str, np.ndarray]
    kept: Kept


def library_shares(
    episodes: Sequence[EpisodeText],
    added: set[str] | None = None,
    *,
    kept: Kept | None = None,
    fill: Fill = _make,
) -> Shares:
    """Episode id -> its passages' boilerplate shares, each show on its own (episodes
    without a show form one group). The episodes' passages are numbered as rows, in order.

    ``added`` and ``kept``: the ids of the episodes new since the previous generation and
    what that generation kept, when the other episodes are its episodes unchanged (same
    passages, same show), first and in its order. Then, in each show whose limit the
    additions did not change, only the added episodes' shingles are read (``fill``): their
    counts come from ``kept``, and the passages holding a shingle they made boilerplate are
    updated. Otherwise every episode's shingles are read and counted. ``fill`` fills the
    ``shingles`` of the episodes that need them (default: made from their texts; a library
    reads them from its cache)."""
    sizes = [len(e.texts) for e in episodes]
    starts = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    episode_of = np.repeat(np.arange(len(episodes), dtype=np.int32), sizes)
    total = int(starts[-1])
    new_ids = added or set()
    first_new = next((k for k, e in enumerate(episodes) if e.id in new_ids), len(episodes))
    if (
        kept is None
        or len(kept.common) != starts[first_new]
        or any(e.id not in new_ids for e in episodes[first_new:])
    ):
        kept = None  # not an addition to the generation that kept it
    out = Kept({}, {}, np.zeros(total, np.int32), np.zeros(total, np.int32))
    if kept is not None:
        out.common[: len(kept.common)], out.held[: len(kept.held)] = kept.common, kept.held
    by_show: dict[str | None, list[int]] = {}
    for k, e in enumerate(episodes):
        by_show.setdefault(e.show or None, []).append(k)
    for show, members in by_show.items():
        new = [k for k in members if episodes[k].id in new_ids]
        limit = _limit(len(members))
        old = (kept.hashes.get(show), kept.rows.get(show)) if kept is not None else (None, None)
        old_hashes, old_rows = old
        if old_hashes is None or old_rows is None or _limit(len(members) - len(new)) != limit:
            # Counted from scratch: every episode of the show.
            new, old_hashes, old_rows = members, np.empty(0, np.int64), np.empty(0, np.int32)
            for k in members:
                out.common[starts[k] : starts[k + 1]] = out.held[starts[k] : starts[k + 1]] = 0
        _fill([episodes[k] for k in new], fill)
        hashes, rows = _occurrences([episodes[k] for k in new], starts[new])
        distinct, first, _ = runs_of(hashes)
        before = _episodes_per_hash(old_hashes, old_rows, episode_of, distinct)
        after = before + _distinct_per_run(episode_of[rows], first)
        # Old passages holding a shingle that is boilerplate now and was not before.
        flipped = distinct[(before <= limit) & (after > limit)]
        np.add.at(out.common, old_rows[positions_of(old_hashes, flipped)], 1)
        is_common = np.repeat(after > limit, np.diff(np.append(first, len(hashes))))
        out.common += np.bincount(rows[is_common], minlength=total).astype(np.int32)
        out.held += np.bincount(rows, minlength=total).astype(np.int32)
        out.hashes[show], out.rows[show] = merge_sorted(old_hashes, old_rows, hashes, rows)
    shares = (out.common / np.maximum(out.held, 1)).astype(np.float32)
    return Shares({e.id: shares[starts[k] : starts[k + 1]] for k, e in enumerate(episodes)}, out)


def _shingles(e: EpisodeText) -> tuple[np.ndarray, np.ndarray]:
    assert e.shingles is not None  # filled by library_shares
    return e.shingles


def _fill(episodes: list[EpisodeText], fill: Fill) -> None:
    missing = [e for e in episodes if e.shingles is None]
    if missing:
        fill(missing)


def _occurrences(episodes: list[EpisodeText], starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hash, row) of every shingle of ``episodes`` (whose first rows are ``starts``),
    sorted by hash, and by row within a hash (each episode's are sorted by hash, passages in
    order: a stable sort of them in row order keeps that)."""
    parts = [_shingles(e) for e in episodes]
    hashes = np.concatenate([h for h, _ in parts] or [np.empty(0, np.int64)])
    rows = np.concatenate(
        [(p + s).astype(np.int32) for (_, p), s in zip(parts, starts, strict=True)]
        or [np.empty(0, np.int32)]
    )
    order = np.argsort(hashes, kind="stable")
    return hashes[order], rows[order]


def _distinct_per_run(holders: np.ndarray, first: np.ndarray) -> np.ndarray:
    """How many distinct values each run of ``holders`` holds (runs start at ``first``;
    within a run equal values are adjacent)."""
    if not len(first):
        return np.zeros(0, np.int64)
    change = np.ones(len(holders), dtype=bool)
    np.not_equal(holders[1:], holders[:-1], out=change[1:])
    change[first] = True
    return np.add.reduceat(change, first, dtype=np.int64)


def _episodes_per_hash(
    hashes: np.ndarray, rows: np.ndarray, episode_of: np.ndarray, wanted: np.ndarray
) -> np.ndarray:
    """For each of sorted ``wanted``, how many distinct episodes hold it among the sorted
    occurrences ``hashes`` (in passage ``rows``, of episodes ``episode_of[row]``, adjacent
    within a hash). Only the occurrences of ``wanted`` are looked at."""
    if not len(hashes):
        return np.zeros(len(wanted), np.int64)
    lo = np.searchsorted(hashes, wanted, side="left")
    lengths = np.searchsorted(hashes, wanted, side="right") - lo
    found = lengths > 0
    at = positions_of(hashes, wanted[found])
    counts = np.zeros(len(wanted), np.int64)
    starts = np.cumsum(lengths[found]) - lengths[found]
    counts[found] = _distinct_per_run(episode_of[rows[at]], starts)
    return counts


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
    for eid, shares in library_shares(episodes).shares.items():
        out[rows[eid]] = shares
    return out
