"""Metadata for local transcripts: a metadata file (JSON list or object, JSON Lines, CSV), a
sidecar beside a transcript (``NAME.json``, ``NAME.meta.json``), or a podcast feed whose
items are matched to the files.

A record matches a transcript by its ``file``/``path``/``filename`` field or by a key
template (``--metadata-key 'E{epnum}.mp3.vtt'``): the file's name, compared without case and
with or without its extensions. Failing those, a record with an episode number matches a file
named by that number (``E41.mp3.vtt``, ``ep-041.srt``, ``episode 41.txt``, ``41.vtt``) when
no other record has the same number. Known fields are mapped to the episode (title, show, date,
URLs, description, guid, people); every other field is kept in ``extra``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..core.dates import normalize_date
from ..core.errors import InvalidRequestError
from ..core.models import Episode, Person

# Field names (folded: lower case, "-" and " " as "_") -> the Episode attribute they fill.
FIELDS: dict[str, str] = {}
for attr, names in {
    "title": "title name episode_title itunes_title",
    "podcast": "show podcast podcast_title show_name series channel program",
    "published": "date published date_published pubdate pub_date release_date published_at "
    "datepublished publish_date air_date",
    "url": "url link episode_url permalink web_url page",
    "audio_url": "audio audio_url enclosure enclosure_url mp3 media_url audio_file",
    "description": "description summary show_notes shownotes content subtitle",
    "guid": "guid episode_guid",
    "episode_number": "epnum episode_number episode number ep itunes_episode",
    "people": "people persons person speakers",
    "hosts": "host hosts",
    "guests": "guest guests",
}.items():
    for name in names.split():
        FIELDS[name] = attr
FILE_KEYS = ("file", "path", "filename", "file_name", "transcript", "source")


@dataclass
class EpisodeMeta:
    """What a record says about one episode; None where it says nothing."""

    title: str | None = None
    podcast: str | None = None
    published: str | None = None
    url: str | None = None
    audio_url: str | None = None
    description: str | None = None
    guid: str | None = None
    episode_number: int | None = None
    people: list[Person] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def apply(self, ep: Episode) -> Episode:
        """Fill ``ep`` with this metadata (the record wins over what the transcript said)."""
        for attr in ("title", "podcast", "published", "url", "audio_url", "description"):
            value = getattr(self, attr)
            if value:
                setattr(ep, attr, value)
        if self.guid:
            ep.guid = self.guid
        if self.episode_number is not None:
            ep.episode_number = self.episode_number
        if self.people:
            ep.people = list(self.people)
        if self.extra:
            ep.extra = {**ep.extra, **self.extra}
        return ep


def _fold_key(key: str) -> str:
    return str(key).strip().lower().replace("-", "_").replace(" ", "_")


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    s = " ".join(str(value).split())
    return s or None


def _people(value: Any, role: str | None) -> list[Person]:
    """People from a list (or a ;-separated string) of names or {name, role} objects."""
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").split(",") if v.strip()]
    if isinstance(value, dict):
        value = [value]
    out = []
    for p in value if isinstance(value, list) else []:
        if isinstance(p, dict):
            name = _text(p.get("name"))
            r = _text(p.get("role")) or role
        else:
            name, r = _text(p), role
        if name:
            out.append(Person(name, r.lower() if r else None))
    return out


def parse_record(record: dict[str, Any]) -> EpisodeMeta:
    """An EpisodeMeta from one record; unknown fields go to ``extra``."""
    meta = EpisodeMeta()
    for key, value in record.items():
        attr = FIELDS.get(_fold_key(key))
        if _fold_key(key) in FILE_KEYS:
            continue
        if attr is None or getattr(meta, attr, None) not in (None, []):
            if value not in (None, ""):
                meta.extra[str(key)] = value
            continue
        if attr == "published":
            meta.published = normalize_date(value if isinstance(value, str) else str(value))
            if meta.published is None and value not in (None, ""):
                meta.extra[str(key)] = value
        elif attr == "episode_number":
            try:
                meta.episode_number = int(str(value).strip())
            except ValueError:
                meta.extra[str(key)] = value
        elif attr in ("people", "hosts", "guests"):
            role = {"hosts": "host", "guests": "guest"}.get(attr)
            meta.people += _people(value, role)
        else:
            setattr(meta, attr, _text(value))
    return meta


def name_keys(name: str) -> list[str]:
    """A file name without case, then without each extension in turn: "E41.mp3.vtt" gives
    e41.mp3.vtt, e41.mp3, e41."""
    base = Path(str(name).strip()).name.lower()
    keys = [base]
    while "." in base.lstrip("."):
        base = base.rsplit(".", 1)[0]
        keys.append(base)
    return keys


def load_records(path: Path) -> list[dict[str, Any]]:
    """The records of a metadata file: a JSON list, a JSON object keyed by file name (each
    value a record), JSON Lines, or CSV with a header row."""
    option = "--metadata"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise InvalidRequestError(option, f"cannot read {path}: {e.strerror or e}") from None
    if path.suffix.lower() in (".csv", ".tsv"):
        dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
        return [dict(r) for r in csv.DictReader(io.StringIO(text), dialect=dialect)]
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as e:
            raise InvalidRequestError(
                option, f"{path} is not JSON, JSON Lines or CSV (line {e.lineno}: {e.msg})"
            ) from None
    if isinstance(data, dict):
        inner = next((data[k] for k in ("episodes", "items", "records") if k in data), None)
        if isinstance(inner, list):
            data = inner
        else:  # keyed by file name
            data = [
                {"file": k, **v} if isinstance(v, dict) else {"file": k, "title": v}
                for k, v in data.items()
            ]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InvalidRequestError(option, f"{path}: expected a list of records (JSON objects)")
    return data


def _title_key(title: str) -> str:
    from ..core.text import fold

    return "title:" + re.sub(r"\W+", "", fold(title))


class MetadataSet:
    """Metadata records, each with the keys that match it to a transcript (file names,
    ``guid:...``, ``title:...``); counts what matched."""

    def __init__(self, metas: list[EpisodeMeta], keys: list[list[str]], origin: str) -> None:
        self.records = metas
        self.origin = origin  # the file or feed, for messages
        self.by_key: dict[str, int] = {}
        for i, ks in enumerate(keys):
            for k in ks:
                self.by_key.setdefault(k, i)
        # An episode number is a key only when one record has it: two shows' episode 41
        # must not be guessed between.
        numbers: dict[int, list[int]] = {}
        for i, meta in enumerate(metas):
            n = _number(meta.episode_number)
            if n is not None:
                numbers.setdefault(n, []).append(i)
        for n, owners in numbers.items():
            if len(owners) == 1:
                self.by_key.setdefault(f"epnum:{n}", owners[0])
        self.used: set[int] = set()

    @classmethod
    def from_file(cls, path: Path, key: str | None = None) -> MetadataSet:
        """The records of a metadata file (``load_records``), matched by their file field
        or by the ``key`` template."""
        records = load_records(path)
        keys: list[list[str]] = []
        missing: set[str] = set()
        for record in records:
            name = _record_name(record, key, missing)
            keys.append(name_keys(name) if name else [])
        if key and not any(keys):
            fields = sorted({str(k) for r in records for k in r})
            raise InvalidRequestError(
                "--metadata-key",
                f"{key!r} names no record (missing field: {', '.join(sorted(missing)) or '?'}); "
                f"the records' fields: {', '.join(fields[:20])}",
            )
        return cls([parse_record(r) for r in records], keys, str(path))

    @classmethod
    def from_feed(cls, channel: Any, origin: str) -> MetadataSet:
        """A parsed feed's items (``feed_parse.Channel``), matched by enclosure file name,
        GUID or title."""
        metas, keys = [], []
        for item in channel.items:
            metas.append(
                EpisodeMeta(
                    title=item.title,
                    podcast=channel.title,
                    published=item.published,
                    url=item.url,
                    audio_url=item.audio_url,
                    description=item.description,
                    guid=item.guid,
                    episode_number=item.episode_number,
                    people=list(item.people or channel.people),
                )
            )
            ks = []
            if item.audio_url:
                ks += name_keys(urlparse(item.audio_url).path)
            if item.guid:
                ks.append("guid:" + item.guid)
            if item.title:
                ks.append(_title_key(item.title))
            keys.append(ks)
        return cls(metas, keys, origin)

    def match(self, path: Path, episode: Episode | None = None) -> EpisodeMeta | None:
        """The record of a transcript file (by its name, else the guid or title its
        episode has, else its name as a title), or None."""
        keys = name_keys(path.name)
        if episode is not None and episode.guid:
            keys.append("guid:" + episode.guid)
        if episode is not None and episode.title:
            keys.append(_title_key(episode.title))
        keys.append(_title_key(path.name.split(".", 1)[0]))
        number = number_in_name(path.name)
        if number is not None:
            keys.append(f"epnum:{number}")
        for k in keys:
            if k in self.by_key:
                i = self.by_key[k]
                self.used.add(i)
                return self.records[i]
        return None

    @property
    def unmatched(self) -> int:
        """Records that matched no transcript so far."""
        return len(self.records) - len(self.used)


# "E41", "ep-041", "Episode 41", "#41" at the start of a name or after a separator, or a name
# that is only a number ("041.vtt"). Dates and other numbers inside names are not guessed at.
_NUMBERED = re.compile(r"(?:^|[\W_])(?:e|ep|episode|#)[\s_.-]*0*(\d{1,5})(?!\d)", re.IGNORECASE)
_ONLY_NUMBER = re.compile(r"^0*(\d{1,5})$")


def number_in_name(name: str) -> int | None:
    """The episode number a file's name gives, or None: ``E41.mp3.vtt`` → 41."""
    stem = Path(name).name.split(".", 1)[0]
    m = _NUMBERED.search(stem) or _ONLY_NUMBER.match(stem)
    return int(m.group(1)) if m else None


def _number(value: Any) -> int | None:
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        return None


def _record_name(record: dict[str, Any], key: str | None, missing: set[str]) -> str | None:
    """The file name a record is for: its key template filled in, or its file field."""
    if key:
        try:
            return key.format(**record)
        except KeyError as e:
            missing.add(str(e.args[0]))
            return None
        except (IndexError, ValueError, AttributeError) as e:
            raise InvalidRequestError("--metadata-key", f"{key!r}: {e}") from None
    for k, v in record.items():
        if _fold_key(k) in FILE_KEYS and _text(v):
            return str(v)
    return None


def sidecar_for(path: Path) -> Path | None:
    """The sidecar metadata file of a transcript: ``NAME.json``, ``NAME.meta.json`` or
    ``STEM.meta.json`` beside it."""
    for candidate in (
        path.with_name(path.name + ".json"),
        path.with_name(path.name + ".meta.json"),
        path.with_name(path.name.split(".", 1)[0] + ".meta.json"),
    ):
        if candidate != path and candidate.is_file():
            return candidate
    return None


def read_sidecar(path: Path) -> EpisodeMeta | None:
    """The metadata of a transcript's sidecar, or None when it has none (or it is not a
    JSON object)."""
    side = sidecar_for(path)
    if side is None:
        return None
    try:
        data = json.loads(side.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return None
    return parse_record(data) if isinstance(data, dict) else None
