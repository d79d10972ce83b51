"""One episode from many sources: decide which sources are the same episode, and merge them.

Same-episode rule (``match_score``)
-----------------------------------
1. Metadata can forbid: two known publication dates more than ``DATE_TOLERANCE_DAYS`` apart
   are two episodes, whatever the text says (a rerun is its own episode).
2. Text must always agree. Each source is reduced to the set of its word 4-gram shingles
   (words case- and accent-folded, punctuation dropped). ``containment`` is the number of
   shingles of the shorter source found in the longer one *in the same order* (a longest
   increasing chain of their positions), divided by the shorter source's shingle count. Four
   words survive most ASR differences: the two seeds, one a speaker-labelled preview and the
   other a complete ASR text with misspellings, have a containment of 0.84. Different
   episodes of one show share only intros, outros and sponsor reads: over the 309 episodes
   of The Seen and the Unseen the highest containment is 0.05, though such boilerplate can
   make an ordered chain of ~180 shingles. When whole collections are compared
   (``group_same_episodes``) shingles found in more than ``BOILERPLATE_SHARE`` of the
   episodes are not counted at all.
3. How much text agreement is needed depends on the metadata that agrees (``LEVELS``): the
   same date plus one more sign (same show, shared title words, shared people) needs 0.25;
   the same date alone 0.35; two other signs without dates 0.4; nothing (text only) 0.5 and
   a chain of at least 250 shingles, which boilerplate alone never reaches. A chain floor at
   each level keeps very short sources from merging on a few shared sentences.

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
import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

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
from ..speakers.names import is_anonymous_label, name_similarity, resolve
from .alignment import (
    GUESS_MIN,
    Source,
    Unit,
    align,
    exact_anchors,
    infer_speakers,
    is_question,
    lis_indices,
    shingle_hashes,
    source_units,
    speaking_rate,
    token_ids,
    tokens,
    word_times,
)
from .chunking import WORDS_PER_SECOND

DATE_TOLERANCE_DAYS = 1  # a feed's date and a transcript service's may differ by a time zone
BOILERPLATE_SHARE = 0.05  # shingles in more than 5% of a collection's episodes (at least 3)


@dataclass(frozen=True)
class Level:
    name: str
    containment: float
    chain: int


# From strongest metadata agreement to none (see the module docstring). Measured: seeds 0.84
# (chain 846); different episodes of one show at most 0.05, with boilerplate chains up to
# ~180. Each floor leaves a wide margin on both sides; the chain floors grow as metadata
# weakens because short sources reach a high containment on a few shared sentences.
LEVELS = [
    Level("same date and show, title or people", 0.25, 40),
    Level("same date", 0.35, 60),
    Level("show, title or people agree, no dates", 0.4, 100),
    Level("text only", 0.5, 250),  # 250: above the longest boilerplate chain seen (~180)
]
MIN_LEVEL = min(lv.containment for lv in LEVELS), min(lv.chain for lv in LEVELS)


@dataclass
class MatchResult:
    score: float  # ordered containment of the shorter source in the longer, 0..1
    is_same: bool
    reasons: list[str] = field(default_factory=list)


@dataclass
class Sketch:
    hashes: np.ndarray  # sorted distinct shingle hashes
    first: np.ndarray  # position of each one's first occurrence
    words: int


def episode_words(ep: Episode) -> list[str]:
    return tokens(" ".join(t.text for t in ep.turns))


def sketch(ep: Episode) -> Sketch:
    words = episode_words(ep)
    h = shingle_hashes(token_ids(words))
    u, first = np.unique(h, return_index=True)
    return Sketch(u, first, len(words))


def text_overlap(a: Sketch, b: Sketch, boilerplate: np.ndarray | None = None) -> tuple[float, int]:
    """(ordered containment of the shorter in the longer, length of the ordered chain)."""
    if len(a.hashes) > len(b.hashes):
        a, b = b, a
    ha, fa = a.hashes, a.first
    if boilerplate is not None and len(boilerplate):
        keep = ~np.isin(ha, boilerplate, assume_unique=True)
        ha, fa = ha[keep], fa[keep]
    if len(ha) == 0:
        return 0.0, 0
    _, xa, xb = np.intersect1d(ha, b.hashes, assume_unique=True, return_indices=True)
    order = np.argsort(fa[xa])
    chain = len(lis_indices(b.first[xb][order].tolist()))
    return chain / len(ha), chain


# Metadata -------------------------------------------------------------------------------

_SHOW_NOISE = {"the", "show", "podcast", "pod", "radio", "live", "official", "a", "an", "with"}
_STOP = {
    "the", "and", "for", "with", "from", "that", "this", "what", "how", "why", "who", "are",
    "was", "his", "her", "its", "our", "your", "their", "about", "into", "live", "episode",
    "part", "interview", "podcast", "show", "ep", "feat", "featuring", "on", "of", "in", "a",
}  # fmt: skip


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((value or "")[:10])
    except ValueError:
        return None


def _show_words(name: str | None) -> set[str]:
    return {w for w in tokens(name or "") if w not in _SHOW_NOISE}


def same_show(a: str | None, b: str | None) -> bool | None:
    """True, False, or None when either is unknown. "The a16z Show" and "a16z Podcast" are
    the same show: words like show/podcast/the are ignored and one set may hold the other."""
    wa, wb = _show_words(a), _show_words(b)
    if not wa or not wb:
        return None
    return wa <= wb or wb <= wa


def title_overlap(a: Episode, b: Episode) -> float:
    """Shared content words of the titles over the smaller title's (show words excluded)."""
    noise = _show_words(a.podcast) | _show_words(b.podcast) | _STOP
    wa = {w for w in tokens(a.title or "") if len(w) > 2 and w not in noise}
    wb = {w for w in tokens(b.title or "") if len(w) > 2 and w not in noise}
    if len(wa & wb) < 2:
        return 0.0
    return len(wa & wb) / min(len(wa), len(wb))


_CAPITALISED = re.compile(r"[A-ZÀ-Ý][\w'’.-]*(?:\s+[A-ZÀ-Ý][\w'’.-]*)+")


def _given_names(ep: Episode) -> list[str]:
    """Names the source states: its people and its named speakers."""
    names = [p.name for p in ep.people]
    names += [t.speaker for t in ep.turns if t.speaker and not is_anonymous_label(t.speaker)]
    return list(dict.fromkeys(names))


def _mentioned_names(ep: Episode) -> list[str]:
    """Its given names and capitalised word pairs of its title ("Clem DeLong: China Leads
    ..." gives "Clem DeLong", "China Leads", ...): a title often names the guest."""
    names = _given_names(ep)
    for run in _CAPITALISED.findall(ep.title or ""):
        names += [f"{x} {y}" for x, y in pairwise(run.split())]
    return list(dict.fromkeys(names))


def shared_people(a: Episode, b: Episode) -> list[str]:
    """People one source names that the other names or mentions in its title (fuzzily)."""
    out = []
    for x, y in ((a, b), (b, a)):
        given, other = _given_names(x), _mentioned_names(y)
        out += [n for n in given if any(name_similarity(m, n) >= 0.78 for m in other)]
    return list(dict.fromkeys(out))


def match_score(
    a: Episode,
    b: Episode,
    *,
    sketches: tuple[Sketch, Sketch] | None = None,
    boilerplate: np.ndarray | None = None,
) -> MatchResult:
    """Whether two sources are one episode, with the score and the reasons (see module doc)."""
    da, db = _date(a.published), _date(b.published)
    if da and db and abs((da - db).days) > DATE_TOLERANCE_DAYS:
        return MatchResult(0.0, False, [f"different dates: {da} and {db}"])
    reasons = []
    signs = []
    if da and db:
        reasons.append(f"same date {da}")
    show = same_show(a.podcast, b.podcast)
    if show:
        signs.append("show")
        reasons.append(f"same show: {a.podcast!r} / {b.podcast!r}")
    elif show is False:
        reasons.append(f"different show names: {a.podcast!r} / {b.podcast!r}")
    if (t := title_overlap(a, b)) >= 0.4:
        signs.append("title")
        reasons.append(f"title words overlap {t:.2f}")
    if people := shared_people(a, b):
        signs.append("people")
        reasons.append(f"shared people: {', '.join(people[:3])}")
    if da and db:
        rank = 0 if signs else 1
    else:
        rank = 2 if len(signs) >= 2 else 3
    if show is False:
        # Syndicated episodes carry other show names, so no veto, but one level stricter.
        rank = min(rank + 1, len(LEVELS) - 1)
    level = LEVELS[rank]
    sa, sb = sketches or (sketch(a), sketch(b))
    containment, chain = text_overlap(sa, sb, boilerplate)
    same = containment >= level.containment and chain >= level.chain
    reasons.append(
        f"text containment {containment:.3f} (chain {chain}); {level.name} needs "
        f">= {level.containment} with a chain >= {level.chain}"
    )
    return MatchResult(round(containment, 4), same, reasons)


def group_same_episodes(
    episodes: list[Episode], sketches: list[Sketch] | None = None, fresh: int | None = None
) -> list[list[Episode]]:
    """The episodes grouped by sameness, in input order; singletons for unmatched ones.

    ``sketches`` (one per episode, as ``sketch`` makes them) saves sketching again: a library
    keeps its episodes' sketches (``pipeline/sketches.py``). Candidate pairs come from a
    sparse episode-by-shingle product (only pairs sharing enough non-boilerplate shingles are
    scored), so a collection is never compared pair by pair. ``fresh``: only pairs with one
    of the first ``fresh`` episodes are scored (the others were grouped before)."""
    n = len(episodes)
    if sketches is None:
        sketches = [sketch(e) for e in episodes]
    if len(sketches) != n:
        raise ValueError(f"{len(sketches)} sketches for {n} episodes")
    if n < 2:
        return [[e] for e in episodes]
    boilerplate, pairs = candidate_pairs(sketches, fresh)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    members = {i: [i] for i in range(n)}
    for i, j in pairs:
        ri, rj = root(i), root(j)
        if ri == rj:
            continue
        result = match_score(
            episodes[i], episodes[j], sketches=(sketches[i], sketches[j]), boilerplate=boilerplate
        )
        if not result.is_same or _dates_conflict([episodes[k] for k in members[ri] + members[rj]]):
            continue
        parent[rj] = ri
        members[ri] += members.pop(rj)
    groups: dict[int, list[Episode]] = {}
    for i, e in enumerate(episodes):
        groups.setdefault(root(i), []).append(e)
    return list(groups.values())


def candidate_pairs(
    sketches: list[Sketch], fresh: int | None = None
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """(the boilerplate shingles, the pairs worth scoring, most shared shingles first).

    A pair is a candidate when it shares at least the lowest level's chain of
    non-boilerplate shingles and that many make up at least the lowest containment of the
    smaller one: bounds on what ``text_overlap`` can find, so no pair that could match is
    left out. Shared counts are a sparse product A Aᵀ of the episode-by-shingle matrix over
    shingles held by 2 to ``df_max`` episodes: memory grows with the pairs that share
    something, not with the square of the library.

    ``fresh``: only pairs with one of the first ``fresh`` sketches (new episodes; the rest
    are a library's, grouped when they were added). For a few of them the shared counts are
    gathered per shingle with numpy: no scipy import (1.1 s of adding one episode)."""
    n = len(sketches)
    hashes = np.concatenate([s.hashes for s in sketches])
    owner = np.concatenate([np.full(len(s.hashes), i, np.int32) for i, s in enumerate(sketches)])
    uniq, inverse, count = unique_of_runs(hashes)
    df_max = max(3, int(BOILERPLATE_SHARE * n))
    boilerplate = uniq[count > df_max]
    doc_count = count[inverse]
    # Non-boilerplate shingles per episode: an upper bound on each pair's containment.
    sizes = np.maximum(1, np.bincount(owner[doc_count <= df_max], minlength=n))
    keep = (doc_count >= 2) & (doc_count <= df_max)
    if fresh is not None and fresh * FEW_FRESH <= n:
        i, j, c = _shared_with_fresh(inverse[keep], owner[keep], fresh, n)
    else:
        i, j, c = _shared_all(inverse, owner, count, keep, df_max, n)
        if fresh is not None:
            i, j, c = i[i < fresh], j[i < fresh], c[i < fresh]
    ok = (c >= MIN_LEVEL[1]) & (c >= MIN_LEVEL[0] * np.minimum(sizes[i], sizes[j]))
    i, j, c = i[ok], j[ok], c[ok]
    order = np.lexsort((j, i, -c))  # most shared first; ties in row-major order
    return boilerplate, list(zip(i[order].tolist(), j[order].tolist(), strict=True))


FEW_FRESH = 8  # at most 1/8 of the sketches fresh: the numpy path of ``candidate_pairs``


def unique_of_runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True, return_counts=True)`` for values made of
    sorted runs (each sketch's hashes are sorted): a stable argsort merges the runs instead
    of sorting from scratch (0.5 s instead of 1.2 s for the 309-episode library's 7.2 M;
    without the inverse, ``np.unique`` itself is the faster one)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.empty(len(ordered), dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inverse = np.empty(len(ordered), dtype=np.intp)
    inverse[order] = np.cumsum(first) - 1
    counts = np.diff(np.append(np.flatnonzero(first), len(ordered)))
    return ordered[first], inverse, counts


def _shared_all(
    inverse: np.ndarray, owner: np.ndarray, count: np.ndarray, keep: np.ndarray, df_max: int, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, shared) of every pair i < j sharing a kept shingle: a sparse product."""
    from scipy import sparse

    # Columns: only the shingles two or more episodes share (most are in one episode only).
    column = np.cumsum((count >= 2) & (count <= df_max)) - 1
    a = sparse.csr_matrix(
        (np.ones(int(keep.sum()), np.int32), (owner[keep], column[inverse[keep]])),
        shape=(n, int(column[-1]) + 1 if len(column) else 0),
    )
    shared = sparse.triu(a @ a.T, k=1).tocoo()
    return shared.row, shared.col, shared.data


def _shared_with_fresh(
    shingle: np.ndarray, owner: np.ndarray, fresh: int, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, shared) of every pair i < j with i fresh (< ``fresh``) sharing a shingle, from
    the (shingle, owner) entries of the kept shingles."""
    order = np.argsort(shingle, kind="stable")
    shingle, owner = shingle[order], owner[order]
    starts = np.searchsorted(shingle, shingle, side="left")
    ends = np.searchsorted(shingle, shingle, side="right")
    mine = owner < fresh
    # Each fresh entry against every entry of its shingle.
    lo, lengths = starts[mine], (ends - starts)[mine]
    me = np.repeat(owner[mine], lengths)
    at = np.repeat(lo - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
    other = owner[at]
    # A pair of two fresh episodes is seen from both sides: counted from its smaller one.
    useful = (other != me) & ((other >= fresh) | (me < other))
    a, b = np.minimum(me, other)[useful], np.maximum(me, other)[useful]
    pairs, shared = np.unique(a.astype(np.int64) * n + b, return_counts=True)
    return pairs // n, pairs % n, shared


def _dates_conflict(group: list[Episode]) -> bool:
    dates = [d for d in (_date(e.published) for e in group) if d]
    return bool(dates) and (max(dates) - min(dates)).days > DATE_TOLERANCE_DAYS


# Merge ----------------------------------------------------------------------------------


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
