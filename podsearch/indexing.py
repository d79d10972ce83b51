"""Build and update an index: read sources, chunk, embed what is new, write a generation."""

from __future__ import annotations

import bisect
import hashlib
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import __version__
from .chunking import ChunkConfig, chunk_episode
from .embedding import (
    Embedder,
    canonical_model_name,
    check_model,
    check_precision,
    encode_all,
    export_for_queries,
    index_precision,
    load_embedder,
    load_index_embedder,
)
from .errors import ReaderError
from .models import Cue, Episode, Passage, Person, Turn
from .store import (
    Index,
    IndexContents,
    home_dir,
    index_exists,
    speaker_file,
    write_index,
    writer_lock,
)

if TYPE_CHECKING:  # speakers imports rapidfuzz: not needed by a query (search imports us)
    from .speakers import SpeakerBook


Progress = Callable[[str, int, int], None]


@dataclass
class FileFailure:
    path: str
    reason: str


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
    files_read: int = 0
    failed: list[FileFailure] = field(default_factory=list)
    warnings: list[FileFailure] = field(default_factory=list)  # read, but with a problem
    formats: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    model: str = ""
    precision: str = "fp32"  # of the index's passage vectors

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def sample_paths() -> list[Path]:
    """The bundled sample library: the two source transcripts of one real episode."""
    folder = resources.files("podsearch") / "data" / "sample"
    return sorted(Path(str(p)) for p in folder.iterdir() if p.name.endswith(".txt"))


def embed_texts(ep: Episode, passages: list[Passage], context_words: int) -> list[str]:
    """What the model sees for each passage: the ``context_words`` words spoken just before
    it (the end of the previous turn, usually the question it answers, or the start of its
    own turn), then the passage. The quote shown is always ``passage.text``."""
    if context_words <= 0:
        return [p.text for p in passages]
    words = [t.text.split() for t in ep.turns]
    out = []
    for p in passages:
        before = words[p.turn_index][: p.word_offset]
        i = p.turn_index - 1
        while len(before) < context_words and i >= 0:
            before = words[i] + before
            i -= 1
        context = " ".join(before[-context_words:])
        out.append(f"{context} … {p.text}" if context else p.text)
    return out


def chapter_at(chapters: list[tuple[float, str]], start: float | None) -> str | None:
    """The title of the chapter (sorted by start) that a passage starting at ``start`` is in."""
    if start is None or not chapters:
        return None
    i = bisect.bisect_right([c[0] for c in chapters], start) - 1
    return chapters[i][1] if i >= 0 else None


def episode_row(ep: Episode, hashes: list[str]) -> dict[str, Any]:
    return {
        "episode_id": ep.id,
        "title": ep.title,
        "podcast": ep.podcast,
        "published": ep.published,
        "url": ep.url,
        "audio_url": ep.audio_url,
        "description": ep.description,
        "people": [{"name": p.name, "role": p.role} for p in ep.people],
        "sources": list(ep.sources),
        "source_hashes": hashes,
        "formats": list(ep.formats),
        "truncated": ep.truncated,
        "episode_number": ep.episode_number,
        "guid": ep.guid,
        "language": ep.language,
        "duration": ep.duration,
        "chapters": [{"start": start, "title": title} for start, title in ep.chapters],
    }


def passage_row(p: Passage, chapter: str | None = None, embed: str | None = None) -> dict[str, Any]:
    return {
        "passage_id": p.id,
        "episode_id": p.episode_id,
        "speaker": p.speaker,
        "speaker_source": p.speaker_source,
        "start": p.start,
        "end": p.end,
        "time_precision": p.time_precision,
        "turn_index": p.turn_index,
        "word_offset": p.word_offset,
        "text": p.text,
        "embed_text": p.text if embed is None else embed,
        "chapter": chapter,
    }


def turn_rows(ep: Episode, labels: list[str | None] | None = None) -> list[dict[str, Any]]:
    """The episode's turns as rows. ``labels``: the speakers as the sources gave them, before
    canonical names and the user's renames (kept so that both can be applied again)."""
    labels = labels if labels is not None else [t.speaker for t in ep.turns]
    return [
        {
            "episode_id": ep.id,
            "turn_index": i,
            "speaker": t.speaker,
            "label": label,
            "speaker_source": t.speaker_source,
            "start": t.start,
            "end": t.end,
            "time_precision": t.time_precision,
            "text": t.text,
            # Kept so that an episode can be re-chunked from the index alone (rebuild, merge).
            "cues": [{"start": c.start, "end": c.end, "text": c.text} for c in t.cues],
        }
        for i, (t, label) in enumerate(zip(ep.turns, labels, strict=True))
    ]


def episode_from_rows(row: dict[str, Any], turns: list[dict[str, Any]]) -> Episode:
    """Rebuild an Episode from its rows in episodes.parquet and turns.parquet, with the
    speakers as its sources labelled them."""
    return Episode(
        id=row["episode_id"],
        title=row["title"],
        podcast=row["podcast"],
        published=row["published"],
        url=row["url"],
        audio_url=row["audio_url"],
        description=row["description"],
        people=[Person(p["name"], p["role"]) for p in row["people"] or []],
        sources=list(row["sources"] or []),
        source_hashes=list(row["source_hashes"] or []),
        turns=[
            Turn(
                speaker=t["label"] if "label" in t else t["speaker"],
                start=t["start"],
                end=t["end"],
                text=t["text"],
                time_precision=t["time_precision"],
                speaker_source=t["speaker_source"],
                cues=[Cue(c["start"], c["end"], c["text"]) for c in t.get("cues") or []],
            )
            for t in sorted(turns, key=lambda t: t["turn_index"])
        ],
        truncated=bool(row["truncated"]),
        episode_number=row["episode_number"],
        guid=row["guid"],
        language=row["language"],
        formats=list(row["formats"] or []),
        chapters=[(c["start"], c["title"]) for c in row.get("chapters") or []],
    )


def index_paths(
    paths: Iterable[str | os.PathLike[str]],
    index_dir: Path,
    *,
    model: str | None = None,
    embedder: Embedder | None = None,
    strict: bool = False,
    chunk_config: ChunkConfig | None = None,
    progress: Progress | None = None,
    device: str | None = None,
    prune: bool = False,
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
    fetch: dict[str, Any] | None = None,
    precision: str | None = None,
) -> IndexReport:
    """Add or update the transcripts under ``paths`` in the index at ``index_dir``.

    Sources whose content is unchanged are not read again and nothing of theirs is
    re-embedded; a changed source replaces its episode; sources of one episode are merged
    (``merging``). Unreadable files are reported in the result and skipped, unless
    ``strict``, which raises the first ReaderError. ``prune`` drops the episodes whose
    source files are all gone. ``fetch``: ``read_feed`` options for feeds (timeout,
    max_bytes). ``precision`` (fp32, int8) of a new index's vectors; an existing index keeps
    its own, like its model. One writer at a time: see ``store.writer_lock``.
    """
    with writer_lock(index_dir, wait=wait, on_wait=on_wait):
        return _index_paths(
            paths,
            index_dir,
            model=model,
            embedder=embedder,
            strict=strict,
            chunk_config=chunk_config,
            progress=progress,
            device=device,
            prune=prune,
            fetch=fetch,
            precision=precision,
        )


def _index_paths(
    paths: Iterable[str | os.PathLike[str]],
    index_dir: Path,
    *,
    model: str | None,
    embedder: Embedder | None,
    strict: bool,
    chunk_config: ChunkConfig | None,
    progress: Progress | None,
    device: str | None,
    prune: bool,
    fetch: dict[str, Any] | None,
    precision: str | None,
) -> IndexReport:
    t0 = time.perf_counter()
    old = Index(index_dir) if index_exists(index_dir) else None
    model_name = check_model(old, model) if old else canonical_model_name(model)
    precision = check_precision(old, precision) if old else precision or "fp32"
    report = IndexReport(index_dir=str(index_dir), model=model_name, precision=precision)
    old_eps = old.episode_rows() if old else {}
    # Feed downloads: read_feed's timeout and max_bytes, cached beside the index.
    fetch = {"cache_dir": home_dir(index_dir) / "http-cache", **(fetch or {})}
    fresh, unchanged, replaced = _read_sources(paths, old_eps, report, strict, progress, fetch)
    fresh, absorbed = merge_step(fresh, old, replaced, report)
    pruned = set(_gone_episodes(old_eps)) if prune else set()

    old_sources = {s for row in old_eps.values() for s in row["sources"]}
    fresh_ids = {ep.id for ep in fresh}
    drop = replaced | absorbed | fresh_ids | pruned
    keep_ids = [eid for eid in old_eps if eid not in drop]
    report.episodes_unchanged = len(unchanged - drop)
    report.episodes_updated = sum(1 for ep in fresh if old_sources & set(ep.sources))
    report.episodes_added = len(fresh) - report.episodes_updated
    report.episodes_removed = len(pruned - fresh_ids)
    if fresh or old is None or report.episodes_removed:
        commit(
            index_dir,
            old,
            keep_ids,
            fresh,
            model_name=model_name,
            embedder=embedder,
            chunk_config=chunk_config,
            progress=progress,
            report=report,
            device=device,
            precision=precision,
        )
    else:
        report.episodes_total = len(old_eps)
        report.passages_total = report.passages_unchanged = int(
            old.manifest.get("counts", {}).get("passages", 0)
        )
    report.seconds = round(time.perf_counter() - t0, 3)
    return report


def _gone_episodes(old_eps: dict[str, dict[str, Any]]) -> list[str]:
    """Ids of indexed episodes none of whose source files exist any more. Feed episodes
    (http sources) are kept: a feed drops old items while the episodes still exist."""
    return [
        eid
        for eid, row in old_eps.items()
        if row["sources"]
        and not any(s.startswith(("http://", "https://")) for s in row["sources"])
        and not any(Path(s).exists() for s in row["sources"])
    ]


def _read_sources(
    paths: Iterable[str | os.PathLike[str]],
    old_eps: dict[str, dict[str, Any]],
    report: IndexReport,
    strict: bool,
    progress: Progress | None,
    fetch: dict[str, Any],
) -> tuple[list[Episode], set[str], set[str]]:
    """(episodes read from new or changed files and feeds, ids of unchanged episodes, ids
    replaced)."""
    # Imported here: the readers pull in bs4 (~0.1 s), which `ask` never needs.
    from .feeds import is_feed
    from .readers import iter_files, read_file

    known: dict[tuple[str, str], str] = {}  # (source, content hash) -> episode id
    by_source: dict[str, str] = {}
    for eid, row in old_eps.items():
        for src, h in zip(row["sources"], row["source_hashes"] or [], strict=False):
            known[(src, h)] = eid
            by_source[src] = eid
    fresh: list[Episode] = []
    unchanged: set[str] = set()
    replaced: set[str] = set()

    def add(ep: Episode, src: str, h: str, fmt: str) -> None:
        if (src, h) in known:
            unchanged.add(known[(src, h)])
            return
        report.files_read += 1
        report.formats[fmt] = report.formats.get(fmt, 0) + 1
        ep.sources, ep.source_hashes = [src], [h]
        if src in by_source:
            replaced.add(by_source[src])
            # An edited transcript is the same episode: it keeps its id (and so the user's
            # speaker names), even when the id of a file without metadata comes from its text.
            ep.id = by_source[src]
        fresh.append(ep)

    raw = [str(p) for p in paths]
    feeds = [p for p in raw if is_feed(p)]
    files = list(iter_files(p for p in raw if p not in feeds))
    for feed in feeds:
        items, same = _read_feed(feed, report, strict, fetch, lambda s, h: (s, h) in known)
        unchanged.update(by_source[src] for src in same)
        for ep, src, h, fmt in items:
            add(ep, src, h, fmt)
    for n, path in enumerate(files, 1):
        if progress:
            progress("reading", n, len(files))
        src = str(path.resolve())
        try:
            h = file_hash(path)
        except OSError as e:
            _fail(report, path, f"cannot read file: {e.strerror or e}", strict)
            continue
        if (src, h) in known:
            unchanged.add(known[(src, h)])
            continue
        try:
            result = read_file(path)
        except ReaderError as e:
            _fail(report, path, e.problem, strict)
            continue
        add(result.episode, src, h, result.format)
    return fresh, unchanged, replaced


def _read_feed(
    feed: str,
    report: IndexReport,
    strict: bool,
    fetch: dict[str, Any],
    known: Callable[[str, str], bool],
) -> tuple[list[tuple[Episode, str, str, str]], list[str]]:
    """(episode, source, hash, format) of each new or changed item of a feed, and the
    sources of the unchanged ones (not parsed again). Items that cannot be read are failures
    of the report; items read with a problem are its warnings."""
    from .feeds import read_feed

    try:
        result = read_feed(feed, known=known, **fetch)
    except ReaderError as e:
        _fail(report, feed, e.problem, strict)
        return [], []
    for p in result.failures:
        _fail(report, p.where, p.problem, strict)
    report.warnings.extend(FileFailure(p.where, p.problem) for p in result.warnings)
    items = [
        (fe.episode, fe.episode.sources[0], fe.source_hashes[0], _feed_format(fe.episode))
        for fe in result.episodes
    ]
    return items, result.unchanged


def _feed_format(ep: Episode) -> str:
    return "feed+" + (ep.formats[0] if ep.formats else "unknown")


def stored_episodes(index: Index, ids: Iterable[str] | None = None) -> list[Episode]:
    """Episodes of the index rebuilt from its tables (all, or those in ``ids``), with the
    speakers as their sources labelled them."""
    rows = index.episode_rows()
    wanted = list(rows) if ids is None else [i for i in ids if i in rows]
    keep = set(wanted)
    turns: dict[str, list[dict[str, Any]]] = {eid: [] for eid in wanted}
    for t in index.turns.to_pylist():
        if t["episode_id"] in keep:
            turns[t["episode_id"]].append(t)
    return [episode_from_rows(rows[eid], turns[eid]) for eid in wanted]


def _light_episodes(index: Index, exclude: set[str]) -> list[Episode]:
    """The index's episodes with only what same-episode detection reads (metadata, turn
    speakers and text): cheap to build for a whole library."""
    cols = ["episode_id", "turn_index", "label", "speaker", "text"]
    present = set(index.columns("turns.parquet"))
    table = index.read_table("turns.parquet", columns=[c for c in cols if c in present])
    data = table.to_pydict()
    labels = data.get("label") or data["speaker"]
    turns: dict[str, list[Turn]] = {}
    for eid, spk, text in zip(data["episode_id"], labels, data["text"], strict=True):
        if eid not in exclude:
            turns.setdefault(eid, []).append(Turn(spk, None, None, text))
    out = []
    for eid, row in index.episode_rows().items():
        if eid in exclude:
            continue
        ep = episode_from_rows(row, [])
        ep.turns = turns.get(eid, [])
        out.append(ep)
    return out


def merge_step(
    fresh: list[Episode], old: Index | None, replaced: set[str], report: IndexReport
) -> tuple[list[Episode], set[str]]:
    """Fold the sources of one episode together, among the fresh episodes and with those
    already indexed. Returns the episodes to write and the ids of indexed episodes they
    absorbed. The other sources of a replaced multi-source episode are read again, so that
    changing one file of an episode does not lose the others."""
    from .merging import group_same_episodes, merge_episodes
    from .readers import read_file

    if not fresh:
        return fresh, set()
    stored: list[Episode] = []
    if old is not None:
        rows = old.episode_rows()
        have = {s for ep in fresh for s in ep.sources}
        for eid in replaced:
            for src in rows[eid]["sources"]:
                if src in have or not Path(src).is_file():
                    continue
                try:
                    result = read_file(src)
                except ReaderError as e:
                    _fail(report, Path(src), e.problem, strict=False)
                    continue
                result.episode.sources, result.episode.source_hashes = [src], [file_hash(Path(src))]
                result.episode.id = eid  # the merged episode keeps its id, whichever is base
                fresh.append(result.episode)
                have.add(src)
        stored = _light_episodes(old, exclude=replaced)
    n_fresh = len(fresh)
    groups = group_same_episodes(fresh + stored)
    position = {id(ep): i for i, ep in enumerate(fresh + stored)}
    out: list[Episode] = []
    absorbed: set[str] = set()
    for group in groups:
        old_members = [ep for ep in group if position[id(ep)] >= n_fresh]
        if len(old_members) == len(group):
            continue  # nothing fresh in it: stays as indexed
        if old_members:
            assert old is not None
            absorbed |= {ep.id for ep in old_members}
            full = stored_episodes(old, [ep.id for ep in old_members])
            group = [ep for ep in group if position[id(ep)] < n_fresh] + full
        out.append(merge_episodes(group) if len(group) > 1 else group[0])
    return out, absorbed


def speaker_book(index_dir: Path) -> SpeakerBook:
    """The user's speaker names for this index, kept beside it (survives every rebuild)."""
    from .speakers import SpeakerBook

    return SpeakerBook.load(speaker_file(index_dir))


def apply_identity(
    episodes: list[Episode], book: SpeakerBook
) -> list[tuple[Episode, list[str | None]]]:
    """Each episode with the user's renames and aliases applied and one canonical name per
    person per show, paired with its turns' original labels. The inputs are not changed."""
    from .speakers import canonicalize_episodes

    labels = [[t.speaker for t in ep.turns] for ep in episodes]
    named = [book.apply(ep) for ep in episodes]  # copies: canonicalising cannot touch inputs
    canonicalize_episodes(named)
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
    faiss_kind: str | None = None,
    reuse_vectors: bool = True,
    device: str | None = None,
    precision: str | None = None,
) -> IndexReport:
    """Write a new generation: the kept episodes as they are, the fresh ones chunked and
    embedded. Text already embedded by the same model is never embedded again.
    ``device`` (cpu, cuda, cuda:1, mps; None or auto: a GPU when torch sees one);
    ``precision`` of new vectors (default: the old index's, else fp32)."""
    from .search import compute_roles  # search imports this module

    # An index keeps the chunking it was built with, so that all its passages are alike;
    # only a rebuild given another config changes it.
    cfg = chunk_config or (ChunkConfig.from_dict(old.manifest.get("chunking")) if old else None)
    cfg = cfg or ChunkConfig()
    precision = precision or (index_precision(old) if old else "fp32")
    report = report or IndexReport(index_dir=str(index_dir), model=model_name)
    report.precision = precision
    passages_rows: list[dict[str, Any]] = []
    turns_rows: list[dict[str, Any]] = []
    vector_parts: list[np.ndarray] = []
    cache: dict[str, np.ndarray] = {}
    episodes_rows: list[dict[str, Any]] = []
    if old:
        keep = set(keep_ids)
        old_eps = old.episode_rows()
        episodes_rows = [old_eps[eid] for eid in keep_ids]
        ptable = old.passages.to_pylist()
        keep_rows = [i for i, r in enumerate(ptable) if r["episode_id"] in keep]
        turns_rows.extend(r for r in old.turns.to_pylist() if r["episode_id"] in keep)
        if reuse_vectors:
            vectors = old.vectors()
            passages_rows.extend(ptable[i] for i in keep_rows)
            vector_parts.append(vectors[keep_rows])
            for i, r in enumerate(ptable):
                cache.setdefault(text_hash(r["embed_text"]), vectors[i])
            report.passages_unchanged = len(keep_rows)

    new_rows: list[dict[str, Any]] = []
    for ep, labels in apply_identity(fresh, speaker_book(index_dir)):
        passages = chunk_episode(ep, cfg)
        for p, embed in zip(passages, embed_texts(ep, passages, cfg.context_words), strict=True):
            new_rows.append(passage_row(p, chapter_at(ep.chapters, p.start), embed))
        turns_rows.extend(turn_rows(ep, labels))
        episodes_rows.append(episode_row(ep, ep.source_hashes))
    todo = list(dict.fromkeys(r["embed_text"] for r in new_rows))
    todo = [t for t in todo if text_hash(t) not in cache]
    if todo:
        embedder = embedder or load_index_embedder(model_name, device=device, precision=precision)
        on_progress = (lambda d, t: progress("embedding", d, t)) if progress else None
        vecs = encode_all(embedder, todo, on_progress=on_progress)
        for text, vec in zip(todo, vecs, strict=True):
            cache[text_hash(text)] = vec
        export_for_queries(embedder)  # torch is loaded now: make the ONNX query model once
    report.passages_embedded = len(todo)
    report.passages_added = len(new_rows)
    dim = _dimension(old if reuse_vectors else None, cache, embedder, model_name)
    if new_rows:
        vector_parts.append(np.stack([cache[text_hash(r["embed_text"])] for r in new_rows]))
    passages_rows.extend(new_rows)
    all_vectors = (
        np.concatenate(vector_parts).astype(np.float32)
        if vector_parts
        else np.zeros((0, dim), dtype=np.float32)
    )
    report.episodes_total = len(episodes_rows)
    report.passages_total = len(passages_rows)
    kind = faiss_kind or (old.manifest.get("faiss", {}).get("type") if old else None) or "flat"
    manifest = {
        "model": {
            "name": model_name,
            "dimension": dim,
            "normalized": True,
            "precision": precision,
        },
        "counts": {
            "episodes": len(episodes_rows),
            "passages": len(passages_rows),
            "turns": len(turns_rows),
            "sources": sum(len(r["sources"]) for r in episodes_rows),
        },
        "chunking": cfg.as_dict(),
        # Read by every query: kept here so that a question needs no passage table scan.
        "speakers": {
            "names": sorted({r["speaker"] for r in passages_rows if r["speaker"]}),
            "roles": compute_roles(
                ((r["speaker"], r["episode_id"]) for r in passages_rows), episodes_rows
            ),
        },
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tool_version": __version__,
    }
    write_index(
        index_dir,
        IndexContents(manifest, passages_rows, episodes_rows, turns_rows, all_vectors),
        faiss_kind=kind,
    )
    return report


def _dimension(
    old: Index | None, cache: dict[str, np.ndarray], embedder: Embedder | None, model: str
) -> int:
    if old:
        return old.dimension
    if cache:
        return len(next(iter(cache.values())))
    return (embedder or load_embedder(model)).dim


def _fail(report: IndexReport, path: Path | str, reason: str, strict: bool) -> None:
    if strict:
        raise ReaderError(path, reason)
    report.failed.append(FileFailure(str(path), reason))
