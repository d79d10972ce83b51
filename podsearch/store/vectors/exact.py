"""Exact search: every vector scored with numpy. Stored as a FAISS ``IndexFlatIP`` file, which
is read back as a memory map without importing faiss (~0.25 s of a cold ``ask``): only the
vectors a query touches are paged in."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ...core.errors import IndexFormatError
from .base import INDEX_FILE, VectorIndex, exact_search

_FLAT_HEADER = struct.Struct("<4siqqq?i")  # fourcc, d, ntotal, 2 unused, is_trained, metric


def read_flat_file(path: Path) -> np.ndarray | None:
    """The vectors of a FAISS IndexFlatIP file as a read-only memory map, or None if the
    file is anything else. Layout (faiss/impl/index_write.cpp): "IxFI", the index header,
    then the vector count as a uint64 and the float32 vectors; checked against the size."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_FLAT_HEADER.size + 8)
            size = os.fstat(fh.fileno()).st_size
    except OSError:
        return None
    if len(head) < _FLAT_HEADER.size + 8:
        return None
    fourcc, d, ntotal, _, _, _, metric = _FLAT_HEADER.unpack_from(head)
    (count,) = struct.unpack_from("<Q", head, _FLAT_HEADER.size)
    offset = _FLAT_HEADER.size + 8
    if fourcc != b"IxFI" or metric != 0 or d <= 0 or ntotal < 0:
        return None
    if count != d * ntotal or size != offset + 4 * count:
        return None
    if ntotal == 0:
        return np.zeros((0, d), dtype=np.float32)
    return np.memmap(path, dtype="<f4", mode="r", offset=offset, shape=(ntotal, d))


class ExactIndex(VectorIndex):
    """Brute-force inner product over all (or the allowed) vectors."""

    kind = "flat"

    def __init__(self, dim: int, vectors: np.ndarray | None = None) -> None:
        super().__init__(dim)
        self._vectors = vectors if vectors is not None else np.zeros((0, dim), np.float32)

    @property
    def size(self) -> int:
        return len(self._vectors)

    def add(self, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        self._vectors = np.concatenate([np.asarray(self._vectors), vectors])

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        return exact_search(self._vectors, query, k, allowed)

    def vectors(self, rows: np.ndarray | list[int] | None = None) -> np.ndarray:
        if rows is None:
            return np.array(self._vectors, dtype=np.float32)
        return np.asarray(self._vectors[np.asarray(rows, dtype=np.int64)], dtype=np.float32)

    def preload(self) -> None:
        """Copy the memory map into RAM (a server: no page faults on its first queries)."""
        self._vectors = np.array(self._vectors, dtype=np.float32)

    def save(self, folder: Path) -> dict[str, Any]:
        import faiss

        index = faiss.IndexFlatIP(self.dim)
        if self.size:
            index.add(np.ascontiguousarray(self._vectors, dtype=np.float32))
        faiss.write_index(index, str(folder / INDEX_FILE))
        return self.entry(INDEX_FILE)

    @classmethod
    def load(cls, folder: Path, entry: dict[str, Any], dim: int) -> ExactIndex:
        path = folder / entry.get("file", INDEX_FILE)
        vectors = read_flat_file(path)
        if vectors is None or vectors.shape[1] != dim:
            raise IndexFormatError(
                f"{path} is not a flat vector file of dimension {dim} (damaged or truncated): "
                "rebuild the index with 'podsearch rebuild'"
            )
        return cls(dim, vectors)
