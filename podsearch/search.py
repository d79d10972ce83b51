"""Answer a question from an index: parse it, filter, rank passages, shape the hits."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .embedding import Embedder, load_embedder
from .indexing import check_model
from .lexical import speaker_key, split_query
from .store import Index
from .text import fold

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


def parse_question(question: str, known_speakers: list[str]) -> ParsedQuestion:
    """Split "what did NAME say about TOPIC" into a speaker filter and the topic."""
    q = question.strip().strip("\"'“”").rstrip("?!. ").strip()
    for form in _FORMS:
        m = form.match(q)
        if not m:
            continue
        name = m.group("name").strip()
        speakers = match_speaker(name, known_speakers)
        topic = m.group("topic").strip()
        if speakers and topic:
            return ParsedQuestion(query=topic, speakers=speakers, name=name)
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

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


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


def known_speakers(index: Index) -> list[str]:
    col = index.read_table("passages.parquet", columns=["speaker"]).column("speaker")
    return sorted({s for s in col.to_pylist() if s})


def _filter_sets(index: Index, filters: Filters) -> tuple[set[str] | None, set[str] | None]:
    """(allowed episode ids, allowed folded speaker keys); None means no restriction."""
    episodes = None
    if filters.podcast or filters.episode or filters.since or filters.until:
        episodes = set()
        for row in index.episodes.to_pylist():
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
    table = index.read_table("passages.parquet", columns=["episode_id", "speaker"])
    rows = [
        i
        for i, (eid, spk) in enumerate(
            zip(
                table.column("episode_id").to_pylist(),
                table.column("speaker").to_pylist(),
                strict=True,
            )
        )
        if (episodes is None or eid in episodes)
        and (speakers is None or speaker_key(spk) in speakers)
    ]
    return np.asarray(rows, dtype=np.int64)


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
    import faiss

    fi = index.faiss
    if fi.ntotal == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
        return []
    q = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
    k = min(k, fi.ntotal if allowed is None else len(allowed))
    if allowed is None:
        scores, ids = fi.search(q, k)
    else:
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        scores, ids = fi.search(q, k, params=params)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


MODES = ("hybrid", "semantic", "lexical")
RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al. 2009)


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
) -> SearchResult:
    """Rank the index's passages for a question and return the top hits."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    model_name = check_model(index, model)
    filters = filters or Filters()
    parsed = (
        parse_question(question, known_speakers(index))
        if parse and not filters.speakers
        else ParsedQuestion(query=question)
    )
    if parsed.speakers:
        filters = Filters(
            **{**asdict(filters), "speakers": parsed.speakers, "include_unknown_speaker": True}
        )
    elif filters.speakers:
        known = known_speakers(index)
        resolved = [m for s in filters.speakers for m in (match_speaker(s, known) or [s])]
        filters = Filters(**{**asdict(filters), "speakers": resolved})
    episodes, speakers = _filter_sets(index, filters)
    depth = max(50, top * 5)
    phrases, _ = split_query(parsed.query)

    lexical: list[tuple[int, float]] = []
    if mode != "semantic" or phrases:
        lexical = index.lexical.search(parsed.query, depth, episodes=episodes, speakers=speakers)
    dense: list[tuple[int, float]] = []
    if mode != "lexical":
        embedder = embedder or load_embedder(model_name)
        vector = embedder.encode([parsed.query])[0]
        dense = dense_search(index, vector, depth, _allowed_rows(index, filters))
    if phrases:
        # Quoted text must appear: keep only passages the phrase query matched.
        matched = {r for r, _ in lexical}
        dense = [(r, sc) for r, sc in dense if r in matched]

    if mode == "semantic":
        ranked = dense
    elif mode == "lexical":
        ranked = lexical
    else:
        ranked = fuse_rrf([[r for r, _ in dense], [r for r, _ in lexical]])
    hits = _make_hits(index, ranked[:depth])
    hits = _drop_overlaps(hits)[:top]
    for i, h in enumerate(hits, 1):
        h.rank = i
    return SearchResult(question=question, query=parsed.query, speakers=filters.speakers, hits=hits)


def _overlaps(a: Hit, b: Hit) -> bool:
    if a.episode_id != b.episode_id:
        return False
    if a.passage_id == b.passage_id:
        return True
    if None in (a.start, a.end, b.start, b.end):
        return False
    return a.start < b.end and b.start < a.end  # type: ignore[operator]


def _drop_overlaps(hits: list[Hit]) -> list[Hit]:
    """No two hits cover the same span of one episode: the better-ranked one stays."""
    kept: list[Hit] = []
    for h in hits:
        if not any(_overlaps(h, k) for k in kept):
            kept.append(h)
    return kept


def _make_hits(index: Index, ranked: list[tuple[int, float]]) -> list[Hit]:
    if not ranked:
        return []
    rows = index.passages.take([r for r, _ in ranked]).to_pylist()
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
            )
        )
    return hits
