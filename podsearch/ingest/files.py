"""Files on disk: walking folders for sources, content hashes, the bundled sample library."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

_SKIP_NAMES = {".DS_Store", "Thumbs.db"}


def iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Files named, and files below folders named (recursively, hidden ones skipped), sorted."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and name not in _SKIP_NAMES:
                        yield Path(root) / name
        else:
            yield p


def file_hash(path: Path) -> str:
    """A content hash of a file (SHA-256, 16 hex digits): an unchanged source is skipped."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def sample_paths() -> list[Path]:
    """The bundled sample library: the two source transcripts of one real episode."""
    folder = resources.files("podsearch") / "data" / "sample"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".txt"))
