"""Episodes and passages as table rows, and back: the shapes ``store`` writes."""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable
from typing import Any

from ..core.models import Cue, Episode, Passage, Person, Turn
from ..store.index import Index


def embed_texts(ep: Episode, passages: list[Passage], context_words: int) -> list[str]:
    """What the model sees for each passage: the ``context_words`` words spoken just before
    it (the end of the previous turn, usually the question it answers, or the start of its
    own turn), then the passage. The quote shown is always ``passage.text``."""
    if context_words <= 0:
        return [p.text for p in passages]
    words = [t.text.split() for t in ep.turns]
    out = []
    for p in passages:
        before = words[p.turn_index][: p.word_offset]
        i = p.turn_index - 1
        while len(before) < context_words and i >= 0:
            before = words[i] + before
            i -= 1
        context = " ".join(before[-context_words:])
        out.append(f"{context} … {p.text}" if context else p.text)
    return out


def chapter_at(chapters: list[tuple[float, str]], start: float | None) -> str | None:
    """The title of the chapter (sorted by start) that a passage starting at ``start`` is in."""
    if start is None or not chapters:
        return None
    i = bisect.bisect_right([c[0] for c in chapters], start) - 1
    return chapters[i][1] if i >= 0 else None


def episode_row(ep: Episode, hashes: list[str]) -> dict[str, Any]:
    return {
        "episode_id": ep.id,
        "title": ep.title,
        "podcast": ep.podcast,
        "published": ep.published,
        "url": ep.url,
        "audio_url": ep.audio_url,
        "description": ep.description,
        "people": [{"name": p.name, "role": p.role} for p in ep.people],
        "sources": list(ep.sources),
        "source_hashes": hashes,
        "formats": list(ep.formats),
        "truncated": ep.truncated,
        "episode_number": ep.episode_number,
        "guid": ep.guid,
        "language": ep.language,
        "duration": ep.duration,
        "chapters": [{"start": start, "title": title} for start, title in ep.chapters],
        "extra": json.dumps(ep.extra, ensure_ascii=False, default=str) if ep.extra else None,
    }


def passage_row(p: Passage, chapter: str | None = None, embed: str | None = None) -> dict[str, Any]:
    return {
        "passage_id": p.id,
        "episode_id": p.episode_id,
        "speaker": p.speaker,
        "speaker_source": p.speaker_source,
        "start": p.start,
        "end": p.end,
        "time_precision": p.time_precision,
        "turn_index": p.turn_index,
        "word_offset": p.word_offset,
        "text": p.text,
        "embed_text": p.text if embed is None else embed,
        "chapter": chapter,
    }


def turn_rows(ep: Episode, labels: list[str | None] | None = None) -> list[dict[str, Any]]:
    """The episode's turns as rows. ``labels``: the speakers as the sources gave them, before
    canonical names and the user's renames (kept so that both can be applied again)."""
    labels = labels if labels is not None else [t.speaker for t in ep.turns]
    return [
        {
            "episode_id": ep.id,
            "turn_index": i,
            "speaker": t.speaker,
            "label": label,
            "speaker_source": t.speaker_source,
            "start": t.start,
            "end": t.end,
            "time_precision": t.time_precision,
            "text": t.text,
            # Kept so that an episode can be re-chunked from the index alone (rebuild, merge).
            "cues": [{"start": c.start, "end": c.end, "text": c.text} for c in t.cues],
        }
        for i, (t, label) in enumerate(zip(ep.turns, labels, strict=True))
    ]


def episode_from_rows(row: dict[str, Any], turns: list[dict[str, Any]]) -> Episode:
    """Rebuild an Episode from its rows in episodes.parquet and turns.parquet, with the
    speakers as its sources labelled them."""
    return Episode(
        id=row["episode_id"],
        title=row["title"],
        podcast=row["podcast"],
        published=row["published"],
        url=row["url"],
        audio_url=row["audio_url"],
        description=row["description"],
        people=[Person(p["name"], p["role"]) for p in row["people"] or []],
        sources=list(row["sources"] or []),
        source_hashes=list(row["source_hashes"] or []),
        turns=[
            Turn(
                speaker=t["label"] if "label" in t else t["speaker"],
                start=t["start"],
                end=t["end"],
                text=t["text"],
                time_precision=t["time_precision"],
                speaker_source=t["speaker_source"],
                cues=[Cue(c["start"], c["end"], c["text"]) for c in t.get("cues") or []],
            )
            for t in sorted(turns, key=lambda t: t["turn_index"])
        ],
        truncated=bool(row["truncated"]),
        episode_number=row["episode_number"],
        guid=row["guid"],
        language=row["language"],
        formats=list(row["formats"] or []),
        chapters=[(c["start"], c["title"]) for c in row.get("chapters") or []],
        extra=json.loads(row["extra"]) if row.get("extra") else {},
    )


def stored_episodes(index: Index, ids: Iterable[str] | None = None) -> list[Episode]:
    """Episodes of the index rebuilt from its tables (all, or those in ``ids``), with the
    speakers as their sources labelled them."""
    rows = index.episode_rows()
    wanted = list(rows) if ids is None else [i for i in ids if i in rows]
    keep = set(wanted)
    turns: dict[str, list[dict[str, Any]]] = {eid: [] for eid in wanted}
    for t in index.turns.to_pylist():
        if t["episode_id"] in keep:
            turns[t["episode_id"]].append(t)
    return [episode_from_rows(rows[eid], turns[eid]) for eid in wanted]
