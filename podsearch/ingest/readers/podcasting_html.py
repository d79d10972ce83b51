"""Podcasting 2.0 HTML transcripts: repeated <cite>Name:</cite> <time>m:ss</time> <p>text</p>.

A <cite> sets the speaker for the paragraphs after it, so a paragraph without one continues
the previous speaker. A <time> is the start of the next paragraph; a paragraph's end is the
next timed paragraph's start. Parsed with BeautifulSoup and the stdlib "html.parser".
"""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup, Tag

from ...core.errors import ReaderError
from ...core.models import Episode
from ...core.text import parse_timestamp
from ._common import Piece, coalesce, make_episode, normalize_speaker

NAME = "podcasting_html"
EXTENSIONS = {".html", ".htm"}


def detect(text: str, path: Path) -> float:
    """HTML with both <cite> and <time> elements."""
    if re.search(r"<cite\b", text, re.IGNORECASE) and re.search(r"<time\b", text, re.IGNORECASE):
        return 0.9 if re.search(r"<p\b", text, re.IGNORECASE) else 0.6
    return 0.0


def _text(el: Tag) -> str:
    return " ".join(el.get_text(" ").split())


def read(text: str, path: Path) -> Episode:
    """Turns of consecutive same-speaker paragraphs."""
    soup = BeautifulSoup(text, "html.parser")
    raw: list[tuple[str | None, float | None, str]] = []
    speaker: str | None = None
    start: float | None = None
    for el in soup.find_all(["cite", "time", "p"]):
        if not isinstance(el, Tag):
            continue
        if el.name == "cite":
            speaker = normalize_speaker(_text(el).rstrip(":"))
        elif el.name == "time":
            value = _text(el) or str(el.get("datetime") or "")
            try:
                start = parse_timestamp(value)
            except ValueError:
                raise ReaderError(
                    path, f'malformed time "{value}" in <time> on line {el.sourceline}'
                ) from None
        elif el.find(["cite", "time", "p"]) is None:  # a <p> wrapping the others isn't text
            raw.append((speaker, start, _text(el)))
            start = None
    pieces: list[Piece] = []
    next_start: float | None = None
    for sp, st, body in reversed(raw):
        pieces.append((sp, st, next_start if st is not None else None, body))
        next_start = st if st is not None else next_start
    pieces.reverse()
    meta: dict[str, str] = {}
    if soup.title and _text(soup.title):
        meta["title"] = _text(soup.title)
    desc = soup.find("meta", attrs={"name": "description"})
    if isinstance(desc, Tag) and desc.get("content"):
        meta["description"] = str(desc["content"]).strip()
    html = soup.find("html")
    if isinstance(html, Tag) and html.get("lang"):
        meta["language"] = str(html["lang"])
    return make_episode(path, coalesce(pieces), **meta)
