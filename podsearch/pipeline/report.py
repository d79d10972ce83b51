"""What a write did: the report every pipeline operation returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

Progress = Callable[[str, int, int], None]


@dataclass
class FileFailure:
    path: str
    reason: str


@dataclass
class FileRead:
    """A source read by this run: its reader and the speakers found in it."""

    path: str
    format: str
    speakers: list[str] = field(default_factory=list)


@dataclass
class IndexReport:
    index_dir: str
    episodes_added: int = 0
    episodes_updated: int = 0
    episodes_unchanged: int = 0
    episodes_removed: int = 0
    episodes_total: int = 0
    passages_added: int = 0
    passages_unchanged: int = 0
    passages_total: int = 0
    passages_embedded: int = 0
    # Vectors taken from the checkpoints of an interrupted run instead of embedded again.
    passages_resumed: int = 0
    files_read: int = 0
    failed: list[FileFailure] = field(default_factory=list)
    warnings: list[FileFailure] = field(default_factory=list)  # read, but with a problem
    # Not read, by choice: not transcripts (README, images, ...), or audio without the extra.
    skipped: list[FileFailure] = field(default_factory=list)
    formats: dict[str, int] = field(default_factory=dict)
    files: list[FileRead] = field(default_factory=list)  # every source read, in order
    # With metadata: files_matched, files_without_record, records_unmatched, sidecars.
    metadata: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    model: str = ""
    precision: str = "fp32"  # of the index's passage vectors

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
