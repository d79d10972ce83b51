"""Writing a new generation from kept and fresh episodes: speaker identity applied, chunked,
embedded where the text is new, written by ``store.writer``."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from ..core.models import Episode
from ..core.version import __version__
from ..embed.base import Embedder, encode_all
from ..embed.ensemble import (
    PART_DIMENSIONS,
    EnsembleEmbedder,
    Part,
    WithKnownParts,
    carried_parts,
    infer_part_dimensions,
    layout,
    part_vectors,
    rejoin,
)
from ..embed.factory import export_for_queries, load_embedder, load_index_embedder
from ..embed.names import ensemble_parts
from ..episodes.boilerplate import EpisodeText, Kept, library_shares
from ..episodes.chunking import ChunkConfig, chunk_episode
from ..speakers.book import SpeakerBook
from ..speakers.names import canonicalize_episodes
from ..speakers.roles import compute_roles
from ..speakers.scope import scope_episode_speakers
from ..store.index import Index
from ..store.layout import EPISODES, PASSAGES, TURNS, home_dir, speaker_file
from ..store.tables import schemas, table
from ..store.writer import IndexContents, Previous, write_index
from .checkpoints import Checkpoints
from .edits import apply_edits, load_edits
from .report import IndexReport, Progress
from .rows import chapter_at, embed_texts, episode_row, passage_row, turn_rows
from .sketches import generation_key, keep_postings, load_kept, load_shingle_sets, save_kept

CHECKPOINT_DIR = "embed-cache"
SHINGLE_DIR = "shingle-cache"  # each episode's boilerplate shingles (``sketches``)
KEPT_DIR = "counts"  # under it: the boilerplate counts of the latest generation
# Texts embedded between two checkpoints (whole episodes: ~15-30 s of a CPU's work).
CHECKPOINT_TEXTS = 2048


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def speaker_book(index_dir: Path) -> SpeakerBook:
    """The user's speaker names for this index, kept beside it (survives every rebuild)."""
    return SpeakerBook.load(speaker_file(index_dir))


def apply_identity(
    episodes: list[Episode], book: SpeakerBook
) -> list[tuple[Episode, list[str | None]]]:
    """Each episode with the user's renames and aliases applied and one canonical name per
    person per show, paired with its turns' original labels. The inputs are not changed."""
    labels = [[t.speaker for t in ep.turns] for ep in episodes]
    named = [book.apply(ep) for ep in episodes]  # copies: canonicalising cannot touch inputs
    canonicalize_episodes(named)
    for ep in named:  # after the user's renames: a renamed label is a person, not scoped
        scope_episode_speakers(ep)
    return list(zip(named, labels, strict=True))


def commit(
    index_dir: Path,
    old: Index | None,
    keep_ids: list[str],
    fresh: list[Episode],
    *,
    model_name: str,
    embedder: Embedder | None = None,
    chunk_config: ChunkConfig | None = None,
    progress: Progress | None = None,
    report: IndexReport | None = None,
    vector_index: str | None = None,
    reuse_vectors: bool = True,
    carry_models: bool = False,
    device: str | None = None,
    precision: str | None = None,
    engine: str = "local",
) -> IndexReport:
    """Write a new generation: the kept episodes as they are, the fresh ones chunked and
    embedded. Text already embedded by the same model is never embedded again.
    ``device`` (cpu, cuda, cuda:1, mps; None or auto: a GPU when torch sees one);
    ``precision`` of new vectors (default: the old index's, else fp32); ``engine``: "local",
    or "ray" to chunk and embed on Ray (``engine_ray``; connect first with
    ``engine_ray.start``). ``carry_models`` (a rebuild with another model, vectors intact):
    the old vectors' models that ``model_name`` has too are taken from them, not run again
    (``_carried``)."""
    # An index keeps the chunking it was built with, so that all its passages are alike;
    # only a rebuild given another config changes it.
    cfg = chunk_config or (ChunkConfig.from_dict(old.manifest.get("chunking")) if old else None)
    cfg = cfg or ChunkConfig()
    precision = precision or (old.precision if old else "fp32")
    report = report or IndexReport(index_dir=str(index_dir), model=model_name)
    report.precision = precision
    # The kept episodes' passages and turns stay Arrow tables (as the old generation's, in
    # today's schema): a round trip of 123,549 passages through Python objects cost ~1 s.
    kept_passages: Any = None
    turns_rows: list[dict[str, Any]] = []  # the fresh episodes' turns
    kept_turns: Any = None
    cache: dict[str, np.ndarray] = {}  # text hash -> vector: the old ones, then new ones
    old_vectors: np.ndarray | None = None
    keep_rows = np.zeros(0, np.int64)
    episodes_rows: list[dict[str, Any]] = []
    if old:
        keep = set(keep_ids)
        old_eps = old.episode_rows()
        episodes_rows = [old_eps[eid] for eid in keep_ids]
        kept_turns, _ = _kept_rows(old.turns, keep, TURNS)
        # Passage rows are needed only to keep episodes or reuse vectors: a rebuild from a
        # generation whose passages are damaged reads neither.
        if reuse_vectors:  # of kept passages, and of the texts of updated episodes
            old_vectors = old.vectors()
            if keep:
                kept_passages, keep_rows = _kept_rows(old.passages, keep, PASSAGES)
            report.passages_unchanged = len(keep_rows)
    carried: np.ndarray | None = None  # the old vectors as model_name's, when they can be
    by_model: dict[int, np.ndarray] = {}  # else those of some models of model_name's ensemble
    known: dict[int, dict[str, np.ndarray]] = {}  # ... as text hash -> vector
    if old and carry_models and not reuse_vectors:
        carried, by_model = _carried(old, model_name)
    named = apply_identity(fresh, speaker_book(index_dir))
    make = (
        (lambda: embedder)
        if embedder is not None
        else partial(load_index_embedder, model_name, device=device, precision=precision)
    )
    loaded: list[Embedder] = []

    def encode(texts: list[str], on_progress: Callable[[int, int], None] | None) -> np.ndarray:
        if not loaded:  # the model loads only when there is text to embed
            loaded.append(make())
        embedder: Embedder = loaded[0]
        if known and isinstance(embedder, EnsembleEmbedder):
            lookups = {i: partial(_known, vectors) for i, vectors in known.items()}
            embedder = WithKnownParts(embedder, lookups)
        return encode_all(embedder, texts, on_progress=on_progress)

    # The old generation's size holds for the same model only: another one (a rebuild with
    # --model) has its own, which its checkpoints agree on.
    same_model = old is not None and old.model == model_name
    checkpoints = Checkpoints(
        home_dir(index_dir) / CHECKPOINT_DIR,
        model_name,
        precision,
        old.dimension if same_model else None,
    )
    new_rows: list[dict[str, Any]] = []
    staging = None
    try:
        if engine == "ray":
            from . import engine_ray

            staging = engine_ray.staging_dir(home_dir(index_dir))
            rows_per_episode = engine_ray.chunk([ep for ep, _ in named], cfg, staging)
            on_ray = engine_ray.encoder(make, staging)
            encode = lambda texts, _on_progress: on_ray(texts)  # noqa: E731
            group_size = engine_ray.GROUP
        else:
            rows_per_episode = [_passage_rows(ep, cfg) for ep, _ in named]
            group_size = CHECKPOINT_TEXTS
        per_episode: list[list[str]] = []  # each fresh episode's texts, for checkpoint groups
        for (ep, labels), rows in zip(named, rows_per_episode, strict=True):
            new_rows.extend(rows)
            per_episode.append([r["embed_text"] for r in rows])
            turns_rows.extend(turn_rows(ep, labels))
            episodes_rows.append(episode_row(ep, ep.source_hashes))
        all_texts = [t for texts in per_episode for t in texts]
        if old is not None:
            for vectors in (old_vectors, carried):  # at most one of them is there
                if vectors is not None:
                    _reuse(old, vectors, all_texts, cache)
            for i, vectors in by_model.items():
                _reuse(old, vectors, all_texts, known.setdefault(i, {}))
        _embed_new(per_episode, cache, checkpoints, report, progress, encode, group_size)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    embedder = loaded[0] if loaded else embedder
    if report.passages_embedded and embedder is not None:
        export_for_queries(embedder)  # torch is loaded now: make the ONNX query model once
    report.passages_added = len(new_rows)
    dim = _dimension(old if reuse_vectors else None, cache, embedder, model_name)
    kept = len(keep_rows)
    # One array of the final size, filled in place: the vectors are never held twice.
    all_vectors = np.empty((kept + len(new_rows), dim), dtype=np.float32)
    if kept and keep_rows[-1] == kept - 1:  # every old row, in order
        all_vectors[:kept] = old_vectors[:kept]  # a copy, not a gather
    elif kept:
        np.take(old_vectors, keep_rows, axis=0, out=all_vectors[:kept])
    for i, r in enumerate(new_rows, kept):
        all_vectors[i] = cache[text_hash(r["embed_text"])]
    del cache, old_vectors, carried
    by_model.clear()
    known.clear()
    passages = _all_rows(kept_passages, new_rows, PASSAGES)
    episodes_rows = apply_edits(episodes_rows, load_edits(index_dir))
    previous = _previous(old, kept, episodes_rows)
    columns = passages.select(["episode_id", "speaker", "text"]).to_pydict()
    shares, staged = _mark_boilerplate(
        columns["episode_id"],
        columns.pop("text"),
        episodes_rows,
        old if previous else None,
        index_dir,
    )
    passages = passages.set_column(
        passages.schema.get_field_index("boilerplate"),
        "boilerplate",
        _float32(shares),
    )
    report.episodes_total = len(episodes_rows)
    report.passages_total = passages.num_rows
    # The user's choice of vector index sticks; otherwise it follows the library's size.
    kind = vector_index or (old.vector_choice if old else None)
    manifest = {
        "model": {
            "name": model_name,
            "dimension": dim,
            "normalized": True,
            "precision": precision,
            **_part_dimensions(model_name, embedder, old),
        },
        "counts": {
            "episodes": len(episodes_rows),
            "passages": passages.num_rows,
            "turns": len(turns_rows) + (kept_turns.num_rows if kept_turns is not None else 0),
            "sources": sum(len(r["sources"]) for r in episodes_rows),
        },
        "chunking": cfg.as_dict(),
        # Read by every query: kept here so that a question needs no passage table scan.
        "speakers": {
            "names": sorted({s for s in columns["speaker"] if s}),
            "roles": compute_roles(
                zip(columns["speaker"], columns["episode_id"], strict=True), episodes_rows
            ),
        },
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tool_version": __version__,
    }
    write_index(
        index_dir,
        IndexContents(
            manifest,
            passages,
            episodes_rows,
            _all_rows(kept_turns, turns_rows, TURNS),
            all_vectors,
            previous=previous,
        ),
        vector_index=kind,
    )
    keep_boilerplate_counts(index_dir, staged)
    checkpoints.clear()  # the new generation holds every vector they kept
    return report


def _reuse(old: Index, old_vectors: np.ndarray, texts: list[str], cache: dict[str, Any]) -> None:
    """Put into ``cache`` the old generation's vector of each of ``texts`` it embedded already
    (matched by Arrow in one pass: hashing every old text in Python took 0.5 s of adding one
    episode to a 309-episode library)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not texts:
        return
    known = old.passages.column("embed_text")
    found = pc.index_in(pa.array(texts, type=known.type), value_set=known)
    for text, at in zip(texts, found.to_pylist(), strict=True):
        if at is not None:
            cache.setdefault(text_hash(text), old_vectors[at])  # a row view, not a copy


def _embed_new(
    per_episode: list[list[str]],
    cache: dict[str, np.ndarray],
    checkpoints: Checkpoints,
    report: IndexReport,
    progress: Progress | None,
    encode: Callable[[list[str], Callable[[int, int], None] | None], np.ndarray],
    group_size: int,
) -> None:
    """Embed the texts not in ``cache`` (nor kept by an interrupted run's checkpoints) into
    ``cache`` with ``encode``, in groups of whole episodes, each group checkpointed once
    embedded: an interruption loses at most one group."""
    todo_by_episode: list[list[str]] = []
    seen: set[str] = set()
    for texts in per_episode:
        todo = []
        for t in texts:
            h = text_hash(t)
            if h not in cache and h not in seen:
                seen.add(h)
                todo.append(t)
        todo_by_episode.append(todo)
    resumed = checkpoints.load(seen)
    cache.update(resumed)
    report.passages_resumed = len(resumed)
    todo_by_episode = [[t for t in todo if text_hash(t) not in resumed] for todo in todo_by_episode]
    todo_by_episode = [todo for todo in todo_by_episode if todo]
    total = sum(len(t) for t in todo_by_episode)
    report.passages_embedded = total
    groups: list[tuple[list[str], int]] = []  # (texts, episodes they complete)
    for todo in todo_by_episode:
        if not groups or len(groups[-1][0]) >= group_size:
            groups.append(([], 0))
        groups[-1] = (groups[-1][0] + todo, groups[-1][1] + 1)
    done = episodes = 0
    for group, count in groups:
        on_progress = (
            (lambda d, _t, base=done: progress("embedding", base + d, total)) if progress else None
        )
        vectors = encode(group, on_progress)
        hashes = [text_hash(t) for t in group]
        checkpoints.save(hashes, vectors)
        cache.update(zip(hashes, vectors, strict=True))
        done += len(group)
        episodes += count
        if progress:
            progress("embedding", done, total)
            progress("episodes", episodes, len(todo_by_episode))


def _carried(old: Index, model_name: str) -> tuple[np.ndarray | None, dict[int, np.ndarray]]:
    """What the old generation's vectors hold of ``model_name``'s: all of its vectors when
    they have each of its models (another weighting, or one model of their ensemble), else
    the vectors of those models of its ensemble that they have, by position."""
    parts = _layout(old)
    found = carried_parts(parts, model_name)
    if parts is None or not found:
        return None, {}
    vectors = old.vectors()
    whole = rejoin(vectors, parts, model_name)
    if whole is not None:
        return whole, {}
    return None, {i: part_vectors(vectors, part) for i, part in found.items()}


SAMPLE_ROWS = 256  # vectors that show an ensemble's part dimensions beyond doubt


def _layout(old: Index) -> list[Part] | None:
    entry = old.manifest["model"]
    dims = entry.get(PART_DIMENSIONS)
    if dims is None and ensemble_parts(entry["name"]) is not None:  # an older manifest
        sample = list(range(min(SAMPLE_ROWS, old.manifest["counts"]["passages"])))
        dims = infer_part_dimensions(old.vectors_for(sample), entry["name"])
    return layout(entry["name"], int(entry["dimension"]), dims)


def _part_dimensions(
    model_name: str, embedder: Embedder | None, old: Index | None
) -> dict[str, list[int]]:
    """The manifest's record of an ensemble's models' dimensions (``embed.ensemble.layout``):
    from its embedder when it ran, else from the old generation's vectors it came from."""
    parts = ensemble_parts(model_name)
    if parts is None:
        return {}
    if isinstance(embedder, EnsembleEmbedder):
        return {PART_DIMENSIONS: [e.dim for e in embedder.parts]}
    found = carried_parts(_layout(old), model_name) if old is not None else {}
    if len(found) < len(parts):
        return {}
    return {PART_DIMENSIONS: [found[i].end - found[i].start for i in range(len(parts))]}


def _known(vectors: dict[str, np.ndarray], text: str) -> np.ndarray | None:
    return vectors.get(text_hash(text))


def _previous(old: Index | None, kept: int, episodes_rows: list[dict[str, Any]]) -> Previous | None:
    """The old generation as the start of the new one, when the new one begins with all its
    passage rows as they were (nothing removed or updated); its lexical documents too when
    their episodes' titles and descriptions (indexed with them) are unchanged."""
    if old is None or not kept or kept != old.manifest["counts"]["passages"]:
        return None
    before = old.episode_rows()
    same_meta = all(
        (was.get("title"), was.get("description")) == (row.get("title"), row.get("description"))
        for row in episodes_rows
        if (was := before.get(row["episode_id"])) is not None
    )
    return Previous(old.root, old.manifest, kept, lexical=same_meta)


def _kept_rows(old: Any, keep: set[str], name: str) -> tuple[Any, np.ndarray]:
    """(the rows of the old generation's table ``name`` (``old``) of the episodes ``keep``,
    as an Arrow table in today's schema; their numbers)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    wanted = pa.array(sorted(keep), type=old.schema.field("episode_id").type)
    mask = pc.is_in(old.column("episode_id"), value_set=wanted)
    # Every row kept (episodes added, none changed): no filtered copy (0.34 s at 34k turns).
    if pc.all(mask).as_py():
        kept, rows = old, np.arange(old.num_rows)
    else:
        kept, rows = old.filter(mask), np.flatnonzero(mask.to_numpy(zero_copy_only=False))
    schema = schemas()[name]
    if set(schema.names) <= set(kept.column_names):
        try:
            return kept.select(schema.names).cast(schema), rows
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    return table(kept.to_pylist(), schema), rows  # an older generation's


def _all_rows(kept: Any, fresh: list[dict[str, Any]], name: str) -> Any:
    """Every row of the new generation's table ``name``: the kept ones, then the fresh
    episodes'."""
    import pyarrow as pa

    new = table(fresh, schemas()[name])
    return new if kept is None else pa.concat_tables([kept, new])


def _float32(values: list[float]) -> Any:
    import pyarrow as pa

    return pa.array(values, type=pa.float32())


def _mark_boilerplate(
    episode_ids: list[str],
    texts: list[str],
    episodes: list[dict[str, Any]],
    grown: Index | None,
    index_dir: Path,
) -> tuple[list[float], bool]:
    """Each passage's ``boilerplate`` (passage i: of episode ``episode_ids[i]``, with text
    ``texts[i]``): the share of its text its show repeats across episodes
    (``episodes.boilerplate``). One more episode can make a show's intro common, so the whole
    library counts; ``grown``, the previous generation when the new one starts with all its
    passages, and what it kept beside the index spare reading every episode's shingles (if
    no show changed). Returns the shares, rounded, and whether this generation's counts were
    staged for the next addition (not when its passages are not grouped by episode, so that
    rows could not be matched)."""
    show = {e["episode_id"]: e.get("podcast") for e in episodes}
    rows: dict[str, list[int]] = {}
    for i, eid in enumerate(episode_ids):
        rows.setdefault(eid, []).append(i)
    items = [EpisodeText(eid, show.get(eid), [texts[i] for i in r]) for eid, r in rows.items()]
    # Rows numbered episode by episode, as ``library_shares`` numbers them.
    in_order = all(r[-1] - r[0] == len(r) - 1 for r in rows.values()) and all(
        a[-1] < b[0] for a, b in pairwise(rows.values())
    )
    added, kept = None, None
    folder = home_dir(index_dir) / SHINGLE_DIR
    if grown is not None and in_order:
        before = grown.episode_rows()
        if all(before[e].get("podcast") == show.get(e) for e in before if e in show):
            added = set(rows) - set(before)
            kept = load_kept(folder / KEPT_DIR, generation_key(grown.manifest, PASSAGES, EPISODES))
    result = library_shares(
        items, added, kept=kept, fill=partial(load_shingle_sets, folder=folder, prune=False)
    )
    if all(e.shingles is not None for e in items):
        load_shingle_sets(items, folder)  # all read: the entries of other texts can go
    shares = [0.0] * len(texts)
    for eid, values in result.shares.items():
        for i, share in zip(rows[eid], values.tolist(), strict=True):
            shares[i] = round(share, 3)
    return shares, stage_boilerplate_counts(index_dir, result.kept if in_order else None)


PENDING = ".pending"  # the counts of the generation being written, until its key is known


def stage_boilerplate_counts(index_dir: Path, kept: Kept | None) -> bool:
    """Store the counts of the generation about to be written (its key, a digest of its
    tables, is known only once they are written): stored now, they need not stay in memory
    through the write (~0.1-0.25 GB at 309 episodes). Whether there were counts to store."""
    if kept is not None:
        save_kept(home_dir(index_dir) / SHINGLE_DIR / KEPT_DIR, PENDING, kept)
    return kept is not None


def keep_boilerplate_counts(index_dir: Path, staged: bool) -> None:
    """After a write: the staged counts become the new generation's (the next addition
    starts from them), and only they are kept."""
    folder = home_dir(index_dir) / SHINGLE_DIR / KEPT_DIR
    key = generation_key(Index(index_dir).manifest, PASSAGES, EPISODES)
    keep = {key} if staged and key is not None and (folder / PENDING).is_dir() else set()
    if keep:
        shutil.rmtree(folder / str(key), ignore_errors=True)
        try:
            os.replace(folder / PENDING, folder / str(key))
        except OSError:
            keep = set()
    keep_postings(folder, keep)


def _passage_rows(ep: Episode, cfg: ChunkConfig) -> list[dict[str, Any]]:
    """An episode's passage rows: chunked, with the text the model sees for each."""
    passages = chunk_episode(ep, cfg)
    texts = embed_texts(ep, passages, cfg.context_words)
    return [
        passage_row(p, chapter_at(ep.chapters, p.start), text)
        for p, text in zip(passages, texts, strict=True)
    ]


def _dimension(
    old: Index | None, cache: dict[str, np.ndarray], embedder: Embedder | None, model: str
) -> int:
    if old:
        return old.dimension
    if cache:
        return len(next(iter(cache.values())))
    return (embedder or load_embedder(model)).dim
