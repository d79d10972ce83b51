"""The query path's copy of what ``ask`` shows, readable with numpy and json alone.

A cold ``ask`` would spend ~0.1 s importing pyarrow to read a few passages and the episode
list from the Parquet tables. Each generation therefore also holds ``lookup/``:

- ``episodes.json``: the episode rows, as ``episodes.parquet`` has them;
- ``meta.json``: passage ids, and the distinct values of the other string columns;
- ``codes.npy``: per passage, the index of its value in each of those lists (-1: null);
- ``numbers.npy``: per passage, start, end (NaN: null), turn index, word offset and
  boilerplate share;
- ``text.bin`` and ``text_offsets.npy``: the passage texts, UTF-8, passage i at
  ``text_offsets[i]:text_offsets[i + 1]``.

The Parquet tables stay the record; this is derived from them when a generation is written.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core.strict_json import dumps

LOOKUP_DIR = "lookup"
CODED = ("episode_id", "speaker", "speaker_source", "time_precision", "chapter")
NUMBERS = ("start", "end", "turn_index", "word_offset", "boilerplate")
COLUMNS = ("passage_id", *CODED, *NUMBERS, "text")
_INTS = {"turn_index", "word_offset"}


def write_lookup(folder: Path, passages: Any, episodes: list[dict[str, Any]]) -> None:
    """Write ``lookup/`` into ``folder`` from the passages table (the pyarrow Table written as
    ``passages.parquet``: column by column, no Python loop over rows) and the episode rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    folder.mkdir(parents=True, exist_ok=True)
    n = passages.num_rows
    values: dict[str, list[Any]] = {}
    codes = np.full((n, len(CODED)), -1, dtype=np.int32)
    for j, c in enumerate(CODED):
        # Values in order of first appearance; -1 for null.
        encoded = pc.dictionary_encode(passages.column(c)).combine_chunks()
        values[c] = encoded.dictionary.to_pylist()
        codes[:, j] = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    numbers = np.full((n, len(NUMBERS)), np.nan, dtype=np.float64)
    for j, c in enumerate(NUMBERS):
        column = pc.cast(passages.column(c), pa.float64())
        numbers[:, j] = column.to_numpy(zero_copy_only=False)  # null: NaN
    # The texts as Arrow holds them: UTF-8 bytes back to back, and where each one starts.
    text = passages.column("text").combine_chunks().cast(pa.large_string())
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
    np.save(folder / "numbers.npy", numbers)
    meta = {"passage_id": passages.column("passage_id").to_pylist()}
    meta |= {c: values[c] for c in CODED}
    (folder / "meta.json").write_text(dumps(meta, ensure_ascii=False))
    (folder / "episodes.json").write_text(dumps(episodes, ensure_ascii=False))


def _map(path: Path) -> Any:
    """The file's bytes, memory-mapped (an empty file cannot be mapped)."""
    import mmap

    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return b""
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)


class Lookup:
    """Reads one generation's ``lookup/`` folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.meta: dict[str, list[Any]] = json.loads((folder / "meta.json").read_text())
        self.codes = np.load(folder / "codes.npy")
        self.numbers = np.load(folder / "numbers.npy")
        self.offsets = np.load(folder / "text_offsets.npy")
        self._text = _map(folder / "text.bin")  # only the texts shown are paged in

    @classmethod
    def open(cls, root: Path) -> Lookup | None:
        """The generation's lookup, or None if it was written without one."""
        folder = root / LOOKUP_DIR
        return cls(folder) if (folder / "meta.json").exists() else None

    def episodes(self) -> list[dict[str, Any]]:
        return json.loads((self.folder / "episodes.json").read_text())

    def value(self, row: int, column: str) -> Any:
        if column == "passage_id":
            return self.meta["passage_id"][row]
        if column == "text":
            return self._text[self.offsets[row] : self.offsets[row + 1]].decode("utf-8")
        if column in NUMBERS:
            at = NUMBERS.index(column)
            if at >= self.numbers.shape[1]:
                return None  # a column added after this generation was written
            x = float(self.numbers[row, at])
            if not math.isfinite(x):  # NaN: null; an infinity stored before times were checked
                return None
            return int(x) if column in _INTS else x
        code = int(self.codes[row, CODED.index(column)])
        return None if code < 0 else self.meta[column][code]

    def take(self, rows: Sequence[int], columns: Sequence[str]) -> list[dict[str, Any]]:
        return [{c: self.value(int(r), c) for c in columns} for r in rows]

    def number_column(self, column: str) -> np.ndarray | None:
        """A whole number column (NaN: null), or None if this generation predates it."""
        at = NUMBERS.index(column)
        return self.numbers[:, at] if at < self.numbers.shape[1] else None

    def coded(self, column: str) -> tuple[list[Any], np.ndarray]:
        """A coded column as (distinct values, per-passage code into them, -1 for null)."""
        return self.meta[column], self.codes[:, CODED.index(column)]

    def column(self, column: str) -> list[Any]:
        """A whole coded column, decoded (for filters)."""
        names = self.meta[column]
        return [None if c < 0 else names[c] for c in self.codes[:, CODED.index(column)].tolist()]
