"""Filters: which episodes and speakers a question may return, as sets and as a row mask,
tested once per distinct episode or speaker rather than once per passage."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..core.text import fold
from ..store.index import Index
from ..store.lexical import speaker_key
from .types import Filters


def filter_sets(index: Index, filters: Filters) -> tuple[set[str] | None, set[str] | None]:
    """(allowed episode ids, allowed folded speaker keys); None means no restriction."""
    episodes = None
    if filters.podcast or filters.episode or filters.since or filters.until:
        episodes = set()
        for row in index.episode_rows().values():
            if filters.podcast and fold(filters.podcast) not in fold(row.get("podcast")):
                continue
            if filters.episode and not episode_matches(filters.episode, row):
                continue
            published = row.get("published") or ""
            if not published and (filters.since or filters.until):
                if filters.include_undated:
                    episodes.add(row["episode_id"])
                continue
            if filters.since and published < filters.since:
                continue
            if filters.until and published > filters.until:
                continue
            episodes.add(row["episode_id"])
    speakers = None
    if filters.speakers:
        speakers = {speaker_key(s) for s in filters.speakers}
        if filters.include_unknown_speaker:
            speakers.add(speaker_key(None))
    return episodes, speakers


def undated_left_out(index: Index, filters: Filters) -> int:
    """How many episodes without a date a date filter leaves out that the other filters
    would keep (0 with ``include_undated`` or without a date filter)."""
    if not (filters.since or filters.until) or filters.include_undated:
        return 0
    return sum(
        1
        for row in index.episode_rows().values()
        if not row.get("published")
        and not (filters.podcast and fold(filters.podcast) not in fold(row.get("podcast")))
        and not (filters.episode and not episode_matches(filters.episode, row))
    )


def allowed_rows(index: Index, filters: Filters) -> np.ndarray | None:
    """Row ids that pass the filters, or None when no filter is set."""
    episodes, speakers = filter_sets(index, filters)
    if episodes is None and speakers is None:
        return None
    keep: np.ndarray | None = None
    for column, wanted, key in (
        ("episode_id", episodes, lambda v: v),
        ("speaker", speakers, speaker_key),
    ):
        if wanted is None:
            continue
        values, codes = index.passage_codes(column)
        # One test per distinct value; code -1 (null) picks the last slot, None's verdict.
        ok = np.array([key(v) in wanted for v in [*values, None]], dtype=bool)[codes]
        keep = ok if keep is None else keep & ok
    return np.flatnonzero(keep).astype(np.int64)


def episode_matches(wanted: str, row: dict[str, Any]) -> bool:
    """Whether ``wanted`` names the episode: its id, or words of its title or a file name."""
    w = fold(wanted)
    if w == row["episode_id"]:
        return True
    names = [row.get("title") or ""] + [os.path.basename(s) for s in row.get("sources") or []]
    return any(w in fold(n) for n in names)
