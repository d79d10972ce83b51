"""Same-episode sketches and boilerplate shingle sets kept beside an index, so each episode
is tokenised once.

``group_same_episodes`` needs every library episode's shingle sketch on each ``index`` run;
sketching re-tokenises the whole library (5-8 s of the 11 s detection took at 309 episodes).
Sketches are stored content-addressed under ``.NAME.podsearch/sketch-cache/``: the key is a
digest of the episode's turn texts, so a changed episode simply gets a new entry and a stale
one can never be used. It is a cache, not part of a generation: a missing or unreadable entry
is computed again, and entries no episode used in a run are removed after it.

Each episode's set of passage shingles (``episodes.boilerplate``) is kept the same way under
``shingle-cache/``, keyed by a digest of its passage texts: without it, adding one episode to
the 309-episode library re-tokenised all 123,549 passages (~6 s of the run).
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..core.models import Episode
from ..episodes.boilerplate import EpisodeText, passage_shingles
from ..episodes.detection import Sketch, sketch

# In the key: a change of sketch format never reads old entries. 2: word ids that are the
# same in every process (format 1 used Python's per-process string hash).
FORMAT = b"podsearch-sketch-2"


def sketch_key(ep: Episode) -> str:
    """A digest of what the sketch is made from (the turn texts, in order)."""
    return _digest(FORMAT, (turn.text for turn in ep.turns))


def _digest(tag: bytes, texts: Iterable[str]) -> str:
    """A cache key: ``tag`` and the texts, in order."""
    h = hashlib.blake2b(tag, digest_size=20)
    for text in texts:
        h.update(text.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def _read(path: Path) -> Sketch | None:
    try:
        with np.load(path) as z:
            hashes, first, words = z["hashes"], z["first"], int(z["words"])
    # BadZipFile: a truncated .npz (not an OSError nor a ValueError).
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    if hashes.dtype != np.int64 or hashes.shape != first.shape or hashes.ndim != 1:
        return None
    return Sketch(hashes, first.astype(np.int64), words)


def _write(path: Path, sk: Sketch) -> None:
    # Positions fit in 32 bits (an episode is far below 2**31 words): a quarter less disk.
    _save(
        path,
        lambda f: np.savez(
            f, hashes=sk.hashes, first=sk.first.astype(np.int32), words=np.int64(sk.words)
        ),
    )


def _save(path: Path, write: Callable[[BinaryIO], None]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)  # atomic: a reader never sees half an entry
    except OSError:
        tmp.unlink(missing_ok=True)  # a cache that cannot be written only costs time


def _prune(folder: Path, used: set[str], pattern: str) -> None:
    """Remove the entries no episode of this run used: one entry per library episode."""
    for stale in folder.glob(pattern):
        if stale.name not in used:
            stale.unlink(missing_ok=True)


def _usable(folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return True


def load_sketches(episodes: list[Episode], folder: Path | None) -> list[Sketch]:
    """One sketch per episode: read from ``folder`` when stored, else made and stored.

    With ``folder`` None every sketch is made (no cache). Entries that none of ``episodes``
    used are removed, so the cache holds one entry per library episode."""
    if not _usable(folder):
        return [sketch(ep) for ep in episodes]
    out, used = [], set()
    for ep in episodes:
        name = sketch_key(ep) + ".npz"
        used.add(name)
        sk = _read(folder / name)
        if sk is None:
            sk = sketch(ep)
            _write(folder / name, sk)
        out.append(sk)
    _prune(folder, used, "*.npz")
    return out


def load_shingle_sets(episodes: list[EpisodeText], folder: Path | None) -> None:
    """Fill each episode's ``shingles`` (``boilerplate.passage_shingles``): read from
    ``folder`` when stored, else made and stored (``folder`` None: made, not stored)."""
    if not _usable(folder):
        for e in episodes:
            e.shingles = passage_shingles(e.texts)
        return
    used = set()
    for e in episodes:
        name = _digest(FORMAT + b"-passage-shingles-sorted", e.texts) + ".npz"
        used.add(name)
        e.shingles = _read_shingles(folder / name, len(e.texts))
        if e.shingles is None:
            hashes, owner = e.shingles = passage_shingles(e.texts)
            _save(folder / name, lambda f, a=hashes, b=owner: np.savez(f, hashes=a, owner=b))
    _prune(folder, used, "*.npz")


def _read_shingles(path: Path, passages: int) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with np.load(path) as z:
            hashes, owner = z["hashes"], z["owner"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    if hashes.dtype != np.int64 or hashes.shape != owner.shape or hashes.ndim != 1:
        return None
    if len(owner) and not (owner.min() >= 0 and owner.max() < passages):
        return None
    if len(hashes) and not (hashes[1:] >= hashes[:-1]).all():
        return None  # written before they were kept sorted
    return hashes, owner.astype(np.int64)
