"""Search: question parsing, speaker matching, dense search against brute force, filters,
and end-to-end search over a small index built from hand-made episodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from builders import (
    GUEST,
    HOST,
    THIRD,
    hand_contents,
    timed_turn,
    unit_vectors,
    untimed_turn,
    vtt,
)
from fakes import FakeEmbedder

from podsearch.api import Library
from podsearch.core.errors import ModelMismatchError
from podsearch.core.models import Episode
from podsearch.episodes.chunking import chunk_episode
from podsearch.pipeline.rows import episode_row, passage_row, turn_rows
from podsearch.query import rank
from podsearch.query.context import attach_context
from podsearch.query.filters import allowed_rows
from podsearch.query.hits import merge_adjacent, overlaps
from podsearch.query.names import known_speakers
from podsearch.query.parse import parse_question
from podsearch.query.rank import fuse_rrf, search
from podsearch.query.types import Filters, Hit
from podsearch.speakers.roles import match_speaker
from podsearch.store.index import Index
from podsearch.store.writer import IndexContents, write_index

KNOWN = [GUEST, HOST, THIRD]  # "Clément Delangue", "Theo Jaffee", "Sofia Puccini"


# --- parsing questions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "speaker", "query"),
    [
        ("what did Clem say about distillation", GUEST, "distillation"),
        ("What did Clem say about distillation?", GUEST, "distillation"),
        ("What does Theo think about open source?", HOST, "open source"),
        ("Sofia on robotics", THIRD, "robotics"),
        ("According to Clem, is AI a bubble?", GUEST, "is AI a bubble"),
        ("what has Clem said about China", GUEST, "China"),
        ("Clem's take on regulation", GUEST, "regulation"),
        ("Clem’s take on regulation", GUEST, "regulation"),
        ("What's Sofia's view on humanoid robots?", THIRD, "humanoid robots"),
        ("did Theo ever talk about compute", HOST, "compute"),
        ("how does clement delangue feel about regulation", GUEST, "regulation"),
        ("what did clement delangue say about open weights", GUEST, "open weights"),
        ("What did DELANGUE say about open weights", GUEST, "open weights"),
        ("What did Clément Delangue say about the hub", GUEST, "the hub"),
        ("what did Clem Delangue say about the hub", GUEST, "the hub"),
        ('"what did Theo say about agents"', HOST, "agents"),
    ],
)
def test_parse_question_finds_speaker(question: str, speaker: str, query: str) -> None:
    parsed = parse_question(question, KNOWN)
    assert parsed.speakers == [speaker]
    assert parsed.query == query
    assert parsed.name


@pytest.mark.parametrize(
    "question",
    [
        "what did Bob say about distillation",
        "thoughts on the budget",
        "What are your thoughts on the budget?",
        "What did they say about China?",
        "open source on phones",
        "distillation",
        "what did Cl say about distillation",  # two letters is too short a prefix
        "",
    ],
)
def test_parse_question_without_known_speaker(question: str) -> None:
    parsed = parse_question(question, KNOWN)
    assert parsed.speakers == []
    assert parsed.query == question.strip()
    assert parsed.name is None


def test_parse_question_without_known_speakers_at_all() -> None:
    parsed = parse_question("what did Clem say about distillation", [])
    assert (parsed.query, parsed.speakers) == ("what did Clem say about distillation", [])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Clem", [GUEST]),
        ("clem", [GUEST]),
        ("Clément", [GUEST]),
        ("clement", [GUEST]),
        ("clement delangue", [GUEST]),
        ("CLÉMENT DELANGUE", [GUEST]),
        ("DELANGUE", [GUEST]),
        ("  Clément   Delangue ", [GUEST]),
        ("Clem Delangue", [GUEST]),
        ("Theo", [HOST]),
        ("sofia puccini", [THIRD]),
        ("Cl", []),
        ("Bob", []),
        ("Delangue Clément", [GUEST]),  # all words of the name, any order
        ("Sofia Delangue", []),
        ("", []),
        ("?!", []),
    ],
)
def test_match_speaker(name: str, expected: list[str]) -> None:
    assert match_speaker(name, KNOWN) == expected


def test_match_speaker_exact_beats_partial_and_ambiguity_is_kept() -> None:
    assert match_speaker("Theo", ["Theo Jaffee", "Theo"]) == ["Theo"]
    assert match_speaker("Sofia", ["Sofia Puccini", "Sofia Coppola"]) == [
        "Sofia Puccini",
        "Sofia Coppola",
    ]
    assert match_speaker("sofia coppola", ["Sofia Puccini", "Sofia Coppola"]) == ["Sofia Coppola"]


# --- dense search against brute force ----------------------------------------------------------


N_ROWS, DIM = 500, 32


@pytest.fixture(scope="module")
def random_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Index, np.ndarray]:
    contents = hand_contents(n_passages=N_ROWS, dim=DIM, seed=11, model="fake-32")
    path = tmp_path_factory.mktemp("dense") / "idx"
    write_index(path, contents)
    return Index(path), contents.vectors


def brute_force(
    vectors: np.ndarray, q: np.ndarray, k: int, allowed: np.ndarray | None
) -> tuple[list[int], np.ndarray]:
    rows = np.arange(len(vectors)) if allowed is None else np.asarray(allowed)
    scores = vectors[rows] @ q
    order = np.argsort(-scores, kind="stable")[:k]
    return rows[order].tolist(), scores[order]


def assert_same(got: list[tuple[int, float]], want: tuple[list[int], np.ndarray]) -> None:
    assert [r for r, _ in got] == want[0]
    np.testing.assert_allclose([s for _, s in got], want[1], atol=1e-5, rtol=0)


@pytest.mark.parametrize("k", [1, 10, 50, N_ROWS, N_ROWS + 100])
def test_dense_search_matches_brute_force(random_index: tuple[Index, np.ndarray], k: int) -> None:
    index, vectors = random_index
    rng = np.random.default_rng(k)
    for q in unit_vectors(rng, 5, DIM):
        got = index.nearest(q, k, None)
        assert len(got) == min(k, N_ROWS)
        assert_same(got, brute_force(vectors, q, k, None))


@pytest.mark.parametrize(("size", "k"), [(1, 10), (37, 10), (37, 37), (37, 100), (250, 20)])
def test_dense_search_insideallowed_rows(
    random_index: tuple[Index, np.ndarray], size: int, k: int
) -> None:
    index, vectors = random_index
    rng = np.random.default_rng(size * 1000 + k)
    for q in unit_vectors(rng, 5, DIM):
        allowed = np.sort(rng.choice(N_ROWS, size=size, replace=False)).astype(np.int64)
        got = index.nearest(q, k, allowed)
        assert len(got) == min(k, size)
        assert {r for r, _ in got} <= set(allowed.tolist())
        assert_same(got, brute_force(vectors, q, k, allowed))


def test_dense_search_edge_cases(random_index: tuple[Index, np.ndarray]) -> None:
    index, vectors = random_index
    q = vectors[3]
    assert index.nearest(q, 0, None) == []
    assert index.nearest(q, 5, np.zeros(0, dtype=np.int64)) == []
    (row, score), *_ = index.nearest(q, 5, None)
    assert row == 3 and score == pytest.approx(1.0, abs=1e-5)


# --- filters -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hand_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Index, IndexContents]:
    contents = hand_contents(n_passages=48, dim=16, seed=5)
    path = tmp_path_factory.mktemp("filters") / "idx"
    write_index(path, contents)
    return Index(path), contents


def rows_where(
    contents: IndexContents,
    *,
    episodes: set[str] | None = None,
    speakers: set[str | None] | None = None,
) -> list[int]:
    return [
        i
        for i, p in enumerate(contents.passages)
        if (episodes is None or p["episode_id"] in episodes)
        and (speakers is None or p["speaker"] in speakers)
    ]


@pytest.mark.parametrize(
    ("filters", "episodes", "speakers"),
    [
        (Filters(speakers=[GUEST]), None, {GUEST}),
        (Filters(speakers=["clement delangue"]), None, {GUEST}),
        (Filters(speakers=["CLÉMENT DELANGUE", "theo jaffee"]), None, {GUEST, HOST}),
        (Filters(speakers=[GUEST], include_unknown_speaker=True), None, {GUEST, None}),
        (Filters(speakers=["Nobody Atall"]), None, set()),
        (Filters(podcast="latent space"), {"a1", "c3"}, None),
        (Filters(podcast="ROBOT"), {"b2"}, None),
        (Filters(podcast="No Such Show"), set(), None),
        (Filters(episode="a1"), {"a1"}, None),
        (Filters(episode="open source and"), {"a1"}, None),  # words of the title
        (Filters(episode="Distillation"), {"a1"}, None),
        (Filters(episode="robots.json"), {"b2"}, None),  # a source file name
        (Filters(episode="mystery"), {"c3"}, None),  # untitled: its file name
        (Filters(episode="t"), {"a1", "b2", "c3"}, None),
        (Filters(since="2024-03-01"), {"b2"}, None),  # c3 has no date: left out
        (Filters(until="2024-03-01"), {"a1"}, None),
        (Filters(since="2024-01-10", until="2024-06-01"), {"a1", "b2"}, None),
        (Filters(since="2024-01-11", until="2024-05-31"), set(), None),
        (Filters(speakers=[THIRD], podcast="latent"), {"a1", "c3"}, {THIRD}),
        (Filters(speakers=[HOST], episode="robots", since="2024-01-01"), {"b2"}, {HOST}),
    ],
)
def testallowed_rows(
    hand_index: tuple[Index, IndexContents],
    filters: Filters,
    episodes: set[str] | None,
    speakers: set[str | None] | None,
) -> None:
    index, contents = hand_index
    allowed = allowed_rows(index, filters)
    assert allowed is not None
    assert allowed.dtype == np.int64
    assert allowed.tolist() == rows_where(contents, episodes=episodes, speakers=speakers)
    # Dense search honours them.
    q = contents.vectors[0]
    got = index.nearest(q, 10, allowed)
    assert {r for r, _ in got} <= set(allowed.tolist())
    assert len(got) == min(10, len(allowed))


def test_allowed_rows_without_a_lookup(hand_index: tuple[Index, IndexContents]) -> None:
    """Generations written before lookup/ existed filter from the Parquet columns."""
    index, contents = hand_index
    bare = Index(index.path)
    bare.__dict__["_lookup"] = None
    for filters, episodes, speakers in (
        (Filters(speakers=[GUEST], include_unknown_speaker=True), None, {GUEST, None}),
        (Filters(speakers=[HOST], episode="robots"), {"b2"}, {HOST}),
    ):
        got = allowed_rows(bare, filters)
        assert got is not None
        assert got.tolist() == rows_where(contents, episodes=episodes, speakers=speakers)
    assert len(bare.passage_codes("speaker")[1]) == len(contents.passages)


def test_no_filter_means_no_restriction(hand_index: tuple[Index, IndexContents]) -> None:
    index, _ = hand_index
    assert allowed_rows(index, Filters()) is None
    assert not Filters().active()
    assert Filters(since="2024-01-01").active()


def test_known_speakers(hand_index: tuple[Index, IndexContents]) -> None:
    index, _ = hand_index
    assert known_speakers(index) == sorted([GUEST, HOST, THIRD])


# --- end to end -------------------------------------------------------------------------------


DISTILLATION = (
    "Distillation is how a small model learns from a large teacher model. "
    "We distil the big model into a tiny student and the distillation keeps most quality."
)
OFF_TOPIC = [
    "The garden needs rain and the tomatoes are late this year in the valley.",
    "My favourite bakery sells bread with seeds and a crust that cracks loudly.",
    "We drove along the coast for hours and stopped at every lighthouse we saw.",
    "The orchestra tuned for a while before the symphony finally began tonight.",
    "Hiking boots should be broken in slowly over several short walks first.",
    "The museum opened a new wing for ancient maps and old ship logs.",
    "Winter evenings are for soup, thick socks and long novels by the fire.",
]


def build_index(path: Path, episodes: list[Episode], embedder: FakeEmbedder) -> Index:
    rows = [passage_row(p) for ep in episodes for p in chunk_episode(ep)]
    contents = IndexContents(
        manifest={"model": {"name": embedder.name, "dimension": embedder.dim, "normalized": True}},
        passages=rows,
        episodes=[episode_row(ep, [f"hash-{ep.id}"]) for ep in episodes],
        turns=[r for ep in episodes for r in turn_rows(ep)],
        vectors=embedder.encode([r["embed_text"] for r in rows]),
    )
    write_index(path, contents)
    return Index(path)


def interview() -> list[Episode]:
    """Two episodes: Theo and Clem, 30 passages each on distillation (more than the search
    depth of 50, so a filter applied after ranking would starve); Sofia, 7 off topic."""
    turns_a = []
    t = 0.0
    for i in range(60):
        speaker = HOST if i % 2 == 0 else GUEST
        text = f"{DISTILLATION} Point number {i} from {speaker.split()[0]}."
        turns_a.append(timed_turn(speaker, t, t + 30.0, text))
        turns_a.append(timed_turn(THIRD if i % 2 else HOST, t + 30.0, t + 31.0, "Yeah."))
        t += 31.0
    turns_a.append(untimed_turn(None, f"{DISTILLATION} Said by someone unlabelled."))
    turns_b = [
        timed_turn(THIRD, 40.0 * i, 40.0 * i + 35.0, f"{text} Sofia adds detail {i}.")
        for i, text in enumerate(OFF_TOPIC)
    ]
    return [
        Episode(
            "ep-a",
            title="Open models",
            podcast="Latent Space",
            published="2024-02-01",
            sources=["/t/open_models.vtt"],
            turns=turns_a,
        ),
        Episode(
            "ep-b",
            title="Weekend",
            podcast="Robot Talk",
            published="2024-07-01",
            sources=["/t/weekend.srt"],
            turns=turns_b,
        ),
    ]


@pytest.fixture(scope="module")
def e2e_index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    emb = FakeEmbedder("fake")
    return build_index(tmp_path_factory.mktemp("e2e") / "idx", interview(), emb)


def test_e2e_index_shape(e2e_index: Index) -> None:
    speakers = e2e_index.passages.column("speaker").to_pylist()
    assert speakers.count(THIRD) == 7
    assert speakers.count(GUEST) == 30 and speakers.count(HOST) == 30
    assert speakers.count(None) == 1
    assert e2e_index.model == "fake"


@pytest.mark.parametrize("mode", ["hybrid", "semantic", "lexical"])
def test_speaker_from_question_restricts_hits(
    e2e_index: Index, fake_embedder: FakeEmbedder, mode: str
) -> None:
    result = search(
        e2e_index, "what did Clem say about distillation", top=10, embedder=fake_embedder, mode=mode
    )
    assert result.speakers == [GUEST]
    assert result.query == "distillation"
    assert result.hits
    assert {h.speaker for h in result.hits} <= {GUEST, None}
    assert sum(h.speaker == GUEST for h in result.hits) >= 9
    assert [h.rank for h in result.hits] == list(range(1, len(result.hits) + 1))
    # Unattributed text is admitted only as a confident match: here it is off the topic.
    weak = search(
        e2e_index, "what did Clem say about the orchestra", top=50, embedder=fake_embedder
    )
    assert weak.hits and {h.speaker for h in weak.hits} == {GUEST}


def test_explicit_speaker_filter_is_strict_and_resolves_names(
    e2e_index: Index, fake_embedder: FakeEmbedder
) -> None:
    result = search(
        e2e_index,
        "distillation",
        top=10,
        embedder=fake_embedder,
        filters=Filters(speakers=["Clem"]),
    )
    assert result.speakers == [GUEST]
    assert len(result.hits) == 10
    assert {h.speaker for h in result.hits} == {GUEST}


def test_without_filter_all_speakers_compete(e2e_index: Index, fake_embedder: FakeEmbedder) -> None:
    result = search(e2e_index, "distillation", top=20, embedder=fake_embedder)
    assert result.speakers == []
    assert {GUEST, HOST} <= {h.speaker for h in result.hits}
    # parse=False keeps the question whole.
    raw = search(
        e2e_index,
        "what did Clem say about distillation",
        top=20,
        embedder=fake_embedder,
        parse=False,
    )
    assert raw.speakers == [] and raw.query == "what did Clem say about distillation"


@pytest.mark.parametrize("mode", ["hybrid", "semantic"])
def test_filters_do_not_starve_results(
    e2e_index: Index, fake_embedder: FakeEmbedder, mode: str
) -> None:
    # Sofia's 7 passages are far down the global ranking for this query.
    result = search(
        e2e_index,
        "distillation",
        top=5,
        embedder=fake_embedder,
        mode=mode,
        filters=Filters(speakers=[THIRD]),
    )
    assert len(result.hits) == 5
    assert {h.speaker for h in result.hits} == {THIRD}
    assert len({h.passage_id for h in result.hits}) == 5
    # Episode filters too.
    by_episode = search(
        e2e_index,
        "distillation",
        top=5,
        embedder=fake_embedder,
        mode=mode,
        filters=Filters(episode="weekend"),
    )
    assert len(by_episode.hits) == 5
    assert {h.episode_id for h in by_episode.hits} == {"ep-b"}


def test_hits_carry_episode_details(e2e_index: Index, fake_embedder: FakeEmbedder) -> None:
    hit = search(e2e_index, "bakery bread crust", top=1, embedder=fake_embedder).hits[0]
    assert hit.speaker == THIRD
    assert hit.episode_id == "ep-b"
    assert (hit.episode_title, hit.podcast, hit.published) == (
        "Weekend",
        "Robot Talk",
        "2024-07-01",
    )
    assert hit.sources == ["/t/weekend.srt"]
    assert hit.start == 40.0 and hit.end == 75.0
    assert "bakery" in hit.text


def test_different_model_is_refused(e2e_index: Index, fake_embedder: FakeEmbedder) -> None:
    for model in ("fake-64", "default", "all-MiniLM-L6-v2"):
        with pytest.raises(ModelMismatchError) as info:
            search(e2e_index, "distillation", embedder=fake_embedder, model=model)
        assert "fake" in str(info.value) and "rebuild" in str(info.value)
    # The index's own model name is accepted.
    assert search(e2e_index, "distillation", model="fake", top=3).hits


def test_unknown_mode_is_refused(e2e_index: Index, fake_embedder: FakeEmbedder) -> None:
    with pytest.raises(ValueError, match="mode"):
        search(e2e_index, "distillation", embedder=fake_embedder, mode="fuzzy")


# --- fusion, shaping and confidence ---------------------------------------------------------


def test_rrf_on_hand_made_rankings() -> None:
    fused = fuse_rrf([[1, 2, 3], [3, 1, 4]], k=60)
    assert [r for r, _ in fused] == [1, 3, 2, 4]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[1][1] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[3][1] == pytest.approx(1 / 63)
    # A row only one ranking found still gets in; ties break by row id.
    assert [r for r, _ in fuse_rrf([[5], [6]])] == [5, 6]
    assert fuse_rrf([]) == []


def _hit(pid: str, episode: str, start: float | None, end: float | None) -> Hit:
    return Hit(
        rank=0, score=0.0, passage_id=pid, episode_id=episode, episode_title="t", podcast=None,
        published=None, speaker=None, speaker_source=None, start=start, end=end,
        time_precision="exact", text="", sources=[], url=None, turn_index=0,
    )  # fmt: skip


def test_dense_and_lexical_searches_run_side_by_side(
    e2e_index: Index, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lexical search runs in a worker thread while the vector search runs here; an
    error in either reaches the caller, and the worker is free again afterwards."""
    import threading

    from podsearch.query import rank
    from podsearch.store.lexical import LexicalIndex

    threads: list[str] = []
    real = LexicalIndex.search

    def spy(self: LexicalIndex, *args: object, **kwargs: object) -> list[tuple[int, float]]:
        threads.append(threading.current_thread().name)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(LexicalIndex, "search", spy)
    before = search(e2e_index, "open source robotics", embedder=fake_embedder)
    assert threads and threads[-1].startswith("podsearch-query")
    search(e2e_index, "open source robotics", mode="lexical", embedder=fake_embedder)
    assert threads[-1] == threading.current_thread().name  # nothing to overlap: no worker

    def broken(self: LexicalIndex, *args: object, **kwargs: object) -> list[tuple[int, float]]:
        raise OSError("lexical index unreadable")

    monkeypatch.setattr(LexicalIndex, "search", broken)
    with pytest.raises(OSError, match="unreadable"):
        search(e2e_index, "open source robotics", embedder=fake_embedder)
    monkeypatch.setattr(LexicalIndex, "search", real)

    def no_vectors(*args: object, **kwargs: object) -> list[tuple[int, float]]:
        raise OSError("vectors unreadable")

    monkeypatch.setattr(Index, "nearest", no_vectors)
    with pytest.raises(OSError, match="vectors unreadable"):
        search(e2e_index, "open source robotics", embedder=fake_embedder)
    monkeypatch.undo()
    again = search(e2e_index, "open source robotics", embedder=fake_embedder)
    assert [h.passage_id for h in again.hits] == [h.passage_id for h in before.hits]
    assert rank._alongside(lambda: 1, lambda: 2) == (1, 2)


def test_the_overlap_rule() -> None:
    a = _hit("a", "e1", 10.0, 40.0)
    assert overlaps(a, _hit("b", "e1", 30.0, 60.0))  # same episode, shared span
    assert not overlaps(a, _hit("c", "e1", 40.0, 70.0))  # touches a only at its end
    assert not overlaps(a, _hit("d", "e2", 10.0, 40.0))  # another episode
    assert overlaps(a, _hit("a", "e1", 10.0, 40.0))  # the same passage
    assert not overlaps(a, _hit("u", "e1", None, None))  # untimed: no span to share


def test_no_two_hits_overlap(e2e_index: Index, fake_embedder: FakeEmbedder) -> None:
    hits = search(e2e_index, "distillation teacher", top=40, embedder=fake_embedder).hits
    assert len(hits) == 40
    for i, h in enumerate(hits):
        assert not any(overlaps(h, k) for k in hits[:i])


@pytest.mark.parametrize("mode", ["hybrid", "semantic", "lexical"])
def test_quoted_phrase_must_appear(
    e2e_index: Index, fake_embedder: FakeEmbedder, mode: str
) -> None:
    result = search(e2e_index, '"stopped at every lighthouse"', embedder=fake_embedder, mode=mode)
    assert [h.text.count("stopped at every lighthouse") for h in result.hits] == [1]
    assert result.hits[0].confident
    # The same words out of order are not the phrase.
    assert search(e2e_index, '"lighthouse every stopped"', embedder=fake_embedder).hits == []


def test_off_topic_question_is_not_confident(e2e_index: Index, fake_embedder: FakeEmbedder) -> None:
    result = search(e2e_index, "quantum chromodynamics of neutron stars", embedder=fake_embedder)
    assert result.hits  # the nearest passages are still listed
    assert not any(h.confident for h in result.hits)
    on_topic = search(e2e_index, "distillation teacher student model", embedder=fake_embedder)
    assert on_topic.hits[0].confident


class FixedQuestion:
    """An embedder that gives every question the same vector."""

    def __init__(self, vector: np.ndarray) -> None:
        self.vector, self.dim = vector, len(vector)

    def encode(self, texts, **_: object) -> np.ndarray:  # type: ignore[no-untyped-def]
        return np.tile(self.vector, (len(texts), 1))


def test_confident_only_where_the_episode_is_about_the_question(tmp_path: Path) -> None:
    """A passage near the question counts as a confident match when its episode as a whole
    is about the question too (its passages' mean cosine reaches ON_TOPIC), or when the
    passage is very near (CONFIDENT_ANYWAY); without episode means, by its score alone."""
    contents = hand_contents(n_passages=30, dim=16, seed=3)  # episodes a1, b2, c3 in turn
    rng = np.random.default_rng(0)
    q = np.eye(16, dtype=np.float32)[0]

    def at(cos: float) -> np.ndarray:  # a unit vector at this cosine to q
        u = rng.standard_normal(16).astype(np.float32)
        u[0] = 0.0
        return cos * q + np.sqrt(1 - cos**2) * u / np.linalg.norm(u)

    # a1 is about the question throughout; b2 and c3 are not, but for one passage each.
    best = {"a1": 0.5, "b2": 0.5, "c3": rank.CONFIDENT_ANYWAY + 0.05}
    rest = {"a1": 0.3, "b2": -0.2, "c3": -0.2}
    seen: set[str] = set()
    for i, p in enumerate(contents.passages):
        ep = p["episode_id"]
        contents.vectors[i] = at(best[ep] if ep not in seen else rest[ep])
        seen.add(ep)
    write_index(tmp_path / "idx", contents)
    index = Index(tmp_path / "idx")
    means = index.episode_means
    assert means is not None and float(means["b2"] @ q) < rank.ON_TOPIC < float(means["a1"] @ q)

    def confident(ix: Index) -> dict[str, bool]:
        hits = search(ix, "anything", top=3, mode="semantic", embedder=FixedQuestion(q)).hits
        assert {round(h.score, 2) for h in hits} == {0.5, round(best["c3"], 2)}
        assert all(h.confident == (h.weak_because is None) for h in hits)
        return {h.episode_id: h.confident for h in hits}

    assert confident(index) == {"a1": True, "b2": False, "c3": True}
    # The user is told why: the passage is near, its episode is not about the question.
    weak = search(index, "anything", top=3, mode="semantic", embedder=FixedQuestion(q)).hits
    assert {h.episode_id: h.weak_because for h in weak}["b2"] == "off_topic_episode"
    assert [h.as_json()["weak_because"] for h in weak if h.episode_id == "b2"] == [
        "off_topic_episode"
    ]
    # A question about one of the library's people is about the library: the score decides.
    b2 = next(p for p in contents.passages if p["episode_id"] == "b2")  # its best passage
    assert b2["speaker"]
    about = search(
        index,
        "anything",
        top=3,
        mode="semantic",
        embedder=FixedQuestion(q),
        filters=Filters(speakers=(b2["speaker"],)),
    ).hits
    assert [h.confident for h in about if h.passage_id == b2["passage_id"]] == [True]
    older = Index(tmp_path / "idx")  # a generation written without episode means
    older.__dict__["episode_means"] = None
    assert confident(older) == {"a1": True, "b2": True, "c3": True}


def test_date_filters(e2e_index: Index, fake_embedder: FakeEmbedder) -> None:
    def episodes(**dates: str) -> set[str]:
        hits = search(
            e2e_index,
            "distillation bread",
            top=50,
            embedder=fake_embedder,
            filters=Filters(**dates),
        ).hits
        return {h.episode_id for h in hits}

    assert episodes(since="2024-03-01") == {"ep-b"}
    assert episodes(until="2024-03-01") == {"ep-a"}
    assert episodes(since="2024-01-01", until="2024-12-31") == {"ep-a", "ep-b"}
    assert episodes(since="2025-01-01") == set()


# --- adjacent hits of one turn become one quote ---------------------------------------------


def test_merge_adjacent_joins_rows_of_one_turn() -> None:
    def hit(pid: str, turn: int, start: float, end: float) -> Hit:
        h = _hit(pid, "e1", start, end)
        h.turn_index, h.text, h.passage_ids = turn, f"text-{pid}", [pid]
        return h

    hits = [hit("p5", 1, 50.0, 60.0), hit("p7", 1, 70.0, 80.0), hit("q9", 2, 90.0, 95.0)]
    spans = [(5, 5), (7, 7), (9, 9)]
    # Row 6 sits between the first two hits: all three passages become the first hit.
    assert merge_adjacent(hits, spans, hit("p6", 1, 60.0, 70.0), 6)
    assert len(hits) == 2 and spans == [(5, 7), (9, 9)]
    merged = hits[0]
    assert merged.text == "text-p5 text-p6 text-p7"
    assert (merged.start, merged.end) == (50.0, 80.0)
    assert merged.passage_ids == ["p5", "p6", "p7"] and merged.passage_id == "p5"
    # The row before a hit extends it backwards, and takes over its start.
    assert merge_adjacent(hits, spans, hit("p4", 1, 40.0, 50.0), 4)
    assert (hits[0].start, hits[0].passage_id, spans[0]) == (40.0, "p4", (4, 7))
    # The next row of another turn, or of another episode, is not merged.
    assert not merge_adjacent(hits, spans, hit("q10", 3, 95.0, 99.0), 10)
    other = hit("x8", 1, 80.0, 90.0)
    other.episode_id = "e2"
    assert not merge_adjacent(hits, spans, other, 8)


def test_adjacent_passages_come_back_as_one_hit(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    # One long turn whose every sentence is about lighthouses: three passages, one answer.
    body = " ".join(
        f"The lighthouse keeper number {i} climbed the tower at dusk and lit the lamp for ships."
        for i in range(15)
    )  # 225 words: three passages of ~75
    episodes = [
        Episode("light", title="Lights", turns=[timed_turn(GUEST, 0.0, 90.0, body)]),
        Episode(
            "other",
            title="Other",
            turns=[timed_turn(HOST, 0.0, 20.0, f"{text} {text}") for text in OFF_TOPIC],
        ),
    ]
    index = build_index(tmp_path / "idx", episodes, fake_embedder)
    passages = [p for p in chunk_episode(episodes[0])]
    assert len(passages) == 3
    hits = search(index, "lighthouse keeper lamp", top=5, embedder=fake_embedder).hits
    light = [h for h in hits if h.episode_id == "light"]
    assert len(light) == 1
    assert light[0].text == body
    assert (light[0].start, light[0].end) == (0.0, 90.0)
    assert light[0].passage_ids == [p.id for p in passages]
    assert light[0].as_json()["passage_ids"] == light[0].passage_ids
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))


def test_context_of_a_grouped_passage_starts_after_its_last_turn(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    """A passage grouping one speaker's short segments covers several turns: the context
    after it starts at the first turn it does not hold."""
    segments = [
        timed_turn(HOST, 10.0 + i, 11.0 + i, f"Lighthouse segment {i} of the keeper.")
        for i in range(6)
    ]
    turns = [
        timed_turn(GUEST, 0.0, 10.0, " ".join(OFF_TOPIC[:2])),
        *segments,
        timed_turn(GUEST, 16.0, 17.0, "Yeah."),
        timed_turn(HOST, 17.0, 30.0, " ".join(OFF_TOPIC[2:4])),
    ]
    index = build_index(tmp_path / "idx", [Episode("seg", turns=turns)], fake_embedder)
    hit = search(index, "lighthouse keeper segment", top=1, embedder=fake_embedder).hits[0]
    assert hit.turn_index == 1 and hit.text == " ".join(t.text for t in segments)
    attach_context(index, [hit], 1)
    assert [t["text"] for t in hit.context_before or []] == [turns[0].text]
    assert [t["text"] for t in hit.context_after or []] == ["Yeah."]


def test_quoted_phrase_in_an_indic_script(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    """Devanagari words hold vowel signs (combining marks): a quoted Hindi phrase finds its
    passage and nothing else (the marks once split the query's words, so it found nothing)."""
    hindi = "मैं आज आपको बताता हूँ कि किसानों की आमदनी क्यों नहीं बढ़ती है और क्या करना चाहिए।"
    other = "मैं कल बाज़ार गया था और वहाँ से सब्ज़ियाँ लेकर आया, फिर घर पर खाना बनाया।"
    cues = [
        ("Host", hindi),
        ("Guest", "We talked about farm incomes in English too."),
        ("Host", other),
    ]
    (tmp_path / "hindi.vtt").write_text(vtt(cues), encoding="utf-8")
    lib = Library(tmp_path / "index", embedder=fake_embedder)
    lib.index([tmp_path / "hindi.vtt"])
    for mode in ("hybrid", "lexical"):
        hits = lib.ask('"किसानों की आमदनी"', mode=mode).hits
        assert [h.text for h in hits] == [hindi]
    words = lib.ask("आमदनी", mode="lexical").hits  # an unquoted Hindi word, whole
    assert [h.text for h in words] == [hindi]
