"""The lexical (BM25) index, kept in each generation beside the FAISS file.

Tantivy was chosen over bm25s: it imports in 0.03 s (bm25s pulls scipy, 0.3 s) which
matters for a cold `ask`, it indexes positions so quoted phrases are exact phrase queries,
it filters inside the search (episode and speaker term sets) instead of after it, and its
analyzer chain gives stemming, ASCII folding and stop words with no Python in the loop.
"""

from __future__ import annotations

import math
import re
import shutil
import unicodedata
import zlib
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import IndexFormatError
from ..core.text import fold

LEXICAL_DIR = "lexical"
ANALYZER = "podsearch_en"
UNKNOWN_SPEAKER = "\x00unknown"
TERMS_FILE = "terms.npy"
META_FIELD = "meta"
META_BOOST = 0.3  # a match in the title or description counts less than one in the passage
OFFSETS_FILE = "term_offsets.npy"

# Words that carry no topic in a question. The index drops only Lucene's short English
# list; questions add these function words, which would otherwise match everywhere.
QUERY_STOPWORDS = set(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing done down during each
    else ever few for from further get got had has have having he her here hers him his how
    i if in into is it its itself just like me more most my no nor not now of off on once
    only or other our out over own really said same say says she should so some such talk
    talked talking tell than that the their them then there these they think thought this
    those through to too under until up us very was we were what when where which while who
    whom why will with would you your yours anything something someone somebody mention
    mentioned discuss discussed describe described explain explained according""".split()
)
_PHRASE = re.compile(r"[\"“”]([^\"“”]+)[\"“”]")


def _analyzer() -> Any:
    import tantivy

    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stopword("english"))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def _schema() -> Any:
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("text", stored=False, tokenizer_name=ANALYZER, index_option="position")
    # The episode's title and description, on each of its passages: a question naming an
    # episode's subject finds its passages (searched with a lower boost than the text).
    sb.add_text_field(META_FIELD, stored=False, tokenizer_name=ANALYZER, index_option="position")
    sb.add_unsigned_field("row", stored=True, indexed=False, fast=True)
    sb.add_text_field("episode", stored=False, tokenizer_name="raw")
    sb.add_text_field("speaker", stored=False, tokenizer_name="raw")
    return sb.build()


def speaker_key(speaker: str | None) -> str:
    return fold(speaker) if speaker else UNKNOWN_SPEAKER


def build_lexical(
    folder: Path,
    passages: Any,
    episodes: list[dict[str, Any]] | None = None,
    previous: tuple[Path, int] | None = None,
) -> None:
    """Write a lexical index of the passages (an Arrow table of passage rows) into
    ``folder``; doc ``row`` = passage row.
    ``episodes`` (rows with ``title`` and ``description``) fill each passage's meta field.
    ``previous``: (lexical folder, n) of a generation whose first n passages, and their
    episodes' titles and descriptions, are these ones: its documents are copied and only the
    other passages analysed (used when it holds exactly n documents)."""
    import tantivy

    start = 0
    if previous and previous[1] and _documents(previous[0]) == previous[1]:
        shutil.copytree(previous[0], folder)  # segments are written once: a plain copy
        start = previous[1]
    folder.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(_schema(), path=str(folder))  # opens the copy, if any
    index.register_tokenizer(ANALYZER, _analyzer())
    writer = index.writer(heap_size=64_000_000, num_threads=1)
    meta = {
        e["episode_id"]: " ".join(x for x in (e.get("title"), e.get("description")) if x)
        for e in episodes or []
    }
    # Only the new rows' columns become Python objects.
    new = passages.select(["text", "episode_id", "speaker"]).slice(start).to_pydict()
    for row, (text, episode, speaker) in enumerate(
        zip(new["text"], new["episode_id"], new["speaker"], strict=True), start
    ):
        doc = tantivy.Document()
        doc.add_text("text", text)
        if meta.get(episode):
            doc.add_text(META_FIELD, meta[episode])
        doc.add_unsigned("row", row)
        doc.add_text("episode", episode)
        doc.add_text("speaker", speaker_key(speaker))
        writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()
    write_terms(folder, new["text"], start)


def _documents(folder: Path) -> int:
    """How many documents the lexical index in ``folder`` holds (-1: none readable)."""
    import tantivy

    try:
        return int(tantivy.Index.open(str(folder)).searcher().num_docs)
    except (OSError, ValueError):
        return -1


def _term_ids(terms: Any) -> np.ndarray:
    """Sorted distinct crc32 ids of analysed terms."""
    return np.array(sorted({zlib.crc32(t.encode()) for t in terms}), dtype=np.uint32)


def write_terms(folder: Path, texts: list[str], kept: int = 0) -> None:
    """Each passage's analysed terms (crc32, sorted) in ``terms.npy``, passage i's slice
    starting at ``term_offsets.npy[i]``: query-term coverage then needs no text and no
    analysis at query time (a few MB for 50k passages). ``kept``: the first passages' terms
    are already in ``folder``'s files (a copied generation); ``texts`` are the others'."""
    analyzer = _analyzer()
    parts = [_term_ids(analyzer.analyze(t)) for t in texts]
    sizes = np.array([len(p) for p in parts], dtype=np.int64)
    offsets = np.zeros(1, dtype=np.int64)
    if kept:
        old_offsets = np.load(folder / OFFSETS_FILE)
        offsets = old_offsets[: kept + 1]
        parts.insert(0, np.load(folder / TERMS_FILE)[: offsets[-1]])
    offsets = np.concatenate([offsets, offsets[-1] + np.cumsum(sizes)])
    np.save(folder / TERMS_FILE, np.concatenate(parts) if parts else np.zeros(0, np.uint32))
    np.save(folder / OFFSETS_FILE, offsets)


def split_query(question: str) -> tuple[list[str], list[str]]:
    """(quoted phrases, remaining topic words) of a question."""
    phrases = [p.strip() for p in _PHRASE.findall(question) if p.strip()]
    rest = _PHRASE.sub(" ", question)
    found = (w.strip("'") for w in words_of(rest, keep="'"))
    words = [w for w in found if w and w.lower() not in QUERY_STOPWORDS]
    return phrases, words


class LexicalIndex:
    """Searches one generation's lexical index."""

    def __init__(self, folder: Path) -> None:
        import tantivy

        self._tantivy = tantivy
        self.index = tantivy.Index.open(str(folder))
        self.folder = Path(folder)
        self._analyzer = _analyzer()
        self.index.register_tokenizer(ANALYZER, self._analyzer)
        self.searcher = self.index.searcher()
        # Indexes written before the meta field search the text alone.
        self._fields = ["text", META_FIELD]
        try:
            self.index.parse_query("x", self._fields)
        except ValueError:
            self._fields = ["text"]

    def search(
        self,
        question: str,
        k: int,
        *,
        episodes: set[str] | None = None,
        speakers: set[str] | None = None,
        require_phrases: bool = True,
    ) -> list[tuple[int, float]]:
        """(row, BM25 score) best first. Quoted phrases must match exactly; the filters
        (episode ids, folded speaker names or UNKNOWN_SPEAKER) apply inside the search."""
        t = self._tantivy
        phrases, words = split_query(question)
        clauses: list[tuple[Any, Any]] = []
        for phrase in phrases:
            q = self._parse(f'"{_clean(phrase)}"')
            if q is not None:
                clauses.append((t.Occur.Must if require_phrases else t.Occur.Should, q))
        if words:
            q = self._parse(" ".join(_clean(w) for w in words))
            if q is not None:
                clauses.append((t.Occur.Should if clauses else t.Occur.Must, q))
        if not clauses:
            return []
        schema = self.index.schema
        if episodes is not None:
            clauses.append(
                (t.Occur.Must, t.Query.term_set_query(schema, "episode", sorted(episodes)))
            )
        if speakers is not None:
            clauses.append(
                (t.Occur.Must, t.Query.term_set_query(schema, "speaker", sorted(speakers)))
            )
        query = t.Query.boolean_query(clauses)
        hits = self.searcher.search(query, k).hits
        # The row from its fast field (a column read), not from the stored document.
        rows = self.searcher.fast_field_values("row", [addr for _, addr in hits])
        return [(int(row), float(score)) for (score, _), row in zip(hits, rows, strict=True)]

    def coverage(self, question: str, rows: list[int]) -> list[float]:
        """For each passage row, the idf-weighted share of the question's terms it holds."""
        _, words = split_query(question)
        terms = set(self._analyzer.analyze(" ".join(words)))
        if not terms:
            return [0.0] * len(rows)
        n = self.searcher.num_docs
        idf = {}
        for t in terms:
            df = self.searcher.doc_freq("text", t)
            idf[t] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        total = sum(idf.values()) or 1.0
        ids = {zlib.crc32(t.encode()): w for t, w in idf.items()}
        wanted = np.array(sorted(ids), dtype=np.uint32)
        weights = np.array([ids[int(t)] for t in wanted], dtype=np.float64)
        terms_of, offsets = self._terms
        r = np.asarray(rows, dtype=np.int64)
        starts, lengths = offsets[r], offsets[r + 1] - offsets[r]
        # Every term of every candidate in one array, with the candidate it belongs to.
        owner = np.repeat(np.arange(len(r)), lengths)
        at = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        terms = terms_of[np.repeat(starts, lengths) + at]
        pos = np.minimum(np.searchsorted(wanted, terms), len(wanted) - 1)
        found = wanted[pos] == terms
        sums = np.bincount(owner[found], weights=weights[pos[found]], minlength=len(r))
        return (sums / total).tolist()

    @cached_property
    def _terms(self) -> tuple[np.ndarray, np.ndarray]:
        """(all passages' term ids, offsets) (see ``write_terms``)."""
        if not (self.folder / TERMS_FILE).exists():
            raise IndexFormatError(
                f"{self.folder} has no term files (written by an older podsearch): "
                "rebuild the index with 'podsearch rebuild'"
            )
        # Read whole, not memory-mapped: slicing a memmap costs more than the read (12 MB
        # for 50k passages).
        return np.load(self.folder / TERMS_FILE), np.load(self.folder / OFFSETS_FILE)

    def _parse(self, text: str) -> Any:
        text = text.strip()
        if not text or text == '""':
            return None
        try:
            boosts = {META_FIELD: META_BOOST} if META_FIELD in self._fields else {}
            return self.index.parse_query(text, self._fields, field_boosts=boosts)
        except ValueError:
            return None


def words_of(text: str, keep: str = "") -> list[str]:
    """The words of a text: letters, digits and combining marks (and ``keep``). Python's
    ``\\w`` leaves out marks, which split Devanagari and other Indic words at their vowel
    signs ("मैं" came out as "म"), so a quoted Hindi phrase found nothing."""
    chars = [
        c if c.isalnum() or c in keep or unicodedata.category(c)[0] == "M" else " " for c in text
    ]
    return "".join(chars).split()


def _clean(s: str) -> str:
    """Only word characters survive: no query syntax reaches the parser."""
    return " ".join(words_of(s.lower()))
