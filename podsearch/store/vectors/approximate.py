"""Approximate search with FAISS: HNSW graphs and inverted files (IVF). Both keep the plain
vectors beside them (``vectors.npy``), so that a narrow filter is searched exactly, stored
vectors are read without faiss, and a rebuild never re-embeds."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ...core.errors import IndexFormatError
from .base import INDEX_FILE, VECTORS_FILE, VectorIndex, exact_search

# A filter that leaves at most this share of the rows (or this many) is searched exactly over
# those rows: cheap, and a graph or inverted file searched with a narrow selector can miss
# hits or return fewer than k. Wider filters go inside the FAISS search as an id selector
# (never hits dropped after the top k); a short answer falls back to exact search.
EXACT_SHARE = 0.1
EXACT_ROWS = 20_000
# A process that asks once (``podsearch ask``) scores the memory-mapped vectors exactly:
# reading a graph or inverted file from disk costs more than the search it saves (on the
# 309-episode library, 123,549 passages: a cold ask took 0.44 s with the HNSW graph, 0.28 s
# exact). The FAISS structure is read once a process has asked this many questions, or at
# once by ``preload`` (a server).
COLD_SEARCHES = 4
# HNSW's breadth of building and of search. On the 309-episode library (123,549 real
# passages; 400 queries: the 30 dev questions and 370 passage openings), recall@10 against
# exact search, and the time of one search for 100 neighbours:
#   graph built at efConstruction 80:  efSearch 256 0.976, 384 0.985 (1.1 ms)
#   graph built at efConstruction 200: efSearch 128 0.976, 192 0.986 (0.72 ms), 256 0.992
# The better graph takes 41 s to build instead of 17 s and twice as long to extend, and
# saves 0.4 ms on every question at a higher recall.
EF_CONSTRUCTION = 200
EF_SEARCH = 192  # for a graph built at EF_CONSTRUCTION or more
EF_SEARCH_LOOSE = 384  # for graphs built before, at efConstruction 80


class FaissIndex(VectorIndex):
    """A FAISS index (built by ``_make``) plus the plain vectors."""

    def __init__(self, dim: int, params: dict[str, Any] | None = None) -> None:
        super().__init__(dim)
        self._params = dict(params or {})
        self._plain: np.ndarray = np.zeros((0, dim), np.float32)
        self._folder: Path | None = None  # set by load: the FAISS file is read on first use
        self._entry: dict[str, Any] = {}
        self._searches = 0

    def params(self) -> dict[str, Any]:
        return dict(self._params)

    @property
    def size(self) -> int:
        return len(self._plain)

    def add(self, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        self._plain = np.concatenate([np.asarray(self._plain), vectors])
        self.__dict__.pop("faiss", None)  # built again from all vectors on next use

    def _make(self, vectors: np.ndarray) -> Any:
        raise NotImplementedError

    def _search_params(self, selector: Any) -> Any:
        """This kind's search parameters, limited to ``selector``'s rows when given."""
        params = self._search_settings()
        if selector is not None:
            params.sel = selector
        return params

    def _search_settings(self) -> Any:
        raise NotImplementedError

    @cached_property
    def faiss(self) -> Any:
        """The FAISS index: read from the generation, or built from the vectors."""
        import faiss

        if self._folder is not None:
            return faiss.read_index(str(self._folder / self._entry.get("file", INDEX_FILE)))
        return self._make(np.ascontiguousarray(self._plain, dtype=np.float32))

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        if k <= 0 or self.size == 0 or (allowed is not None and len(allowed) == 0):
            return []
        if allowed is not None and len(allowed) <= max(EXACT_ROWS, EXACT_SHARE * self.size):
            return exact_search(self._plain, query, k, allowed)
        self._searches += 1
        if "faiss" not in self.__dict__ and self._folder is not None:
            if self._searches <= COLD_SEARCHES:
                return exact_search(self._plain, query, k, allowed)
        import faiss

        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        k = min(k, self.size if allowed is None else len(allowed))
        selector = bits = None
        if allowed is not None:
            # A bitmap over all rows: built in ~0.06 ms where IDSelectorBatch's hash set of
            # 40,000 allowed rows (one speaker of the 309 episodes) took ~2 ms. ``bits`` must
            # outlive the search: the selector only points at it.
            mask = np.zeros(self.size, dtype=bool)
            mask[np.asarray(allowed, np.int64)] = True
            bits = np.packbits(mask, bitorder="little")
            selector = faiss.IDSelectorBitmap(self.size, faiss.swig_ptr(bits))
        scores, ids = self.faiss.search(q, k, params=self._search_params(selector))
        del bits
        hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        if allowed is not None and len(hits) < k:
            # The guarantee of a filtered search: only allowed rows, and min(k, allowed) of
            # them. A graph walked with a selector can run out of allowed neighbours before
            # finding k; then the allowed rows are searched exactly instead.
            return exact_search(self._plain, query, k, allowed)
        return hits

    def vectors(self, rows: np.ndarray | list[int] | None = None) -> np.ndarray:
        if rows is None:  # the memory map itself (read-only): no copy of every vector
            return np.asarray(self._plain, dtype=np.float32)
        return np.asarray(self._plain[np.asarray(rows, dtype=np.int64)], dtype=np.float32)

    def preload(self) -> None:
        """Read everything into RAM now (a server)."""
        self._plain = self._in_memory(self.faiss)

    def _in_memory(self, index: Any) -> np.ndarray:
        """The plain vectors in RAM (a copy of the memory map; kinds whose FAISS structure
        holds them row by row return a view of it instead)."""
        return np.array(self._plain, dtype=np.float32)

    def save(self, folder: Path) -> dict[str, Any]:
        import faiss

        faiss.write_index(self.faiss, str(folder / INDEX_FILE))
        np.save(folder / VECTORS_FILE, np.asarray(self._plain, dtype=np.float32))
        return self.entry(INDEX_FILE)

    @classmethod
    def load(cls, folder: Path, entry: dict[str, Any], dim: int) -> FaissIndex:
        index = cls(dim, entry.get("params"))
        try:
            index._plain = np.load(folder / VECTORS_FILE, mmap_mode="r")
        except (OSError, ValueError) as e:
            raise IndexFormatError(
                f"{folder / VECTORS_FILE} is unreadable ({e}): rebuild the index with "
                "'podsearch rebuild'"
            ) from e
        if index._plain.ndim != 2 or index._plain.shape[1] != dim:
            raise IndexFormatError(f"{folder / VECTORS_FILE} does not hold {dim}-d vectors")
        index._folder, index._entry = folder, entry
        return index


class HNSWIndex(FaissIndex):
    """A FAISS HNSW graph over the vectors (``M`` links per node)."""

    kind = "hnsw"

    def __init__(self, dim: int, params: dict[str, Any] | None = None) -> None:
        params = {"M": 32, "efConstruction": EF_CONSTRUCTION, **(params or {})}
        # efSearch is a search-time setting: a graph is searched at least as broadly as its
        # construction needs (older manifests say 128 for a graph that needs 384).
        floor = EF_SEARCH if int(params["efConstruction"]) >= EF_CONSTRUCTION else EF_SEARCH_LOOSE
        params["efSearch"] = max(int(params.get("efSearch", 0)), floor)
        super().__init__(dim, params)

    def _make(self, vectors: np.ndarray) -> Any:
        import faiss

        p = self._params
        index = faiss.IndexHNSWFlat(self.dim, int(p["M"]), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(p["efConstruction"])
        index.hnsw.efSearch = int(p["efSearch"])
        if len(vectors):
            index.add(vectors)
        return index

    def _in_memory(self, index: Any) -> np.ndarray:
        # The graph's flat storage holds every vector in row order: a view of it, not a
        # second copy (190 MB for the 309-episode library).
        import faiss

        storage = faiss.downcast_index(index.storage)
        n, dim = index.ntotal, self.dim
        if n != len(self._plain) or not isinstance(storage, faiss.IndexFlat):
            return super()._in_memory(index)
        view = faiss.rev_swig_ptr(storage.get_xb(), n * dim).reshape(n, dim)
        if not np.array_equal(view[:1], np.asarray(self._plain[:1])):
            return super()._in_memory(index)
        return view

    def extend(self, vectors: np.ndarray) -> None:
        # New nodes join the graph read from the previous generation: building the graph of
        # the 309-episode library (123,549 passages) again took 17 s to add one episode.
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        graph = self.faiss
        # Copy first: after preload the plain vectors are a view of the graph's storage,
        # which adding may move.
        self._plain = np.concatenate([np.asarray(self._plain), vectors])
        graph.add(vectors)
        self._folder = None  # the graph in memory is now the one to save

    def _search_settings(self) -> Any:
        import faiss

        return faiss.SearchParametersHNSW(efSearch=int(self._params["efSearch"]))


class IVFIndex(FaissIndex):
    """A FAISS inverted file (``nlist`` lists, ``nprobe`` searched) trained on the vectors."""

    kind = "ivf"

    def _make(self, vectors: np.ndarray) -> Any:
        import faiss

        # nlist ~ 4 sqrt(n), with at least 39 training points per list (FAISS's own floor).
        # nprobe a quarter of the lists: on E41-E80 (6786 passages, nlist 174) recall@10 vs
        # exact was 0.81 at nprobe 17, 0.94 at 44, 0.96 at 64.
        n = len(vectors)
        nlist = int(self._params.get("nlist") or max(1, min(int(4 * np.sqrt(max(n, 1))), n // 39)))
        nprobe = int(self._params.get("nprobe") or max(1, min(nlist, max(8, nlist // 4))))
        self._params.update(nlist=nlist, nprobe=nprobe)
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.min_points_per_centroid = 1  # small libraries: no "too few points" warning
        if n:
            index.train(vectors)
            index.add(vectors)
        index.nprobe = nprobe
        return index

    def _search_settings(self) -> Any:
        import faiss

        nprobe = int(self._params.get("nprobe") or self.faiss.nprobe)  # older manifests lack it
        return faiss.SearchParametersIVF(nprobe=nprobe)
