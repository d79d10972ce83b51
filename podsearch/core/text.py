"""Small text helpers shared by readers, chunking and search."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9À-Ý])")


def fold(s: str | None) -> str:
    """Case- and accent-folded, whitespace-collapsed text, for matching names."""
    if s and len(s) <= 200:
        # Names are folded again for every question (~3 ms of a warm ask on 309 episodes,
        # whose ~700 speaker labels are matched each time): short strings are memoised.
        return _fold_short(s)
    return _fold(s)


@lru_cache(maxsize=65536)
def _fold_short(s: str) -> str:
    return _fold(s)


def _fold(s: str | None) -> str:
    s = unicodedata.normalize("NFKD", s or "")
    s = "".join(c for c in s if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", s).strip().casefold()


def split_sentences(text: str) -> list[str]:
    """Split text at sentence ends (., !, ?, …) followed by a capital or a digit."""
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    return [p for p in parts if p]


def parse_timestamp(value: str) -> float:
    """Seconds from "ss", "m:ss", "h:mm:ss", with an optional ".fff" or ",fff" fraction.

    Raises ValueError on anything else.
    """
    s = value.strip().replace(",", ".")
    if not re.fullmatch(r"\d+(:\d{1,2}){0,2}(\.\d+)?", s):
        raise ValueError(f"malformed time {value!r}")
    parts = s.split(":")
    seconds = float(parts[-1])
    minutes = int(parts[-2]) if len(parts) >= 2 else 0
    hours = int(parts[-3]) if len(parts) >= 3 else 0
    if len(parts) >= 2 and (seconds >= 60 or (len(parts) == 3 and minutes >= 60)):
        raise ValueError(f"malformed time {value!r}")
    return hours * 3600 + minutes * 60 + seconds


def format_timestamp(seconds: float | None) -> str:
    """h:mm:ss (or m:ss under an hour); empty for None."""
    if seconds is None:
        return ""
    total = int(seconds)
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def is_valid_unicode(s: str) -> bool:
    """Whether ``s`` can be written as UTF-8 (it holds no lone surrogate)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def valid_unicode(s: str) -> str:
    """``s`` with every lone surrogate (a ``\\udcff`` from an undecodable argument, a
    JSON ``\\ud800`` escape) replaced by U+FFFD, so it can be stored and printed."""
    if is_valid_unicode(s):
        return s
    # Through UTF-16: a high/low pair becomes its character, a lone surrogate one U+FFFD.
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def latin_share(text: str) -> float:
    """The share of a text's letters that are Latin (ASCII or accented); 1.0 when it has
    none (digits and punctuation say nothing about its language)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 1.0
    latin = sum(1 for c in letters if c.isascii() or "LATIN" in unicodedata.name(c, ""))
    return latin / len(letters)


_TAG_QUESTION = re.compile(
    r"(?:^|[,;]\s*)(?:right|you know|no|yeah|huh|okay|ok|correct|isn'?t it)\W*$", re.I
)


def is_question(text: str) -> bool:
    """Whether a line ends with a real question mark (not a tag like ", right?")."""
    t = text.rstrip(" \"'”’)")
    return t.endswith("?") and not _TAG_QUESTION.search(t[:-1] + " ")
