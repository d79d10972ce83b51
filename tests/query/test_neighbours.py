"""Neighbour lift: in hybrid ranking a passage ranks by its fused score plus 0.25 times the
mean cosine of the question to the passages just before and after it in its episode; the
score shown stays its own. Checked against a brute-force numpy ranking."""

from __future__ import annotations

import random

import pytest
from builders import sentence, vtt
from fakes import FakeEmbedder

from podsearch.api import Library
from podsearch.query.rank import NEIGHBOUR_WEIGHT

QUESTIONS = ["compost trench squash", "greenhouse tomato blight", "river water pump", "seed"]


def _vtt(rng: random.Random) -> str:
    cues = []
    for n in range(6):  # alternating speakers: one passage a turn, never merged into one hit
        word = rng.choice(rng.choice(QUESTIONS).split())
        cues.append(
            ("Host" if n % 2 == 0 else "Guest", f"{sentence(rng, 9)} {word} {sentence(rng, 5)}")
        )
    return vtt(cues, seconds=60)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    root = tmp_path_factory.mktemp("neighbours")
    shows = root / "shows"
    shows.mkdir()
    rng = random.Random(7)
    for i in range(8):
        (shows / f"garden-{i:02d}.vtt").write_text(_vtt(rng), encoding="utf-8")
    lib = Library(root / "index", embedder=FakeEmbedder())
    lib.index([shows], show="Garden Hour")
    return lib


def _expected_keys(library: Library, question: str, hits: list) -> list[float]:
    index = library.open()
    ids = index.passage_column("passage_id")
    episodes = index.passage_column("episode_id")
    vectors = index.vectors()
    q = FakeEmbedder().encode([question])[0]
    keys = []
    for h in hits:
        row = ids.index(h.passage_id)
        around = [
            float(vectors[r] @ q)
            for r in (row - 1, row + 1)
            if 0 <= r < len(ids) and episodes[r] == episodes[row]
        ]
        keys.append(h.score + NEIGHBOUR_WEIGHT * (sum(around) / len(around) if around else 0.0))
    return keys


def test_hits_rank_by_own_score_plus_neighbour_lift(library: Library) -> None:
    reordered = 0
    for question in QUESTIONS:
        hits = library.ask(question, top=20).hits
        assert len(hits) == 20 and all(len(h.passage_ids) == 1 for h in hits)
        keys = _expected_keys(library, question, hits)
        assert keys == pytest.approx(sorted(keys, reverse=True), abs=1e-3)
        scores = [h.score for h in hits]
        reordered += scores != sorted(scores, reverse=True)
    assert reordered  # the lift changed at least one ranking: the check above is not vacuous


def test_other_modes_rank_by_their_own_scores(library: Library) -> None:
    for mode in ("semantic", "lexical"):
        scores = [h.score for h in library.ask("compost trench", top=20, mode=mode).hits]
        assert scores == sorted(scores, reverse=True)
