"""Which sources are one episode: the same-episode rule, and grouping a collection by it.

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

The sources of one group are merged by ``merging.merge_episodes``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from ..core.models import Episode
from ..speakers.names import is_anonymous_label, name_similarity
from .alignment import lis_indices, shingle_hashes, token_ids, tokens
from .postings import Postings, positions_of

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
    return group_pairs(episodes, sketches, boilerplate, pairs)


def group_pairs(
    episodes: Sequence[Episode],
    sketches: Sequence[Sketch],
    boilerplate: np.ndarray,
    pairs: list[tuple[int, int]],
) -> list[list[Episode]]:
    """The episodes grouped by scoring the candidate ``pairs`` (indices into ``episodes``,
    in the order ``candidate_pairs`` gives them), in input order."""
    parent = list(range(len(episodes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    members = {i: [i] for i in range(len(episodes))}
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
    """(the boilerplate shingles, the pairs worth scoring, most shared shingles first) of a
    collection of sketches; ``fresh``: only pairs with one of the first ``fresh``."""
    if fresh is None:
        postings = Postings.of([s.hashes for s in sketches], [str(i) for i in range(len(sketches))])
        return shared_candidates(postings)
    ids = [str(i) for i in range(len(sketches))]
    return fresh_candidates(
        Postings.of([s.hashes for s in sketches[fresh:]], ids[fresh:]),
        Postings.of([s.hashes for s in sketches[:fresh]], ids[:fresh]),
    )


def shared_candidates(
    postings: Postings, fresh: int | None = None
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """(the boilerplate shingles, the pairs worth scoring, most shared shingles first), the
    pairs as owner numbers of ``postings`` (each owner's sketch hashes).

    A pair is a candidate when it shares at least the lowest level's chain of
    non-boilerplate shingles and that many make up at least the lowest containment of the
    smaller one: bounds on what ``text_overlap`` can find, so no pair that could match is
    left out. Shared counts are a sparse product A Aᵀ of the episode-by-shingle matrix over
    shingles held by 2 to ``df_max`` episodes: memory grows with the pairs that share
    something, not with the square of the library. ``fresh``: only pairs with one of the
    first ``fresh`` owners."""
    n = len(postings.ids)
    owner = postings.owner
    uniq, _, count = postings.runs()
    df_max = _df_max(n)
    boilerplate = uniq[count > df_max]
    run = np.repeat(np.arange(len(count)), count)  # each entry's distinct hash
    doc_count = count[run]
    # Non-boilerplate shingles per episode: an upper bound on each pair's containment.
    sizes = np.maximum(1, np.bincount(owner[doc_count <= df_max], minlength=n))
    keep = (doc_count >= 2) & (doc_count <= df_max)
    i, j, c = _shared_all(run, owner, count, keep, df_max, n)
    if fresh is not None:
        i, j, c = i[i < fresh], j[i < fresh], c[i < fresh]
    return boilerplate, _worth_scoring(i, j, c, sizes)


def fresh_candidates(
    library: Postings, fresh: Postings
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """``shared_candidates`` of ``fresh.added(library)`` with only the pairs involving a
    fresh owner (numbered first, the library's after them), found without merging the two:
    a library's postings are millions of entries, a few new episodes' thousands. Only the
    entries of the fresh episodes' shingles are gathered from the library (no scipy: 1.1 s
    of adding one episode). Many fresh owners (more than 1/``FEW_FRESH``): the sparse
    product over the merged postings."""
    f, n = len(fresh.ids), len(fresh.ids) + len(library.ids)
    if f * FEW_FRESH > n:
        return shared_candidates(fresh.added(library), f)
    df_max = _df_max(n)
    hashes, _, count = fresh.runs()
    in_library = np.searchsorted(library.hashes, hashes, side="right") - np.searchsorted(
        library.hashes, hashes, side="left"
    )
    total = count + in_library
    # Boilerplate: the fresh shingles held too often, and the library's own (a run longer
    # than df_max has equal hashes df_max apart).
    held_apart = library.hashes[df_max:] == library.hashes[:-df_max]
    boilerplate = np.union1d(hashes[total > df_max], library.hashes[:-df_max][held_apart])
    sizes = np.concatenate(
        [
            _non_boilerplate(fresh, boilerplate, np.bincount(fresh.owner, minlength=f)),
            _non_boilerplate(library, boilerplate, np.bincount(library.owner, minlength=n - f)),
        ]
    )
    # The entries of the shingles 2 to df_max episodes share, from both, sorted by hash.
    kept = hashes[(total >= 2) & (total <= df_max)]
    at_fresh, at_library = positions_of(fresh.hashes, kept), positions_of(library.hashes, kept)
    entries = np.concatenate((fresh.hashes[at_fresh], library.hashes[at_library]))
    owner = np.concatenate((fresh.owner[at_fresh], library.owner[at_library] + f))
    order = np.argsort(entries, kind="stable")
    _, run, shared = np.unique(entries[order], return_inverse=True, return_counts=True)
    i, j, c = _shared_with_fresh(run, owner[order], shared, f, n)
    return boilerplate, _worth_scoring(i, j, c, sizes)


def _df_max(n: int) -> int:
    """Shingles in more than this many of ``n`` episodes are boilerplate."""
    return max(3, int(BOILERPLATE_SHARE * n))


def _non_boilerplate(postings: Postings, boilerplate: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Each owner's count of shingles that are not ``boilerplate`` (``held``: of all)."""
    owners = postings.owner[positions_of(postings.hashes, boilerplate)]
    return held - np.bincount(owners, minlength=len(held))


def _worth_scoring(
    i: np.ndarray, j: np.ndarray, c: np.ndarray, sizes: np.ndarray
) -> list[tuple[int, int]]:
    """The pairs (i, j) sharing ``c`` shingles within the bounds, most shared first."""
    sizes = np.maximum(1, sizes)
    ok = (c >= MIN_LEVEL[1]) & (c >= MIN_LEVEL[0] * np.minimum(sizes[i], sizes[j]))
    i, j, c = i[ok], j[ok], c[ok]
    order = np.lexsort((j, i, -c))  # most shared first; ties in row-major order
    return list(zip(i[order].tolist(), j[order].tolist(), strict=True))


FEW_FRESH = 8  # at most 1/8 of the sketches fresh: the numpy path of ``fresh_candidates``


def _shared_all(
    run: np.ndarray, owner: np.ndarray, count: np.ndarray, keep: np.ndarray, df_max: int, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, shared) of every pair i < j sharing a kept shingle: a sparse product."""
    from scipy import sparse

    # Columns: only the shingles two or more episodes share (most are in one episode only).
    column = np.cumsum((count >= 2) & (count <= df_max)) - 1
    a = sparse.csr_matrix(
        (np.ones(int(keep.sum()), np.int32), (owner[keep], column[run[keep]])),
        shape=(n, int(column[-1]) + 1 if len(column) else 0),
    )
    shared = sparse.triu(a @ a.T, k=1).tocoo()
    return shared.row, shared.col, shared.data


def _shared_with_fresh(
    run: np.ndarray, owner: np.ndarray, count: np.ndarray, fresh: int, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, shared) of every pair i < j with i fresh (< ``fresh``) sharing a shingle, from
    the kept entries' distinct-hash numbers ``run`` (sorted, whole runs: a shingle is kept
    or not for all its holders) and owners; ``count[r]``: how many hold hash ``r``."""
    mine = owner < fresh
    # Each fresh entry against every entry of its shingle.
    lo, lengths = np.searchsorted(run, run[mine]), count[run[mine]]
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
