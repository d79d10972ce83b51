"""episodes.detection on its own: candidate pairs against a brute-force search, the fast path
for a few fresh sketches against the sparse product.
(Detection on real and constructed episodes is tested with merging, in test_merging.py.)"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from podsearch.episodes.detection import (
    BOILERPLATE_SHARE,
    MIN_LEVEL,
    Sketch,
    candidate_pairs,
)


def _random_sketches(seed: int, n: int) -> list[Sketch]:
    """Sketches sharing shingles in every pattern: a common pool (some of it boilerplate),
    pairs copied from one another in part, and own shingles."""
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 2**62, 3000)
    out: list[Sketch] = []
    for i in range(n):
        own = rng.integers(0, 2**62, int(rng.integers(50, 400)))
        common = rng.choice(pool, int(rng.integers(0, 300)), replace=False)
        parts = [own, common]
        if i and rng.random() < 0.5:  # a partial copy of an earlier episode
            src = out[int(rng.integers(0, i))].hashes
            parts.append(rng.choice(src, int(rng.integers(0, len(src) + 1)), replace=False))
        h = np.unique(np.concatenate(parts).astype(np.int64))
        out.append(Sketch(h, rng.permutation(len(h)), len(h)))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_candidate_pairs_are_every_pair_within_the_bounds(seed: int) -> None:
    sketches = _random_sketches(seed, 40)
    boilerplate, pairs = candidate_pairs(sketches)
    # All pairs, the slow way: shingles held by more than df_max episodes are boilerplate.
    df_max = max(3, int(BOILERPLATE_SHARE * len(sketches)))
    counts = Counter(h for s in sketches for h in s.hashes.tolist())
    assert set(boilerplate.tolist()) == {h for h, c in counts.items() if c > df_max}
    kept = [{h for h in s.hashes.tolist() if counts[h] <= df_max} for s in sketches]
    expected = set()
    for i in range(len(sketches)):
        for j in range(i + 1, len(sketches)):
            shared = len(kept[i] & kept[j])
            small = max(1, min(len(kept[i]), len(kept[j])))
            if shared >= MIN_LEVEL[1] and shared >= MIN_LEVEL[0] * small:
                expected.add((i, j))
    assert expected, "the random library should hold some candidate pairs"
    assert set(pairs) == expected and len(pairs) == len(expected)
    shared_of = [len(kept[i] & kept[j]) for i, j in pairs]
    assert shared_of == sorted(shared_of, reverse=True)  # most shared first


@pytest.mark.parametrize(("seed", "fresh"), [(1, 1), (2, 3), (3, 5), (4, 40), (5, 0)])
def test_pairs_with_fresh_sketches_are_the_pairs_of_all_that_involve_them(
    seed: int, fresh: int
) -> None:
    """Both ways (numpy for a few fresh sketches, the sparse product for many) give exactly
    the pairs of the full search that involve a fresh sketch, in the same order."""
    sketches = _random_sketches(seed, 40)
    boilerplate, everything = candidate_pairs(sketches)
    got_boilerplate, pairs = candidate_pairs(sketches, fresh)
    assert np.array_equal(boilerplate, got_boilerplate)
    assert pairs == [(i, j) for i, j in everything if i < fresh]
    if 0 < fresh <= 5:
        assert pairs or fresh < 3  # the random library gives the fresh ones some pairs
