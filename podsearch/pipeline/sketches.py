"""Same-episode sketches and boilerplate shingle sets kept beside an index, so each episode
is tokenised once.

``group_same_episodes`` needs every library episode's shingle sketch on each ``index`` run;
sketching re-tokenises the whole library (5-8 s of the 11 s detection took at 309 episodes).
Sketches are stored content-addressed under ``.NAME.podsearch/sketch-cache/``: the key is a
digest of the episode's turn texts, so a changed episode simply gets a new entry and a stale
one can never be used. It is a cache, not part of a generation: a missing or unreadable entry
is computed again, and whenever a run reads the whole library's entries, those no episode
used are removed (an addition made from the kept postings reads only its own).

Each episode's set of passage shingles (``episodes.boilerplate``) is kept the same way under
``shingle-cache/``, keyed by a digest of its passage texts: without it, adding one episode to
the 309-episode library re-tokenised all 123,549 passages (~6 s of the run).

What the latest generation's counts start from is kept too, keyed by the checksums its
manifest records for the tables it comes from (``generation_key``): its sketch postings
(``episodes.postings``, every episode's sketch hashes sorted, under ``sketch-cache/postings``)
and its boilerplate counts (``episodes.boilerplate.Kept``, under ``shingle-cache/counts``).
The next run adds its episodes to them instead of sorting the library's millions of hashes
again. Both are folders of ``.npy`` files read memory-mapped, with fingerprints checked on
reading (``_fingerprint``): a damaged one is made again, never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..core.models import Episode
from ..episodes.boilerplate import EpisodeText, Kept, passage_shingles
from ..episodes.detection import Sketch, sketch
from ..episodes.postings import Postings

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


def load_sketches(episodes: list[Episode], folder: Path | None, prune: bool = True) -> list[Sketch]:
    """One sketch per episode: read from ``folder`` when stored, else made and stored.

    With ``folder`` None every sketch is made (no cache). ``prune``: ``episodes`` are the
    whole library, and the entries that none of them used are removed, so the cache holds
    one entry per library episode."""
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
    if prune:
        _prune(folder, used, "*.npz")
    return out


def load_shingle_sets(episodes: list[EpisodeText], folder: Path | None, prune: bool = True) -> None:
    """Fill each episode's ``shingles`` (``boilerplate.passage_shingles``): read from
    ``folder`` when stored, else made and stored (``folder`` None: made, not stored).
    Episodes whose shingles are filled already are left as they are. ``prune``: these are
    the whole library, and the entries none of them uses are removed."""
    if not _usable(folder):
        for e in episodes:
            if e.shingles is None:
                e.shingles = passage_shingles(e.texts)
        return
    assert folder is not None
    used = set()
    for e in episodes:
        name = _digest(FORMAT + b"-passage-shingles-sorted", e.texts) + ".npz"
        used.add(name)
        if e.shingles is None:
            e.shingles = _read_shingles(folder / name, len(e.texts))
        if e.shingles is None:
            hashes, owner = e.shingles = passage_shingles(e.texts)
            _save(folder / name, lambda f, a=hashes, b=owner: np.savez(f, hashes=a, owner=b))
    if prune:
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


def generation_key(manifest: dict[str, object], *files: str) -> str | None:
    """A digest of the checksums a generation's manifest records for ``files`` (None when it
    records none: written before checksums were kept)."""
    records = manifest.get("files")
    if not isinstance(records, dict) or not all(
        isinstance(records.get(f), dict) and records[f].get("sha256") for f in files
    ):
        return None
    return _digest(FORMAT + b"-generation", (str(records[f]["sha256"]) for f in files))


FINGERPRINTS = "fingerprints.json"  # beside the arrays ``_save_arrays`` stores


def _fingerprint(array: np.ndarray) -> str:
    """A cheap check of an array's content (one pass, no copy: hashing the 90 MB of a
    library's postings would cost what keeping them saves): its length, the XOR and the
    wrapping sum of its integers, or a digest of other kinds' bytes."""
    if array.dtype.kind in "iu":
        if not len(array):
            return "0"
        xor = int(np.bitwise_xor.reduce(array))
        total = int(np.add.reduce(array, dtype=np.uint64))
        return f"{len(array)}:{xor}:{total}"
    return hashlib.blake2b(np.ascontiguousarray(array).tobytes(), digest_size=16).hexdigest()


def _save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Store ``arrays`` as ``.npy`` files of a new folder ``path`` (made aside, then renamed
    into place: a reader never sees half of it), with their fingerprints. A cache: a failure
    only costs time."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", array)
        prints = {name: _fingerprint(array) for name, array in arrays.items()}
        (tmp / FINGERPRINTS).write_text(json.dumps(prints), encoding="utf-8")
        shutil.rmtree(path, ignore_errors=True)
        os.replace(tmp, path)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


def _load_arrays(path: Path, names: list[str]) -> dict[str, np.ndarray] | None:
    """The arrays ``_save_arrays`` stored, memory-mapped (read as they are used: the
    library's postings are ~90 MB), or None if any is missing, unreadable or not what was
    stored (its fingerprint differs)."""
    try:
        prints = json.loads((path / FINGERPRINTS).read_text(encoding="utf-8"))
        arrays = {n: np.load(path / f"{n}.npy", mmap_mode="r") for n in names}
    except (OSError, ValueError):
        return None
    if not isinstance(prints, dict) or any(
        prints.get(n) != _fingerprint(a) for n, a in arrays.items()
    ):
        return None
    return arrays


def _sorted(hashes: np.ndarray) -> bool:
    return bool(len(hashes) < 2 or (hashes[1:] >= hashes[:-1]).all())


def load_postings(folder: Path | None, key: str | None) -> Postings | None:
    """The postings stored under ``key``, or None (none stored, or unreadable)."""
    if key is None or folder is None:
        return None
    got = _load_arrays(folder / key, ["hashes", "owner", "ids"])
    if got is None:
        return None
    hashes, owner, ids = got["hashes"], got["owner"], got["ids"].tolist()
    if hashes.dtype != np.int64 or owner.dtype != np.int32 or hashes.shape != owner.shape:
        return None
    if (len(owner) and not (owner.min() >= 0 and owner.max() < len(ids))) or not _sorted(hashes):
        return None
    return Postings(hashes, owner, [str(i) for i in ids])


def save_postings(folder: Path | None, key: str | None, postings: Postings) -> None:
    """Store ``postings`` under ``key``."""
    if key is not None and _usable(folder):
        assert folder is not None
        ids = np.array(postings.ids, dtype=str)
        _save_arrays(folder / key, {"hashes": postings.hashes, "owner": postings.owner, "ids": ids})


def load_kept(folder: Path, key: str | None) -> Kept | None:
    """The boilerplate counts stored under ``key``, or None (none stored, or unreadable)."""
    got = _load_arrays(folder / key, ["shows", "common", "held"]) if key else None
    if got is None or key is None:
        return None
    shows = [str(x) or None for x in got["shows"].tolist()]
    parts = _load_arrays(folder / key, [f"{w}{i}" for i in range(len(shows)) for w in "hr"])
    if parts is None:
        return None
    kept = Kept(
        {show: parts[f"h{i}"] for i, show in enumerate(shows)},
        {show: parts[f"r{i}"] for i, show in enumerate(shows)},
        got["common"],
        got["held"],
    )
    rows = len(kept.common)
    if kept.common.dtype != np.int32 or kept.held.shape != (rows,) or kept.held.dtype != np.int32:
        return None
    for show, hashes in kept.hashes.items():
        at = kept.rows[show]
        if hashes.dtype != np.int64 or at.dtype != np.int32 or hashes.shape != at.shape:
            return None
        if (len(at) and not (at.min() >= 0 and at.max() < rows)) or not _sorted(hashes):
            return None
    return kept


def save_kept(folder: Path, key: str | None, kept: Kept) -> None:
    """Store the boilerplate counts under ``key``."""
    if key is None or not _usable(folder):
        return
    shows = list(kept.hashes)  # None (no show) is stored as "", which no show is called
    arrays = {f"h{i}": kept.hashes[show] for i, show in enumerate(shows)}
    arrays |= {f"r{i}": kept.rows[show] for i, show in enumerate(shows)}
    names = np.array([show or "" for show in shows], dtype=str)
    _save_arrays(folder / key, {"shows": names, "common": kept.common, "held": kept.held, **arrays})


def keep_postings(folder: Path | None, keys: set[str | None]) -> None:
    """Remove the stored postings or counts other than ``keys``'."""
    if _usable(folder):
        assert folder is not None
        for entry in folder.iterdir():
            if entry.name not in keys:
                shutil.rmtree(entry, ignore_errors=True)
