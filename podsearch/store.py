"""The on-disk index: a directory with manifest.json, a FAISS file and Parquet tables.

Layout (for ``indexes/default``)::

    indexes/default -> .default.podsearch/generations/<gen>     (a symlink)
    indexes/.default.podsearch/generations/<gen>/manifest.json
                                                 passages.faiss
                                                 passages.parquet  (row i = FAISS id i)
                                                 episodes.parquet
                                                 turns.parquet
                                                 lexical/          (tantivy BM25 index)
    indexes/.default.podsearch/                  (lock, user speaker names, caches)

A write builds a whole new generation in a temporary folder, renames it into place, then
swaps the symlink with one atomic rename. A reader resolves the symlink once, so it always
sees one complete generation, and a crash at any point leaves the previous one in place.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .errors import IndexFormatError, IndexLockedError, IndexNotFoundError
from .lexical import LEXICAL_DIR, LexicalIndex, build_lexical
from .lookup import COLUMNS, LOOKUP_DIR, Lookup, write_lookup

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FAISS_FILE = "passages.faiss"
VECTORS_FILE = "vectors.npy"
PASSAGES = "passages.parquet"
EPISODES = "episodes.parquet"
TURNS = "turns.parquet"
FAISS_KINDS = ("flat", "hnsw", "ivf")
KEEP_GENERATIONS = 2  # the current one and the one before, for readers still holding it


def default_index_dir() -> Path:
    """``$PODSEARCH_INDEX`` or ``indexes/default`` under the current directory."""
    return Path(os.environ.get("PODSEARCH_INDEX") or Path("indexes") / "default")


def home_dir(index_dir: Path) -> Path:
    """The hidden folder beside an index that holds its generations, lock and user files."""
    index_dir = Path(os.path.abspath(index_dir))
    return index_dir.parent / f".{index_dir.name}.podsearch"


def speaker_file(index_dir: Path) -> Path:
    """The user's speaker names (``speakers.SpeakerBook``), beside the index's generations."""
    return home_dir(index_dir) / "speakers.json"


def index_exists(index_dir: Path) -> bool:
    return (Path(index_dir) / MANIFEST).is_file()


@contextmanager
def writer_lock(
    index_dir: Path, *, wait: bool = True, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the index's writer lock: one writer at a time per index. Readers never take it
    (they read a complete generation). A second writer waits, after telling ``on_wait``, or
    with ``wait=False`` fails at once with IndexLockedError. The lock is an OS file lock, so a
    writer killed at any point releases it."""
    from filelock import FileLock, Timeout

    home = home_dir(index_dir)
    home.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(home / "write.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if not wait:
            raise IndexLockedError(
                f"another podsearch process is writing {index_dir}: try again when it is "
                "done, or leave out --no-wait to wait for it"
            ) from None
        if on_wait:
            on_wait(f"another podsearch process is writing {index_dir}; waiting for it")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


@dataclass
class IndexContents:
    """Everything a generation holds, ready to be written."""

    manifest: dict[str, Any]
    passages: list[dict[str, Any]]
    episodes: list[dict[str, Any]]
    turns: list[dict[str, Any]]
    vectors: np.ndarray
    extra_files: dict[str, bytes] = field(default_factory=dict)


def _table(rows: list[dict[str, Any]], schema: Any) -> Any:
    import pyarrow as pa

    return pa.Table.from_pylist(rows, schema=schema)


def _schemas() -> dict[str, Any]:
    import pyarrow as pa

    people = pa.list_(pa.struct([("name", pa.string()), ("role", pa.string())]))
    chapters = pa.list_(pa.struct([("start", pa.float64()), ("title", pa.string())]))
    cues = pa.list_(
        pa.struct([("start", pa.float64()), ("end", pa.float64()), ("text", pa.string())])
    )
    return {
        PASSAGES: pa.schema(
            [
                ("passage_id", pa.string()),
                ("episode_id", pa.string()),
                ("speaker", pa.string()),
                ("speaker_source", pa.string()),
                ("start", pa.float64()),
                ("end", pa.float64()),
                ("time_precision", pa.string()),
                ("turn_index", pa.int32()),
                ("word_offset", pa.int32()),
                ("text", pa.string()),
                ("embed_text", pa.string()),
                ("chapter", pa.string()),  # the feed's chapter title at the passage's start
            ]
        ),
        EPISODES: pa.schema(
            [
                ("episode_id", pa.string()),
                ("title", pa.string()),
                ("podcast", pa.string()),
                ("published", pa.string()),
                ("url", pa.string()),
                ("audio_url", pa.string()),
                ("description", pa.string()),
                ("people", people),
                ("sources", pa.list_(pa.string())),
                ("source_hashes", pa.list_(pa.string())),
                ("formats", pa.list_(pa.string())),
                ("truncated", pa.bool_()),
                ("episode_number", pa.int32()),
                ("guid", pa.string()),
                ("language", pa.string()),
                ("duration", pa.float64()),
                ("chapters", chapters),
            ]
        ),
        TURNS: pa.schema(
            [
                ("episode_id", pa.string()),
                ("turn_index", pa.int32()),
                ("speaker", pa.string()),
                ("label", pa.string()),  # the speaker as the source wrote it
                ("speaker_source", pa.string()),
                ("start", pa.float64()),
                ("end", pa.float64()),
                ("time_precision", pa.string()),
                ("text", pa.string()),
                ("cues", cues),
            ]
        ),
    }


def build_faiss(vectors: np.ndarray, kind: str = "flat") -> Any:
    """A FAISS inner-product index over normalised vectors; FAISS id = row number."""
    import faiss

    dim = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else 1
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
    elif kind == "ivf":
        # nlist ~ 4 sqrt(n), with at least 39 training points per list (FAISS's own floor).
        # nprobe a quarter of the lists: on E41-E80 (6786 passages, nlist 174) recall@10 vs
        # exact was 0.81 at nprobe 17, 0.94 at 44, 0.96 at 64. Flat stays the default.
        n = len(vectors)
        nlist = max(1, min(int(4 * np.sqrt(max(n, 1))), n // 39))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.min_points_per_centroid = 1  # small libraries: no "too few points" warning
        if n:
            index.train(np.ascontiguousarray(vectors, dtype=np.float32))
        index.nprobe = max(1, min(nlist, max(8, nlist // 4)))
    else:
        raise ValueError(f"unknown FAISS index type {kind!r} (use {', '.join(FAISS_KINDS)})")
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


_FLAT_HEADER = struct.Struct("<4siqqq?i")  # fourcc, d, ntotal, 2 unused, is_trained, metric


def flat_faiss_vectors(path: Path) -> np.ndarray | None:
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


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_index(index_dir: Path, contents: IndexContents, faiss_kind: str = "flat") -> Path:
    """Write a new generation and make ``index_dir`` point at it atomically. Returns its path."""
    import faiss
    import pyarrow.parquet as pq

    index_dir = Path(os.path.abspath(index_dir))
    gens = home_dir(index_dir) / "generations"
    gens.mkdir(parents=True, exist_ok=True)
    now = time.time_ns()
    # Sortable by write time down to the nanosecond; the pid keeps concurrent writers apart.
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 10**9))
    gen = f"{stamp}.{now % 10**9:09d}-{os.getpid()}"
    tmp = gens / f".tmp-{gen}"
    tmp.mkdir()
    try:
        schemas = _schemas()
        pq.write_table(_table(contents.passages, schemas[PASSAGES]), tmp / PASSAGES)
        pq.write_table(_table(contents.episodes, schemas[EPISODES]), tmp / EPISODES)
        pq.write_table(_table(contents.turns, schemas[TURNS]), tmp / TURNS)
        faiss.write_index(build_faiss(contents.vectors, faiss_kind), str(tmp / FAISS_FILE))
        build_lexical(tmp / LEXICAL_DIR, contents.passages)
        names = schemas[EPISODES].names  # as the table has them: every column, nulls too
        episodes = [{n: row.get(n) for n in names} for row in contents.episodes]
        write_lookup(tmp / LOOKUP_DIR, contents.passages, episodes)
        if faiss_kind != "flat":
            np.save(tmp / VECTORS_FILE, contents.vectors.astype(np.float32))
        for name, data in contents.extra_files.items():
            (tmp / name).write_bytes(data)
        manifest = dict(contents.manifest)
        manifest["format_version"] = FORMAT_VERSION
        manifest["faiss"] = {"type": faiss_kind, "file": FAISS_FILE, "metric": "inner_product"}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        for f in tmp.rglob("*"):
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        _fsync_dir(tmp)
        final = gens / gen
        os.rename(tmp, final)
        _fsync_dir(gens)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _point_at(index_dir, final)
    _collect_garbage(gens, keep=final)
    return final


def _point_at(index_dir: Path, generation: Path) -> None:
    """Atomically make the index symlink point at a generation."""
    link_tmp = index_dir.parent / f".{index_dir.name}.link-{os.getpid()}"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    os.symlink(os.path.relpath(generation, index_dir.parent), link_tmp)
    if index_dir.exists() and not index_dir.is_symlink():
        # A real folder (an index copied with cp -r, or an empty folder): keep it as a
        # generation so nothing is lost, then replace it by the symlink.
        os.rename(index_dir, generation.parent / f"adopted-{generation.name}")
    os.replace(link_tmp, index_dir)
    _fsync_dir(index_dir.parent)


def _collect_garbage(gens: Path, keep: Path) -> None:
    done = sorted(
        (p for p in gens.iterdir() if p.is_dir() and not p.name.startswith(".tmp-")),
        # Names start with the write time; an adopted folder takes the name of the write
        # that adopted it, so it counts as the generation before the current one.
        key=lambda p: p.name.removeprefix("adopted-"),
    )
    stale = [p for p in done if p != keep][: max(0, len(done) - KEEP_GENERATIONS)]
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)
    # Temporary folders left by a crashed writer are more than an hour old by now.
    for p in gens.glob(".tmp-*"):
        if time.time() - p.stat().st_mtime > 3600:
            shutil.rmtree(p, ignore_errors=True)


class Index:
    """A read-only view of one generation; tables and the FAISS index load on first use."""

    def __init__(self, index_dir: Path | str) -> None:
        self.path = Path(index_dir)
        if not index_exists(self.path):
            raise IndexNotFoundError(
                f"no index at {self.path}: build one with "
                f"'podsearch index PATH --index {self.path}'"
            )
        # Resolve once so that a concurrent swap cannot mix two generations.
        self.root = self.path.resolve()
        self._tables: dict[tuple[str, tuple[str, ...] | None], Any] = {}
        self._columns: dict[str, list[str]] = {}
        self._lists: dict[str, dict[str, list[Any]]] = {}  # filled by preload()
        self._episode_rows: dict[str, dict[str, Any]] | None = None  # filled by preload()
        self._columns_cache: dict[str, list[Any]] = {}
        try:
            self.manifest: dict[str, Any] = json.loads((self.root / MANIFEST).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise IndexFormatError(
                f"{self.root / MANIFEST} is unreadable ({e}); rebuild the index"
            ) from e
        version = self.manifest.get("format_version")
        if version != FORMAT_VERSION:
            raise IndexFormatError(
                f"index {self.path} has format version {version}, this podsearch reads "
                f"{FORMAT_VERSION}: rebuild it with 'podsearch rebuild --index {self.path}'"
            )

    @property
    def model(self) -> str:
        return str(self.manifest["model"]["name"])

    @property
    def dimension(self) -> int:
        return int(self.manifest["model"]["dimension"])

    def read_table(self, name: str, columns: list[str] | None = None) -> Any:
        """A Parquet table of the generation (only ``columns`` if given), cached: a
        generation never changes. ParquetFile, not pq.read_table, which imports
        pyarrow.dataset (~0.05 s of a cold ``ask``)."""
        key = (name, tuple(columns) if columns is not None else None)
        cache = self._tables
        if key in cache:
            return cache[key]
        if columns is not None and (name, None) in cache:
            table = cache[(name, None)].select(columns)
        else:
            import pyarrow.parquet as pq

            try:
                table = pq.ParquetFile(self.root / name).read(columns=columns)
            except (OSError, ValueError, KeyError) as e:
                raise IndexFormatError(
                    f"{self.root / name} is unreadable ({e}); rebuild the index"
                ) from e
        cache[key] = table
        return table

    def take(
        self, rows: Sequence[int], columns: list[str] | None = None, name: str = PASSAGES
    ) -> list[dict[str, Any]]:
        """Some rows of a table as dicts, in the order given; by default every column but
        ``embed_text`` (a copy of the text, only needed to re-embed, half the file). Row
        slices, not Table.take, which imports pyarrow.compute (~0.05 s of a cold ``ask``)."""
        lists = self._lists.get(name)
        if lists is not None and all(c in lists for c in columns or lists):
            return [{c: lists[c][int(r)] for c in columns or lists} for r in rows]
        lookup = self._lookup if name == PASSAGES else None
        if lookup is not None and set(columns or COLUMNS) <= set(COLUMNS):
            return lookup.take(rows, columns or COLUMNS)  # no pyarrow on a cold ``ask``
        base = [c for c in self.columns(name) if c != "embed_text"]
        wanted = columns if columns is not None else base
        table = self.read_table(name, base if set(wanted) <= set(base) else None)
        if columns is not None:
            table = table.select(columns)
        return [table.slice(int(r), 1).to_pylist()[0] for r in rows]

    def preload(self) -> None:
        """Load what queries read, for a long-lived process (``podsearch serve``): the
        passage columns as Python lists (``take`` then costs microseconds), the episodes,
        the vectors and the lexical index."""
        base = [c for c in self.columns(PASSAGES) if c != "embed_text"]
        table = self.read_table(PASSAGES, base)
        self._lists[PASSAGES] = {c: table.column(c).to_pylist() for c in base}
        _ = self.episodes, self.lexical
        if self.stored_vectors is not None:
            # In RAM rather than a memory map: no page faults on the first queries.
            self.stored_vectors = np.array(self.stored_vectors, dtype=np.float32)
        self._episode_rows = {row["episode_id"]: row for row in self.episodes.to_pylist()}

    def columns(self, name: str = PASSAGES) -> list[str]:
        """The column names of a table, from its Parquet footer."""
        if name not in self._columns:
            full = self._tables.get((name, None))
            if full is not None:
                self._columns[name] = list(full.column_names)
            else:
                import pyarrow.parquet as pq

                try:
                    self._columns[name] = list(pq.ParquetFile(self.root / name).schema_arrow.names)
                except (OSError, ValueError) as e:
                    raise IndexFormatError(
                        f"{self.root / name} is unreadable ({e}); rebuild the index"
                    ) from e
        return list(self._columns[name])

    @cached_property
    def passages(self) -> Any:
        return self.read_table(PASSAGES)

    @cached_property
    def episodes(self) -> Any:
        return self.read_table(EPISODES)

    @cached_property
    def turns(self) -> Any:
        return self.read_table(TURNS)

    @cached_property
    def faiss(self) -> Any:
        import faiss

        return faiss.read_index(str(self.root / FAISS_FILE))

    @cached_property
    def lexical(self) -> LexicalIndex:
        return LexicalIndex(self.root / LEXICAL_DIR)

    @property
    def faiss_kind(self) -> str:
        return str(self.manifest.get("faiss", {}).get("type", "flat"))

    @cached_property
    def stored_vectors(self) -> np.ndarray | None:
        """All vectors as a read-only memory map, without importing faiss: vectors.npy if
        the generation has one, else the array inside a flat FAISS file; else None."""
        stored = self.root / VECTORS_FILE
        if stored.exists():
            return np.load(stored, mmap_mode="r")
        if self.faiss_kind != "flat":
            return None
        return flat_faiss_vectors(self.root / FAISS_FILE)

    def nearest(
        self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """(row, inner product) of the k nearest passages, best first, among the rows in
        ``allowed`` if given. A flat index is searched exactly with numpy on the memory-mapped
        vectors (same results as FAISS, no faiss import on a cold start); others by FAISS."""
        if k <= 0 or (allowed is not None and len(allowed) == 0):
            return []
        q = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
        flat = self.stored_vectors if self.faiss_kind == "flat" else None
        if flat is None:
            return self._faiss_nearest(q, k, allowed)
        ids = None if allowed is None else np.asarray(allowed, dtype=np.int64)
        if ids is None:
            scores = flat @ q
        elif len(ids) * 8 > len(flat):
            scores = (flat @ q)[ids]  # cheaper than copying most of the vectors
        else:
            scores = flat[ids] @ q
        if len(scores) == 0:
            return []
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        rows = top if ids is None else ids[top]
        # Best first; equal scores (passages with the same text) larger row first, as FAISS.
        order = np.lexsort((-rows, -scores[top]))
        return [(int(r), float(sc)) for r, sc in zip(rows[order], scores[top][order], strict=True)]

    def _faiss_nearest(
        self, q: np.ndarray, k: int, allowed: np.ndarray | None
    ) -> list[tuple[int, float]]:
        import faiss

        fi = self.faiss
        if fi.ntotal == 0:
            return []
        k = min(k, fi.ntotal if allowed is None else len(allowed))
        if allowed is None:
            scores, ids = fi.search(q.reshape(1, -1), k)
        else:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
            scores, ids = fi.search(q.reshape(1, -1), k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def vectors(self) -> np.ndarray:
        """All passage vectors, row i for passage row i."""
        stored = self.stored_vectors
        if stored is not None:
            return np.array(stored, dtype=np.float32)
        index = self.faiss
        if index.ntotal == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return index.reconstruct_n(0, index.ntotal)

    def vectors_for(self, rows: list[int]) -> np.ndarray:
        """The vectors of some passage rows, without loading all of them."""
        stored = self.stored_vectors
        if stored is not None:
            return np.asarray(stored[rows], dtype=np.float32)
        return np.vstack([self.faiss.reconstruct(int(r)) for r in rows])

    def episode_rows(self) -> dict[str, dict[str, Any]]:
        """Episode id -> its row (a copy, except after ``preload``, which keeps them)."""
        if self._episode_rows is not None:
            return self._episode_rows
        rows = self._lookup.episodes() if self._lookup else self.episodes.to_pylist()
        return {row["episode_id"]: row for row in rows}

    def passage_column(self, column: str) -> list[Any]:
        """One passage column as a list (from the lookup when it has it), kept: a
        generation never changes."""
        if column not in self._columns_cache:
            if self._lookup is not None and column in ("episode_id", "speaker"):
                values = self._lookup.column(column)
            else:
                values = self.read_table(PASSAGES, [column]).column(0).to_pylist()
            self._columns_cache[column] = values
        return self._columns_cache[column]

    def passage_codes(self, column: str) -> tuple[list[Any], np.ndarray]:
        """A passage column as (distinct values, per-row code into them, -1 for null): what
        filters test, once per value instead of once per row."""
        if self._lookup is not None and column in ("episode_id", "speaker"):
            return self._lookup.coded(column)
        values: dict[Any, int] = {}
        codes = [
            -1 if v is None else values.setdefault(v, len(values))
            for v in self.passage_column(column)
        ]
        return list(values), np.asarray(codes, dtype=np.int32)

    @cached_property
    def _lookup(self) -> Lookup | None:
        return Lookup.open(self.root)
