"""Same-episode sketches kept beside an index, so each episode is sketched once.

``group_same_episodes`` needs every library episode's shingle sketch on each ``index`` run;
sketching re-tokenises the whole library (5-8 s of the 11 s detection took at 309 episodes).
Sketches are stored content-addressed under ``.NAME.podsearch/sketch-cache/``: the key is a
digest of the episode's turn texts, so a changed episode simply gets a new entry and a stale
one can never be used. It is a cache, not part of a generation: a missing or unreadable entry
is computed again, and entries no episode used in a run are removed after it.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np

from ..core.models import Episode
from ..episodes.merging import Sketch, sketch

# In the key: a change of sketch format never reads old entries. 2: word ids that are the
# same in every process (format 1 used Python's per-process string hash).
FORMAT = b"podsearch-sketch-2"


def sketch_key(ep: Episode) -> str:
    """A digest of what the sketch is made from (the turn texts, in order)."""
    h = hashlib.blake2b(FORMAT, digest_size=20)
    for turn in ep.turns:
        h.update(turn.text.encode("utf-8", "surrogatepass"))
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
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            # Positions fit in 32 bits (an episode is far below 2**31 words): a quarter less disk.
            first = sk.first.astype(np.int32)
            np.savez(f, hashes=sk.hashes, first=first, words=np.int64(sk.words))
        os.replace(tmp, path)  # atomic: a reader never sees half an entry
    except OSError:
        tmp.unlink(missing_ok=True)  # a cache that cannot be written only costs time


def load_sketches(episodes: list[Episode], folder: Path | None) -> list[Sketch]:
    """One sketch per episode: read from ``folder`` when stored, else made and stored.

    With ``folder`` None every sketch is made (no cache). Entries that none of ``episodes``
    used are removed, so the cache holds one entry per library episode."""
    if folder is None:
        return [sketch(ep) for ep in episodes]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
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
    for stale in folder.glob("*.npz"):
        if stale.name not in used:
            stale.unlink(missing_ok=True)
    return out
