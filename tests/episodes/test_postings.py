"""episodes.postings against plain numpy and sets: the sorted order, runs and counts,
adding and removing owners, and the holders of hashes."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from podsearch.episodes.postings import Postings, positions_of

# Small values collide often (shared hashes); big ones exercise the int64 range.
HASH = st.integers(0, 20) | st.integers(-(2**63), 2**63 - 1)
RUNS = st.lists(st.lists(HASH, max_size=30), max_size=10)


def _of(runs: list[list[int]], first: int = 0) -> Postings:
    arrays = [np.unique(np.array(r, dtype=np.int64)) for r in runs]
    return Postings.of(arrays, [f"e{i}" for i in range(first, first + len(runs))])


def _entries(p: Postings) -> list[tuple[int, str]]:
    return list(zip(p.hashes.tolist(), [p.ids[o] for o in p.owner.tolist()], strict=True))


@given(RUNS)
def test_postings_are_every_hash_of_every_owner_sorted(runs: list[list[int]]) -> None:
    p = _of(runs)
    want = sorted((h, i) for i, r in enumerate(runs) for h in set(r))
    assert list(zip(p.hashes.tolist(), p.owner.tolist(), strict=True)) == want
    values = np.concatenate([np.unique(np.array(r, dtype=np.int64)) for r in runs] or [[]])
    distinct, counts = np.unique(values.astype(np.int64), return_counts=True)
    got, starts, got_counts = p.runs()
    assert np.array_equal(got, distinct) and np.array_equal(got_counts, counts)
    assert np.array_equal(p.hashes[starts], distinct)


@given(RUNS, RUNS)
def test_added_postings_equal_postings_of_all(old: list[list[int]], new: list[list[int]]) -> None:
    assert _of(old).added(_of(new, first=len(old))).equals(_of(old + new))


@given(RUNS, st.sets(st.integers(0, 9)))
def test_without_owners_equals_postings_of_the_others(
    runs: list[list[int]], gone: set[int]
) -> None:
    p = _of(runs).without({f"e{i}" for i in gone})
    kept = [i for i in range(len(runs)) if i not in gone]
    want = Postings.of(
        [np.unique(np.array(runs[i], dtype=np.int64)) for i in kept], [f"e{i}" for i in kept]
    )
    assert p.equals(want)
    assert _entries(p) == [e for e in _entries(_of(runs)) if int(e[1][1:]) not in gone]


@given(RUNS, st.lists(HASH, max_size=10))
def test_positions_of_are_the_entries_equal_to_any_wanted(
    runs: list[list[int]], wanted: list[int]
) -> None:
    p = _of(runs)
    keys = np.unique(np.array(wanted, dtype=np.int64))
    want = [i for i, h in enumerate(p.hashes.tolist()) if h in set(keys.tolist())]
    assert positions_of(p.hashes, keys).tolist() == want


def test_equal_postings_are_the_same_entries_whatever_the_numbering() -> None:
    a = Postings.of([np.array([1, 5]), np.array([5, 7])], ["x", "y"])
    assert a.equals(Postings.of([np.array([5, 7]), np.array([1, 5])], ["y", "x"]))
    assert not a.equals(Postings.of([np.array([5, 7]), np.array([1, 5])], ["x", "y"]))
    assert not a.equals(Postings.of([np.array([1, 5]), np.array([5, 8])], ["x", "y"]))
