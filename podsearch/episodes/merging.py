"""One episode from many sources: merge the sources ``detection`` found to be one episode.

Merge (``merge_episodes``)
--------------------------
The best source (real speaker names, then times, then completeness, then length) is the
base: its turns are kept as they are, so its speakers ("labelled") and exact times stand.
Each other source is aligned to it word by word (``alignment.align``). Where the other
source covers text the base lacks (the tail of a truncated base, or a head), that text is
added, with times from the other source if it has them (shifted onto the base's clock) or
else estimated from the speaking rate measured on the aligned part ("estimated"), and
speakers from its own labels, or inferred from the structure learned on the aligned part
("inferred"), or given as the likeliest known speaker ("likely", a guess), or unknown.
Where the base has no speaker or time for text the other source labels or times, those are
carried over ("aligned" speakers, interpolated times). In the overlap the base's text wins:
it is the text whose times and names the sources give as facts, and keeping one text there
is what makes every span appear once.
"""

from __future__ import annotations

import copy
from collections import Counter

import numpy as np

from ..core.models import (
    ALIGNED,
    ESTIMATED,
    INFERRED,
    INTERPOLATED,
    LABELLED,
    LIKELY,
    UNTIMED,
    Cue,
    Episode,
    Turn,
)
from ..speakers.names import is_anonymous_label, resolve
from .alignment import (
    GUESS_MIN,
    Source,
    Unit,
    align,
    exact_anchors,
    infer_speakers,
    is_question,
    source_units,
    speaking_rate,
    word_times,
)
from .chunking import WORDS_PER_SECOND


def _rank(ep: Episode) -> tuple[bool, bool, bool, int]:
    """Best source first: real speaker names, times, completeness, length."""
    words = max(1, ep.word_count)
    named = sum(
        len(t.text.split())
        for t in ep.turns
        if t.speaker and t.speaker_source == LABELLED and not is_anonymous_label(t.speaker)
    )
    timed = sum(len(t.text.split()) for t in ep.turns if t.start is not None)
    return (named / words >= 0.5, timed / words >= 0.5, not ep.truncated, ep.word_count)


def merge_episodes(group: list[Episode]) -> Episode:
    """One episode from several sources of it (see the module docstring)."""
    if not group:
        raise ValueError("nothing to merge")
    ranked = sorted(group, key=_rank, reverse=True)
    base = copy.deepcopy(ranked[0])
    if len(group) == 1:
        return base
    for other in ranked[1:]:
        base.turns = _merge_two(base, other)
        for attr in ("title", "podcast", "published", "url", "audio_url", "description"):
            if not getattr(base, attr):
                setattr(base, attr, getattr(other, attr))
        for attr in ("episode_number", "guid", "language"):
            if getattr(base, attr) is None:
                setattr(base, attr, getattr(other, attr))
        names = [p.name for p in base.people]
        for p in other.people:
            if resolve(p.name, names) is None:
                base.people.append(copy.copy(p))
                names.append(p.name)
        hashes = other.source_hashes or [""] * len(other.sources)
        for src, h in zip(other.sources, hashes, strict=False):
            if src not in base.sources:
                base.sources.append(src)
                base.source_hashes.append(h)
        base.formats += other.formats
    base.truncated = all(e.truncated for e in group)
    return base


# How many words of a unit must be paired, and how many of those must agree, for a speaker
# or a time to be carried from one source's unit to the other's.
CARRY_COVER = 0.5
CARRY_AGREE = 0.8


def _merge_two(base: Episode, other: Episode) -> list[Turn]:
    """The base's turns completed by ``other``: carried speakers and times, extra text."""
    a, b = source_units(base), source_units(other)
    pairs = align(a.words, b.words)
    if not pairs:
        return copy.deepcopy(base.turns)
    names = list(base.speakers)
    by_a = dict(pairs)
    by_b = {j: i for i, j in pairs}
    times_a = word_times(a, WORDS_PER_SECOND)
    times_b = word_times(b, WORDS_PER_SECOND)

    # Carry speakers and times onto base units that lack them.
    changed = False
    for u, unit in enumerate(a.units):
        rng = a.unit_words(u)
        js = [by_a[i] for i in rng if i in by_a]
        if not rng or len(js) < CARRY_COVER * len(rng):
            continue
        if unit.speaker is None:
            spk = _majority([_b_speaker(b, j, names) for j in js])
            if spk:
                unit.speaker, unit.speaker_source, changed = spk, ALIGNED, True
        if unit.start is None and not np.isnan(times_b[js[0]]):
            unit.start, unit.precision, changed = float(times_b[js[0]]), INTERPOLATED, True
            if not np.isnan(times_b[js[-1]]):
                unit.end = float(times_b[js[-1]])
    turns = _turns_from_units(a.units) if changed else copy.deepcopy(base.turns)

    # The other source's units outside the span the base covers.
    j_lo, j_hi = pairs[0][1], pairs[-1][1]
    head = _cut_units(b, 0, j_lo)
    tail = _cut_units(b, j_hi + 1, len(b.words))
    if not head and not tail:
        return turns
    _place_times(head + tail, pairs, a, b, times_a, times_b, turns)
    _place_speakers(b, head, tail, names, a, by_b)
    return _units_to_turns(head) + turns + _units_to_turns(tail)


def _b_speaker(b: Source, j: int, names: list[str]) -> str | None:
    unit = b.units[b.word_unit[j]]
    if unit.speaker is None or unit.speaker_source not in (LABELLED, ALIGNED):
        return None
    return resolve(unit.speaker, names) or unit.speaker


def _majority(values: list[str | None]) -> str | None:
    known = [v for v in values if v]
    if not known or len(known) < CARRY_COVER * len(values):
        return None
    name, count = Counter(known).most_common(1)[0]
    return name if count >= CARRY_AGREE * len(known) else None


def _cut_units(src: Source, lo: int, hi: int) -> list[tuple[Unit, int, int]]:
    """Copies of the units holding words lo..hi-1, cut at word boundaries; with each, the
    range of its words in ``src``."""
    out: list[tuple[Unit, int, int]] = []
    j = lo
    while j < hi:
        u = src.word_unit[j]
        rng = src.unit_words(u)
        end = min(hi, rng.stop)
        unit = copy.copy(src.units[u])
        words = unit.text.split()
        first = src.word_pos[j] if j > rng.start else 0
        last = src.word_pos[end - 1] + 1 if end < rng.stop else len(words)
        if (first, last) != (0, len(words)):
            unit.text = " ".join(words[first:last])
            unit.start = unit.end = None
        out.append((unit, j, end))
        j = end
    return out


def _place_times(
    extra: list[tuple[Unit, int, int]],
    pairs: list[tuple[int, int]],
    a: Source,
    b: Source,
    times_a: np.ndarray,
    times_b: np.ndarray,
    turns: list[Turn],
) -> None:
    """Times for the other source's extra units, on the base's clock."""
    both = [
        (float(times_a[i]), float(times_b[j]))
        for i, j in pairs
        if not np.isnan(times_a[i]) and not np.isnan(times_b[j])
    ]
    if both:  # the other source is timed: shift its times by the median clock offset
        offset = float(np.median([ta - tb for ta, tb in both[-50:]]))
        for unit, j0, j1 in extra:
            t0, t1 = times_b[j0], times_b[j1 - 1]
            if np.isnan(t0):
                continue
            unit.start = float(t0) + offset
            unit.end = (unit.end + offset) if unit.end is not None else None
            if unit.end is None and not np.isnan(t1):
                unit.end = float(t1) + offset
            unit.precision = unit.precision if abs(offset) < 0.5 else INTERPOLATED
        return
    if any(u.start is not None for u, _, _ in extra):
        return
    anchors = exact_anchors(pairs, a)
    if not anchors:
        return  # the base has no exact times: nothing to measure a rate on
    rate = speaking_rate(pairs, a, WORDS_PER_SECOND)
    (j_first, t_first), (j_last, t_last) = anchors[0], anchors[-1]
    latest = max((t.end or t.start or 0.0) for t in turns)

    def at(j: float) -> float:
        if j >= j_last:
            return t_last + (j - j_last) / rate
        return max(0.0, t_first - (j_first - j) / rate)

    shift = 0.0
    tail = [x for x in extra if x[1] > j_last]
    if tail and at(tail[0][1]) < latest:  # never before a time the base gives
        shift = latest - at(tail[0][1])
    for unit, j0, j1 in extra:
        s = shift if j0 > j_last else 0.0
        unit.start, unit.end = at(j0) + s, at(j1) + s
        unit.precision = ESTIMATED


def _place_speakers(
    b: Source,
    head: list[tuple[Unit, int, int]],
    tail: list[tuple[Unit, int, int]],
    names: list[str],
    a: Source,
    by_b: dict[int, int],
) -> None:
    """Speakers for the extra units: the other source's labels (in the base's spelling), or
    inferred over the whole other source with the aligned part's speakers clamped."""
    extra = head + tail
    labelled = [u for u, _, _ in extra if u.speaker and u.speaker_source in (LABELLED, ALIGNED)]
    if labelled:
        for unit, _, _ in extra:
            if unit.speaker:
                unit.speaker = resolve(unit.speaker, names) or unit.speaker
        return
    texts = [u.text for u in b.units]
    observed: list[str | None] = []
    for u in range(len(b.units)):
        js = list(b.unit_words(u))
        spk = [a.units[a.word_unit[by_b[j]]].speaker if j in by_b else None for j in js]
        src = [a.units[a.word_unit[by_b[j]]].speaker_source if j in by_b else None for j in js]
        ok = [s if s and src[k] in (LABELLED, ALIGNED) else None for k, s in enumerate(spk)]
        observed.append(_majority(ok) if js else None)
    train = [
        (u.speaker, u.text)
        for u in a.units
        if u.speaker and u.speaker_source in (LABELLED, ALIGNED)
    ]
    # Where the base stops at the end of a turn it timed (a known end) and the other source
    # goes on at a line start, nothing says the turn continues: the next speaker is open.
    open_turns = set()
    last = a.units[-1]
    if tail and last.end is not None and tail[0][1] == b.unit_words(b.word_unit[tail[0][1]]).start:
        open_turns.add(b.word_unit[tail[0][1]])
    guesses = infer_speakers(texts, observed, train, frozenset(open_turns))
    for unit, j0, _ in extra:
        found = guesses[b.word_unit[j0]]
        if found.speaker:
            unit.speaker, unit.speaker_source = found.speaker, INFERRED
        elif found.guess and found.guess_posterior >= GUESS_MIN:
            unit.speaker, unit.speaker_source = found.guess, LIKELY
        else:
            unit.speaker, unit.speaker_source = None, None


def _units_to_turns(extra: list[tuple[Unit, int, int]]) -> list[Turn]:
    """Consecutive units of one speaker (and one source turn) as turns; unknown speakers
    also break after a question, which usually ends a turn."""
    turns: list[Turn] = []
    key = None
    for unit, _, _ in extra:
        k = (unit.speaker, unit.speaker_source, unit.turn)
        if turns and k == key and not (unit.speaker is None and is_question(turns[-1].text)):
            t = turns[-1]
            t.text = f"{t.text} {unit.text}"
            t.end = unit.end if unit.end is not None else t.end
            t.cues.append(Cue(unit.start, unit.end, unit.text))
        else:
            turns.append(
                Turn(
                    speaker=unit.speaker,
                    start=unit.start,
                    end=unit.end,
                    text=unit.text,
                    time_precision=unit.precision if unit.start is not None else UNTIMED,
                    speaker_source=unit.speaker_source,
                    cues=[Cue(unit.start, unit.end, unit.text)],
                )
            )
        key = k
    return turns


def _turns_from_units(units: list[Unit]) -> list[Turn]:
    """The base's turns rebuilt from its units after speakers or times were carried over;
    a turn whose units now have different speakers is split between them."""
    turns: list[Turn] = []
    key = None
    for unit in units:
        k = (unit.turn, unit.speaker)
        cue = Cue(unit.start, unit.end, unit.text)
        if turns and k == key:
            t = turns[-1]
            t.text = f"{t.text} {unit.text}"
            t.end = unit.end if unit.end is not None else t.end
            if unit.has_cues:
                t.cues.append(cue)
        else:
            turns.append(
                Turn(
                    speaker=unit.speaker,
                    start=unit.start,
                    end=unit.end,
                    text=unit.text,
                    time_precision=unit.precision if unit.start is not None else UNTIMED,
                    speaker_source=unit.speaker_source,
                    cues=[cue] if unit.has_cues else [],
                )
            )
        key = k
    return turns
