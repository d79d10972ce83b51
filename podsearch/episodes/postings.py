"""Postings: which episodes hold which shingle hashes, as one array sorted by hash.

Same-episode detection and boilerplate both count, over a whole library, how many episodes
hold each shingle. Concatenating every episode's hashes and sorting them again on each run
took most of adding one episode to a 309-episode library (7.2 M hashes: 1 s). A ``Postings``
keeps them sorted (an inverted index in two arrays), so a library's postings are kept beside
it (``pipeline/sketches.py``) and new episodes are merged in with ``searchsorted`` and one
``insert`` (tens of milliseconds); counts and the episodes holding a hash are read off runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class Postings:
    """(hash, owner) entries sorted by hash, then by owner; each owner holds a hash once.
    ``ids[owner]`` names the owner (an episode id)."""

    hashes: np.ndarray  # int64, sorted
    owner: np.ndarray  # int32 index into ids
    ids: list[str]

    @classmethod
    def of(cls, runs: Sequence[np.ndarray], ids: Sequence[str]) -> Postings:
        """From each owner's sorted distinct hashes (``runs[i]`` is ``ids[i]``'s)."""
        if len(runs) != len(ids):
            raise ValueError(f"{len(runs)} runs for {len(ids)} ids")
        hashes = np.concatenate([np.asarray(r, np.int64) for r in runs] or [np.empty(0, np.int64)])
        owner = np.repeat(np.arange(len(runs), dtype=np.int32), [len(r) for r in runs])
        # Stable: equal hashes stay in owner order. Merging sorted runs is cheaper than a sort.
        order = np.argsort(hashes, kind="stable")
        return cls(hashes[order], owner[order], list(ids))

    def __len__(self) -> int:
        return len(self.hashes)

    def added(self, more: Postings) -> Postings:
        """These postings and ``more``'s, whose owners are numbered after these."""
        hashes, owner = merge_sorted(
            self.hashes, self.owner, more.hashes, more.owner + len(self.ids)
        )
        return Postings(hashes, owner, self.ids + more.ids)

    def without(self, owners: set[str]) -> Postings:
        """These postings without the entries of ``owners`` (the others renumbered)."""
        drop = np.array([i in owners for i in self.ids], dtype=bool)
        if not drop.any():
            return self
        renumber = np.cumsum(~drop, dtype=np.int64) - 1
        keep = ~drop[self.owner]
        ids = [i for i, d in zip(self.ids, drop, strict=True) if not d]
        return Postings(self.hashes[keep], renumber[self.owner[keep]].astype(np.int32), ids)

    def runs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(distinct hashes, where each one's run starts, how many owners hold it)."""
        return runs_of(self.hashes)

    def equals(self, other: Postings) -> bool:
        """The same (hash, owner id) entries, however the owners are numbered."""
        names = sorted(self.ids)
        rank_of = {name: k for k, name in enumerate(names)}
        if names != sorted(other.ids) or not np.array_equal(self.hashes, other.hashes):
            return False

        def entries(p: Postings) -> np.ndarray:
            rank = np.array([rank_of[i] for i in p.ids], dtype=np.int64)[p.owner]
            return rank[np.lexsort((rank, p.hashes))]

        return np.array_equal(entries(self), entries(other))


def merge_sorted(
    keys: np.ndarray, values: np.ndarray, more_keys: np.ndarray, more_values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Two arrays sorted by key merged into one, ``more``'s entries after equal keys (one
    pass; ``np.insert`` sorts the places again, a concatenation sorts everything)."""
    if not len(keys) or not len(more_keys):  # nothing to merge into (a first count)
        return (more_keys, more_values) if len(more_keys) else (keys, values)
    at = np.searchsorted(keys, more_keys, side="right") + np.arange(len(more_keys))
    new = np.zeros(len(keys) + len(more_keys), dtype=bool)
    new[at] = True
    merged_keys = np.empty(len(new), keys.dtype)
    merged_values = np.empty(len(new), values.dtype)
    merged_keys[at], merged_keys[~new] = more_keys, keys
    merged_values[at], merged_values[~new] = more_values, values
    return merged_keys, merged_values


def positions_of(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The positions in sorted ``keys`` of the entries equal to one of sorted ``wanted``."""
    lo = np.searchsorted(keys, wanted, side="left")
    lengths = np.searchsorted(keys, wanted, side="right") - lo
    return np.repeat(lo - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))


def runs_of(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct keys, where each one's run starts, its length) of sorted ``keys``: what
    ``np.unique`` gives with ``return_index`` and ``return_counts``, without sorting again."""
    first = np.empty(len(keys), dtype=bool)
    first[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return keys[starts], starts, np.diff(np.append(starts, len(keys)))
