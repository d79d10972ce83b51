"""Integrity of a generation: the size and SHA-256 of every file, recorded in its manifest
when it is written (``file_digests``), and the cross-file invariants (row counts, the vector
dimension, the row-id rule of ``store.vectors``).

Two depths. ``verify_generation(full=True)`` (``podsearch verify``, every write before old
generations are removed, ``rollback``, ``rebuild``) reads and hashes every byte.
``quick_check`` (every ``Index`` opened, so every ``ask``) only compares file sizes with the
manifest, with ``stat``: reading whole files would cost a cold ``ask`` its speed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .layout import EPISODES, FORMAT_VERSION, MANIFEST, PASSAGES, TURNS

if TYPE_CHECKING:
    from .lookup import Lookup

MANIFEST_SUM = "manifest.sha256"  # the manifest's own checksum, beside it
FILES_KEY = "files"  # manifest: relative path -> {"size": bytes, "sha256": hex}
GENERATION_KEY = "generation"  # manifest: the generation's own folder name (made by us)


@dataclass
class Damage:
    """One problem of a generation: the file concerned (relative) and what is wrong."""

    file: str
    problem: str
    of_data: bool = False  # a data file differs from its record (the manifest still holds)

    def __str__(self) -> str:
        return f"{self.file}: {self.problem}"


@dataclass
class VerifyReport:
    """What ``verify_generation`` found; ``ok`` when nothing is damaged."""

    generation: str
    path: str
    files_checked: int = 0
    bytes_checked: int = 0
    damage: list[Damage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why

    @property
    def ok(self) -> bool:
        return not self.damage

    def as_dict(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "path": self.path,
            "ok": self.ok,
            "files_checked": self.files_checked,
            "bytes_checked": self.bytes_checked,
            "damage": [{"file": d.file, "problem": d.problem} for d in self.damage],
            "notes": list(self.notes),
        }


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_digests(
    folder: Path, known: dict[str, dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """Size and SHA-256 of every file below ``folder`` except the manifest, by relative
    path (``/`` separated). ``known``: records of files copied from a generation whose
    manifest holds them (taken when the size agrees: a copy of a file damaged since it was
    recorded then fails ``verify``, as the original does)."""
    out: dict[str, dict[str, Any]] = {}
    for f in sorted(folder.rglob("*")):
        if f.is_file() and f.name not in (MANIFEST, MANIFEST_SUM):
            rel = f.relative_to(folder).as_posix()
            size = f.stat().st_size
            record = (known or {}).get(rel)
            if record and record.get("size") == size and record.get("sha256"):
                out[rel] = {"size": size, "sha256": record["sha256"]}
            else:
                out[rel] = {"size": size, "sha256": sha256_file(f)}
    return out


def read_manifest(root: Path) -> dict[str, Any]:
    """The generation's manifest; ValueError saying why it cannot be used."""
    try:
        manifest = json.loads((root / MANIFEST).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"unreadable ({e})") from None
    if not isinstance(manifest, dict):
        raise ValueError("not a JSON object")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"format version {manifest.get('format_version')!r}")
    return manifest


def is_own_generation(folder: Path) -> bool:
    """Whether podsearch made this generation folder: its manifest names it. Folders
    without (adopted from a user's copy, older ones, anything else) are never removed."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get(GENERATION_KEY) == folder.name


def quick_check(root: Path, manifest: dict[str, Any]) -> Damage | None:
    """The first file whose size differs from the manifest's record (or is missing), by
    ``stat`` alone; None when all match or the generation has no record."""
    for rel, entry in (manifest.get(FILES_KEY) or {}).items():
        try:
            size = os.stat(root / rel).st_size
        except OSError:
            return Damage(rel, "missing")
        if size != entry.get("size"):
            return Damage(rel, f"{size} bytes, the manifest records {entry.get('size')}")
    return None


def verify_generation(
    root: Path, *, files: list[str] | None = None, checksums: bool = True
) -> VerifyReport:
    """Check every byte of the generation at ``root`` (or only the ``files`` named) against
    its manifest, then the invariants between files. ``checksums=False``: each file's size,
    not its SHA-256 (for a generation whose files were hashed moments ago, by its writer)."""
    report = VerifyReport(root.name, str(root))
    try:
        manifest = read_manifest(root)
    except ValueError as e:
        report.damage.append(Damage(MANIFEST, str(e)))
        return report
    try:
        recorded_sum = (root / MANIFEST_SUM).read_text("ascii").split()[0]
        if recorded_sum != sha256_file(root / MANIFEST):
            report.damage.append(Damage(MANIFEST, f"content differs from {MANIFEST_SUM}"))
            return report
    except (OSError, UnicodeDecodeError, IndexError):
        if manifest.get(FILES_KEY):  # written with checksums: the sum must be there
            report.damage.append(Damage(MANIFEST_SUM, "missing or unreadable"))
            return report
    recorded: dict[str, dict[str, Any]] = manifest.get(FILES_KEY) or {}
    if not recorded:  # an older podsearch wrote it: its invariants can still be checked
        report.notes.append("written before checksums were recorded: invariants checked only")
    for rel, entry in recorded.items():
        if files is not None and rel not in files:
            continue
        path = root / rel
        try:
            size = path.stat().st_size
            if size != entry.get("size"):
                problem = f"{size} bytes, the manifest records {entry.get('size')}"
                report.damage.append(Damage(rel, problem, of_data=True))
                continue
            digest = sha256_file(path) if checksums else entry.get("sha256")
        except OSError as e:
            problem = f"missing or unreadable ({e.strerror or e})"
            report.damage.append(Damage(rel, problem, of_data=True))
            continue
        report.files_checked += 1
        report.bytes_checked += size
        if digest != entry.get("sha256"):
            problem = "content differs from its checksum (SHA-256)"
            report.damage.append(Damage(rel, problem, of_data=True))
    if files is None and report.ok:
        report.damage.extend(_invariants(root, manifest))
    return report


def _invariants(root: Path, manifest: dict[str, Any]) -> list[Damage]:
    """Row counts, dimension and the row-id rule, for a generation whose files all match
    their checksums (so only a manifest that lies, or a writer's bug, is caught here)."""
    import pyarrow.parquet as pq

    from .lookup import LOOKUP_DIR, Lookup
    from .vectors.factory import open_index

    out: list[Damage] = []
    counts = manifest.get("counts") or {}
    try:
        dim = int(manifest["model"]["dimension"])
        rows = {n: pq.ParquetFile(root / n).metadata.num_rows for n in (PASSAGES, EPISODES, TURNS)}
        vectors = open_index(root, manifest, dim)
        ids = pq.ParquetFile(root / PASSAGES).read(columns=["passage_id", "episode_id"])
        episode_ids = pq.ParquetFile(root / EPISODES).read(columns=["episode_id"])
    except Exception as e:  # any failure to open is damage, reported, never raised
        return [Damage(MANIFEST, f"the generation cannot be opened ({type(e).__name__}: {e})")]
    for name, key in ((PASSAGES, "passages"), (EPISODES, "episodes"), (TURNS, "turns")):
        if key in counts and rows[name] != counts[key]:
            out.append(Damage(name, f"{rows[name]} rows, the manifest says {counts[key]}"))
    if vectors.size != rows[PASSAGES]:
        out.append(Damage(vectors_file(manifest), f"{vectors.size} vectors, {rows[PASSAGES]} rows"))
    if vectors.size and vectors.vectors([0]).shape[1] != dim:
        out.append(Damage(vectors_file(manifest), f"vectors are not of dimension {dim}"))
    passage_ids = ids.column("passage_id").to_pylist()
    if len(set(passage_ids)) != len(passage_ids):
        out.append(Damage(PASSAGES, "passage ids are not unique"))
    known = set(episode_ids.column(0).to_pylist())
    if not set(ids.column("episode_id").to_pylist()) <= known:
        out.append(Damage(PASSAGES, "passages of episodes missing from episodes.parquet"))
    if (root / LOOKUP_DIR / "meta.json").exists():
        lookup = None
        try:
            lookup = Lookup(root / LOOKUP_DIR)
            if lookup.meta["passage_id"] != passage_ids:  # the row-id rule
                out.append(Damage(f"{LOOKUP_DIR}/meta.json", "passage order differs"))
            out += _lookup_damage(LOOKUP_DIR, lookup, len(passage_ids))
            if lookup.turns is not None:
                out += _lookup_damage(f"{LOOKUP_DIR}/turns", lookup.turns, rows[TURNS])
        except Exception as e:
            out.append(Damage(LOOKUP_DIR, f"unreadable ({type(e).__name__}: {e})"))
        finally:
            if lookup is not None:
                lookup.close()  # a verify of every generation must not leave files open
    return out


def _lookup_damage(folder: str, lookup: Lookup, n: int) -> list[Damage]:
    """A lookup folder (the passages' or the turns') that does not hold ``n`` rows, or whose
    texts file is not the size its offsets say."""
    import numpy as np

    out = []
    if len(lookup.codes) != n or len(lookup.offsets) != n + 1:
        out.append(Damage(f"{folder}/codes.npy", "row count differs"))
    if int(np.asarray(lookup.offsets)[-1]) != len(lookup._text):
        out.append(Damage(f"{folder}/text.bin", "size differs from its offsets"))
    return out


def vectors_file(manifest: dict[str, Any]) -> str:
    from .vectors.factory import manifest_entry

    return str(manifest_entry(manifest).get("file"))
