"""DFXP, TTML's older name (the ``http://www.w3.org/2006/10/ttaf1`` namespace, or a ``.dfxp``
file), as caption tools write it. Read by ``_ttml``."""

from __future__ import annotations

from pathlib import Path

from ...core.models import Episode
from ._ttml import flavour, read_ttml

NAME = "dfxp"
EXTENSIONS = {".dfxp", ".xml"}


def detect(text: str, path: Path) -> float:
    """Certain for a <tt> root of this flavour (see ``_ttml.flavour``)."""
    found = flavour(text, path)
    return found[1] if found and found[0] == NAME else 0.0


def read(text: str, path: Path) -> Episode:
    return read_ttml(text, path)
