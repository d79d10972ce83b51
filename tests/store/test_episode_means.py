"""Each episode's mean passage vector (``store.episode_means``): written with every
generation, equal to numpy's mean over the episode's rows however they are interleaved, and
absent or damaged files read as None (the confidence bar then goes by scores alone)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from builders import hand_contents

from podsearch.store.episode_means import EPISODE_MEANS, episode_means, read_means
from podsearch.store.index import Index
from podsearch.store.writer import write_index


def test_means_equal_numpy_over_interleaved_episodes(tmp_path: Path) -> None:
    contents = hand_contents(n_passages=31)  # rows cycle through three episodes
    write_index(tmp_path / "idx", contents)
    means = Index(tmp_path / "idx").episode_means
    ids = np.array([p["episode_id"] for p in contents.passages])
    assert means is not None and set(means) == set(ids.tolist())
    for episode, mean in means.items():
        np.testing.assert_allclose(mean, contents.vectors[ids == episode].mean(axis=0), atol=1e-6)


def test_runs_of_one_episode_and_no_passages() -> None:
    ids = np.array(["b", "b", "a", "b", "a", "a"])
    vectors = np.arange(12, dtype=np.float32).reshape(6, 2)
    names, means = episode_means(ids, vectors)
    assert names == ["a", "b"]
    np.testing.assert_allclose(means, [vectors[[2, 4, 5]].mean(0), vectors[[0, 1, 3]].mean(0)])
    names, means = episode_means(np.array([], dtype=str), np.zeros((0, 4), np.float32))
    assert names == [] and means.shape == (0, 4)


def test_a_missing_or_damaged_file_reads_as_none(tmp_path: Path) -> None:
    assert read_means(tmp_path) is None
    (tmp_path / EPISODE_MEANS).write_bytes(b"PK\x03\x04 not a zip")
    assert read_means(tmp_path) is None
    np.savez(tmp_path / EPISODE_MEANS, episode_ids=np.array(["a", "b"]), means=np.zeros((3, 2)))
    assert read_means(tmp_path) is None  # two ids for three vectors
