"""Parse an RSS 2.0 / RSS 1.0 / Atom podcast feed with its Podcasting 2.0 and iTunes tags.

ElementTree is used rather than feedparser: feedparser keeps only the last of several
``<podcast:transcript>`` elements of an item and drops the text (the name) of
``<podcast:person>``, which are exactly what podsearch needs. URLs in the feed are resolved
against the feed's own URL; nothing is downloaded here.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin

from bs4 import BeautifulSoup

from ..core.errors import FeedError
from ..core.models import Person
from .readers._common import normalize_date
from .readers._xml import attr, local_name, namespace, parse_xml

ATOM = "http://www.w3.org/2005/Atom"
_CORE = {"", ATOM, "http://purl.org/rss/1.0/"}
_FEED_ROOTS = {"rss", "feed", "RDF"}
REFUSED_PREFIX = "refused-file-url:"  # a file:// URL named by a local feed


@dataclass
class TranscriptLink:
    url: str  # resolved against the feed URL
    type: str  # MIME type, lower-case, without parameters
    language: str | None = None
    rel: str | None = None


@dataclass
class FeedItem:
    position: int  # 1-based position in the feed, for messages
    title: str | None = None
    guid: str | None = None
    published: str | None = None  # ISO date
    url: str | None = None
    audio_url: str | None = None
    description: str | None = None
    episode_number: int | None = None
    season: int | None = None
    people: list[Person] = field(default_factory=list)
    transcripts: list[TranscriptLink] = field(default_factory=list)
    chapters_url: str | None = None

    @property
    def label(self) -> str:
        """How messages name the item: its title, else its guid, else its position."""
        if self.title:
            return f'episode "{self.title}"'
        return f"item {self.guid}" if self.guid else f"item {self.position}"


@dataclass
class Channel:
    title: str | None = None
    url: str | None = None
    language: str | None = None
    description: str | None = None
    people: list[Person] = field(default_factory=list)
    items: list[FeedItem] = field(default_factory=list)


def _is_podcast_ns(ns: str) -> bool:
    return "podcastindex" in ns or "podcast-namespace" in ns


def _is_itunes_ns(ns: str) -> bool:
    return "itunes.com/dtds" in ns.casefold()


def _kids(el: ET.Element, name: str, ns_test: object = None) -> Iterator[ET.Element]:
    """Children with this local name: core RSS/Atom ones, or those whose namespace passes."""
    for child in el:
        if local_name(child.tag) != name:
            continue
        ns = namespace(child.tag)
        if (ns in _CORE) if ns_test is None else ns_test(ns):  # type: ignore[operator]
            yield child


def _text(el: ET.Element, name: str, ns_test: object = None) -> str | None:
    for child in _kids(el, name, ns_test):
        value = " ".join("".join(child.itertext()).split())
        if value:
            return value
    return None


def _plain(html: str | None) -> str | None:
    """Description text without HTML markup."""
    if not html:
        return None
    if "<" in html:
        html = BeautifulSoup(html, "html.parser").get_text(" ")
    return " ".join(html.split()) or None


def _int(value: str | None) -> int | None:
    m = re.fullmatch(r"\s*(\d{1,6})(?:\.0+)?\s*", value or "")
    return int(m.group(1)) if m else None


def _people(el: ET.Element) -> list[Person]:
    people = []
    for p in _kids(el, "person", _is_podcast_ns):
        name = " ".join("".join(p.itertext()).split())
        if name:
            people.append(Person(name, (p.get("role") or "host").strip().casefold()))
    return people


def _atom_link(el: ET.Element, rel: str) -> str | None:
    for link in _kids(el, "link"):
        if (link.get("rel") or "alternate") == rel and link.get("href"):
            return link.get("href")
    return None


def _item(el: ET.Element, position: int, base: str) -> FeedItem:
    def url(value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        if base.startswith("file:") and value.strip().lower().startswith("file:"):
            # A local feed may name files by relative path, never by file:// URL (which
            # could point anywhere on the machine): marked here, refused when fetched.
            return REFUSED_PREFIX + value.strip()
        return urljoin(base, value.strip())

    item = FeedItem(position)
    item.title = _text(el, "title") or _text(el, "title", _is_itunes_ns)
    item.guid = _text(el, "guid") or _text(el, "id")
    date = _text(el, "pubDate") or _text(el, "published") or _text(el, "updated")
    date = date or _text(el, "date", lambda ns: "purl.org/dc" in ns)
    item.published = normalize_date(date)
    link = _text(el, "link") if namespace(el.tag) != ATOM else _atom_link(el, "alternate")
    item.url = url(link)
    enclosure = next(_kids(el, "enclosure"), None)
    audio = enclosure.get("url") if enclosure is not None else _atom_link(el, "enclosure")
    item.audio_url = url(audio)
    item.description = _plain(
        _text(el, "description")
        or _text(el, "summary")
        or _text(el, "summary", _is_itunes_ns)
        or _text(el, "encoded", lambda ns: "purl.org/rss/1.0/modules/content" in ns)
        or _text(el, "content")
    )
    item.episode_number = _int(_text(el, "episode", _is_itunes_ns)) or _int(
        _text(el, "episode", _is_podcast_ns)
    )
    item.season = _int(_text(el, "season", _is_itunes_ns)) or _int(
        _text(el, "season", _is_podcast_ns)
    )
    item.people = _people(el)
    for t in _kids(el, "transcript", _is_podcast_ns):
        href = url(t.get("url"))
        if href:
            mime = (t.get("type") or "").split(";")[0].strip().casefold()
            lang = (t.get("language") or "").strip() or None
            item.transcripts.append(TranscriptLink(href, mime, lang, t.get("rel")))
    chapters = next(_kids(el, "chapters", _is_podcast_ns), None)
    if chapters is not None:
        item.chapters_url = url(chapters.get("url"))
    return item


def parse_feed(data: bytes, where: str, base_url: str) -> Channel:
    """The channel and its items, or FeedError naming the feed (``where``) and the problem."""
    try:
        root = parse_xml(data)
    except ValueError as e:
        raise FeedError(where, f"malformed feed: {e}") from None
    kind = local_name(root.tag)
    if kind not in _FEED_ROOTS or (kind == "feed" and namespace(root.tag) != ATOM):
        raise FeedError(where, f"not an RSS or Atom feed: the root element is <{kind}>")
    if kind == "feed":
        head, entries = root, list(_kids(root, "entry"))
    else:
        head = next(_kids(root, "channel"), None)  # type: ignore[arg-type]
        if head is None:
            raise FeedError(where, "malformed feed: the RSS has no <channel>")
        entries = list(_kids(head, "item")) + list(_kids(root, "item"))  # RSS 2.0 / RSS 1.0
    base = urljoin(base_url, attr(head, "base") or "")  # xml:base, when given
    channel = Channel(
        title=_text(head, "title") or _text(head, "title", _is_itunes_ns),
        url=_text(head, "link") if kind != "feed" else _atom_link(head, "alternate"),
        language=_text(head, "language") or root.get("{http://www.w3.org/XML/1998/namespace}lang"),
        description=_plain(_text(head, "description") or _text(head, "subtitle")),
        people=_people(head),
    )
    channel.items = [_item(el, n, base) for n, el in enumerate(entries, 1)]
    return channel
