"""podsearch: semantic search over podcast transcripts, as speaker-attributed, timed quotes.

``from podsearch import Library`` is the public Python API (``podsearch.api``); it is loaded
on first use so that ``import podsearch`` stays instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core.version import __version__

if TYPE_CHECKING:
    from .api import AskRequest, AskResult, Filters, Hit, Library

__all__ = ["AskRequest", "AskResult", "Filters", "Hit", "Library", "__version__"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'podsearch' has no attribute {name!r}")
