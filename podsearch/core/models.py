"""The data model: episodes made of speaker turns, and the passages they are cut into."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

# How a time was obtained, from best to worst. Shown with a "≈" prefix unless exact.
EXACT = "exact"  # from a cue or a turn marker in the source
INTERPOLATED = "interpolated"  # by word position between two known times
ESTIMATED = "estimated"  # from a speaking rate, no time in the source near it
UNTIMED = "none"  # no time at all
TIME_PRECISIONS = (EXACT, INTERPOLATED, ESTIMATED, UNTIMED)

# Where a speaker name came from.
LABELLED = "labelled"  # the source names the speaker for this text
ALIGNED = "aligned"  # carried over from another source of the same episode
INFERRED = "inferred"  # from the turn structure, with a posterior of at least 0.8
# The likeliest of the speakers known from the labelled part, for unlabelled text whose
# speaker is not sure enough to be inferred: shown as a guess, never cited as the speaker.
LIKELY = "likely"
SPEAKER_SOURCES = (LABELLED, ALIGNED, INFERRED, LIKELY)


def short_hash(*parts: object, length: int = 10) -> str:
    """A stable hex digest of the parts, used for ids."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    # surrogatepass: a reader's text may still hold a lone surrogate (a JSON "\ud800"
    # escape) when its id is made; ``ingest.validate`` replaces them afterwards.
    h = hashlib.sha1(text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:length]


@dataclass
class Person:
    name: str
    role: str | None = None  # "host", "guest", ... when the source says so


@dataclass
class Cue:
    """A timed piece of a turn, as the source gave it (a caption cue, a segment)."""

    start: float | None
    end: float | None
    text: str


@dataclass
class Turn:
    """What one speaker said without interruption."""

    speaker: str | None
    start: float | None
    end: float | None
    text: str
    time_precision: str = UNTIMED
    speaker_source: str | None = None
    # Finer timing inside the turn when the source has it; their texts joined by spaces are `text`.
    cues: list[Cue] = field(default_factory=list)


@dataclass
class Episode:
    id: str
    title: str | None = None
    podcast: str | None = None
    published: str | None = None  # ISO date, YYYY-MM-DD
    url: str | None = None
    audio_url: str | None = None
    description: str | None = None
    people: list[Person] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    truncated: bool = False  # the source says it holds only part of the episode
    episode_number: int | None = None
    guid: str | None = None
    language: str | None = None
    formats: list[str] = field(default_factory=list)  # reader names, one per source
    source_hashes: list[str] = field(default_factory=list)  # content hashes, one per source
    # Chapters from the feed: (start in seconds, title), sorted by start.
    chapters: list[tuple[float, str]] = field(default_factory=list)
    # Metadata fields podsearch has no use for, kept as the user's metadata gave them.
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def word_count(self) -> int:
        return sum(len(t.text.split()) for t in self.turns)

    @property
    def duration(self) -> float | None:
        ends = [t.end if t.end is not None else t.start for t in self.turns]
        ends = [e for e in ends if e is not None]
        return max(ends) if ends else None

    @property
    def speakers(self) -> list[str]:
        seen: dict[str, None] = {}
        for t in self.turns:
            if t.speaker:
                seen.setdefault(t.speaker, None)
        return list(seen)


def episode_id_for(
    *,
    guid: str | None = None,
    podcast: str | None = None,
    title: str | None = None,
    published: str | None = None,
    content: str = "",
) -> str:
    """A stable episode id: from the feed guid, else the show/title/date, else the text."""
    if guid:
        return short_hash("guid", guid)
    if title and (podcast or published):
        return short_hash("meta", (podcast or "").casefold(), title.casefold(), published or "")
    return short_hash("text", " ".join(content.split()))


@dataclass
class Passage:
    """The unit of retrieval: a stretch of one turn, never crossing speakers."""

    id: str
    episode_id: str
    speaker: str | None
    start: float | None
    end: float | None
    text: str
    turn_index: int
    time_precision: str = UNTIMED
    speaker_source: str | None = None
    word_offset: int = 0  # position of the first word inside its turn
