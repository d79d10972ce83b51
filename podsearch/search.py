"""Answer a question from an index: parse it, filter, rank passages, shape the hits."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .embedding import Embedder, check_model, load_query_embedder
from .lexical import speaker_key, split_query
from .store import Index, speaker_file
from .text import fold

if TYPE_CHECKING:  # speakers imports rapidfuzz (~0.09 s): only for questions that name someone
    from .speakers import SpeakerBook

# "what did NAME say about TOPIC" and its close variants. NAME only becomes a speaker filter
# when it matches a known speaker; otherwise the whole question is searched.
_VERBS = (
    r"(?:say|said|says|think|thinks|thought|believe|believes|feel|feels|argue|argues|argued|"
    r"claim|claims|claimed|talk|talks|talked|speak|speaks|spoke|mention|mentions|mentioned|"
    r"tell us|have to say|has to say|had to say)"
)
_ABOUT = r"(?:about|on|of|regarding|concerning)"
_QUESTION_FORMS = [
    rf"^(?:what|how)\s+(?:did|does|do|has|have|had|would|will|could)\s+(?P<name>.+?)\s+{_VERBS}\s+{_ABOUT}\s+(?P<topic>.+)$",
    rf"^what\s+(?:has|have|had)\s+(?P<name>.+?)\s+(?:said|thought|argued|claimed)\s+{_ABOUT}\s+(?P<topic>.+)$",
    rf"^what\s+(?P<name>.+?)\s+(?:said|says|thinks|thought|believes|argued)\s+{_ABOUT}\s+(?P<topic>.+)$",
    rf"^(?:did|does|has|have)\s+(?P<name>.+?)\s+(?:ever\s+)?{_VERBS}\s+(?:anything\s+)?{_ABOUT}\s+(?P<topic>.+)$",
    r"^according\s+to\s+(?P<name>[^,]+?),\s*(?P<topic>.+)$",
    r"^what(?:'s|’s|\s+is|\s+was)\s+(?P<name>.+?)(?:'s|’s)\s+(?:view|views|take|opinion|position|stance|thinking)\s+(?:on|about)\s+(?P<topic>.+)$",
    r"^(?P<name>.+?)(?:'s|’s)\s+(?:view|views|take|thoughts|opinion|opinions|position|stance)\s+(?:on|about)\s+(?P<topic>.+)$",
    r"^(?P<name>[^,?]{2,40}?)\s+on\s+(?P<topic>.+)$",
]
_FORMS = [re.compile(p, re.IGNORECASE) for p in _QUESTION_FORMS]


@dataclass
class ParsedQuestion:
    query: str  # what is embedded and ranked
    speakers: list[str] = field(default_factory=list)  # speaker filter from the question
    name: str | None = None  # the name as the user wrote it


def _tokens(name: str) -> list[str]:
    return re.findall(r"\w+", fold(name))


def match_speaker(name: str, known: list[str]) -> list[str]:
    """Known speakers that ``name`` designates: full name, first name, surname or a prefix
    of the first name of three letters or more ("Clem" for "Clément"), case- and
    accent-folded. Exact full-name matches win over partial ones."""
    wanted = _tokens(name)
    if not wanted:
        return []
    exact = [k for k in known if _tokens(k) == wanted]
    if exact:
        return exact
    out = []
    for k in known:
        have = _tokens(k)
        if not have:
            continue
        if len(wanted) == 1:
            w = wanted[0]
            if w in have or (len(w) >= 3 and have[0].startswith(w)):
                out.append(k)
        elif all(w in have for w in wanted) or (
            have[0].startswith(wanted[0]) and len(wanted[0]) >= 3 and wanted[1:] == have[1:]
        ):
            out.append(k)
    return out


# "the host", "the guest": roles stand for speakers when the index can tell who they are.
_ROLE = re.compile(
    r"\b(?:the|our|your|this|that)\s+(host|hosts|interviewer|presenter|guest|guests|interviewee)\b",
    re.IGNORECASE,
)
_ROLE_OF = {"guest": "guest", "guests": "guest", "interviewee": "guest"}


def parse_question(
    question: str,
    known_speakers: list[str],
    roles: dict[str, list[str]] | None = None,
    book: SpeakerBook | None = None,
) -> ParsedQuestion:
    """Split "what did NAME say about TOPIC" into a speaker filter and the topic.

    "the host" / "the guest" anywhere in the question become a filter on the speakers who
    have that role (``roles``), and leave the words searched.
    """
    q = question.strip().strip("\"'“”").rstrip("?!. ").strip()
    for form in _FORMS:
        m = form.match(q)
        if not m:
            continue
        from .speakers import expand_query_name

        name = m.group("name").strip()
        speakers = expand_query_name(name, known_speakers, book)
        topic = m.group("topic").strip()
        if speakers and topic:
            return ParsedQuestion(query=topic, speakers=speakers, name=name)
    role = _ROLE.search(q)
    if role and roles:
        speakers = roles.get(_ROLE_OF.get(role.group(1).lower(), "host"), [])
        rest = " ".join((q[: role.start()] + " " + q[role.end() :]).split())
        if speakers and rest:
            return ParsedQuestion(query=rest, speakers=speakers, name=role.group(0))
    return ParsedQuestion(query=question.strip())


@dataclass
class Filters:
    speakers: list[str] = field(default_factory=list)
    podcast: str | None = None
    episode: str | None = None  # episode id, or words of its title or source file name
    since: str | None = None  # ISO date, inclusive
    until: str | None = None
    # A speaker named in the question also admits passages whose speaker is unknown: an
    # untimed, unlabelled transcript may hold that person's words. --speaker is strict.
    include_unknown_speaker: bool = False

    def active(self) -> bool:
        return bool(self.speakers or self.podcast or self.episode or self.since or self.until)


@dataclass
class Hit:
    rank: int
    score: float
    passage_id: str
    episode_id: str
    episode_title: str
    podcast: str | None
    published: str | None
    speaker: str | None
    speaker_source: str | None
    start: float | None
    end: float | None
    time_precision: str
    text: str
    sources: list[str]
    url: str | None
    turn_index: int
    confident: bool = False
    chapter: str | None = None  # the feed's chapter title, when it gives chapters
    # Turns around the quote, only when asked for (--context N).
    context_before: list[dict[str, Any]] | None = None
    context_after: list[dict[str, Any]] | None = None

    def as_json(self) -> dict[str, Any]:
        # A shallow copy: asdict's deep copy of every list cost ~2 ms a query.
        data = dict(vars(self), sources=list(self.sources))
        for key in ("context_before", "context_after"):
            if data[key] is None:
                del data[key]
        return data


@dataclass
class SearchResult:
    question: str
    query: str
    speakers: list[str]
    hits: list[Hit]


def episode_title(row: dict[str, Any]) -> str:
    """The episode's title, or its first source's file name when the source has none."""
    if row.get("title"):
        return str(row["title"])
    sources = row.get("sources") or []
    return os.path.basename(sources[0]) if sources else str(row["episode_id"])


def _book(index: Index) -> SpeakerBook | None:
    """The user's speaker names kept beside the index, if any were recorded."""
    path = speaker_file(index.path)
    if not path.exists():
        return None
    from .speakers import SpeakerBook

    return SpeakerBook.load(path)


def known_speakers(index: Index) -> list[str]:
    """Every speaker name of the index, sorted (kept in the manifest by the writer)."""
    cached = index.manifest.get("speakers")
    if cached is not None:
        return list(cached["names"])
    col = index.read_table("passages.parquet", columns=["speaker"]).column("speaker")
    return sorted({s for s in col.to_pylist() if s})


def speaker_roles(index: Index) -> dict[str, list[str]]:
    """Who "the host" and "the guest" are (see ``compute_roles``)."""
    cached = index.manifest.get("speakers")
    if cached is not None:
        return {k: list(v) for k, v in cached["roles"].items()}
    table = index.read_table("passages.parquet", columns=["speaker", "episode_id"])
    pairs = zip(
        table.column("speaker").to_pylist(), table.column("episode_id").to_pylist(), strict=True
    )
    return compute_roles(pairs, index.episodes.to_pylist())


def compute_roles(
    speaker_episodes: Iterable[tuple[str | None, str]], episodes: list[dict[str, Any]]
) -> dict[str, list[str]]:
    """Hosts named by the feed, else the one speaker heard in at least half of the episodes
    (2 or more) of the library; guests are the others. From (speaker, episode id) pairs of
    the passages and the episode rows."""
    episodes_of: dict[str, set[str]] = {}
    for spk, eid in speaker_episodes:
        if spk:
            episodes_of.setdefault(spk, set()).add(eid)
    known = sorted(episodes_of)
    hosts: set[str] = set()
    for row in episodes:
        for person in row.get("people") or []:
            if (person.get("role") or "").lower() == "host":
                hosts.update(match_speaker(person["name"], known))
    n_episodes = len(episodes)
    if not hosts and episodes_of and n_episodes >= 2:
        top = max(known, key=lambda k: len(episodes_of[k]))
        if len(episodes_of[top]) >= max(2, n_episodes / 2):
            hosts.add(top)
    return {"host": sorted(hosts), "guest": [k for k in known if k not in hosts] if hosts else []}


def _filter_sets(index: Index, filters: Filters) -> tuple[set[str] | None, set[str] | None]:
    """(allowed episode ids, allowed folded speaker keys); None means no restriction."""
    episodes = None
    if filters.podcast or filters.episode or filters.since or filters.until:
        episodes = set()
        for row in index.episode_rows().values():
            if filters.podcast and fold(filters.podcast) not in fold(row.get("podcast")):
                continue
            if filters.episode and not _episode_matches(filters.episode, row):
                continue
            published = row.get("published") or ""
            if filters.since and (not published or published < filters.since):
                continue
            if filters.until and (not published or published > filters.until):
                continue
            episodes.add(row["episode_id"])
    speakers = None
    if filters.speakers:
        speakers = {speaker_key(s) for s in filters.speakers}
        if filters.include_unknown_speaker:
            speakers.add(speaker_key(None))
    return episodes, speakers


def _allowed_rows(index: Index, filters: Filters) -> np.ndarray | None:
    """Row ids that pass the filters, or None when no filter is set."""
    episodes, speakers = _filter_sets(index, filters)
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


def _episode_matches(wanted: str, row: dict[str, Any]) -> bool:
    w = fold(wanted)
    if w == row["episode_id"]:
        return True
    names = [row.get("title") or ""] + [os.path.basename(s) for s in row.get("sources") or []]
    return any(w in fold(n) for n in names)


def dense_search(
    index: Index, vector: np.ndarray, k: int, allowed: np.ndarray | None
) -> list[tuple[int, float]]:
    """(row, score) of the k nearest passages by inner product, inside ``allowed`` if given."""
    # Exact numpy search on the memory-mapped vectors of a flat index, FAISS otherwise.
    return index.nearest(vector, k, allowed)


MODES = ("hybrid", "semantic", "lexical")
# A hit is "confident" when its score reaches the threshold of its scale. Calibrated with
# scripts/calibrate.py on the dev index (E41-E80, 27 answerable questions, the 3 dev
# negatives and 21 generic off-topic questions in scripts/data/offtopic_questions.txt):
# - hybrid (weighted fusion): off-topic top hits reach 0.32 at most (90th pct 0.31), the first
#   correct hits of answerable questions start at 0.30 (10th pct 0.35, median 0.50);
# - cosine (semantic mode, rrf fusion): off-topic questions still find passages at up to 0.40
#   (fishing in a mountain lake), so only a higher bar keeps them out.
CONFIDENT_FUSED = 0.33
CONFIDENT_COSINE = 0.40
# Lexical mode has no cosine: a hit is confident when it holds most of the question's words.
CONFIDENT_COVERAGE = 0.75
RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al. 2009)
# Weighted fusion: FUSION_WEIGHT * cosine + (1 - FUSION_WEIGHT) * coverage, where coverage is
# the idf-weighted share of the question's terms found in the passage (0..1). Unlike
# min-max-normalised BM25, coverage is absolute: for a paraphrase no passage covers much and
# the dense score decides; a rare name or number that a passage holds lifts it to the top.
# Dev set (E41-E80): R@5 is 0.926 for every weight from 0.6 to 0.9; 0.7 is mid-plateau.
FUSION_WEIGHT = 0.7


def fuse_rrf(rankings: list[list[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of several rankings of row ids, best first."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, 1):
            scores[row] = scores.get(row, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda x: (-x[1], x[0]))


def search(
    index: Index,
    question: str,
    *,
    top: int = 10,
    filters: Filters | None = None,
    embedder: Embedder | None = None,
    model: str | None = None,
    parse: bool = True,
    mode: str = "hybrid",
    fusion: str = "weighted",
) -> SearchResult:
    """Rank the index's passages for a question and return the top hits.

    ``mode``: hybrid (default), semantic or lexical. ``fusion`` (hybrid only): weighted
    (cosine plus query-term coverage, the default) or rrf (reciprocal rank fusion)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    model_name = check_model(index, model)
    filters = filters or Filters()
    parsed = (
        parse_question(question, known_speakers(index), speaker_roles(index), _book(index))
        if parse and not filters.speakers
        else ParsedQuestion(query=question)
    )
    if parsed.speakers:
        filters = Filters(
            **{**asdict(filters), "speakers": parsed.speakers, "include_unknown_speaker": True}
        )
    elif filters.speakers:
        known = known_speakers(index)
        from .speakers import expand_query_name

        book = _book(index)
        resolved = [m for s in filters.speakers for m in (expand_query_name(s, known, book) or [s])]
        filters = Filters(**{**asdict(filters), "speakers": resolved})
    episodes, speakers = _filter_sets(index, filters)
    depth = max(100, top * 10)
    phrases, _ = split_query(parsed.query)

    lexical: list[tuple[int, float]] = []
    if mode != "semantic" or phrases:
        lexical = index.lexical.search(parsed.query, depth, episodes=episodes, speakers=speakers)
    dense: list[tuple[int, float]] = []
    vector = None
    if mode != "lexical":
        embedder = embedder or load_query_embedder(model_name)
        vector = embedder.encode([parsed.query])[0]
        dense = dense_search(index, vector, depth, _allowed_rows(index, filters))
    if phrases:
        # Quoted text must appear: keep only passages the phrase query matched.
        matched = {r for r, _ in lexical}
        dense = [(r, sc) for r, sc in dense if r in matched]

    if mode == "semantic":
        ranked = dense[:depth]
    elif mode == "lexical":
        ranked = lexical[:depth]
    else:
        ranked = _fuse(index, parsed.query, vector, dense, lexical, fusion)[:depth]
    if mode == "hybrid" and fusion == "rrf" and vector is not None:
        # Rank fusion numbers mean nothing to a reader: show the cosine instead.
        cosine = _cosines(index, vector, dense, [r for r, _ in ranked])
        ranked = [(r, cosine[r]) for r, _ in ranked]
    hits: list[Hit] = []
    # Hits are made a batch at a time, best first, until ``top`` of them survive the rules.
    batch = max(2 * top, 20)
    for at in range(0, len(ranked), batch):
        for h in _make_hits(index, ranked[at : at + batch]):
            h.confident = _is_confident(h, mode, fusion, parsed.query, bool(phrases))
            if parsed.speakers and h.speaker is None and not h.confident:
                # Unattributed text may hold the named person's words, but only a strong
                # match earns a place beside their labelled passages.
                continue
            if any(_overlaps(h, k) for k in hits):
                continue  # no two hits cover the same span of one episode
            hits.append(h)
            if len(hits) == top:
                break
        if len(hits) == top:
            break
    for i, h in enumerate(hits, 1):
        h.rank = i
    return SearchResult(question=question, query=parsed.query, speakers=filters.speakers, hits=hits)


def _cosines(
    index: Index, vector: np.ndarray, dense: list[tuple[int, float]], rows: list[int]
) -> dict[int, float]:
    """Cosine of the question to each row: from the dense results, else from stored vectors."""
    cosine = dict(dense)
    missing = [r for r in rows if r not in cosine]
    if missing:
        cosine.update(zip(missing, (index.vectors_for(missing) @ vector).tolist(), strict=True))
    return cosine


def _fuse(
    index: Index,
    query: str,
    vector: np.ndarray,
    dense: list[tuple[int, float]],
    lexical: list[tuple[int, float]],
    fusion: str,
) -> list[tuple[int, float]]:
    """One ranking from the dense and lexical candidates."""
    if fusion == "rrf":
        return fuse_rrf([[r for r, _ in dense], [r for r, _ in lexical]])
    if fusion != "weighted":
        raise ValueError("fusion must be weighted or rrf")
    rows = list(dict.fromkeys([r for r, _ in dense] + [r for r, _ in lexical]))
    if not rows:
        return []
    cosine = _cosines(index, vector, dense, rows)
    coverage = index.lexical.coverage(query, rows)
    fused = {
        r: FUSION_WEIGHT * cosine[r] + (1 - FUSION_WEIGHT) * c
        for r, c in zip(rows, coverage, strict=True)
    }
    return sorted(fused.items(), key=lambda x: (-x[1], x[0]))


def _is_confident(hit: Hit, mode: str, fusion: str, query: str, phrase: bool) -> bool:
    if phrase:
        return True  # the quoted words are in the passage
    if mode == "hybrid" and fusion == "weighted":
        return hit.score >= CONFIDENT_FUSED
    if mode != "lexical":
        return hit.score >= CONFIDENT_COSINE
    _, words = split_query(query)
    stems = {w.lower()[:5] for w in words}
    text = {w[:5] for w in re.findall(r"\w+", hit.text.lower())}
    return len(stems) >= 2 and len(stems & text) / len(stems) >= CONFIDENT_COVERAGE


def _overlaps(a: Hit, b: Hit) -> bool:
    if a.episode_id != b.episode_id:
        return False
    if a.passage_id == b.passage_id:
        return True
    if None in (a.start, a.end, b.start, b.end):
        return False
    return a.start < b.end and b.start < a.end  # type: ignore[operator]


def _make_hits(index: Index, ranked: list[tuple[int, float]]) -> list[Hit]:
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
                start=row["start"],
                end=row["end"],
                time_precision=row["time_precision"],
                text=row["text"],
                sources=list(ep.get("sources") or []),
                url=ep.get("url"),
                turn_index=row["turn_index"],
                chapter=row.get("chapter"),
            )
        )
    return hits


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
