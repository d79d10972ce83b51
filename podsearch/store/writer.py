"""Writing a generation: every file in a temporary folder, renamed into place, then the index
symlink swapped with one atomic rename. A reader resolves the symlink once, so it always sees
one complete generation, and a crash at any point leaves the previous one in place."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import IndexFormatError, IndexNotFoundError
from ..core.strict_json import dumps
from .episode_means import write_means
from .layout import (
    EPISODES,
    FORMAT_VERSION,
    KEEP_GENERATIONS,
    MANIFEST,
    PASSAGES,
    TURNS,
    home_dir,
    is_own_link,
    resolve_index_dir,
)
from .lexical import LEXICAL_DIR, build_lexical
from .lookup import LOOKUP_DIR, write_lookup
from .tables import schemas, table
from .vectors.base import VectorIndex
from .vectors.factory import AUTO, create, manifest_entry, open_index, resolve_kind
from .verify import (
    FILES_KEY,
    GENERATION_KEY,
    MANIFEST_SUM,
    file_digests,
    is_own_generation,
    verify_generation,
)


@dataclass(frozen=True)
class Previous:
    """The generation a new one grows from: its folder and manifest, and how many of its
    first passage rows the new generation starts with unchanged. Those rows' HNSW graph (and,
    with ``lexical``: their episodes' titles and descriptions unchanged too, their lexical
    documents) are kept or grown instead of built again, so that adding one episode to a big
    library costs little more than the episode does."""

    folder: Path
    manifest: dict[str, Any]
    rows: int
    lexical: bool = True


@dataclass
class IndexContents:
    """Everything a generation holds, ready to be written. Row i of ``passages`` is vector
    i of ``vectors`` (the row-id rule, ``store.vectors``)."""

    manifest: dict[str, Any]
    passages: Any  # a list of rows, or a pyarrow Table of them in the passages schema
    episodes: list[dict[str, Any]]
    turns: Any  # a list of rows, or a pyarrow Table of them in the turns schema
    vectors: np.ndarray
    extra_files: dict[str, bytes] = field(default_factory=dict)
    previous: Previous | None = None


def _rows_table(rows: Any, name: str) -> Any:
    """Rows (dicts) as an Arrow table of ``name``'s schema; an Arrow table as it is."""
    return table(rows, schemas()[name]) if isinstance(rows, list) else rows


def _vector_index(contents: IndexContents, kind: str | None, dim: int) -> VectorIndex:
    """The generation's vector index: the previous generation's, extended by the new rows,
    when it is of the kind wanted and holds exactly the vectors of the unchanged rows (checked
    here: a stale or damaged file is never extended); else built from all the vectors."""
    vectors = contents.vectors
    chosen = resolve_kind(kind, len(vectors))
    prev = contents.previous
    if prev and prev.rows and manifest_entry(prev.manifest)["type"] == chosen:
        try:
            old = open_index(prev.folder, prev.manifest, dim)
            if old.size == prev.rows and old.holds(vectors[: prev.rows]):
                old.grow(vectors)  # the array itself: the vectors are not copied again
                return old
        except (IndexFormatError, OSError, RuntimeError):
            pass  # built from the vectors below
    index = create(chosen, dim, len(vectors))
    index.add(vectors)
    return index


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


def write_index(index_dir: Path, contents: IndexContents, vector_index: str | None = None) -> Path:
    """Write a new generation and make ``index_dir`` point at it atomically. Returns its path.

    ``vector_index``: flat, hnsw or ivf as the user chose it, or None / "auto" to choose from
    the passage count (``vectors.factory.choose_kind``); the manifest records which."""
    import pyarrow.parquet as pq

    passages = _rows_table(contents.passages, PASSAGES)
    if len(contents.vectors) != passages.num_rows:  # the row-id rule
        raise ValueError(
            f"{len(contents.vectors)} vectors for {passages.num_rows} passages: "
            "vector i must be passage row i"
        )
    index_dir = resolve_index_dir(index_dir)  # a user's symlink is followed, never replaced
    gens = home_dir(index_dir) / "generations"
    gens.mkdir(parents=True, exist_ok=True)
    now = time.time_ns()
    # Sortable by write time down to the nanosecond; the pid keeps concurrent writers apart.
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 10**9))
    gen = f"{stamp}.{now % 10**9:09d}-{os.getpid()}"
    tmp = gens / f".tmp-{gen}"
    tmp.mkdir()
    try:
        sch = schemas()
        turns = _rows_table(contents.turns, TURNS)
        # The two big tables are compressed and written by worker threads (pyarrow releases
        # the GIL) while this one makes the rest: adding one episode to the 309-episode
        # library spent 0.7 s writing the three tables one after the other.
        with ThreadPoolExecutor(max_workers=2) as pool:
            written = [
                pool.submit(pq.write_table, passages, tmp / PASSAGES),
                pool.submit(pq.write_table, turns, tmp / TURNS),
            ]
            pq.write_table(table(contents.episodes, sch[EPISODES]), tmp / EPISODES)
            dim = int(contents.manifest["model"]["dimension"])
            vectors = _vector_index(contents, vector_index, dim)
            entry = vectors.save(tmp)
            write_means(
                tmp, passages.column("episode_id").to_numpy(zero_copy_only=False), contents.vectors
            )
            entry["chosen"] = "user" if vector_index not in (None, AUTO) else AUTO
            prev = contents.previous
            build_lexical(
                tmp / LEXICAL_DIR,
                passages,
                contents.episodes,
                previous=(prev.folder / LEXICAL_DIR, prev.rows) if prev and prev.lexical else None,
            )
            names = sch[EPISODES].names  # as the table has them: every column, nulls too
            episodes = [{n: row.get(n) for n in names} for row in contents.episodes]
            write_lookup(tmp / LOOKUP_DIR, passages, episodes, turns)
            for future in written:
                future.result()  # a failed write fails the generation
        for name, data in contents.extra_files.items():
            (tmp / name).write_bytes(data)
        manifest = dict(contents.manifest)
        manifest["format_version"] = FORMAT_VERSION
        manifest["vectors"] = entry
        manifest[GENERATION_KEY] = gen  # made by podsearch: garbage collection may remove it
        # ``podsearch verify`` checks every byte against these; a file the vector index
        # copied unchanged from the previous generation keeps that generation's record.
        recorded = (prev.manifest.get(FILES_KEY) or {}) if prev else {}
        known = {name: recorded[name] for name in vectors.copied if name in recorded} or None
        manifest[FILES_KEY] = file_digests(tmp, known)
        text = dumps(manifest, indent=2, sort_keys=True) + "\n"
        (tmp / MANIFEST).write_text(text, "utf-8")
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        (tmp / MANIFEST_SUM).write_text(f"{digest}  {MANIFEST}\n", "ascii")
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
    """Atomically make the index symlink point at a generation. ``index_dir`` is where
    podsearch keeps its own link (``layout.resolve_index_dir``): a user's symlink is never
    replaced, a real folder there is kept as an adopted generation (never removed)."""
    if index_dir.is_symlink() and not is_own_link(index_dir):
        raise IndexFormatError(
            f"{index_dir} is a symlink podsearch did not make; it is left alone (give the "
            "folder it points to as --index)"
        )
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
    """Remove old generations podsearch made, once the new one ``keep`` verifies: the newest
    older one that verifies is kept too (a way back: ``podsearch rollback``). Folders
    podsearch did not make (their manifest does not name them) are never removed, and
    temporary folders only when their writer is gone.

    Sizes, the manifest's own checksum and the invariants between files are checked, not
    every byte again: the new generation's files were hashed from disk as it was written,
    and the kept one's when it was (``rollback`` checks every byte before going back);
    hashing both again took 0.8 s of adding one episode to a 309-episode library."""
    _remove_dead_temporaries(gens)
    if not verify_generation(keep, checksums=False).ok:
        return  # keep everything: the new generation may need a way back
    previous_kept = 0
    for p in generations_in(gens):
        if p == keep or not is_own_generation(p):
            continue
        if previous_kept < KEEP_GENERATIONS - 1 and verify_generation(p, checksums=False).ok:
            previous_kept += 1
            continue
        shutil.rmtree(p, ignore_errors=True)


def generations_in(gens: Path) -> list[Path]:
    """The finished generation folders in ``gens``, newest first."""
    found = [p for p in gens.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return sorted(found, key=lambda p: p.name.removeprefix("adopted-"), reverse=True)


def _writer_pid(name: str) -> int | None:
    """The pid in a temporary folder's name (``.tmp-<time>-<pid>``), or None."""
    tail = name.rpartition("-")[2]
    return int(tail) if tail.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _remove_dead_temporaries(gens: Path) -> None:
    """Temporary folders of writers that died (killed mid-write) go at the next write; a
    live writer's are left alone (another process, a lock on another path), unless more
    than an hour old."""
    for p in gens.glob(".tmp-*"):
        pid = _writer_pid(p.name)
        try:
            old = time.time() - p.stat().st_mtime > 3600
        except OSError:
            continue
        if old or (pid is not None and pid != os.getpid() and not _alive(pid)):
            shutil.rmtree(p, ignore_errors=True)


def rollback(index_dir: Path) -> tuple[Path, Path]:
    """Point the index back at the newest earlier generation that verifies. Returns (the
    generation left, the one now current). Call with the writer lock held."""
    index_dir = resolve_index_dir(index_dir)
    gens = home_dir(index_dir) / "generations"
    try:
        current = index_dir.resolve(strict=True)
    except OSError:
        current = None
    candidates = generations_in(gens) if gens.is_dir() else []
    if current is not None and current in candidates:
        candidates = candidates[candidates.index(current) + 1 :]
    for p in candidates:
        if verify_generation(p).ok:
            _point_at(index_dir, p)
            return (current or index_dir), p
    raise IndexNotFoundError(
        f"no earlier generation of {index_dir} verifies: nothing to roll back to "
        f"(try 'podsearch rebuild --index {index_dir}')"
    )
