"""The query path's copy of what ``ask`` shows, readable with numpy and json alone.

A cold ``ask`` would spend ~0.1 s importing pyarrow to read a few passages and the episode
list from the Parquet tables. Each generation therefore also holds ``lookup/``:

- ``episodes.json``: the episode rows, as ``episodes.parquet`` has them;
- ``meta.json``: passage ids, and the distinct values of the other string columns;
- ``codes.npy``: per passage, the index of its value in each of those lists (-1: null);
- ``numbers.npy``: per passage, start, end (NaN: null), turn index, word offset and
  boilerplate share;
- ``text.bin`` and ``text_offsets.npy``: the passage texts, UTF-8, passage i at
  ``text_offsets[i]:text_offsets[i + 1]``;
- ``turns/``: the same four files for the turns (episode, speaker, times, text), which
  ``--context`` and the page show: a server read them from ``turns.parquet`` into ~100 MB of
  Arrow it then kept (the 309-episode library); generations written before it still do.

The Parquet tables stay the record; this is derived from them when a generation is written.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..core.strict_json import dumps

LOOKUP_DIR = "lookup"
CODED = ("episode_id", "speaker", "speaker_source", "time_precision", "chapter")
NUMBERS = ("start", "end", "turn_index", "word_offset", "boilerplate")
COLUMNS = ("passage_id", *CODED, *NUMBERS, "text")
TURNS_DIR = "turns"
TURN_CODED = ("episode_id", "speaker", "speaker_source", "time_precision")
TURN_NUMBERS = ("turn_index", "start", "end")
TURN_COLUMNS = (*TURN_CODED, *TURN_NUMBERS, "text")
_INTS = {"turn_index", "word_offset"}


def write_lookup(
    folder: Path, passages: Any, episodes: list[dict[str, Any]], turns: Any = None
) -> None:
    """Write ``lookup/`` into ``folder`` from the passages table (the pyarrow Table written as
    ``passages.parquet``: column by column, no Python loop over rows), the episode rows and,
    if given, the turns table (``turns/``)."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"passage_id": passages.column("passage_id").to_pylist()}
    meta |= _write_columns(folder, passages, CODED, NUMBERS)
    (folder / "meta.json").write_text(dumps(meta, ensure_ascii=False))
    (folder / "episodes.json").write_text(dumps(episodes, ensure_ascii=False))
    if turns is not None:
        (folder / TURNS_DIR).mkdir()
        values = _write_columns(folder / TURNS_DIR, turns, TURN_CODED, TURN_NUMBERS)
        (folder / TURNS_DIR / "meta.json").write_text(dumps(values, ensure_ascii=False))


def _write_columns(
    folder: Path, table: Any, coded: Sequence[str], numbers: Sequence[str]
) -> dict[str, list[Any]]:
    """Write a table's ``coded`` string columns (``codes.npy``), ``numbers`` columns
    (``numbers.npy``) and text (``text.bin``, ``text_offsets.npy``) into ``folder``; return
    the distinct values of each coded column, which its codes index."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = table.num_rows
    values: dict[str, list[Any]] = {}
    codes = np.full((n, len(coded)), -1, dtype=np.int32)
    for j, c in enumerate(coded):
        # Values in order of first appearance; -1 for null.
        encoded = pc.dictionary_encode(table.column(c)).combine_chunks()
        values[c] = encoded.dictionary.to_pylist()
        codes[:, j] = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    figures = np.full((n, len(numbers)), np.nan, dtype=np.float64)
    for j, c in enumerate(numbers):
        column = pc.cast(table.column(c), pa.float64())
        figures[:, j] = column.to_numpy(zero_copy_only=False)  # null: NaN
    # The texts as Arrow holds them: UTF-8 bytes back to back, and where each one starts.
    text = table.column("text").combine_chunks().cast(pa.large_string())
    _, starts, data = text.buffers()
    ends = (
        np.frombuffer(starts, dtype=np.int64)[text.offset : text.offset + n + 1]
        if n and starts is not None
        else np.zeros(1, dtype=np.int64)
    )
    offsets = ends - ends[0]
    # The texts' bytes written from Arrow's buffer as they are (not copied twice first).
    blob = memoryview(data)[int(ends[0]) : int(ends[-1])] if data is not None else b""
    (folder / "text.bin").write_bytes(blob)
    np.save(folder / "text_offsets.npy", offsets)
    np.save(folder / "codes.npy", codes)
    np.save(folder / "numbers.npy", figures)
    return values


class _Texts:
    """A texts file read a slice at a time (``os.pread``), not memory-mapped: a server that
    showed thousands of passages had every page it touched counted in its resident memory
    (~90 MB of the 309-episode library's passages and turns); read, they stay in the page
    cache, which is the kernel's. A slice costs ~2 us."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "rb")  # open while the lookup is: closed when it is collected
        self._lock = threading.Lock()  # for seek and read where there is no pread (Windows)

    def __len__(self) -> int:
        return os.fstat(self._file.fileno()).st_size

    def close(self) -> None:
        self._file.close()

    def slice(self, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        if hasattr(os, "pread"):
            return os.pread(self._file.fileno(), end - start, start)
        with self._lock:
            self._file.seek(start)
            return self._file.read(end - start)


class Lookup:
    """Reads one generation's ``lookup/`` folder (the passages), or its ``turns/`` folder
    (``turns``): the same layout with other columns."""

    def __init__(
        self, folder: Path, coded: Sequence[str] = CODED, numbers: Sequence[str] = NUMBERS
    ) -> None:
        self.folder = folder
        self.coded_columns = tuple(coded)
        self.number_columns = tuple(numbers)
        self.meta: dict[str, list[Any]] = json.loads((folder / "meta.json").read_text())
        self.codes = np.load(folder / "codes.npy")
        self.numbers = np.load(folder / "numbers.npy")
        self.offsets = np.load(folder / "text_offsets.npy")
        self._text = _Texts(folder / "text.bin")  # only the texts shown are read

    @classmethod
    def open(cls, root: Path) -> Lookup | None:
        """The generation's lookup, or None if it was written without one."""
        folder = root / LOOKUP_DIR
        return cls(folder) if (folder / "meta.json").exists() else None

    def close(self) -> None:
        """Close the texts file (and the turns' one, if read). A lookup kept for a process's
        life needs no closing; one opened for a moment (``verify``) does."""
        self._text.close()
        if "turns" in self.__dict__ and self.turns is not None:
            self.turns.close()

    def episodes(self) -> list[dict[str, Any]]:
        return json.loads((self.folder / "episodes.json").read_text())

    def value(self, row: int, column: str) -> Any:
        if column == "passage_id":
            return self.meta["passage_id"][row]
        if column == "text":
            return self._text.slice(int(self.offsets[row]), int(self.offsets[row + 1])).decode()
        if column in self.number_columns:
            at = self.number_columns.index(column)
            if at >= self.numbers.shape[1]:
                return None  # a column added after this generation was written
            x = float(self.numbers[row, at])
            if not math.isfinite(x):  # NaN: null; an infinity stored before times were checked
                return None
            return int(x) if column in _INTS else x
        code = int(self.codes[row, self.coded_columns.index(column)])
        return None if code < 0 else self.meta[column][code]

    def take(self, rows: Sequence[int], columns: Sequence[str]) -> list[dict[str, Any]]:
        return [{c: self.value(int(r), c) for c in columns} for r in rows]

    def number_column(self, column: str) -> np.ndarray | None:
        """A whole number column (NaN: null), or None if this generation predates it."""
        at = self.number_columns.index(column)
        return self.numbers[:, at] if at < self.numbers.shape[1] else None

    def coded(self, column: str) -> tuple[list[Any], np.ndarray]:
        """A coded column as (distinct values, per-passage code into them, -1 for null)."""
        return self.meta[column], self.codes[:, self.coded_columns.index(column)]

    def column(self, column: str) -> list[Any]:
        """A whole coded column, decoded (for filters)."""
        names = self.meta[column]
        codes = self.codes[:, self.coded_columns.index(column)].tolist()
        return [None if c < 0 else names[c] for c in codes]

    @cached_property
    def turns(self) -> Lookup | None:
        """The turns' lookup (read once), or None in a generation written before it."""
        folder = self.folder / TURNS_DIR
        if not (folder / "meta.json").exists():
            return None
        return Lookup(folder, TURN_CODED, TURN_NUMBERS)

    def rows_of(self, column: str, values: set[str]) -> np.ndarray:
        """The rows whose coded ``column`` holds one of ``values``, in order."""
        names = self.meta[column]
        wanted = [i for i, v in enumerate(names) if v in values]
        return np.flatnonzero(np.isin(self.codes[:, self.coded_columns.index(column)], wanted))
