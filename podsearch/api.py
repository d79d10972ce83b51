"""The public Python API: ``Library``, one podcast library (an index directory) and everything
that can be done with it. The command line, the HTTP server and any program use it alike::

    from podsearch import Library

    lib = Library("indexes/mine")
    lib.index(["~/transcripts", "https://example.com/feed.rss"])
    result = lib.ask("what did Amit say about cricket", top=5)
    for hit in result.hits:
        print(hit.speaker, hit.start, hit.text)
    print(lib.cite([result.hits[0].passage_id], style="apa")[0].reference)

Nothing here prints. Heavy modules load inside the methods that need them, so that
``import podsearch`` and a one-question process stay fast.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core.errors import IndexFormatError
from .query.types import AskRequest, AskResult, Filters, Hit
from .store.layout import index_exists, is_own_link, resolve_index_dir
from .store.location import (
    SAMPLE,
    USER,
    Location,
    check_readable,
    check_writable,
    resolve_location,
    sample_location,
)

if TYPE_CHECKING:
    from .cite.styles import StyledCitation
    from .embed.base import Embedder
    from .pipeline.report import IndexReport, Progress
    from .query.similar import SimilarResult
    from .store.index import Index

__all__ = ["AskRequest", "AskResult", "Filters", "Hit", "Library"]

OnWait = Callable[[str], None]
# What a damaged generation raises while answering (beyond IndexFormatError): checked with a
# full verification before the previous generation answers instead.
DAMAGE_SIGNS: tuple[type[Exception], ...] = (
    IndexFormatError,
    OSError,
    ValueError,
    IndexError,
    KeyError,
    RuntimeError,
    UnicodeDecodeError,
)


class Library:
    """A podcast library: the index at ``path`` (default: ``$PODSEARCH_INDEX``, else
    ``./indexes/default`` when it exists, else the per-user data directory; see
    ``store.location``). ``location`` says which rule chose the path and why.

    ``embedder``: embed passages and questions with this object instead of the index's model
    (tests, custom backends; see ``embed.factory.register_backend`` for a named one).
    ``long_lived``: for servers; the index's tables, vectors and query model are loaded into
    memory once and reloaded when a write swaps in a new generation.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        embedder: Embedder | None = None,
        long_lived: bool = False,
    ) -> None:
        self.location: Location = resolve_location(path)
        self.path = self.location.path
        self.embedder = embedder
        self.long_lived = long_lived
        self._index: Index | None = None
        self._query_embedder: Embedder | None = embedder
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Library({str(self.path)!r})"

    @property
    def exists(self) -> bool:
        """Whether an index has been built at ``path`` (damaged or not: a generation whose
        manifest is gone still counts, so that nothing is built over it)."""
        return index_exists(self.path) or is_own_link(resolve_index_dir(self.path))

    @property
    def is_sample(self) -> bool:
        """Whether this is the bundled sample library, standing in for a library that does
        not exist yet (see ``find``)."""
        return self.location.rule == SAMPLE

    @classmethod
    def find(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        embedder: Embedder | None = None,
        long_lived: bool = False,
    ) -> Library:
        """The library a reading command works on: the one at ``path``, else the one the
        location rules find (``store.location``). When no path was given and no library
        exists at all, the bundled sample library (``is_sample``; it may still need
        ``install_sample()``). A path the user named that holds no library raises
        InvalidRequestError naming the path and the command that creates it: nothing is
        substituted for it, and nothing is created."""
        location = resolve_location(path)
        if location.rule == USER and not index_exists(location.path):
            location = sample_location()
        elif location.rule != USER:
            check_readable(location)
        lib = cls(location.path, embedder=embedder, long_lived=long_lived)
        lib.location = location
        return lib

    @classmethod
    def find_sample(cls, *, embedder: Embedder | None = None) -> Library:
        """The bundled sample library's own folder (installed or not)."""
        lib = cls(sample_location().path, embedder=embedder)
        lib.location = sample_location()
        return lib

    # ------------------------------------------------------------------ reading

    def open(self) -> Index:
        """The index's current generation; a new one is opened when a write has swapped it
        in since. Raises IndexNotFoundError when there is no index."""
        with self._lock:
            if self._index is not None and self.is_current():
                return self._index
            from .core.errors import IndexFormatError
            from .store.index import Index

            try:
                index = Index(self.path)
            except IndexFormatError as e:
                index = self._fallback(e, None)
            if self.long_lived:
                self._warm(index)
            self._index = index
            return index

    def is_current(self) -> bool:
        """Whether the generation open is the index's current one: ``open`` then returns at
        once (False before the first ``open``)."""
        current = self._index
        if current is None:
            return False
        try:
            return self.path.resolve() == current.root
        except OSError:
            return True  # the folder went away: keep answering from what is open

    def _warm(self, index: Index) -> None:
        """Load everything a question reads, and answer one, so the first real one is fast."""
        from .embed.factory import load_query_embedder
        from .query.rank import search

        index.preload()
        if self.embedder is None:
            self._query_embedder = load_query_embedder(index.model, long_lived=True)
        search(index, "warm up", top=1, embedder=self._query_embedder)

    def prefetch(self, model: str | None = None) -> None:
        """Start loading the index's query model in the background, so that it is ready when
        the question is (a one-question process). Does nothing unless the model's ONNX
        export exists; ``ask`` reports any real problem itself."""
        from .core.errors import PodsearchError
        from .embed.factory import has_export, load_query_embedder
        from .embed.names import canonical_model_name
        from .store.index import Index

        if self.embedder is not None or not self.exists:
            return
        try:
            name = Index(self.path).model
        except (PodsearchError, KeyError):
            return
        if model and canonical_model_name(model) != name:
            return  # ask will refuse the model with a proper message
        if has_export(name):
            load_query_embedder(name)

    def ask(
        self,
        question: str | AskRequest,
        *,
        top: int = 10,
        mode: str = "hybrid",
        speaker: str | Sequence[str] | None = None,
        podcast: str | None = None,
        episode: str | None = None,
        since: str | None = None,
        until: str | None = None,
        include_undated: bool = False,
        include_boilerplate: bool = False,
        context: int = 0,
        group: str | None = None,
        cite: str | None = None,
        model: str | None = None,
        rerank: bool | None = None,
    ) -> AskResult:
        """Answer a question with quotes, best first.

        ``question`` is the question's text (the keyword arguments say how to answer it) or
        a whole ``AskRequest``. Filters: ``speaker`` (one name or several), ``podcast``,
        ``episode`` (id, title words or file name), ``since``/``until`` (YYYY-MM-DD and other
        common forms; ``include_undated`` keeps episodes without a date);
        ``include_boilerplate`` ranks a show's repeated intros, outros and sponsor reads like
        other text (by default they rank lower).
        ``mode``: hybrid, semantic or lexical; ``context``: turns before and after each hit;
        ``group="episode"``: each episode's hits together; ``cite``: a citation style for
        every hit; ``rerank``: the first hits ranked again by a cross-encoder (more answers
        first, ~1-2 s more): None (the default) when the best match is unsure, True every
        time (ModelLoadError when the model is not installed), False never.
        Raises InvalidRequestError for a bad option."""
        if isinstance(question, AskRequest):
            request = question
        else:
            speakers = [speaker] if isinstance(speaker, str) else list(speaker or [])
            request = AskRequest(
                question=question,
                filters=Filters(
                    tuple(speakers),
                    podcast,
                    episode,
                    since,
                    until,
                    include_undated,
                    include_boilerplate=include_boilerplate,
                ),
                top=top,
                mode=mode,
                context=context,
                group=group,
                cite=cite,
                model=model,
                rerank=rerank,
            )
        from .query.service import ask

        index = self.open()
        try:
            return ask(index, request, embedder=self._query_embedder)
        except BaseException as e:
            # tantivy reports a corrupt file with a Rust panic, a BaseException.
            if not isinstance(e, DAMAGE_SIGNS) and type(e).__name__ != "PanicException":
                raise
            previous = self._fallback(e, index)  # re-raises when the index is not damaged
            return ask(previous, request, embedder=self._query_embedder)

    def _fallback(self, error: BaseException, index: Index | None) -> Index:
        """The previous good generation, when ``error`` came from a damaged current one
        (a ``DamagedIndexNotice`` says so, naming the damaged file); else ``error`` again."""
        import warnings

        from .core.errors import DamagedIndexNotice, IndexFormatError
        from .store.index import Index
        from .store.recovery import current_generation, previous_good
        from .store.verify import verify_generation

        current = index.root if index is not None else current_generation(self.path)
        message = str(error)
        if not isinstance(error, IndexFormatError):
            # Not obviously damage (a tantivy or numpy error): only a failed check says so.
            report = verify_generation(current) if current is not None else None
            if report is None or report.ok:
                raise error
            message = f"index {self.path} is damaged: {report.damage[0]}"
        previous = previous_good(self.path, current)
        if previous is None:
            raise error
        warnings.warn(
            DamagedIndexNotice(
                f"{message.split('; ')[0]}; answering from the previous generation "
                f"{previous.name} ('podsearch rollback' makes it current)"
            ),
            stacklevel=3,
        )
        return Index(previous)

    def cite(self, passage_ids: str | Sequence[str], style: str = "apa") -> list[StyledCitation]:
        """Citations of passages (ids or unique id prefixes, as hits show them) in a CSL
        style: apa, mla, chicago or any CSL style name. Each has ``in_text``, ``reference``
        and the ``quote``."""
        from .cite.items import citables_from_index
        from .cite.styles import render_style, resolve_style

        resolve_style(style)
        ids = [passage_ids] if isinstance(passage_ids, str) else list(passage_ids)
        return render_style(citables_from_index(self.open(), ids), style)

    def export(self, passage_ids: str | Sequence[str], format: str, style: str = "apa") -> str:
        """Passages as a citation file: bibtex, biblatex, ris, csl-json, markdown, json or
        csv (``style`` styles the json and csv columns)."""
        from .cite.formats import check_format, export
        from .cite.items import citables_from_index
        from .cite.styles import resolve_style

        fmt = check_format(format)
        if fmt in ("json", "csv"):
            resolve_style(style)
        ids = [passage_ids] if isinstance(passage_ids, str) else list(passage_ids)
        return export(citables_from_index(self.open(), ids), fmt, style)

    def edit_episode(
        self,
        episode: str,
        *,
        title: str | None = None,
        date: str | None = None,
        show: str | None = None,
        url: str | None = None,
        wait: bool = True,
        on_wait: OnWait | None = None,
    ) -> dict[str, Any]:
        """Fix an episode's title, date, show or URL; kept beside the index and applied again
        by every re-index and rebuild. An empty string drops a fix (the next ``index`` of the
        episode's files takes the value from them and their metadata again)."""
        from .pipeline.manage import edit_episode

        changes = {"title": title, "published": date, "podcast": show, "url": url}
        return edit_episode(self.path, episode, changes, wait=wait, on_wait=on_wait)

    def episodes(self) -> list[dict[str, Any]]:
        """Every episode, oldest first (id, title, show, date, passages, sources, ...)."""
        from .query.catalog import list_episodes

        return list_episodes(self.open())

    def speakers(self) -> list[dict[str, Any]]:
        """Every speaker, most turns first (name, aliases, counts, a sample line)."""
        from .query.catalog import list_speakers

        return list_speakers(self.open())

    def similar(self, wanted: str, *, top: int = 10) -> SimilarResult:
        """More like this, from the stored vectors (nothing is embedded): passages like the
        passage ``wanted`` (a hit's id or unique prefix), or episodes like the episode
        ``wanted`` (an id, prefix or source file name)."""
        from .query.similar import similar

        return similar(self.open(), wanted, top=top)

    def episode(self, wanted: str) -> dict[str, Any]:
        """One episode in full: metadata, turns with speakers and times, and ``audio`` (its
        URL, ``"local"`` when a file of the library can be played, or None)."""
        from .query.episode import episode_detail

        return episode_detail(self.open(), wanted)

    def audio(self, episode_id: str) -> str | Path | None:
        """Where an episode (exact id) can be heard: its audio URL (http or https), else its
        local audio file (only files that belong to the library: its audio path, an audio
        source, or audio beside a source), else None."""
        from .query.episode import local_audio, remote_audio

        row = self.open().episode_rows().get(episode_id)
        if row is None:
            return None
        return remote_audio(row) or local_audio(row)

    def status(self) -> dict[str, Any]:
        """Model, counts, size, vector index, build time, sources changed since, and the
        ``location`` (path, rule, reason: why this library was used)."""
        from .query.catalog import index_status

        return {**index_status(self.open()), "location": self.location.as_dict()}

    def verify(self) -> dict[str, Any]:
        """Check every byte of the current generation against its manifest's checksums, and
        the invariants between its files (row counts, dimension, ids). Returns the report
        (``ok``, ``damage``: file and problem) and ``previous_good``: the generation
        ``rollback`` would return to when this one is damaged."""
        from .store.recovery import verify_index

        report, previous = verify_index(self.path)
        return {**report.as_dict(), "previous_good": previous.name if previous else None}

    # ------------------------------------------------------------------ writing

    def rollback(self, *, wait: bool = True, on_wait: OnWait | None = None) -> dict[str, Any]:
        """Make the newest earlier generation that verifies the current one (after a damaged
        write, or to undo the last change). Returns ``from`` and ``to`` generation names."""
        from .store.layout import writer_lock
        from .store.writer import rollback

        with writer_lock(self.path, wait=wait, on_wait=on_wait):
            left, now = rollback(self.path)
        return {"from": left.name, "to": now.name, "path": str(now)}

    def index(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        model: str | None = None,
        strict: bool = False,
        prune: bool = False,
        precision: str | None = None,
        device: str | None = None,
        timeout: float = 15.0,
        max_bytes: int = 20_000_000,
        allow_private_network: bool = False,
        progress: Progress | None = None,
        wait: bool = True,
        on_wait: OnWait | None = None,
        metadata: str | os.PathLike[str] | None = None,
        metadata_key: str | None = None,
        feeds: Iterable[str] = (),
        show: str | None = None,
        transcribe: bool = False,
        asr_model: str | None = None,
        engine: str = "local",
        ray_address: str | None = None,
    ) -> IndexReport:
        """Add transcripts, audio files, folders and feeds (files or URLs); unchanged sources
        are skipped and nothing already embedded is embedded again. Unreadable files are
        listed in the report (``strict``: the first one raises), files that are not
        transcripts (README, images, ...) as skipped. ``prune`` drops episodes whose files
        are gone. ``model`` and ``precision`` are pinned by the first build. Feeds:
        ``timeout`` per network operation (a download ends within 6 of them), ``max_bytes``
        per file; ``allow_private_network`` lets them reach loopback and private addresses,
        which are refused by default.

        Metadata for local files: ``metadata`` (a JSON, JSON Lines or CSV file, matched by
        a file field or the ``metadata_key`` template such as ``"E{epnum}.mp3.vtt"``),
        ``feeds`` (feeds whose items are matched by enclosure file name, GUID or title),
        and sidecars (``NAME.json``, ``NAME.meta.json``) found on their own. ``show``: the
        show of files whose transcript and metadata name none.

        Audio files are transcribed (the ``audio`` extra) with ``asr_model`` (a faster-whisper
        model name or CTranslate2 folder; default the bundled ``tiny.en``) on ``device``;
        ``transcribe`` also downloads and transcribes feed items that have only audio.

        ``engine``: "local" (this process), or "ray" to chunk and embed on Ray (the ``ray``
        extra): a local Ray instance, or the cluster at ``ray_address`` (or ``$RAY_ADDRESS``);
        the index is the same either way."""
        from .ingest.audio import DEFAULT_ASR_MODEL, AsrOptions
        from .pipeline.build import index_paths

        check_writable(self.path)
        asr = AsrOptions(asr_model or DEFAULT_ASR_MODEL, device or "auto", transcribe)
        return index_paths(
            [os.path.expanduser(str(p)) for p in paths],
            self.path,
            model=model,
            embedder=self.embedder,
            strict=strict,
            progress=progress,
            device=device,
            precision=precision,
            prune=prune,
            wait=wait,
            on_wait=on_wait,
            fetch={
                "timeout": timeout,
                "max_bytes": max_bytes,
                "allow_private_network": allow_private_network,
            },
            metadata=os.path.expanduser(str(metadata)) if metadata is not None else None,
            metadata_key=metadata_key,
            meta_feeds=list(feeds),
            show=show,
            asr=asr,
            engine=engine,
            ray_address=ray_address,
        )

    def transcript(self, episode: str, format: str = "vtt") -> str:
        """One episode's transcript (id, unique prefix or source file name) as ``vtt``,
        ``srt`` or ``json``: what was indexed, e.g. an audio file's transcription."""
        from .ingest.writers import write_transcript
        from .pipeline.rows import stored_episodes
        from .store.index import resolve_episode_id

        index = self.open()
        eid = resolve_episode_id(index.episode_rows(), episode)
        return write_transcript(stored_episodes(index, [eid])[0], format)

    def install_sample(self, progress: Progress | None = None, *, wait: bool = True) -> IndexReport:
        """Index the bundled sample library (two transcripts of one real episode) into this
        library; unchanged sample files are not indexed again."""
        from .ingest.files import sample_paths

        return self.index(sample_paths(), progress=progress, wait=wait)

    def rebuild(
        self,
        *,
        model: str | None = None,
        vector_index: str | None = None,
        min_words: int | None = None,
        max_words: int | None = None,
        precision: str | None = None,
        device: str | None = None,
        progress: Progress | None = None,
        wait: bool = True,
        on_wait: OnWait | None = None,
    ) -> IndexReport:
        """Rebuild every episode into a new generation: re-chunked, speaker names applied
        again, re-embedded only for another ``model`` or ``precision``. ``vector_index``:
        flat, hnsw, ivf, or auto (follow the library's size)."""
        from .pipeline.manage import rebuild_index

        return rebuild_index(
            self.path,
            model=model,
            vector_index=vector_index,
            embedder=self.embedder,
            progress=progress,
            min_words=min_words,
            max_words=max_words,
            device=device,
            precision=precision,
            wait=wait,
            on_wait=on_wait,
        )

    def remove(
        self, episodes: Iterable[str], *, wait: bool = True, on_wait: OnWait | None = None
    ) -> IndexReport:
        """Drop episodes (ids, unique prefixes or source file names); files are untouched."""
        from .pipeline.manage import remove_episodes

        return remove_episodes(self.path, list(episodes), wait=wait, on_wait=on_wait)

    def rename_speaker(
        self,
        episode: str,
        label: str,
        name: str,
        *,
        wait: bool = True,
        on_wait: OnWait | None = None,
    ) -> dict[str, Any]:
        """Name a speaker label of one episode ("Guest 1" -> "Gideon Haigh"); kept across
        re-indexing and rebuilds."""
        from .pipeline.manage import rename_speaker

        return rename_speaker(self.path, episode, label, name, wait=wait, on_wait=on_wait)

    def alias_speaker(
        self, name: str, alias: str, *, wait: bool = True, on_wait: OnWait | None = None
    ) -> dict[str, Any]:
        """Record that ``alias`` designates ``name``, in every episode and in questions."""
        from .pipeline.manage import alias_speaker

        return alias_speaker(self.path, name, alias, wait=wait, on_wait=on_wait)
