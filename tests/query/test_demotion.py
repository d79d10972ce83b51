"""Boilerplate demotion: a show's repeated intros and sponsor reads rank below passages that
match about as well, are flagged on the hit, and rank as they are with --include-boilerplate
(CLI, Python, HTTP request JSON)."""

from __future__ import annotations

import json

import pytest
from builders import vtt
from fakes import FakeEmbedder
from typer.testing import CliRunner

from podsearch.api import Library
from podsearch.cli.app import app
from podsearch.query.types import AskRequest

INTRO = "Welcome to the Garden Hour, our weekly show about plants, soil and compost heaps."
ADVERT = "This episode is brought to you by Seedly. Use the code GARDEN for compost bags."
QUESTION = "compost"  # in every passage: the talk and the repeated text match about as well


def _vtt(i: int) -> str:
    talk = (
        f"In episode {i} we dug a compost trench number {i} behind the greenhouse "
        f"and waited {i + 2} weeks before planting squash seedlings there."
    )
    return vtt([("Host", INTRO), ("Guest", talk), ("Host", ADVERT)])


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    root = tmp_path_factory.mktemp("boilerplate")
    shows = root / "shows"
    shows.mkdir()
    for i in range(12):
        (shows / f"garden-{i:02d}.vtt").write_text(_vtt(i), encoding="utf-8")
    lib = Library(root / "index", embedder=FakeEmbedder())
    lib.index([shows], show="Garden Hour")
    return lib


def test_repeated_text_ranks_below_talk_that_matches_as_well(library: Library) -> None:
    hits = library.ask(QUESTION, top=15).hits
    flags = [h.boilerplate for h in hits]
    assert not flags[0] and "compost trench" in hits[0].text
    assert True in flags  # demoted, not deleted
    assert all(h.text in (INTRO, ADVERT) for h in hits if h.boilerplate)
    # Each one ranks as if its score were 0.2 x its share lower (the score shown is its own).
    keys = [h.score - (0.2 if h.boilerplate else 0.0) for h in hits]
    assert keys == sorted(keys, reverse=True)
    assert max(h.score for h in hits if h.boilerplate) > hits[0].score


def test_include_boilerplate_ranks_it_like_other_text(library: Library) -> None:
    hits = library.ask(QUESTION, top=5, include_boilerplate=True).hits
    assert hits[0].boilerplate and hits[0].text == INTRO  # the closest text, as it is
    request = AskRequest.from_json({"q": QUESTION, "include_boilerplate": "true", "top": 5})
    assert request.filters.include_boilerplate
    assert [h.passage_id for h in library.ask(request).hits] == [h.passage_id for h in hits]


def test_the_command_line_flag_and_json_field(library: Library) -> None:
    runner = CliRunner()
    base = ["ask", QUESTION, "--index", str(library.path), "--json", "--top", "3"]
    plain = json.loads(runner.invoke(app, base).stdout)
    everything = json.loads(runner.invoke(app, [*base, "--include-boilerplate"]).stdout)
    assert [h["boilerplate"] for h in plain] == [False, False, False]
    assert everything[0]["boilerplate"] is True
    text = runner.invoke(app, [*base[:-3], "--include-boilerplate", "--top", "1"]).stdout
    assert "repeated in many episodes" in " ".join(text.split())  # however it wraps


def test_the_share_is_stored_with_each_passage(library: Library) -> None:
    index = library.open()
    texts = index.passages.column("text").to_pylist()
    shares = index.passages.column("boilerplate").to_pylist()
    for text, share in zip(texts, shares, strict=True):
        assert (share >= 0.5) == (text in (INTRO, ADVERT)), (text, share)
    assert index.boilerplate.tolist() == pytest.approx(shares)


def test_lexical_scores_are_demoted_in_proportion(library: Library) -> None:
    """BM25 scores have no fixed scale: the penalty is 0.4 x share of the best score, so
    repeated text ranks below talk that matches about as well in lexical mode too."""
    hits = library.ask(QUESTION, top=15, mode="lexical").hits
    assert not hits[0].boilerplate and any(h.boilerplate for h in hits)
    best = max(h.score for h in hits)
    keys = [h.score - (0.4 * best if h.boilerplate else 0.0) for h in hits]
    assert keys == sorted(keys, reverse=True)
    assert max(h.score for h in hits if h.boilerplate) > hits[0].score  # it did reorder
