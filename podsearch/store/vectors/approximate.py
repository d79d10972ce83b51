"""Approximate search with FAISS: HNSW graphs and inverted files (IVF). Both keep the plain
vectors beside them (``vectors.npy``), so that a narrow filter is searched exactly, stored
vectors are read without faiss, and a rebuild never re-embeds."""

from __future__ import annotations

import io
import os
import shutil
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
# Rows added to a library whose graph is read from the previous generation are searched
# exactly (the graph's "tail") until they pass this many or this share of the graph's rows;
# then they join the graph. Adding one episode (981 passages) to the 309-episode library
# spent 2.4 s reading, growing, writing and hashing the 214 MB graph; an exact search over
# 6,000 tail rows takes ~0.3 ms.
TAIL_ROWS = 2_000
TAIL_SHARE = 0.05
# While there is a tail, ``vectors.npy`` holds the graph's rows, the file shared (linked) with
# the generation the graph was built in, and this file the tail's: adding one episode to the
# 309-episode library copied, hashed and synced the 190 MB of vectors again (~0.9 s).
TAIL_FILE = "vectors-tail.npy"


class Stacked:
    """The rows of ``head`` (a memory map of the graph's rows) then those of ``tail``, read
    as one array where searches need it (products, rows, slices) without joining them."""

    def __init__(self, head: np.ndarray, tail: np.ndarray) -> None:
        self.head, self.tail = head, tail
        self.shape = (len(head) + len(tail), head.shape[1])
        self.ndim, self.dtype = 2, np.dtype(np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def __matmul__(self, query: np.ndarray) -> np.ndarray:
        return np.concatenate((self.head @ query, self.tail @ query))

    def __getitem__(self, rows: Any) -> np.ndarray:
        cut = len(self.head)
        if isinstance(rows, slice):
            start, stop, step = rows.indices(len(self))
            if step == 1 and start >= cut:
                return self.tail[start - cut : stop - cut]
            if step == 1 and stop <= cut:
                return self.head[start:stop]
            rows = np.arange(start, stop, step)
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.shape[1]), np.float32)
        low = rows < cut
        out[low] = self.head[rows[low]]
        out[~low] = self.tail[rows[~low] - cut]
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.concatenate((self.head, self.tail)).astype(dtype or np.float32, copy=False)


class FaissIndex(VectorIndex):
    """A FAISS index (built by ``_make``) plus the plain vectors."""

    def __init__(self, dim: int, params: dict[str, Any] | None = None) -> None:
        super().__init__(dim)
        self._params = dict(params or {})
        self._plain: np.ndarray | Stacked = np.zeros((0, dim), np.float32)
        self._folder: Path | None = None  # set by load: the FAISS file is read on first use
        self._entry: dict[str, Any] = {}
        self._searches = 0
        # Rows the FAISS structure holds (the first ones); None: all. The rest, the tail, are
        # searched exactly (``HNSWIndex.extend``).
        self._graph_rows: int | None = None
        # The vectors file read by ``load`` (path, rows, header bytes), while the vectors
        # still begin with its rows: ``save`` copies it and appends the rest.
        self._source: tuple[Path, int, int] | None = None

    def params(self) -> dict[str, Any]:
        return dict(self._params)

    @property
    def size(self) -> int:
        return len(self._plain)

    def add(self, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        self._plain = np.concatenate([np.asarray(self._plain), vectors])
        self.__dict__.pop("faiss", None)  # built again from all vectors on next use
        self._folder, self._graph_rows, self._source = None, None, None

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
        head = self.size if self._graph_rows is None else self._graph_rows
        rows = None if allowed is None else np.asarray(allowed, np.int64)
        hits = self._search_structure(query, k, None if rows is None else rows[rows < head], head)
        if hits is None:
            return exact_search(self._plain, query, k, allowed)
        if head < self.size:  # the tail, exactly, merged in (ties: the larger row first)
            wanted = None if rows is None else rows[rows >= head] - head
            if wanted is None or len(wanted):
                tail = exact_search(self._plain[head:], query, k, wanted)
                both = hits + [(r + head, sc) for r, sc in tail]
                hits = sorted(both, key=lambda h: (-h[1], -h[0]))[:k]
        return hits

    def _search_structure(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None, head: int
    ) -> list[tuple[int, float]] | None:
        """The FAISS search over its ``head`` rows (those ``allowed`` of them); None when a
        filtered search comes back short and the allowed rows must be searched exactly."""
        import faiss

        if allowed is not None and not len(allowed):
            return []
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        k = min(k, head if allowed is None else len(allowed))
        if k <= 0:
            return []
        selector = bits = None
        if allowed is not None:
            # A bitmap over all rows: built in ~0.06 ms where IDSelectorBatch's hash set of
            # 40,000 allowed rows (one speaker of the 309 episodes) took ~2 ms. ``bits`` must
            # outlive the search: the selector only points at it.
            mask = np.zeros(head, dtype=bool)
            mask[allowed] = True
            bits = np.packbits(mask, bitorder="little")
            selector = faiss.IDSelectorBitmap(head, faiss.swig_ptr(bits))
        scores, ids = self.faiss.search(q, k, params=self._search_params(selector))
        del bits
        hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        if allowed is not None and len(hits) < k:
            # The guarantee of a filtered search: only allowed rows, and min(k, allowed) of
            # them. A graph walked with a selector can run out of allowed neighbours before
            # finding k; then the allowed rows are searched exactly instead.
            return None
        return hits

    def vectors(self, rows: np.ndarray | list[int] | None = None) -> np.ndarray:
        if rows is None:  # the memory map itself (read-only): no copy of every vector
            return np.asarray(self._plain, dtype=np.float32)
        return np.asarray(self._plain[np.asarray(rows, dtype=np.int64)], dtype=np.float32)

    def holds(self, vectors: np.ndarray) -> bool:
        plain = self._plain
        if isinstance(plain, Stacked):  # part by part: never joined into one array
            cut = len(plain.head)
            return len(vectors) == len(plain) and all(
                np.array_equal(part, rows)
                for part, rows in ((plain.head, vectors[:cut]), (plain.tail, vectors[cut:]))
            )
        return super().holds(vectors)

    def preload(self) -> None:
        """Read everything into RAM now (a server)."""
        self._plain = self._in_memory(self.faiss)

    def _in_memory(self, index: Any) -> np.ndarray | Stacked:
        """The plain vectors in RAM (a copy of the memory map; kinds whose FAISS structure
        holds them row by row return a view of it instead)."""
        return np.array(self._plain, dtype=np.float32)

    def save(self, folder: Path) -> dict[str, Any]:
        self.copied = ()
        if self._folder is not None:
            # Unchanged since read (a graph with a tail): its file is linked (copied where
            # links are refused), not read, parsed and written again; ``copied`` tells the
            # writer so. A link shares the file with the previous generation: podsearch never
            # writes into a generation's files, and a graph damaged on disk in both is
            # built again from the vectors by ``podsearch rebuild``.
            _link(self._folder / self._entry.get("file", INDEX_FILE), folder / INDEX_FILE)
            self.copied = (INDEX_FILE,)
        else:
            import faiss

            faiss.write_index(self.faiss, str(folder / INDEX_FILE))
        entry = self.entry(INDEX_FILE)
        head = self._graph_rows
        if head is not None:
            entry["graph_rows"], entry["tail_file"] = head, TAIL_FILE
            np.save(folder / TAIL_FILE, np.asarray(self._plain[head:], dtype=np.float32))
            if self._source is not None and self._source[1] == head:
                _link(self._source[0], folder / VECTORS_FILE)  # the graph's rows, as read
                self.copied += (VECTORS_FILE,)
            else:
                np.save(folder / VECTORS_FILE, np.asarray(self._plain[:head], dtype=np.float32))
            return entry
        plain = np.asarray(self._plain, dtype=np.float32)
        if self._source is None or not _append_copy(*self._source, plain, folder / VECTORS_FILE):
            np.save(folder / VECTORS_FILE, plain)
        return entry

    @classmethod
    def vector_files(cls, entry: dict[str, Any]) -> set[str]:
        # The plain vectors: a damaged graph is built again from them.
        return {VECTORS_FILE} | ({str(entry["tail_file"])} if entry.get("tail_file") else set())

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
        head = index._plain
        index._source = (folder / VECTORS_FILE, len(head), int(head.offset))
        if entry.get("graph_rows") is not None:
            index._graph_rows = int(entry["graph_rows"])
            if entry.get("tail_file"):
                index._plain = Stacked(head, _load_tail(folder / str(entry["tail_file"]), dim))
            if not 0 <= index._graph_rows <= len(head) or (
                entry.get("tail_file") and index._graph_rows != len(head)
            ):
                raise IndexFormatError(
                    f"{folder}: the manifest's graph rows differ from the stored vectors; "
                    "rebuild the index with 'podsearch rebuild'"
                )
        return index


def _link(source: Path, target: Path) -> None:
    """``target`` as a hard link to ``source`` (a copy where links are refused)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _load_tail(path: Path, dim: int) -> np.ndarray:
    try:
        tail = np.load(path)
    except (OSError, ValueError) as e:
        raise IndexFormatError(
            f"{path} is unreadable ({e}): rebuild the index with 'podsearch rebuild'"
        ) from e
    if tail.ndim != 2 or tail.shape[1] != dim or tail.dtype != np.float32:
        raise IndexFormatError(f"{path} does not hold {dim}-d vectors")
    return tail


def _append_copy(source: Path, rows: int, header: int, vectors: np.ndarray, target: Path) -> bool:
    """Write ``vectors`` as a ``.npy`` file at ``target`` by copying ``source`` (which holds
    their first ``rows``, after a ``header`` of that many bytes) and appending the rest: the
    kernel copies 190 MB faster than numpy writes them. False (nothing written) when the new
    header would not be of the same length."""
    from numpy.lib import format as npy

    if rows > len(vectors) or not vectors.flags.c_contiguous:
        return False
    head = io.BytesIO()
    npy.write_array_header_1_0(head, npy.header_data_from_array_1_0(vectors))
    size = header + rows * vectors.shape[1] * vectors.itemsize
    if len(head.getvalue()) != header or source.stat().st_size != size:
        return False
    shutil.copyfile(source, target)
    with open(target, "r+b") as fh:
        fh.write(head.getvalue())
        fh.seek(0, os.SEEK_END)
        fh.write(vectors[rows:].tobytes())
    return True


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

    def _in_memory(self, index: Any) -> np.ndarray | Stacked:
        # The graph's flat storage holds every vector in row order: a view of it, not a
        # second copy (190 MB for the 309-episode library).
        import faiss

        storage = faiss.downcast_index(index.storage)
        n, dim = index.ntotal, self.dim
        if n < len(self._plain) and n == self._graph_rows:
            # A tail: the memory map stays (the graph holds the vectors once more; searches
            # read the tail's pages, and single rows, from it).
            return self._plain if isinstance(self._plain, Stacked) else np.asarray(self._plain)
        if n != len(self._plain) or not isinstance(storage, faiss.IndexFlat):
            return super()._in_memory(index)
        view = faiss.rev_swig_ptr(storage.get_xb(), n * dim).reshape(n, dim)
        if not np.array_equal(view[:1], np.asarray(self._plain[:1])):
            return super()._in_memory(index)
        return view

    def extend(self, vectors: np.ndarray) -> None:
        # New rows stay the graph's tail, searched exactly, while it is short; then they all
        # join the graph read from the previous generation (building the graph of the
        # 309-episode library, 123,549 passages, again takes 41 s).
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        # A copy: after preload the plain vectors are a view of the graph's storage, which
        # adding may move.
        self.grow(np.concatenate([np.asarray(self._plain), vectors]))

    def grow(self, everything: np.ndarray) -> None:
        head = self.size if self._graph_rows is None else self._graph_rows
        self._plain = np.ascontiguousarray(everything, dtype=np.float32)
        if self._folder is not None and self.size - head <= max(TAIL_ROWS, TAIL_SHARE * head):
            self._graph_rows = head  # the graph stays as it is, in its file
            return
        graph = self.faiss
        graph.add(np.ascontiguousarray(self._plain[graph.ntotal :]))
        self._graph_rows = None
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
