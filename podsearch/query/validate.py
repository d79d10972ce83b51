"""Filters that talk back: a podcast, episode or speaker the library does not know is an
error naming the closest known ones, never a silent empty answer."""

from __future__ import annotations

import os

from ..core.errors import InvalidRequestError
from ..core.suggest import unknown_message
from ..core.text import fold
from ..store.index import Index
from .filters import episode_matches
from .types import Filters


def check_episode_filters(index: Index, filters: Filters) -> None:
    """InvalidRequestError when ``--podcast`` or ``--episode`` matches no episode at all."""
    rows = list(index.episode_rows().values())
    if filters.podcast:
        wanted = fold(filters.podcast)
        if not any(wanted in fold(r.get("podcast")) for r in rows):
            shows = sorted({r["podcast"] for r in rows if r.get("podcast")})
            raise InvalidRequestError(
                "--podcast",
                unknown_message("podcast", filters.podcast, shows, "podsearch episodes"),
            )
    if filters.episode and not any(episode_matches(filters.episode, r) for r in rows):
        names = [r["title"] for r in rows if r.get("title")]
        names += [os.path.basename(s) for r in rows for s in r.get("sources") or []]
        raise InvalidRequestError(
            "--episode", unknown_message("episode", filters.episode, names, "podsearch episodes")
        )


def unknown_speaker(name: str, known: list[str]) -> InvalidRequestError:
    """The error for a ``--speaker`` no known speaker answers to."""
    return InvalidRequestError(
        "--speaker", unknown_message("speaker", name, known, "podsearch speakers")
    )


def scoped_speakers(name: str, known: list[str], filters: Filters) -> list[str] | None:
    """The episode-scoped labels an unnamed label ("Guest") stands for, or None when
    ``name`` is not an unnamed label. Unnamed labels of different episodes are different
    people: without ``--episode`` a label found in several episodes is refused."""
    from ..speakers.labels import base_label, is_anonymous_label

    if not is_anonymous_label(name) or base_label(name) != name:
        return None
    matches = [k for k in known if fold(base_label(k)) == fold(name) and k != name]
    if len(matches) > 1 and not filters.episode:
        raise InvalidRequestError(
            "--speaker",
            f"{name!r} is an unnamed label in {len(matches)} episodes, not one person: add "
            f"--episode, or give one of {', '.join(repr(m) for m in matches[:3])}",
        )
    return matches or None
