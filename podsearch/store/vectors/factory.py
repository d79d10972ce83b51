"""Which vector index a generation gets, and opening the one its manifest names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...core.errors import IndexFormatError
from .approximate import HNSWIndex, IVFIndex
from .base import INDEX_FILE, VectorIndex
from .exact import ExactIndex

KINDS: dict[str, type[VectorIndex]] = {"flat": ExactIndex, "hnsw": HNSWIndex, "ivf": IVFIndex}
AUTO = "auto"
# Up to this many passages every vector is scored exactly (numpy over a memory map: ~15 ms
# at 35k passages, no faiss import for a cold ``ask``); above, an HNSW graph.
EXACT_UP_TO = 100_000


def choose_kind(count: int) -> str:
    """The vector index for a library of ``count`` passages."""
    return "flat" if count <= EXACT_UP_TO else "hnsw"


def resolve_kind(kind: str | None, count: int) -> str:
    """The kind of vector index ``kind`` names (None or "auto": chosen from ``count``)."""
    chosen = choose_kind(count) if kind in (None, AUTO) else kind
    if chosen not in KINDS:
        raise ValueError(f"unknown vector index {kind!r} (use {', '.join([AUTO, *KINDS])})")
    return chosen


def create(kind: str | None, dim: int, count: int) -> VectorIndex:
    """An empty index of ``kind`` (None or "auto": chosen from ``count``)."""
    return KINDS[resolve_kind(kind, count)](dim)


def manifest_entry(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest's vector-index entry (``faiss`` in generations written before ``vectors``)."""
    entry = manifest.get("vectors") or manifest.get("faiss") or {}
    return {"type": "flat", "file": INDEX_FILE, **entry}


def vector_files(manifest: dict[str, Any]) -> set[str]:
    """The files of a generation its stored vectors are read from (``VectorIndex.vector_files``;
    an unknown kind: its index file)."""
    entry = manifest_entry(manifest)
    return KINDS.get(str(entry["type"]), VectorIndex).vector_files(entry)


def open_index(folder: Path, manifest: dict[str, Any], dim: int) -> VectorIndex:
    """The vector index of a generation, as its manifest describes it."""
    entry = manifest_entry(manifest)
    cls = KINDS.get(str(entry["type"]))
    if cls is None:
        raise IndexFormatError(
            f"{folder}: unknown vector index type {entry['type']!r}; rebuild the index "
            "with a podsearch that knows it, or 'podsearch rebuild --vector-index flat'"
        )
    return cls.load(folder, entry, dim)
