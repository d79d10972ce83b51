"""Embedding checkpoints: the vectors of a run that did not finish, kept beside the index so
that the next run embeds none of them again (Ctrl-C, kill -9, a power cut).

``commit`` embeds new text in groups of whole episodes and saves each group's vectors as one
shard under ``.NAME.podsearch/embed-cache/KEY/`` as soon as it is done; KEY is a digest of the
model and the vectors' precision, so int8 vectors never stand in for fp32 ones, nor one
model's for another's. A shard is written whole or not at all (a temporary file renamed), and
one that cannot be read, or holds anything but finite unit vectors of the right size, is
ignored: a damaged checkpoint costs time, never a wrong vector. Once a generation is written
the checkpoints are removed, since the generation's own vectors are reused from then on.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import zipfile
from pathlib import Path

import numpy as np

from ..ingest.files import write_atomic

FORMAT = "podsearch-embed-1"


class Checkpoints:
    """The embedding checkpoints of one index for one model and precision."""

    def __init__(self, folder: Path, model: str, precision: str, dim: int | None = None) -> None:
        """``dim``: the vectors' size when known (the old generation's, for the same model);
        else the first readable shard's sets it, and shards of another size are ignored."""
        key = hashlib.blake2b(f"{FORMAT}\0{model}\0{precision}".encode(), digest_size=10)
        self.root = folder
        self.folder = folder / key.hexdigest()
        self.dim = dim
        self._shards = len(list(self.folder.glob("*.npz"))) if self.folder.is_dir() else 0

    def load(self, wanted: set[str]) -> dict[str, np.ndarray]:
        """The stored vectors of the text hashes in ``wanted``."""
        found: dict[str, np.ndarray] = {}
        if not wanted or not self.folder.is_dir():
            return found
        for path in sorted(self.folder.glob("*.npz")):
            shard = self._read(path)
            if shard is None:
                continue
            hashes, vectors = shard
            for h, v in zip(hashes.tolist(), vectors, strict=True):
                if h in wanted:
                    found[h] = v
        return found

    def _read(self, path: Path) -> tuple[np.ndarray, np.ndarray] | None:
        try:
            with np.load(path, allow_pickle=False) as z:
                hashes, vectors = z["hashes"], np.asarray(z["vectors"], dtype=np.float32)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # truncated...
            return None
        if hashes.ndim != 1 or vectors.ndim != 2 or len(hashes) != len(vectors):
            return None
        if self.dim is not None and vectors.shape[1] != self.dim:
            return None
        norms = np.linalg.norm(vectors, axis=1)
        unit = (np.abs(norms - 1.0) < 1e-3) | (norms < 1e-6)  # an empty text's vector is 0
        if not np.all(np.isfinite(vectors)) or not np.all(unit):
            return None  # passage vectors are normalised: anything else is damage
        self.dim = vectors.shape[1]
        return hashes.astype(str), vectors

    def save(self, hashes: list[str], vectors: np.ndarray) -> None:
        """Keep the vectors of one group of texts (by their hashes)."""
        if not hashes:
            return
        buf = io.BytesIO()
        np.savez(buf, hashes=np.array(hashes), vectors=np.asarray(vectors, dtype=np.float32))
        self._shards += 1
        try:
            write_atomic(self.folder / f"{self._shards:06d}.npz", buf.getvalue())
        except OSError:
            pass  # a checkpoint that cannot be written only costs time after a crash

    def clear(self) -> None:
        """Remove every checkpoint of the index (any model): a generation now holds them."""
        shutil.rmtree(self.root, ignore_errors=True)
