"""The interface every vector index implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

# Files a vector index may write into a generation folder.
INDEX_FILE = "passages.faiss"
VECTORS_FILE = "vectors.npy"  # the plain vectors beside an approximate index
METRIC = "inner_product"


class VectorIndex(ABC):
    """Vectors with ids 0..size-1 in the order added, searched by inner product.

    ``search`` takes an optional row selection (``allowed``, sorted or not): only those ids
    are candidates, and the result is the best ``k`` among them, as if the others did not
    exist (approximate indexes search few allowed rows exactly, so a narrow filter never
    loses hits)."""

    kind: ClassVar[str]
    # Set by ``save``: the files it copied (or linked) unchanged from the generation it was
    # read from, whose recorded checksums hold for them.
    copied: tuple[str, ...] = ()

    def __init__(self, dim: int) -> None:
        self.dim = dim

    @property
    @abstractmethod
    def size(self) -> int:
        """How many vectors the index holds."""

    def __len__(self) -> int:
        return self.size

    @abstractmethod
    def add(self, vectors: np.ndarray) -> None:
        """Append vectors (float32, one row each); their ids continue from ``size``."""

    def extend(self, vectors: np.ndarray) -> None:
        """Append vectors to an index opened with ``load``, keeping the search structure it
        read where its kind allows (an HNSW graph keeps few new rows as an exactly searched
        tail, then takes them as nodes; by default as ``add``)."""
        self.add(vectors)

    def grow(self, everything: np.ndarray) -> None:
        """``extend`` by the rows of ``everything`` past ``size`` (``everything`` starts with
        this index's vectors); kinds that can take the array itself do, without a copy."""
        self.extend(everything[self.size :])

    @abstractmethod
    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """(id, inner product) of the ``k`` best vectors, best first; equal scores put the
        larger id first (as FAISS does)."""

    @abstractmethod
    def vectors(self, rows: np.ndarray | list[int] | None = None) -> np.ndarray:
        """The stored vectors (all, or those ``rows``) as float32."""

    def holds(self, vectors: np.ndarray) -> bool:
        """Whether the index holds exactly ``vectors``, in order."""
        return len(vectors) == self.size and np.array_equal(self.vectors(), vectors)

    @abstractmethod
    def save(self, folder: Path) -> dict[str, Any]:
        """Write the index into a generation folder; returns its manifest entry."""

    @classmethod
    def vector_files(cls, entry: dict[str, Any]) -> set[str]:
        """The files of a generation the stored vectors are read from (by default the index
        file: a flat file is the vectors)."""
        return {str(entry.get("file", INDEX_FILE))}

    @classmethod
    @abstractmethod
    def load(cls, folder: Path, entry: dict[str, Any], dim: int) -> VectorIndex:
        """Open the index a manifest entry describes (cheap: no search structure is read
        until the first search)."""

    def preload(self) -> None:
        """Read what searches need into RAM now (a long-lived process); by default nothing."""
        return None

    def params(self) -> dict[str, Any]:
        """The parameters worth recording in the manifest."""
        return {}

    def entry(self, file: str) -> dict[str, Any]:
        return {
            "type": self.kind,
            "file": file,
            "metric": METRIC,
            "count": self.size,
            "dimension": self.dim,
            "params": self.params(),
        }


def top_k(scores: np.ndarray, ids: np.ndarray | None, k: int) -> list[tuple[int, float]]:
    """The best ``k`` of ``scores`` (one per candidate; ``ids`` names the candidates, None for
    0..n-1), best first, ties broken by the larger id."""
    if len(scores) == 0 or k <= 0:
        return []
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    rows = top if ids is None else ids[top]
    order = np.lexsort((-rows, -scores[top]))
    return [(int(r), float(s)) for r, s in zip(rows[order], scores[top][order], strict=True)]


def exact_search(
    vectors: np.ndarray, query: np.ndarray, k: int, allowed: np.ndarray | None
) -> list[tuple[int, float]]:
    """Exact inner-product search over ``vectors`` (an array or a memory map)."""
    q = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
    if allowed is None:
        return top_k(vectors @ q, None, k)
    ids = np.asarray(allowed, dtype=np.int64)
    if len(ids) * 8 > len(vectors):
        scores = (vectors @ q)[ids]  # cheaper than gathering most of the vectors
    else:
        scores = vectors[ids] @ q
    return top_k(scores, ids, k)
