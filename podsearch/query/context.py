"""Turns around a hit (``--context N``), the answer after a hit that is a question, and hits
ordered by episode (``--group episode``)."""

from __future__ import annotations

from typing import Any

from ..core.text import is_question
from ..store.index import Index
from .types import Hit

# What a hit shows of a turn or passage around it (its context, the answer after a question).
SHOWN_KEYS = ("speaker", "speaker_source", "start", "end", "time_precision", "text")


def attach_context(index: Index, hits: list[Hit], n: int) -> None:
    """Give each hit the ``n`` turns before and after its own turn (any speaker)."""
    if n <= 0 or not hits:
        return
    by_episode: dict[str, dict[int, dict[str, Any]]] = {}
    for row in index.turns_of({h.episode_id for h in hits}):
        by_episode.setdefault(row["episode_id"], {})[row["turn_index"]] = row
    for h in hits:
        episode_turns = by_episode.get(h.episode_id, {})
        last = _last_turn(h, episode_turns)
        before = [episode_turns.get(i) for i in range(h.turn_index - n, h.turn_index)]
        after = [episode_turns.get(i) for i in range(last + 1, last + n + 1)]
        h.context_before = [{k: t[k] for k in SHOWN_KEYS} for t in before if t]
        h.context_after = [{k: t[k] for k in SHOWN_KEYS} for t in after if t]


def attach_answers(index: Index, hits: list[Hit], last_rows: list[int]) -> None:
    """Give each hit that is a question (an interviewer asking what the user asked) the
    passage that answers it: the next passage of its episode when another speaker's turn
    starts there and it is no hit of its own, as ``context_after``. ``last_rows[i]``: the
    last passage row of hit i.
    Read from the passage lookup (no turns table: a cold ``ask`` stays light)."""
    asked = [(h, r + 1) for h, r in zip(hits, last_rows, strict=True) if is_question(h.text)]
    n = int(index.manifest.get("counts", {}).get("passages", 0))
    asked = [(h, r) for h, r in asked if r < n and not h.context_after]
    if not asked:
        return
    rows = index.take(
        [r for _, r in asked], ["passage_id", "episode_id", "turn_index", *SHOWN_KEYS]
    )
    shown = {p for h in hits for p in (h.passage_ids or [h.passage_id])}
    for (h, _), row in zip(asked, rows, strict=True):
        other = row["speaker"] is None or row["speaker"] != h.speaker
        if row["passage_id"] in shown:
            continue  # the answer is a hit of its own
        if row["episode_id"] == h.episode_id and row["turn_index"] != h.turn_index and other:
            h.context_after = [{k: row[k] for k in SHOWN_KEYS}]


def _last_turn(hit: Hit, turns: dict[int, dict[str, Any]]) -> int:
    """The last turn a hit's text reaches: its own, or, for a passage that groups short
    turns (episodes.chunking), the turns its words run on into."""
    left = len(hit.text.split())
    i = hit.turn_index
    while True:
        turn = turns.get(i)
        left -= len(turn["text"].split()) if turn else left
        if left <= 0 or (i + 1) not in turns:
            return i
        i += 1


def order_by_episode(hits: list[Hit]) -> list[Hit]:
    """The hits with each episode's hits together, episodes in the order of their best hit;
    ranks stay those of relevance."""
    first: dict[str, int] = {}
    for i, h in enumerate(hits):
        first.setdefault(h.episode_id, i)
    return sorted(hits, key=lambda h: (first[h.episode_id], h.rank))
