"""Citable passages: what a quote needs to be cited, its CSL-JSON item and BibTeX key.

Rendering through CSL styles lives in ``citation_styles``; file formats (BibTeX, RIS,
Markdown, ...) in ``citation_formats``. Nothing here prints.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.errors import PassageNotFoundError
from ..core.models import EXACT, LIKELY, UNTIMED
from ..core.text import format_timestamp
from ..speakers.labels import is_anonymous_label

if TYPE_CHECKING:
    from ..store.index import Index

GENRE = "Audio podcast episode"
HOST_ROLES = {"host", "co-host", "cohost"}
GUEST_ROLES = {"guest"}
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "le", "la",
              "dos", "das", "ter", "ten", "zu"}  # fmt: skip
_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}
_KEY_STOP_WORDS = {"a", "an", "the", "on", "of", "and", "in", "to", "with", "for", "at", "by"}
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


@dataclass(frozen=True)
class Citable:
    """One passage with the metadata of its episode, as much as is known."""

    passage_id: str
    quote: str
    speaker: str | None = None
    start: float | None = None
    end: float | None = None
    time_precision: str = UNTIMED
    episode_id: str | None = None
    episode_title: str | None = None
    podcast: str | None = None
    published: str | None = None  # ISO date, YYYY[-MM[-DD]]
    url: str | None = None  # the episode's page
    audio_url: str | None = None
    episode_number: int | None = None
    hosts: tuple[str, ...] = ()
    guests: tuple[str, ...] = ()
    language: str | None = None
    source: str | None = None  # the transcript's file name, to find an untitled episode

    @property
    def timed(self) -> bool:
        return self.start is not None

    @property
    def approximate(self) -> bool:
        """True when the time was interpolated or estimated rather than read from a cue."""
        return self.timed and self.time_precision != EXACT

    @property
    def timestamp(self) -> str:
        """m:ss or h:mm:ss; empty when untimed."""
        return format_timestamp(self.start)

    @property
    def speaker_name(self) -> str | None:
        """The speaker when it names a person (not "SPEAKER_2" or empty)."""
        return person_name(self.speaker)

    @property
    def date_parts(self) -> list[int]:
        """[year, month, day] as far as the published date goes; empty when unknown."""
        m = _DATE.match(self.published or "")
        if not m:
            return []
        parts = [int(g) for g in m.groups() if g]
        if len(parts) > 1 and not 1 <= parts[1] <= 12:
            return parts[:1]
        return parts

    @property
    def year(self) -> int | None:
        parts = self.date_parts
        return parts[0] if parts else None

    @property
    def date_text(self) -> str:
        """The date as "May 22, 2026", "May 2026" or "2026"; empty when unknown."""
        parts = self.date_parts
        if len(parts) == 3:
            return f"{_MONTHS[parts[1] - 1]} {parts[2]}, {parts[0]}"
        if len(parts) == 2:
            return f"{_MONTHS[parts[1] - 1]} {parts[0]}"
        return str(parts[0]) if parts else ""

    @property
    def link(self) -> str | None:
        """The episode page, else the audio file."""
        return self.url or self.audio_url

    @property
    def deep_link(self) -> str | None:
        """A link that starts playback at the passage, or the plain link when untimed."""
        base = self.audio_url or self.url
        if not base or not self.timed:
            return base
        seconds = int(self.start or 0)
        if re.search(r"(youtube\.com/watch|youtu\.be/)", base):
            return f"{base}{'&' if '?' in base else '?'}t={seconds}s"
        return f"{base.split('#', 1)[0]}#t={seconds}"

    @property
    def authors(self) -> list[str]:
        """APA's rule for podcast episodes: the hosts; else the person quoted."""
        if self.hosts:
            return list(self.hosts)
        return [self.speaker_name] if self.speaker_name else []


def person_name(name: str | None) -> str | None:
    """The name stripped, or None for empty names and diarization labels."""
    name = " ".join((name or "").split())
    if not name or not name.strip() or is_anonymous_label(name):
        return None
    return name


def csl_name(name: str) -> dict[str, str]:
    """A CSL name object: family/given with particles and suffix, or a literal."""
    parts = name.split()
    suffix = None
    if len(parts) > 2 and parts[-1].lower().rstrip(",") in _SUFFIXES:
        suffix = parts.pop()
        parts[-1] = parts[-1].rstrip(",")
    if len(parts) < 2:
        return {"literal": name}
    i = len(parts) - 1
    while i > 1 and parts[i - 1].lower() in _PARTICLES:
        i -= 1
    out = {"family": parts[-1], "given": " ".join(parts[:i])}
    if i < len(parts) - 1:
        out["non-dropping-particle"] = " ".join(parts[i:-1])
    if suffix:
        out["suffix"] = suffix
    return out


def _ascii_word(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", text.encode("ascii", "ignore").decode().lower())


def base_key(c: Citable) -> str:
    """surname + year + first significant title word, e.g. ``delangue2026hugging``."""
    authors = c.authors
    if authors:
        name = csl_name(authors[0])
        who = name.get("family") or name.get("literal") or ""
    else:
        who = next((w for w in (c.podcast or "").split() if w.lower() not in _KEY_STOP_WORDS), "")
    words = [w for w in re.split(r"[\s:|/-]+", c.episode_title or "") if _ascii_word(w)]
    what = next((w for w in words if _ascii_word(w) not in _KEY_STOP_WORDS), "episode")
    key = f"{_ascii_word(who) or 'podcast'}{c.year or 'nd'}{_ascii_word(what)[:20]}"
    return key


def citation_keys(citables: list[Citable]) -> list[str]:
    """Stable keys, unique within the list: repeats get b, c, d, ... suffixes."""
    used: set[str] = set()
    keys = []
    for c in citables:
        base = key = base_key(c)
        n = 0
        while key in used:
            n += 1
            key = base + _suffix(n)
        used.add(key)
        keys.append(key)
    return keys


def _suffix(n: int) -> str:
    """The suffix of the n-th repeat: 1 -> b, 2 -> c, ..., 25 -> z, then 27, 28, ..."""
    return "abcdefghijklmnopqrstuvwxyz"[n] if n < 26 else str(n + 1)


def to_csl_item(c: Citable, key: str | None = None) -> dict[str, Any]:
    """The episode as a CSL-JSON item (type broadcast), valid against csl-data.json.

    Authors follow APA for podcast episodes: the hosts, else the speaker quoted. Guests
    go to ``contributor``; the passage itself (time, speaker, quote) goes to ``custom``.
    """
    item: dict[str, Any] = {"id": key or base_key(c), "type": "broadcast", "genre": GENRE}
    if c.episode_title:
        item["title"] = c.episode_title
    if c.podcast:
        item["container-title"] = c.podcast
    if c.authors:
        item["author"] = [csl_name(n) for n in c.authors]
    guests = [g for g in c.guests if g not in c.authors]
    if guests:
        item["contributor"] = [csl_name(n) for n in guests]
    if c.date_parts:
        item["issued"] = {"date-parts": [c.date_parts]}
    if c.episode_number is not None:
        item["number"] = str(c.episode_number)
    if c.link:
        item["URL"] = c.link
    if c.language:
        item["language"] = c.language
    custom: dict[str, Any] = {"passage_id": c.passage_id, "quote": c.quote}
    if c.speaker_name:
        custom["speaker"] = c.speaker_name
    if c.timed:
        custom.update(timestamp=c.timestamp, start=c.start, time_precision=c.time_precision)
    item["custom"] = custom
    return item


def citable_from_rows(passage: dict[str, Any], episode: dict[str, Any]) -> Citable:
    """A Citable from a passages.parquet row and its episodes.parquet row."""
    people = episode.get("people") or []
    hosts = [p["name"] for p in people if (p.get("role") or "").lower() in HOST_ROLES]
    guests = [p["name"] for p in people if (p.get("role") or "").lower() in GUEST_ROLES]
    number = episode.get("episode_number")
    sources = episode.get("sources") or []
    return Citable(
        passage_id=passage["passage_id"],
        quote=" ".join((passage.get("text") or "").split()),
        # A guessed speaker is shown as a guess, never cited as the one who said it.
        speaker=passage.get("speaker") if passage.get("speaker_source") != LIKELY else None,
        start=passage.get("start"),
        end=passage.get("end"),
        time_precision=passage.get("time_precision") or UNTIMED,
        episode_id=episode.get("episode_id"),
        episode_title=episode.get("title") or None,
        podcast=episode.get("podcast") or None,
        published=episode.get("published") or None,
        url=episode.get("url") or None,
        audio_url=episode.get("audio_url") or None,
        episode_number=int(number) if number is not None else None,
        hosts=tuple(n for n in (person_name(h) for h in hosts) if n),
        guests=tuple(n for n in (person_name(g) for g in guests) if n),
        language=episode.get("language") or None,
        source=os.path.basename(sources[0]) if sources else None,
    )


def _not_found(index: Index, wanted: str, why: str) -> PassageNotFoundError:
    return PassageNotFoundError(
        f"{why} '{wanted}' in index {index.path}: run 'podsearch ask QUESTION "
        f"--index {index.path}' to find passages; ids are shown with every hit"
    )


def resolve_passage_ids(index: Index, wanted: list[str]) -> list[int]:
    """Row numbers of the passages with these ids or unique id prefixes, in order."""
    ids = index.read_table("passages.parquet", columns=["passage_id"]).column(0).to_pylist()
    rows_by_id = {pid: i for i, pid in enumerate(ids)}
    rows = []
    for raw in wanted:
        w = raw.strip().lower()
        if w in rows_by_id:
            rows.append(rows_by_id[w])
            continue
        if not re.fullmatch(r"[0-9a-f]{1,10}", w):
            raise _not_found(index, raw, "no passage id (10 hex characters) like")
        matches = [i for pid, i in rows_by_id.items() if pid.startswith(w)]
        if not matches:
            raise _not_found(index, raw, "no passage with id or id prefix")
        if len(matches) > 1:
            shown = ", ".join(sorted(ids[i] for i in matches)[:5])
            raise PassageNotFoundError(
                f"passage id prefix '{raw}' matches {len(matches)} passages ({shown}"
                f"{', ...' if len(matches) > 5 else ''}): give more characters"
            )
        rows.append(matches[0])
    return rows


def citables_from_index(index: Index, passage_ids: list[str]) -> list[Citable]:
    """Citables for passage ids (or unique prefixes), in the order given.

    Raises PassageNotFoundError for an unknown or ambiguous id."""
    rows = resolve_passage_ids(index, passage_ids)
    if not rows:
        return []
    passages = index.passages.take(rows).to_pylist()
    episodes = index.episode_rows()
    return [citable_from_rows(p, episodes[p["episode_id"]]) for p in passages]


def citable_from_index(index: Index, passage_id: str) -> Citable:
    """The Citable for one passage id or unique id prefix."""
    return citables_from_index(index, [passage_id])[0]
