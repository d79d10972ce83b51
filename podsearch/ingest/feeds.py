"""Podcast feeds as a library source: each item's best transcript becomes an Episode.

``read_feed`` reads an RSS/Atom feed (a file path, a ``file://`` URL or an http(s) URL),
picks for every item the richest ``<podcast:transcript>`` in the preferred language (JSON over
VTT/SRT over HTML over plain text), downloads it through the cache of ``podsearch.fetch``,
parses it with the reader registry, and lays the feed's metadata over it: title, show, date,
guid, link, audio URL, people (item-level ones replace channel-level ones), episode number,
description, language and the chapters of ``<podcast:chapters>``.

Only what the feed names is fetched: the feed, transcripts and chapters. A feed read over
HTTP may name only http(s) URLs; ``file://`` URLs and relative paths are honoured only for a
local feed. Per-item problems become ``failures`` (the item was not read) or ``warnings`` (it
was read, but a better transcript or the chapters could not be), each naming the URL; a feed
that cannot be read at all raises FeedError. Nothing here prints.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from ..core.errors import FeedError, ReaderError
from ..core.models import Episode, episode_id_for
from .feed_parse import REFUSED_PREFIX, Channel, FeedItem, TranscriptLink, parse_feed
from .fetch import Fetched, FetchError, fetch, is_remote, local_path
from .files import read_head
from .metadata import MetadataSet
from .readers import ReadResult, collecting, load_text, read_text

DEFAULT_TIMEOUT = 15.0  # seconds per network operation
DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # per transcript or chapters file
FEED_MAX_BYTES = 50 * 1024 * 1024

# Richest first: JSON keeps speakers and word times, captions keep cue times.
TYPE_RANK = {
    "application/json": 4,
    "text/vtt": 3,
    "application/x-subrip": 3,
    "application/srt": 3,
    "text/srt": 3,
    "text/html": 2,
    "text/plain": 1,
}
_SUFFIX = {"application/json": ".json", "text/vtt": ".vtt", "text/html": ".html"}
_FEED_HEAD = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?[^>]*\?>\s*|<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*"
    rb"<(?:rss|feed|rdf:RDF)[\s>]",
    re.DOTALL | re.IGNORECASE,
)


@dataclass
class FeedProblem:
    where: str  # the URL (or item) concerned
    problem: str  # what went wrong, naming the episode


@dataclass
class FeedEpisode:
    episode: Episode
    source_hashes: list[str]  # one per source: changes whenever the episode would
    item: FeedItem


@dataclass
class FeedResult:
    source: str  # the feed as given: a path or a URL
    channel: Channel
    episodes: list[FeedEpisode] = field(default_factory=list)
    failures: list[FeedProblem] = field(default_factory=list)  # items not read
    warnings: list[FeedProblem] = field(default_factory=list)  # items read, with a problem
    unchanged: list[str] = field(default_factory=list)  # sources ``known`` said are indexed


def is_feed(source: str | Path) -> bool:
    """True for an http(s) URL, or a file whose content opens as an RSS or Atom feed."""
    s = str(source)
    if is_remote(s):
        return True
    try:
        path = local_path(s) if s.startswith("file:") else Path(s)
        head = read_head(path, 8192)  # a FIFO or a device is refused, never opened
    except (OSError, FetchError):
        return False
    return bool(_FEED_HEAD.match(head))


def _sha(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(8, "big") + p)
    return h.hexdigest()[:16]


def _lang_score(link: TranscriptLink, wanted: str | None) -> int:
    if not wanted or not link.language:
        return 1
    have, want = link.language.casefold(), wanted.casefold()
    if have == want:
        return 3
    return 2 if have.split("-")[0] == want.split("-")[0] else 0


def rank_transcripts(links: list[TranscriptLink], language: str | None) -> list[TranscriptLink]:
    """Transcripts best first: the wanted language, then the richest type, then feed order."""
    return sorted(links, key=lambda t: (-_lang_score(t, language), -TYPE_RANK.get(t.type, 0)))


def parse_chapters(data: bytes) -> list[tuple[float, str]]:
    """(start, title) pairs of a JSON chapters file, sorted; ValueError when malformed."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"chapters are not valid JSON: {e}") from None
    chapters = doc.get("chapters") if isinstance(doc, dict) else None
    if not isinstance(chapters, list):
        raise ValueError('chapters file has no "chapters" list')
    out = []
    for i, ch in enumerate(chapters):
        start = ch.get("startTime") if isinstance(ch, dict) else None
        if not isinstance(start, (int, float)) or isinstance(start, bool) or start < 0:
            raise ValueError(f'chapter {i} has no valid "startTime"')
        title = ch.get("title")
        if isinstance(title, str) and title.strip():
            out.append((float(start), " ".join(title.split())))
    return sorted(out, key=lambda c: c[0])


class _Reader:
    """One read of a feed: the options, and the rule for which URLs may be fetched."""

    def __init__(
        self,
        remote: bool,
        cache_dir: Path,
        timeout: float,
        max_bytes: int,
        allow_private_network: bool = False,
    ) -> None:
        self.remote, self.cache_dir = remote, cache_dir
        self.timeout, self.max_bytes = timeout, max_bytes
        self.allow_private_network = allow_private_network

    def get(self, url: str, max_bytes: int | None = None) -> Fetched:
        scheme = urlparse(url).scheme
        if self.remote and scheme not in ("http", "https"):
            raise FetchError(f"refused: a feed read over HTTP may only name http(s) URLs ({url})")
        if url.startswith(REFUSED_PREFIX):
            raise FetchError(
                "refused: a local feed may name transcripts by relative path, not by file:// "
                f"URL ({url.removeprefix(REFUSED_PREFIX)})"
            )
        return fetch(
            url,
            cache_dir=self.cache_dir,
            timeout=self.timeout,
            max_bytes=max_bytes or self.max_bytes,
            allow_private_network=self.allow_private_network,
        )

    def parse(self, link: TranscriptLink, fetched: Fetched) -> ReadResult:
        name = Path(urlparse(link.url).path).name or "transcript"
        if not Path(name).suffix and link.type in _SUFFIX:
            name += _SUFFIX[link.type]
        with collecting():  # the decoding warnings join the reader's
            return read_text(load_text(fetched.path), name)


def _source(url: str) -> str:
    """How an episode names its transcript: the local path for file URLs, else the URL."""
    return str(local_path(url)) if urlparse(url).scheme == "file" else url


def _fingerprint(item: FeedItem, channel: Channel, link: TranscriptLink) -> bytes:
    """The metadata an episode takes from the feed (not the item's position, which shifts)."""
    fields = {k: v for k, v in item.__dict__.items() if k not in ("position", "transcripts")}
    meta = {
        "item": fields | {"people": [p.__dict__ for p in item.people]},
        "channel": [channel.title, channel.language, [p.__dict__ for p in channel.people]],
        "transcript": link.__dict__,
    }
    return json.dumps(meta, sort_keys=True, default=str).encode("utf-8")


def _apply(ep: Episode, item: FeedItem, channel: Channel, link: TranscriptLink) -> None:
    """Lay the feed's metadata over the transcript's own; the id comes from the guid."""
    ep.title = item.title or ep.title
    ep.podcast = channel.title or ep.podcast
    ep.published = item.published or ep.published
    ep.url = item.url or ep.url
    ep.audio_url = item.audio_url or ep.audio_url
    ep.description = item.description or ep.description
    ep.guid = item.guid or ep.guid
    if item.episode_number is not None:
        ep.episode_number = item.episode_number
    ep.language = link.language or channel.language or ep.language
    ep.people = list(item.people or channel.people or ep.people)
    ep.id = episode_id_for(
        guid=ep.guid,
        podcast=ep.podcast,
        title=ep.title,
        published=ep.published,
        content=" ".join(t.text for t in ep.turns),
    )


def _read_item(
    reader: _Reader,
    item: FeedItem,
    channel: Channel,
    result: FeedResult,
    known: Callable[[str, str], bool] | None = None,
) -> None:
    links = rank_transcripts(item.transcripts, channel.language)
    if not links:
        result.failures.append(FeedProblem(item.url or item.label, f"{item.label}: no transcript"))
        return
    # Chapters first: they are part of the episode's hash, which decides whether the
    # transcript needs parsing at all.
    chapters_data = b""
    chapters: list[tuple[float, str]] = []
    chapters_problem = None
    if item.chapters_url:
        try:
            chapters_data = reader.get(item.chapters_url).data
            chapters = parse_chapters(chapters_data)
        except (FetchError, ValueError) as e:
            message = f"{item.label}: chapters not attached: {e}"
            chapters_problem = FeedProblem(item.chapters_url, message)
    tried: list[tuple[str, str]] = []  # (url, problem) of transcripts that failed
    for link in links:
        try:
            fetched = reader.get(link.url)
            digest = _sha(fetched.data, chapters_data, _fingerprint(item, channel, link))
            if known is not None and known(_source(link.url), digest):
                result.unchanged.append(_source(link.url))
                return
            read = reader.parse(link, fetched)
            ep = read.episode
            break
        except (FetchError, ReaderError) as e:
            tried.append((link.url, e.problem if isinstance(e, ReaderError) else str(e)))
    else:
        (url, problem), *rest = tried
        also = "".join(f"; {u} also failed: {p}" for u, p in rest)
        result.failures.append(FeedProblem(url, f"{item.label}: {problem}{also}"))
        return
    for url, problem in tried:
        message = f"{item.label}: {problem}; used {link.url} instead"
        result.warnings.append(FeedProblem(url, message))
    if chapters_problem:
        result.warnings.append(chapters_problem)
    result.warnings.extend(FeedProblem(link.url, f"{item.label}: {w}") for w in read.warnings)
    ep.chapters = chapters
    _apply(ep, item, channel, link)
    ep.sources = [_source(link.url)]
    ep.source_hashes = [digest]
    result.episodes.append(FeedEpisode(ep, [digest], item))


def read_feed(
    source: str | Path,
    *,
    cache_dir: Path,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    feed_max_bytes: int = FEED_MAX_BYTES,
    known: Callable[[str, str], bool] | None = None,
    allow_private_network: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> FeedResult:
    """Read the feed and every item's transcript; FeedError when the feed itself is unusable.

    ``known(source, hash)``: true when that transcript is already indexed in this version;
    such items are listed in ``unchanged`` without being parsed. ``allow_private_network``:
    let the feed and what it names be fetched from loopback and private addresses.
    ``progress(stage, done, total)`` is told of each item read."""
    where = str(source)
    remote = is_remote(where)
    is_url = remote or where.startswith("file:")
    feed_url = where if is_url else Path(where).resolve().as_uri()
    reader = _Reader(remote, Path(cache_dir), timeout, max_bytes, allow_private_network)
    try:
        data = reader.get(feed_url, feed_max_bytes).data
    except FetchError as e:
        raise FeedError(where, f"cannot read the feed: {e}") from None
    channel = parse_feed(data, where, feed_url)
    result = FeedResult(where, channel)
    seen: dict[str, FeedItem] = {}
    for n, item in enumerate(channel.items, 1):
        if progress:
            progress("downloading", n, len(channel.items))
        if item.guid and item.guid in seen:
            problem = f"{item.label}: duplicate guid {item.guid!r} (first used by item "
            result.failures.append(FeedProblem(where, f"{problem}{seen[item.guid].position})"))
            continue
        if item.guid:
            seen[item.guid] = item
        _read_item(reader, item, channel, result, known)
    return result


def feed_metadata(
    source: str | Path,
    *,
    cache_dir: Path,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = FEED_MAX_BYTES,
) -> MetadataSet:
    """A feed's items as metadata for local transcripts (``--feed``): matched by enclosure
    file name, GUID or title. Only the feed itself is fetched."""
    where = str(source)
    remote = is_remote(where)
    feed_url = where if remote or where.startswith("file:") else Path(where).resolve().as_uri()
    try:
        data = _Reader(remote, Path(cache_dir), timeout, max_bytes).get(feed_url, max_bytes).data
    except FetchError as e:
        raise FeedError(where, f"cannot read the feed: {e}") from None
    return MetadataSet.from_feed(parse_feed(data, where, feed_url), where)
