"""Library upkeep: rebuild, remove episodes, status, and the user's speaker names.

Every write takes the index's writer lock and produces a new generation (``store``), so a
reader never sees a half-done change and a crash loses nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from .chunking import ChunkConfig
from .embedding import Embedder, canonical_model_name, index_precision
from .errors import EpisodeNotFoundError, PodsearchError
from .indexing import (
    IndexReport,
    Progress,
    commit,
    file_hash,
    speaker_book,
    stored_episodes,
)
from .speakers import is_anonymous_label
from .store import Index, writer_lock
from .text import fold


def rebuild_index(
    index_dir: Path,
    *,
    model: str | None = None,
    faiss_kind: str | None = None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
    min_words: int | None = None,
    max_words: int | None = None,
    device: str | None = None,
    precision: str | None = None,
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
) -> IndexReport:
    """Rebuild the whole index from its stored episodes into a new generation, swapped in
    atomically: re-chunked, with the user's speaker names applied again. Vectors of
    unchanged text are reused, so only ``model`` or ``precision`` (fp32, int8; a different
    one) re-embeds; ``faiss_kind``
    changes the FAISS structure from the stored vectors; ``min_words`` / ``max_words``
    change the index's chunking (the rest of it is kept)."""
    with writer_lock(index_dir, wait=wait, on_wait=on_wait):
        t0 = time.perf_counter()
        old = Index(index_dir)
        chunk_config = ChunkConfig.from_dict(old.manifest.get("chunking"))
        chunk_config = replace(
            chunk_config,
            min_words=chunk_config.min_words if min_words is None else min_words,
            max_words=chunk_config.max_words if max_words is None else max_words,
        )
        if chunk_config.min_words > chunk_config.max_words:
            raise PodsearchError(
                f"passages of {chunk_config.min_words} to {chunk_config.max_words} words: "
                "--min-words must not exceed --max-words"
            )
        model_name = canonical_model_name(model) if model else old.model
        precision = precision or index_precision(old)
        same_vectors = model_name == old.model and precision == index_precision(old)
        report = IndexReport(index_dir=str(index_dir), model=model_name)
        episodes = stored_episodes(old)
        commit(
            index_dir,
            old,
            [],
            episodes,
            model_name=model_name,
            embedder=embedder,
            chunk_config=chunk_config,
            progress=progress,
            report=report,
            faiss_kind=faiss_kind,
            reuse_vectors=same_vectors,
            device=device,
            precision=precision,
        )
        before = set(old.read_table("passages.parquet", ["passage_id"]).column(0).to_pylist())
        after = Index(index_dir).read_table("passages.parquet", ["passage_id"]).column(0)
        report.episodes_updated = len(episodes)
        report.passages_unchanged = sum(1 for p in after.to_pylist() if p in before)
        report.passages_added = report.passages_total - report.passages_unchanged
        report.seconds = round(time.perf_counter() - t0, 3)
        return report


def remove_episodes(
    index_dir: Path,
    ids: Iterable[str],
    *,
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
) -> IndexReport:
    """Drop episodes (by id or unique id prefix) from the index; nothing is re-embedded."""
    with writer_lock(index_dir, wait=wait, on_wait=on_wait):
        t0 = time.perf_counter()
        old = Index(index_dir)
        rows = old.episode_rows()
        drop = {resolve_episode_id(rows, wanted) for wanted in ids}
        report = IndexReport(index_dir=str(index_dir), model=old.model)
        report.episodes_removed = len(drop)
        commit(
            index_dir,
            old,
            [e for e in rows if e not in drop],
            [],
            model_name=old.model,
            report=report,
        )
        report.seconds = round(time.perf_counter() - t0, 3)
        return report


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
    raise EpisodeNotFoundError(
        f"{wanted!r} {problem}: give an episode id (or a unique prefix) or a source file "
        "name, as 'podsearch episodes' lists them"
    )


def index_status(index_dir: Path) -> dict[str, Any]:
    """What an index holds and whether its sources changed since it was built."""
    idx = Index(index_dir)
    rows = idx.episode_rows()
    changed, missing = [], []
    for row in rows.values():
        for src, h in zip(row["sources"], row["source_hashes"] or [], strict=False):
            if src.startswith(("http://", "https://")):
                continue
            path = Path(src)
            if not path.exists():
                missing.append(src)
            elif file_hash(path) != h:
                changed.append(src)
    size = sum(f.stat().st_size for f in idx.root.rglob("*") if f.is_file())
    return {
        "index": str(index_dir),
        "generation": idx.root.name,
        "model": idx.manifest["model"],
        "faiss": idx.manifest.get("faiss", {}),
        "counts": idx.manifest.get("counts", {}),
        "chunking": idx.manifest.get("chunking", {}),
        "built_at": idx.manifest.get("built_at"),
        "tool_version": idx.manifest.get("tool_version"),
        "size_bytes": size,
        "sources_changed": changed,
        "sources_missing": missing,
    }


def list_speakers(index_dir: Path) -> list[dict[str, Any]]:
    """Every speaker of the index, most turns first: name, whether it is an anonymous
    label, aliases (other labels the sources used for them, and the user's), turn, passage
    and episode counts and a sample line."""
    idx = Index(index_dir)
    book = speaker_book(index_dir)
    present = set(idx.columns("turns.parquet"))
    cols = ["episode_id", "speaker", "text"] + (["label"] if "label" in present else [])
    turns = idx.read_table("turns.parquet", columns=cols).to_pydict()
    labels = turns.get("label") or turns["speaker"]
    stats: dict[str, dict[str, Any]] = {}
    for eid, spk, label, text in zip(
        turns["episode_id"], turns["speaker"], labels, turns["text"], strict=True
    ):
        if not spk:
            continue
        s = stats.setdefault(
            spk, {"turns": 0, "episodes": set(), "labels": {}, "sample": "", "passages": 0}
        )
        s["turns"] += 1
        s["episodes"].add(eid)
        if label and fold(label) != fold(spk):
            s["labels"][label] = None
        if len(text.split()) > len(s["sample"].split()) and len(s["sample"].split()) < 12:
            s["sample"] = text if len(text) <= 160 else text[:160].rsplit(" ", 1)[0] + "…"
    for spk in idx.read_table("passages.parquet", columns=["speaker"]).column(0).to_pylist():
        if spk in stats:
            stats[spk]["passages"] += 1
    items = []
    for name, s in stats.items():
        aliases = list(s["labels"]) + [a for a in book.aliases_of(name) if a not in s["labels"]]
        items.append(
            {
                "speaker": name,
                "anonymous": is_anonymous_label(name),
                "aliases": aliases,
                "turns": s["turns"],
                "passages": s["passages"],
                "episodes": len(s["episodes"]),
                "sample": s["sample"],
            }
        )
    items.sort(key=lambda x: (-x["turns"], x["speaker"]))
    return items


def rename_speaker(
    index_dir: Path,
    episode: str,
    label: str,
    name: str,
    *,
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Name the speaker ``label`` of one episode, in the speaker book beside the index, and
    apply it to the index (re-chunked, nothing re-embedded unless the text changed)."""
    t0 = time.perf_counter()
    idx = Index(index_dir)
    eid = resolve_episode_id(idx.episode_rows(), episode)
    present = set(idx.columns("turns.parquet"))
    cols = ["episode_id", "speaker"] + (["label"] if "label" in present else [])
    table = idx.read_table("turns.parquet", columns=cols).to_pydict()
    labels = table.get("label") or table["speaker"]
    count = sum(
        1
        for e, lab, spk in zip(table["episode_id"], labels, table["speaker"], strict=True)
        if e == eid and fold(label) in (fold(lab), fold(spk))
    )
    if not count:
        raise PodsearchError(
            f"episode {eid} has no speaker {label!r}: see 'podsearch speakers --index "
            f"{index_dir}' for its labels"
        )
    try:
        speaker_book(index_dir).rename(eid, label, name)
    except ValueError as e:
        raise PodsearchError(f"cannot rename: {e}") from None
    rebuild_index(index_dir, wait=wait, on_wait=on_wait)
    return {"episode_id": eid, "turns": count, "seconds": round(time.perf_counter() - t0, 3)}


def alias_speaker(
    index_dir: Path,
    name: str,
    alias: str,
    *,
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Record that ``alias`` designates ``name`` and apply it to the index."""
    t0 = time.perf_counter()
    Index(index_dir)  # fail early, with the usual message, when there is no index
    try:
        speaker_book(index_dir).alias(name, alias)
    except ValueError as e:
        raise PodsearchError(f"cannot record the alias: {e}") from None
    rebuild_index(index_dir, wait=wait, on_wait=on_wait)
    return {"seconds": round(time.perf_counter() - t0, 3)}
