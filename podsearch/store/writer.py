"""Writing a generation: every file in a temporary folder, renamed into place, then the index
symlink swapped with one atomic rename. A reader resolves the symlink once, so it always sees
one complete generation, and a crash at any point leaves the previous one in place."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .layout import (
    EPISODES,
    FORMAT_VERSION,
    KEEP_GENERATIONS,
    MANIFEST,
    PASSAGES,
    TURNS,
    home_dir,
)
from .lexical import LEXICAL_DIR, build_lexical
from .lookup import LOOKUP_DIR, write_lookup
from .tables import schemas, table
from .vectors.factory import AUTO, create


@dataclass
class IndexContents:
    """Everything a generation holds, ready to be written. Row i of ``passages`` is vector
    i of ``vectors`` (the row-id rule, ``store.vectors``)."""

    manifest: dict[str, Any]
    passages: list[dict[str, Any]]
    episodes: list[dict[str, Any]]
    turns: list[dict[str, Any]]
    vectors: np.ndarray
    extra_files: dict[str, bytes] = field(default_factory=dict)


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

    if len(contents.vectors) != len(contents.passages):  # the row-id rule
        raise ValueError(
            f"{len(contents.vectors)} vectors for {len(contents.passages)} passages: "
            "vector i must be passage row i"
        )
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
        sch = schemas()
        pq.write_table(table(contents.passages, sch[PASSAGES]), tmp / PASSAGES)
        pq.write_table(table(contents.episodes, sch[EPISODES]), tmp / EPISODES)
        pq.write_table(table(contents.turns, sch[TURNS]), tmp / TURNS)
        dim = int(contents.manifest["model"]["dimension"])
        vectors = create(vector_index, dim, len(contents.vectors))
        vectors.add(contents.vectors)
        entry = vectors.save(tmp)
        entry["chosen"] = "user" if vector_index not in (None, AUTO) else AUTO
        build_lexical(tmp / LEXICAL_DIR, contents.passages, contents.episodes)
        names = sch[EPISODES].names  # as the table has them: every column, nulls too
        episodes = [{n: row.get(n) for n in names} for row in contents.episodes]
        write_lookup(tmp / LOOKUP_DIR, contents.passages, episodes)
        for name, data in contents.extra_files.items():
            (tmp / name).write_bytes(data)
        manifest = dict(contents.manifest)
        manifest["format_version"] = FORMAT_VERSION
        manifest["vectors"] = entry
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
