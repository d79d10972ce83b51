"""Files on disk: walking folders for sources, content hashes, the bundled sample library."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

_SKIP_NAMES = {".DS_Store", "Thumbs.db"}

# Files a transcript folder often holds beside its transcripts. Found in a folder, they are
# listed as skipped, not failed; a file named on the command line is always read.
_DOC_STEMS = {
    "readme",
    "license",
    "licence",
    "copying",
    "notice",
    "changelog",
    "changes",
    "authors",
    "contributing",
    "code_of_conduct",
    "security",
}
_METADATA_NAMES = {"metadata", "meta", "episodes", "feed_metadata", "index", "manifest"}
_NOT_TRANSCRIPT_SUFFIXES = {
    **dict.fromkeys(
        (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".bmp", ".tif", ".tiff", ".ico"),
        "image",
    ),
    **dict.fromkeys(
        (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst"), "archive"
    ),
    **dict.fromkeys(
        (".mp3", ".m4a", ".wav", ".ogg", ".opus", ".flac", ".aac", ".mp4", ".mkv", ".webm"),
        "audio/video",
    ),
    **dict.fromkeys((".pdf", ".doc", ".docx", ".odt", ".xls", ".xlsx"), "document"),
    **dict.fromkeys((".csv", ".tsv", ".jsonl", ".yaml", ".yml", ".toml", ".ini"), "data"),
    **dict.fromkeys((".py", ".sh", ".js", ".css", ".db", ".sqlite", ".pyc"), "code"),
}


def skip_reason(path: Path, siblings: set[str] | None = None) -> str | None:
    """Why a file found in a folder is not a transcript (README, LICENSE, metadata files and
    sidecars, images, archives, audio), or None to read it. ``siblings``: the names of the
    other files of its folder, to recognise a sidecar ``NAME.json`` of transcript ``NAME``."""
    name = path.name.lower()
    stem = name.split(".", 1)[0]
    if stem in _DOC_STEMS:
        return "documentation"
    if name.endswith(".meta.json") or (
        name.endswith(".json") and stem in _METADATA_NAMES and name.count(".") == 1
    ):
        return "metadata"
    if siblings and name.endswith(".json") and path.name[: -len(".json")] in siblings:
        return "metadata"
    return _NOT_TRANSCRIPT_SUFFIXES.get(path.suffix.lower())


def iter_files(
    paths: Iterable[str | os.PathLike[str]], skipped: list[tuple[Path, str]] | None = None
) -> Iterator[Path]:
    """Files named, and files below folders named (recursively, hidden ones skipped), sorted.
    Files of a folder that are not transcripts (``skip_reason``) are left out, and added to
    ``skipped`` with the reason when a list is given."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                names = {n for n in files if not n.startswith(".") and n not in _SKIP_NAMES}
                for name in sorted(names):
                    reason = skip_reason(Path(root) / name, names)
                    if reason is None:
                        yield Path(root) / name
                    elif skipped is not None:
                        skipped.append((Path(root) / name, reason))
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
