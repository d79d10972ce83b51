"""Markdown clean-up shared by the markdown readers: what is spoken stays, markup goes.

Links keep their text ("[the paper](https://...)" → "the paper"), emphasis and escapes go
("**so**", "\\[", "\\*"), stage directions in brackets go ("[laughter]", "\\[crosstalk\\]"),
and time markers ("[12:34]", "\\[01:02:03\\]", "(12:34)") split the text into timed pieces.
"""

from __future__ import annotations

import re

from ...core.text import parse_timestamp

_LINK = re.compile(r"!?\[([^\[\]\n]*)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\)")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_TIME_MARK = re.compile(r"\\?[\[(]\s*(\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)\s*\\?[\])]")
LEADING_TIME = re.compile(r"\s*" + _TIME_MARK.pattern + r"\s*")
_DIRECTION = re.compile(r"\\?\[([^\[\]\n]{1,60}?)\\?\]")
_EMPHASIS = re.compile(r"(?<!\w)(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1(?!\w)")  # not snake_case
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~])")


def clean(text: str) -> str:
    """Markdown text as spoken: link texts kept, markup and stage directions removed."""
    s = _LINK.sub(r"\1", text)
    s = _AUTOLINK.sub(r"\1", s)
    s = _DIRECTION.sub(" ", s)
    for _ in range(2):  # "***both***" is emphasis inside emphasis
        s = _EMPHASIS.sub(r"\2", s)
    s = _ESCAPE.sub(r"\1", s)
    return " ".join(s.split())


def timed_pieces(text: str) -> list[tuple[float | None, str]]:
    """(start or None, cleaned text) pieces of a paragraph cut at its time markers; a marker
    starts the text after it. A marker that is not a valid time stays as text."""
    out: list[tuple[float | None, str]] = []
    start: float | None = None
    pos = 0
    for m in _TIME_MARK.finditer(text):
        try:
            t = parse_timestamp(m.group(1))
        except ValueError:
            continue
        out.append((start, clean(text[pos : m.start()])))
        start, pos = t, m.end()
    out.append((start, clean(text[pos:])))
    return [(t, s) for t, s in out if s]
