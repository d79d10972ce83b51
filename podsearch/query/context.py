"""Turns around a hit (``--context N``) and hits ordered by episode (``--group episode``)."""

from __future__ import annotations

from typing import Any

from ..store.index import Index
from .types import Hit


def attach_context(index: Index, hits: list[Hit], n: int) -> None:
    """Give each hit the ``n`` turns before and after its own turn (any speaker)."""
    if n <= 0 or not hits:
        return
    import pyarrow.compute as pc

    wanted = {h.episode_id for h in hits}
    turns = index.turns.filter(pc.is_in(index.turns.column("episode_id"), pa_array(wanted)))
    by_episode: dict[str, dict[int, dict[str, Any]]] = {}
    for row in turns.to_pylist():
        by_episode.setdefault(row["episode_id"], {})[row["turn_index"]] = row
    keys = ("speaker", "speaker_source", "start", "end", "time_precision", "text")
    for h in hits:
        episode_turns = by_episode.get(h.episode_id, {})
        pick = [episode_turns.get(i) for i in range(h.turn_index - n, h.turn_index + n + 1)]
        rows = [{k: t[k] for k in keys} if t else None for t in pick]
        h.context_before = [r for r in rows[:n] if r]
        h.context_after = [r for r in rows[n + 1 :] if r]


def pa_array(values: set[str]) -> Any:
    import pyarrow as pa

    return pa.array(sorted(values), type=pa.string())


def order_by_episode(hits: list[Hit]) -> list[Hit]:
    """The hits with each episode's hits together, episodes in the order of their best hit;
    ranks stay those of relevance."""
    first: dict[str, int] = {}
    for i, h in enumerate(hits):
        first.setdefault(h.episode_id, i)
    return sorted(hits, key=lambda h: (first[h.episode_id], h.rank))
