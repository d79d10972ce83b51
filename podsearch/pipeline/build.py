"""Adding sources to an index: read new and changed files and feeds, merge the sources of one
episode, and commit a new generation (``commit``)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from ..core.errors import InvalidRequestError, ReaderError
from ..core.models import Episode
from ..embed.base import Embedder
from ..embed.names import canonical_model_name, check_model, check_precision
from ..episodes.chunking import ChunkConfig
from ..ingest.audio import (
    INSTALL_HINT,
    AsrOptions,
    Transcriber,
    audio_available,
    is_audio_file,
)
from ..ingest.files import file_hash
from ..ingest.metadata import EpisodeMeta, MetadataSet, read_sidecar
from ..store.index import Index
from ..store.layout import home_dir, index_exists, writer_lock
from .commit import commit
from .edits import load_edits
from .merge import SKETCH_DIR, keep_merge_postings, merge_step
from .report import FileFailure, FileRead, IndexReport, Progress
from .sources import fail, read_source


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
    metadata: str | os.PathLike[str] | None = None,
    metadata_key: str | None = None,
    meta_feeds: Iterable[str] = (),
    show: str | None = None,
    asr: AsrOptions | None = None,
    engine: str = "local",
    ray_address: str | None = None,
) -> IndexReport:
    """Add or update the transcripts under ``paths`` in the index at ``index_dir``.

    Sources whose content is unchanged are not read again and nothing of theirs is re-embedded;
    a changed source replaces its episode; sources of one episode are found
    (``episodes.detection``) and merged (``episodes.merging``). Unreadable files are reported in
    the result and skipped, unless ``strict``, which raises the first ReaderError. ``prune``
    drops the episodes whose source files are all gone. ``fetch``: ``read_feed`` options for
    feeds (timeout, max_bytes). ``precision`` (fp32, int8) of a new index's vectors; an existing
    index keeps its own, like its model. ``metadata``: a metadata file for the transcripts
    (matched by file name or the ``metadata_key`` template); ``meta_feeds``: feeds whose items
    give metadata to local files; a sidecar beside a transcript is always read (see
    ``ingest.metadata``); ``show``: the show of files whose metadata names none. ``asr``: how
    audio files (and, with ``feeds``, feed items with only audio) are transcribed; transcripts
    are cached beside the index. One writer at a time: see ``store.writer_lock``. ``engine``:
    "local" or "ray" (``engine_ray``: chunking and embedding on Ray, connected to
    ``ray_address`` or a local instance).
    """
    if engine not in ENGINES:
        raise InvalidRequestError("--engine", f"unknown engine {engine!r}: use local or ray")
    if engine == "ray":
        from .engine_ray import start

        start(ray_address)  # connect first: a bad address fails before any work
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
            metadata=metadata,
            metadata_key=metadata_key,
            meta_feeds=meta_feeds,
            show=show,
            asr=asr,
            engine=engine,
        )


ENGINES = ("local", "ray")


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
    metadata: str | os.PathLike[str] | None = None,
    metadata_key: str | None = None,
    meta_feeds: Iterable[str] = (),
    show: str | None = None,
    asr: AsrOptions | None,
    engine: str = "local",
) -> IndexReport:
    t0 = time.perf_counter()
    old = Index(index_dir) if index_exists(index_dir) else None
    if old:
        model_name = check_model(old.model, model, index_dir)
        precision = check_precision(old.precision, precision, index_dir)
    else:
        # An embedder given as an object names the model its vectors come from: a later
        # ``ask`` loads that model, not the default one.
        model_name = canonical_model_name(model or getattr(embedder, "name", None))
        precision = precision or "fp32"
    report = IndexReport(index_dir=str(index_dir), model=model_name, precision=precision)
    old_eps = old.episode_rows() if old else {}
    # Feed downloads: read_feed's timeout and max_bytes, cached beside the index.
    fetch = {"cache_dir": home_dir(index_dir) / "http-cache", **(fetch or {})}
    sets = _metadata_sets(metadata, metadata_key, meta_feeds, fetch)
    # Audio: transcribed on first need (the model loads only then), cached beside the index.
    asr = asr or AsrOptions()
    transcriber = Transcriber(asr, home_dir(index_dir) / "transcripts", progress)
    if asr.feeds:
        fetch["transcriber"] = transcriber
    fresh, unchanged, replaced = _read_sources(
        paths,
        old_eps,
        report,
        strict,
        progress,
        fetch,
        transcriber,
        sets,
        load_edits(index_dir),
        show,
    )
    sketch_dir = home_dir(index_dir) / SKETCH_DIR
    merged = merge_step(fresh, old, replaced, report, transcriber, sketch_dir=sketch_dir)
    fresh, absorbed = merged.episodes, merged.absorbed
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
            engine=engine,
        )
        keep_merge_postings(index_dir, sketch_dir, merged)
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


def _metadata_sets(
    metadata: str | os.PathLike[str] | None,
    key: str | None,
    feeds: Iterable[str],
    fetch: dict[str, Any],
) -> list[MetadataSet]:
    """The metadata file and feeds given for local transcripts, loaded (usage errors when a
    file or feed cannot be read)."""
    sets = []
    if metadata is not None:
        sets.append(MetadataSet.from_file(Path(metadata), key))
    elif key:
        raise InvalidRequestError("--metadata-key", "give the metadata file with --metadata")
    for feed in feeds:
        from ..ingest.feeds import feed_metadata  # bs4: only when a feed is given

        try:
            sets.append(
                feed_metadata(feed, cache_dir=fetch["cache_dir"], timeout=fetch.get("timeout", 15))
            )
        except ReaderError as e:
            raise InvalidRequestError("--feed", e.problem) from None
    return sets


def _meta_differs(meta: EpisodeMeta, row: dict[str, Any], edited: dict[str, str]) -> bool:
    """Whether applying ``meta`` would change an indexed episode's row (fields the user
    edited do not count: the edit wins anyway)."""
    for attr in ("title", "podcast", "published", "url", "audio_url", "description", "guid"):
        value = getattr(meta, attr)
        if value and attr not in edited and value != row.get(attr):
            return True
    people = [{"name": p.name, "role": p.role} for p in meta.people]
    if people and people != list(row.get("people") or []):
        return True
    if meta.episode_number is not None and meta.episode_number != row.get("episode_number"):
        return True
    stored = json.loads(row["extra"]) if row.get("extra") else {}
    return any(stored.get(k) != v for k, v in meta.extra.items())


def _read_sources(
    paths: Iterable[str | os.PathLike[str]],
    old_eps: dict[str, dict[str, Any]],
    report: IndexReport,
    strict: bool,
    progress: Progress | None,
    fetch: dict[str, Any],
    transcriber: Transcriber,
    sets: list[MetadataSet] | None = None,
    edits: dict[str, dict[str, str]] | None = None,
    show: str | None = None,
) -> tuple[list[Episode], set[str], set[str]]:
    """(episodes read from new or changed files and feeds, ids of unchanged episodes, ids
    replaced)."""
    # Imported here: the readers pull in bs4 (~0.1 s), which `ask` never needs.
    from ..ingest.audio import pair_audio
    from ..ingest.feeds import is_feed
    from ..ingest.files import iter_files

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
        report.files.append(FileRead(src, fmt, ep.speakers))
        ep.sources, ep.source_hashes = [src], [h]
        if src in by_source:
            replaced.add(by_source[src])
            # An edited transcript is the same episode: it keeps its id (and so the user's
            # speaker names), even when the id of a file without metadata comes from its text.
            ep.id = by_source[src]
        fresh.append(ep)

    sets, edits = sets or [], edits or {}
    raw = [str(p) for p in paths]
    feeds = [p for p in raw if is_feed(p)]
    skipped: list[tuple[Path, str]] = []
    files: list[Path] = []
    for path in iter_files((p for p in raw if p not in feeds), skipped):
        # A feed found inside a folder is read as a feed, as it is when named directly;
        # only regular files are opened to look (a FIFO would block).
        if str(path) not in raw and path.is_file() and is_feed(path):
            feeds.append(str(path))
        else:
            files.append(path)
    origins = {os.path.abspath(m.origin) for m in sets}
    for f in [f for f in files if os.path.abspath(f) in origins]:  # the --metadata file
        files.remove(f)
        skipped.append((f, "metadata"))
    playback = pair_audio(files)  # transcript -> its audio, which is then not transcribed
    paired = set(playback.values())
    files = [f for f in files if f not in paired]
    if not audio_available():
        skipped.extend((f, f"audio needs: {INSTALL_HINT}") for f in files if is_audio_file(f))
        files = [f for f in files if not is_audio_file(f)]
    report.skipped.extend(FileFailure(str(p), reason) for p, reason in skipped)
    if not files and not feeds:
        raise _nothing_to_read(raw, skipped)
    for feed in feeds:
        items, same = _read_feed(
            feed, report, strict, {**fetch, "progress": progress}, lambda s, h: (s, h) in known
        )
        unchanged.update(by_source[src] for src in same)
        for ep, src, h, fmt in items:
            add(ep, src, h, fmt)
    for n, path in enumerate(files, 1):
        if progress:
            progress("reading", n, len(files))
        found = _find_meta(path, None, sets, report)
        meta = _with_show(found, show)
        item = _read_one(path, known, report, strict, transcriber)
        if isinstance(item, str):  # unchanged content
            eid = item
            if meta is None or not _meta_differs(meta, old_eps[eid], edits.get(eid, {})):
                unchanged.add(eid)
                continue
            item = _read_one(path, {}, report, strict, transcriber)  # metadata changed: again
            if isinstance(item, tuple):
                known.pop((item[1], item[2]), None)  # so that add() takes it, keeping its id
        if not isinstance(item, tuple):
            continue
        episode, src, h, fmt = item
        if found is None and sets:
            # A feed may know the episode by the transcript's own title or guid.
            later = _find_meta(path, episode, sets, report, count=False)
            meta = _with_show(later, show) if later else meta
        if meta is not None:
            meta.apply(episode)
        if path in playback:
            episode.audio_url = episode.audio_url or str(playback[path].resolve())
        add(episode, src, h, fmt)
    if sets:
        report.metadata["records_unmatched"] = sum(m.unmatched for m in sets)
    return fresh, unchanged, replaced


def _read_one(
    path: Path,
    known: dict[tuple[str, str], str],
    report: IndexReport,
    strict: bool,
    transcriber: Transcriber,
) -> tuple[Episode, str, str, str] | str | None:
    """One source file on its own: (episode, source, hash, format), the id of its unchanged
    episode, or None when it failed (a failure of the report, naming the file printably).
    Whatever goes wrong with one file (a reader's bug, a time limit, a FIFO, a name that is
    not UTF-8) stays with that file: the run goes on and the good files land."""
    from ..ingest.files import SOURCE_SECONDS, file_problem, safe_name, time_limit

    name = safe_name(path)
    problem = file_problem(path)  # stat only: a FIFO or a device is never opened
    if problem:
        fail(report, name, problem, strict)
        return None
    audio = is_audio_file(path)
    try:
        # Transcribing an hour of audio takes minutes: the read limit is for text files.
        with nullcontext() if audio else time_limit(SOURCE_SECONDS):
            src = str(path.resolve())
            content = file_hash(path)
            h = transcriber.source_hash(content) if audio else content
            if (src, h) in known:
                return known[(src, h)]
            episode, fmt, warnings = read_source(path, transcriber, content)
    except ReaderError as e:
        fail(report, name, e.problem, strict)
    except OSError as e:
        fail(report, name, f"cannot read file: {e.strerror or e}", strict)
    except Exception as e:  # a reader's bug must not cost the other files their run
        fail(report, name, f"could not be read ({type(e).__name__}: {e})", strict)
    else:
        report.warnings.extend(FileFailure(name, w) for w in warnings)
        return episode, src, h, fmt
    return None


def _with_show(meta: EpisodeMeta | None, show: str | None) -> EpisodeMeta | None:
    """``meta`` with ``show`` as its show when it names none (``--show``)."""
    if not show or (meta is not None and meta.podcast):
        return meta
    from dataclasses import replace

    return replace(meta, podcast=show) if meta is not None else EpisodeMeta(podcast=show)


def _find_meta(
    path: Path,
    episode: Episode | None,
    sets: list[MetadataSet],
    report: IndexReport,
    count: bool = True,
) -> EpisodeMeta | None:
    """A transcript's metadata: the first set with a record for it, else its sidecar. The
    report counts matched files and, when sets were given, files without a record."""
    m = report.metadata
    for s in sets:
        meta = s.match(path, episode)
        if meta is not None:
            m["files_matched"] = m.get("files_matched", 0) + 1
            if not count:
                m["files_without_record"] -= 1
            return meta
    if episode is None:
        side = read_sidecar(path)
        if side is not None:
            m["sidecars"] = m.get("sidecars", 0) + 1
            return side
        if sets and count:
            m["files_without_record"] = m.get("files_without_record", 0) + 1
    return None


def _nothing_to_read(raw: list[str], skipped: list[tuple[Path, str]]) -> InvalidRequestError:
    """The error for paths that hold no transcript at all: what was skipped, what is read."""
    from ..ingest.readers import reader_names

    where = ", ".join(raw) or "no path"
    kinds: dict[str, int] = {}
    for _, reason in skipped:
        kinds[reason] = kinds.get(reason, 0) + 1
    seen = "; skipped " + ", ".join(f"{n} {k}" for k, n in kinds.items()) if kinds else ""
    return InvalidRequestError(
        "PATH",
        f"no transcripts in {where}{seen}. podsearch reads transcript files "
        f"({', '.join(reader_names())}) and podcast feeds: give a folder or files of those.",
    )


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
    from ..ingest.feeds import read_feed

    try:
        result = read_feed(feed, known=known, **fetch)
    except ReaderError as e:
        fail(report, feed, e.problem, strict)
        return [], []
    except Exception as e:  # as for files: one feed never stops the run
        fail(report, feed, f"could not be read ({type(e).__name__}: {e})", strict)
        return [], []
    for p in result.failures:
        fail(report, p.where, p.problem, strict)
    report.warnings.extend(FileFailure(p.where, p.problem) for p in result.warnings)
    items = [
        (fe.episode, fe.episode.sources[0], fe.source_hashes[0], _feed_format(fe.episode))
        for fe in result.episodes
    ]
    return items, result.unchanged


def _feed_format(ep: Episode) -> str:
    return "feed+" + (ep.formats[0] if ep.formats else "unknown")
