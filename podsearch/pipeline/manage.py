"""Library upkeep: rebuild, remove episodes, and the user's speaker names.

Every write takes the index's writer lock and produces a new generation (``store``), so a
reader never sees a half-done change and a crash loses nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..core.errors import IndexFormatError, InvalidRequestError, PodsearchError
from ..core.suggest import closest, unknown_message
from ..core.text import fold
from ..embed.base import Embedder
from ..embed.names import canonical_model_name
from ..episodes.chunking import ChunkConfig
from ..store.index import Index, resolve_episode_id
from ..store.layout import EPISODES, PASSAGES, TURNS, writer_lock
from .commit import commit, speaker_book
from .merge import keep_postings_after_removal
from .report import FileFailure, IndexReport, Progress
from .rows import stored_episodes


def rebuild_index(
    index_dir: Path,
    *,
    model: str | None = None,
    vector_index: str | None = None,
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
    one) re-embeds; ``vector_index`` (flat, hnsw, ivf, or auto to follow the library's size)
    changes the vector index, built from the stored vectors; ``min_words`` / ``max_words``
    change the index's chunking (the rest of it is kept)."""
    with writer_lock(index_dir, wait=wait, on_wait=on_wait):
        t0 = time.perf_counter()
        old, intact_vectors, notes = _rebuild_source(index_dir)
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
        precision = precision or old.precision
        same_vectors = model_name == old.model and precision == old.precision
        same_vectors = same_vectors and intact_vectors
        report = IndexReport(index_dir=str(index_dir), model=model_name)
        report.warnings.extend(notes)
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
            vector_index=vector_index,
            reuse_vectors=same_vectors,
            # Another model or weighting: what the old vectors hold of it is kept.
            carry_models=intact_vectors and precision == old.precision,
            device=device,
            precision=precision,
        )
        try:
            before = set(old.read_table(PASSAGES, ["passage_id"]).column(0).to_pylist())
        except IndexFormatError:
            before = set()  # damaged: every passage counts as added
        after = Index(index_dir).read_table("passages.parquet", ["passage_id"]).column(0)
        report.episodes_updated = len(episodes)
        report.passages_unchanged = sum(1 for p in after.to_pylist() if p in before)
        report.passages_added = report.passages_total - report.passages_unchanged
        report.seconds = round(time.perf_counter() - t0, 3)
        return report


def _rebuild_source(index_dir: Path) -> tuple[Index, bool, list[FileFailure]]:
    """What a rebuild reads: (the generation, whether its vectors can be reused, notes).

    The current generation when it verifies. When it is damaged, the newest generation
    (the current one first) whose manifest, episodes and turns still match their checksums:
    the episodes are rebuilt from those Parquet rows, and the stored vectors are reused
    only if they and the passage rows are intact too (else the text is embedded again)."""
    from ..store.recovery import current_generation, earlier_generations
    from ..store.vectors.factory import vector_files
    from ..store.verify import verify_generation

    current = current_generation(index_dir)
    if current is not None and verify_generation(current).ok:
        return Index(index_dir), True, []
    if current is None and not earlier_generations(index_dir):
        Index(index_dir)  # the usual "no index" error
    candidates = ([current] if current is not None else []) + earlier_generations(index_dir)
    damage = verify_generation(current).damage if current is not None else []
    notes = [FileFailure(d.file, f"damaged: {d.problem}") for d in damage]
    for root in candidates:
        report = verify_generation(root)
        bad = {d.file for d in report.damage}
        # Only data files may differ from their records: a manifest that is damaged or lies
        # (an invariant fails although every file matches) cannot be rebuilt from.
        if not report.files_checked or not all(d.of_data for d in report.damage):
            continue
        if bad & {EPISODES, TURNS}:
            continue
        source = Index(root, check=False, use_lookup=False)
        reuse = not bad & ({PASSAGES} | vector_files(source.manifest))
        what = "the stored vectors" if reuse else "embedding the text again"
        where = "this generation" if root == current else f"the earlier generation {root.name}"
        notes.append(FileFailure(str(root), f"repaired from {where}'s rows and {what}"))
        return source, reuse, notes
    raise IndexFormatError(
        f"index {index_dir} is damaged ({'; '.join(map(str, damage)) or 'unreadable'}) and no "
        "generation has intact episode and turn rows to rebuild from: index the sources again"
    )


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
        keep_postings_after_removal(index_dir, old)
        report.seconds = round(time.perf_counter() - t0, 3)
        return report


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
        here = [
            x
            for e, lab, spk in zip(table["episode_id"], labels, table["speaker"], strict=True)
            if e == eid
            for x in (lab, spk)
            if x
        ]
        near = closest(label, here)
        hint = f" (closest: {', '.join(near)})" if near else ""
        raise InvalidRequestError(
            "LABEL",
            f"episode {eid} has no speaker {label!r}{hint}: see 'podsearch speakers --index "
            f"{index_dir}' for its labels",
        )
    try:
        speaker_book(index_dir).rename(eid, label, name)
    except ValueError as e:
        raise PodsearchError(f"cannot rename: {e}") from None
    rebuild_index(index_dir, wait=wait, on_wait=on_wait)
    return {"episode_id": eid, "turns": count, "seconds": round(time.perf_counter() - t0, 3)}


def _speaker_names(idx: Index) -> list[str]:
    """Every speaker name of an index (kept in its manifest by the writer)."""
    cached = idx.manifest.get("speakers")
    if cached is not None:
        return list(cached["names"])
    col = idx.read_table("passages.parquet", columns=["speaker"]).column(0)
    return sorted({s for s in col.to_pylist() if s})


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
    idx = Index(index_dir)  # fail early, with the usual message, when there is no index
    known = _speaker_names(idx)
    book = speaker_book(index_dir)
    renamed = {fold(n) for m in book.renames.values() for n in m.values()}
    if fold(name) not in {fold(k) for k in known} | renamed:
        raise InvalidRequestError(
            "NAME", unknown_message("speaker", name, known, "podsearch speakers")
        )
    try:
        book.alias(name, alias)
    except ValueError as e:
        raise PodsearchError(f"cannot record the alias: {e}") from None
    rebuild_index(index_dir, wait=wait, on_wait=on_wait)
    return {"seconds": round(time.perf_counter() - t0, 3)}


def edit_episode(
    index_dir: Path,
    episode: str,
    changes: dict[str, str | None],
    *,
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Record the user's fixes to an episode's metadata and apply them (a new generation,
    nothing re-embedded)."""
    from .edits import record_edit

    t0 = time.perf_counter()
    idx = Index(index_dir)
    eid = resolve_episode_id(idx.episode_rows(), episode)
    fixes = record_edit(index_dir, eid, changes)
    with writer_lock(index_dir, wait=wait, on_wait=on_wait):
        old = Index(index_dir)
        commit(index_dir, old, list(old.episode_rows()), [], model_name=old.model)
    return {"episode_id": eid, "fixes": fixes, "seconds": round(time.perf_counter() - t0, 3)}
