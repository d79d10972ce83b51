"""Apple Podcasts TTML transcripts (``podcasts.apple.com`` namespaces): word spans, ``ttm:agent``
speakers. Read by ``_ttml``."""

from __future__ import annotations

from pathlib import Path

from ...core.models import Episode
from ._ttml import flavour, parse_time, read_ttml

__all__ = ["EXTENSIONS", "NAME", "detect", "parse_time", "read"]

NAME = "apple_ttml"
EXTENSIONS = {".ttml", ".xml"}


def detect(text: str, path: Path) -> float:
    """Certain for a <tt> root of this flavour (see ``_ttml.flavour``)."""
    found = flavour(text, path)
    return found[1] if found and found[0] == NAME else 0.0


def read(text: str, path: Path) -> Episode:
    return read_ttml(text, path)
