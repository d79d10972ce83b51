"""Markdown with "# Title", "**Key:** value" metadata and a "## Transcript" section.

The transcript is one utterance per line (or paragraphs), usually without speakers or times.
Lines with a "Name:" label are that speaker's; the label holds for the rest of its paragraph
(see ``_labels.label_lines``). Unlabelled text has speaker None, and consecutive pieces of one
speaker (None included) coalesce into one turn: the chunker later splits it at sentences.
The section ends at the next "## " heading; deeper headings inside it are skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

from ...core.errors import ReaderError
from ...core.models import Episode, Person
from ._common import coalesce, make_episode, normalize_date, strip_trailer
from ._labels import label_lines

NAME = "markdown_transcript"
EXTENSIONS = {".md", ".markdown", ".txt"}

_TRANSCRIPT = re.compile(r"^##\s+transcript\s*:?\s*$", re.IGNORECASE | re.MULTILINE)
_FIELD = re.compile(r"^\s*[-*]?\s*\*\*(?P<key>[^*:\n]{1,40}):?\*\*:?\s*(?P<value>.*)$")
_PEOPLE_ROLES = {
    "speakers": None,
    "guest": "guest",
    "guests": "guest",
    "host": "host",
    "hosts": "host",
}


def detect(text: str, path: Path) -> float:
    """A "## Transcript" heading, surer with "**Podcast:**" or a "# Title" before it."""
    m = _TRANSCRIPT.search(text)
    if not m:
        return 0.0
    head = text[: m.start()]
    if re.search(
        r"^\*\*(podcast|show|published)\*\*:|^\*\*(podcast|show|published):\*\*",
        head,
        re.IGNORECASE | re.MULTILINE,
    ):
        return 0.9
    return 0.85 if re.search(r"^#\s+\S", head, re.MULTILINE) else 0.6


def header_meta(lines: list[str]) -> dict[str, object]:
    """Episode metadata from "# Title" and "**Key:** value" lines (shared with
    ``markdown_bold_labels``)."""
    meta: dict[str, object] = {}
    people: list[Person] = []
    for line in lines:
        if re.match(r"^#\s+\S", line) and "title" not in meta:
            meta["title"] = line.lstrip("#").strip()
            continue
        m = _FIELD.match(line)
        if not m or not m.group("value").strip():
            continue
        key, value = m.group("key").strip().casefold(), m.group("value").strip()
        if key in ("podcast", "show", "series"):
            meta["podcast"] = value
        elif key in ("published", "date", "release date", "aired"):
            meta["published"] = normalize_date(value)
        elif key in ("description", "summary"):
            meta["description"] = value
        elif key in ("url", "link", "episode url", "web"):
            meta["url"] = value.strip("<>")
        elif key in ("audio", "audio url", "enclosure"):
            meta["audio_url"] = value.strip("<>")
        elif key in ("episode", "episode number") and (num := re.search(r"\d+", value)):
            meta["episode_number"] = int(num.group())
        elif key == "guid":
            meta["guid"] = value
        elif key == "language":
            meta["language"] = value
        elif key in _PEOPLE_ROLES:
            names = (n.strip() for n in value.split(","))
            people.extend(Person(n, _PEOPLE_ROLES[key]) for n in names if n)
    if people:
        meta["people"] = people
    return meta


def read(text: str, path: Path) -> Episode:
    """Metadata from the lines above "## Transcript", turns from the section below it."""
    lines = text.split("\n")
    start = next((i for i, ln in enumerate(lines) if _TRANSCRIPT.match(ln)), None)
    if start is None:
        raise ReaderError(path, 'no "## Transcript" heading found')
    body: list[str] = []
    for line in lines[start + 1 :]:
        if re.match(r"^##\s", line):
            break
        body.append("" if line.lstrip().startswith("#") else line)
    body, truncated = strip_trailer(body)
    pieces = [(speaker, None, None, t) for _, speaker, t in label_lines(body)]
    return make_episode(path, coalesce(pieces), truncated=truncated, **header_meta(lines[:start]))
