"""Reading one generation of an index: manifest, tables, vectors and lexical index, each
loaded on first use. A cold ``ask`` reads ``lookup/`` and a memory-mapped vector file, never
pyarrow or faiss."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import EpisodeNotFoundError, IndexFormatError, IndexNotFoundError
from .episode_means import read_means
from .layout import (
    EPISODES,
    FORMAT_VERSION,
    MANIFEST,
    PASSAGES,
    TURNS,
    index_exists,
    is_own_link,
    resolve_index_dir,
)
from .lexical import LEXICAL_DIR, LexicalIndex
from .lookup import COLUMNS, TURN_COLUMNS, Lookup
from .vectors.base import VectorIndex
from .vectors.factory import manifest_entry, open_index
from .verify import quick_check


class Index:
    """A read-only view of one generation; tables and the vector index load on first use."""

    def __init__(
        self, index_dir: Path | str, *, check: bool = True, use_lookup: bool = True
    ) -> None:
        """``check``: compare the sizes of the generation's files with its manifest (``stat``
        only) and raise IndexFormatError naming the first that differs; ``rebuild`` opens a
        damaged generation without it. ``use_lookup``: read episodes from ``lookup/``, not
        the Parquet record."""
        self.path = Path(index_dir)
        self.use_lookup = use_lookup
        if not index_exists(self.path) and is_own_link(resolve_index_dir(self.path)):
            # podsearch's own link, but its generation has no manifest: damaged, not absent
            # (the previous generation can answer; nothing may be built over it).
            root = self.path.resolve()
            self.root = root
            raise self.damaged(MANIFEST, "missing")
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
        self._columns_cache: dict[str, Any] = {}
        try:
            self.manifest: dict[str, Any] = json.loads((self.root / MANIFEST).read_text())
        except (OSError, ValueError) as e:  # ValueError: bad JSON, bad UTF-8
            raise self.damaged(MANIFEST, f"unreadable ({type(e).__name__})") from None
        if not isinstance(self.manifest, dict):
            raise self.damaged(MANIFEST, "not a JSON object")
        version = self.manifest.get("format_version")
        if version != FORMAT_VERSION:
            raise IndexFormatError(
                f"index {self.path} has format version {version}, this podsearch reads "
                f"{FORMAT_VERSION}: rebuild it with 'podsearch rebuild --index {self.path}'"
            )
        if check:
            damage = quick_check(self.root, self.manifest)
            if damage is not None:
                raise self.damaged(damage.file, damage.problem)

    def damaged(self, file: str, problem: str) -> IndexFormatError:
        """The one-line error for a damaged file of this generation, saying what to do."""
        return IndexFormatError(
            f"index {self.path} is damaged: {file} ({self.root.name}): {problem}; "
            f"'podsearch rollback --index {self.path}' returns to the previous generation, "
            f"'podsearch rebuild --index {self.path}' repairs it"
        )

    @property
    def model(self) -> str:
        return str(self.manifest["model"]["name"])

    @property
    def dimension(self) -> int:
        return int(self.manifest["model"]["dimension"])

    @property
    def precision(self) -> str:
        """fp32 or int8: how the passage vectors were made (fp32 before int8 existed)."""
        return str(self.manifest["model"].get("precision", "fp32"))

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

    def turns_of(self, episode_ids: set[str]) -> list[dict[str, Any]]:
        """The turns of some episodes, with the columns a hit's context shows
        (``lookup.TURN_COLUMNS``): read from ``lookup/turns/`` (memory maps: only these
        turns are read), else, in a generation written before it, from ``turns.parquet``."""
        turns = self._lookup.turns if self._lookup is not None else None
        if turns is not None:
            return turns.take(turns.rows_of("episode_id", episode_ids), TURN_COLUMNS)
        import pyarrow as pa
        import pyarrow.compute as pc

        table = self.read_table(TURNS, list(TURN_COLUMNS))
        wanted = pa.array(sorted(episode_ids), type=pa.string())
        return table.filter(pc.is_in(table.column("episode_id"), wanted)).to_pylist()

    def preload(self) -> None:
        """Load what queries read, for a long-lived process (``podsearch serve``): the
        episodes, the vectors, the lexical index, and the passages: their ``lookup/`` (memory
        maps, a few microseconds a row) or, in generations written without one, the passage
        columns as Python lists. (The lists of the 309-episode library took ~300 MB of a
        server's memory; the lookup serves the same rows.)"""
        if self._lookup is None:
            base = [c for c in self.columns(PASSAGES) if c != "embed_text"]
            table = self.read_table(PASSAGES, base)
            self._lists[PASSAGES] = {c: table.column(c).to_pylist() for c in base}
        _ = self.episodes, self.lexical
        self.vector_index.preload()  # in RAM, not a memory map: no page faults on queries
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
    def lexical(self) -> LexicalIndex:
        try:
            return LexicalIndex(self.root / LEXICAL_DIR)
        except (OSError, ValueError, RuntimeError) as e:
            raise self.damaged(f"{LEXICAL_DIR}/", f"unreadable ({type(e).__name__})") from None

    @cached_property
    def episode_means(self) -> dict[str, np.ndarray] | None:
        """Episode id -> its passages' mean vector (``store.episode_means``); None for a
        generation written without them."""
        return read_means(self.root)

    @cached_property
    def vector_index(self) -> VectorIndex:
        """The generation's vector index (``vectors/``), checked against the row count."""
        file = str(manifest_entry(self.manifest).get("file"))
        try:
            vi = open_index(self.root, self.manifest, self.dimension)
        except IndexFormatError:
            raise
        except (OSError, ValueError, RuntimeError, KeyError) as e:  # faiss says RuntimeError
            raise self.damaged(file, f"unreadable ({type(e).__name__})") from None
        expected = self.manifest.get("counts", {}).get("passages")
        if expected is not None and vi.size != int(expected):
            raise self.damaged(file, f"{vi.size} vectors for {expected} passages")
        return vi

    @property
    def vector_kind(self) -> str:
        """flat, hnsw or ivf: the vector index this generation holds."""
        return str(manifest_entry(self.manifest)["type"])

    @property
    def vector_choice(self) -> str | None:
        """The vector index the user chose for this library, or None when it follows the
        library's size. Generations from before the choice was recorded: flat is the old
        default (so it follows the size), any other type was chosen."""
        entry = manifest_entry(self.manifest)
        chosen = entry.get("chosen")
        if chosen is None:
            return None if entry["type"] == "flat" else str(entry["type"])
        return str(entry["type"]) if chosen == "user" else None

    def nearest(
        self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """(row, inner product) of the k nearest passages, best first, among the rows in
        ``allowed`` if given."""
        if k <= 0 or (allowed is not None and len(allowed) == 0):
            return []
        hits = self.vector_index.search(vector, k, allowed)
        # Vectors are normalised, so an inner product is at most 1: a bigger one (or NaN)
        # means damaged vectors (a flipped exponent bit scored 746), never a good match.
        if hits and not all(-1.05 <= s <= 1.05 for _, s in hits):
            bad = next(s for _, s in hits if not -1.05 <= s <= 1.05)
            file = str(manifest_entry(self.manifest).get("file"))
            raise self.damaged(file, f"a vector scores {bad:.4g}, above the cosine bound of 1")
        return hits

    def vectors(self) -> np.ndarray:
        """All passage vectors, row i for passage row i."""
        return self.vector_index.vectors()

    def vectors_for(self, rows: list[int]) -> np.ndarray:
        """The vectors of some passage rows, without loading all of them."""
        return self.vector_index.vectors(rows)

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
        key = f"codes:{column}"  # kept: a generation never changes (every ask reads them)
        if key not in self._columns_cache:
            values: dict[Any, int] = {}
            codes = [
                -1 if v is None else values.setdefault(v, len(values))
                for v in self.passage_column(column)
            ]
            self._columns_cache[key] = (list(values), np.asarray(codes, dtype=np.int32))
        return self._columns_cache[key]

    @cached_property
    def boilerplate(self) -> np.ndarray:
        """Each passage's boilerplate share (``episodes.boilerplate``), 0 where unknown (a
        generation written before shares were kept)."""
        n = int(self.manifest.get("counts", {}).get("passages", 0))
        shares = self._lookup.number_column("boilerplate") if self._lookup else None
        if shares is None and "boilerplate" in self.columns(PASSAGES):
            shares = np.asarray(self.passage_column("boilerplate"), dtype=np.float64)
        if shares is None or len(shares) != n:
            return np.zeros(n, np.float32)
        return np.nan_to_num(np.asarray(shares, dtype=np.float32))

    @cached_property
    def _lookup(self) -> Lookup | None:
        if not self.use_lookup:
            return None
        try:
            lookup = Lookup.open(self.root)
        except (OSError, ValueError, KeyError, EOFError) as e:
            raise self.damaged("lookup/", f"unreadable ({type(e).__name__}: {e})") from None
        expected = self.manifest.get("counts", {}).get("passages")
        if lookup is not None and expected is not None and len(lookup.codes) != int(expected):
            raise self.damaged("lookup/codes.npy", f"{len(lookup.codes)} rows for {expected}")
        return lookup


def resolve_episode_id(rows: dict[str, dict[str, Any]], wanted: str) -> str:
    """The episode id that ``wanted`` designates: an id, a unique id prefix, or a source
    file's path, name or name without extension."""
    if wanted in rows:
        return wanted
    hits = [e for e in rows if e.startswith(wanted)]
    if not hits:
        hits = [
            e
            for e, r in rows.items()
            if any(wanted in (s, os.path.basename(s), Path(s).stem) for s in r["sources"])
        ]
    if len(hits) == 1:
        return hits[0]
    problem = "matches no episode" if not hits else f"matches {len(hits)} episodes"
    if not hits:
        from ..core.suggest import closest

        names = [os.path.basename(s) for r in rows.values() for s in r["sources"]]
        near = closest(wanted, names)
        problem += f" (closest: {', '.join(near)})" if near else ""
    raise EpisodeNotFoundError(
        f"{wanted!r} {problem}: give an episode id (or a unique prefix) or a source file "
        "name, as 'podsearch episodes' lists them"
    )
