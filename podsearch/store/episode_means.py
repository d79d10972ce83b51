"""Each episode's mean passage vector, kept in a generation as ``episode_means.npz``.

A question's inner product with an episode's mean vector is its mean cosine over the
episode's passages: how much the episode as a whole is about the question. Unlike the best
passage's score, it does not grow with the library, which is what the confidence bar needs
(``query.rank``: an off-topic question's best passage in a 187-episode library scores as
high as a real answer's; its episode is not about it). Computed from the vectors when a
generation is written; a generation written before it has none (``read_means`` gives None).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

EPISODE_MEANS = "episode_means.npz"


def episode_means(episode_ids: np.ndarray, vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
    """(episode ids, their mean vectors) of passages given by episode id, row for row. An
    episode's passages come in contiguous runs (usually one): each run is summed, then the
    runs of one episode added up."""
    ids = np.asarray(episode_ids)
    if len(ids) == 0:
        return [], np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), np.float32)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], len(ids)]
    # A slice's sum reads its rows in place: 0.04 s for 123,549 passages of 309 episodes,
    # where np.add.reduceat took 0.3 s.
    sums = np.stack(
        [vectors[a:b].sum(axis=0, dtype=np.float64) for a, b in zip(starts, ends, strict=True)]
    )
    lengths = ends - starts
    names, which = np.unique(ids[starts], return_inverse=True)
    totals = np.zeros((len(names), sums.shape[1]))
    np.add.at(totals, which, sums)
    counts = np.bincount(which, weights=lengths, minlength=len(names))
    return [str(n) for n in names], (totals / counts[:, None]).astype(np.float32)


def write_means(folder: Path, episode_ids: np.ndarray, vectors: np.ndarray) -> None:
    """Write ``episode_means.npz`` into a generation's folder."""
    names, means = episode_means(episode_ids, vectors)
    np.savez(folder / EPISODE_MEANS, episode_ids=np.array(names, dtype=str), means=means)


def read_means(folder: Path) -> dict[str, np.ndarray] | None:
    """Episode id -> mean vector, or None when the generation has no such file (or it cannot
    be read: the confidence bar then goes by the passage's score alone)."""
    path = folder / EPISODE_MEANS
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            names, means = z["episode_ids"], np.asarray(z["means"], dtype=np.float32)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # damaged
        return None
    if means.ndim != 2 or len(names) != len(means):
        return None
    return dict(zip(names.tolist(), means, strict=True))
