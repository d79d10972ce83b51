"""Hits from ranked passage rows: shaping a row into a ``Hit``, telling overlapping hits
apart, and joining adjacent passages of one turn into one quote."""

from __future__ import annotations

from ..store.index import Index
from .types import Hit, episode_title

# A passage whose boilerplate share reaches this is flagged on its hit (query.rank demotes it).
BOILERPLATE_AT = 0.5


def overlaps(a: Hit, b: Hit) -> bool:
    """Whether two hits show the same passage or overlapping spans of one episode."""
    if a.episode_id != b.episode_id:
        return False
    if a.passage_id == b.passage_id:
        return True
    if None in (a.start, a.end, b.start, b.end):
        return False
    return a.start < b.end and b.start < a.end  # type: ignore[operator]


def merge_adjacent(hits: list[Hit], spans: list[tuple[int, int]], h: Hit, row: int) -> bool:
    """Join ``h`` (passage ``row``) to a better hit it continues; True when it did.

    Passages of one turn are consecutive rows (the row-id rule keeps an episode's passages in
    order), so ``h`` continues a hit when it is the row just before or after that hit's rows,
    in the same turn. The hit keeps its score and rank and gets the joined text, the union of
    the times and both passage ids; the time precision is the one of the passage it now
    starts with. A hit that now touches another hit of the turn absorbs it too.
    """
    for i, (k, (lo, hi)) in enumerate(zip(hits, spans, strict=True)):
        if k.episode_id != h.episode_id or k.turn_index != h.turn_index:
            continue
        if row == hi + 1:
            _join(k, h)
            spans[i] = (lo, row)
        elif row == lo - 1:
            _join(h, k, into=k)
            spans[i] = (row, hi)
        else:
            continue
        _absorb_neighbours(hits, spans, i)
        return True
    return False


def _join(first: Hit, second: Hit, into: Hit | None = None) -> None:
    """Make ``into`` (default ``first``) the quote of ``first`` followed by ``second``."""
    into = into or first
    into.text = f"{first.text} {second.text}"
    into.passage_ids = [
        *(first.passage_ids or [first.passage_id]),
        *(second.passage_ids or [second.passage_id]),
    ]
    into.passage_id = into.passage_ids[0]  # ``cite`` of the shown id starts where the quote does
    into.start, into.time_precision = first.start, first.time_precision
    into.end = second.end if second.end is not None else first.end
    into.chapter = first.chapter


def _absorb_neighbours(hits: list[Hit], spans: list[tuple[int, int]], i: int) -> None:
    """Fold into hit ``i`` every other hit of its turn whose rows now touch its rows."""
    k = hits[i]
    j = 0
    while j < len(hits):
        other = hits[j]
        lo, hi = spans[i]
        olo, ohi = spans[j]
        if j != i and (other.episode_id, other.turn_index) == (k.episode_id, k.turn_index):
            if olo == hi + 1 or ohi == lo - 1:
                if olo == hi + 1:
                    _join(k, other)
                else:
                    _join(other, k, into=k)
                spans[i] = (min(lo, olo), max(hi, ohi))
                del hits[j], spans[j]
                if j < i:
                    i -= 1
                j = 0
                continue
        j += 1


def make_hits(index: Index, ranked: list[tuple[int, float]]) -> list[Hit]:
    """Hits for (row, score) pairs, in their order, ranked from 1."""
    if not ranked:
        return []
    rows = index.take([r for r, _ in ranked])
    eps = index.episode_rows()
    hits = []
    for rank, ((_, score), row) in enumerate(zip(ranked, rows, strict=True), 1):
        ep = eps[row["episode_id"]]
        hits.append(
            Hit(
                rank=rank,
                score=round(score, 4),
                passage_id=row["passage_id"],
                episode_id=row["episode_id"],
                episode_title=episode_title(ep),
                podcast=ep.get("podcast"),
                published=ep.get("published"),
                speaker=row["speaker"],
                speaker_source=row["speaker_source"],
                # To the millisecond: times interpolated between cues carry float noise
                # (792.2088888888889) that no player or citation can use.
                start=_ms(row["start"]),
                end=_ms(row["end"]),
                time_precision=row["time_precision"],
                text=row["text"],
                sources=list(ep.get("sources") or []),
                url=ep.get("url"),
                turn_index=row["turn_index"],
                chapter=row.get("chapter"),
                passage_ids=[row["passage_id"]],
                boilerplate=(row.get("boilerplate") or 0.0) >= BOILERPLATE_AT,
            )
        )
    return hits


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)
