"""The public Python API: ``from podsearch import Library`` does what the CLI does, and the
README's example runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fakes import FakeEmbedder

import podsearch
from podsearch import AskRequest, AskResult, Filters, Library
from podsearch.core.errors import IndexNotFoundError, InvalidRequestError

LIBRARY = Path(__file__).parent / "fixtures" / "library"
README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    library = Library(tmp_path / "idx")
    report = library.index([LIBRARY], model="fake")
    assert (report.episodes_added, report.failed) == (3, [])
    return library


def test_package_exports_the_api() -> None:
    assert podsearch.Library is Library
    assert isinstance(podsearch.__version__, str)
    with pytest.raises(AttributeError):
        _ = podsearch.Nothing  # type: ignore[attr-defined]


def test_ask_with_keywords_or_a_request(lib: Library) -> None:
    result = lib.ask("sourdough starter", top=3, mode="lexical")
    assert isinstance(result, AskResult)
    assert 1 <= len(result.hits) <= 3 and "sourdough" in result.hits[0].text.lower()
    assert result.index == str(lib.path)
    same = lib.ask(AskRequest("sourdough starter", top=3, mode="lexical"))
    assert same.to_json() == result.to_json()
    with pytest.raises(InvalidRequestError, match="no speaker 'Nobody Known'"):
        lib.ask("dough", speaker="Nobody Known", mode="lexical")
    assert lib.ask(AskRequest("dough", Filters(episode="space"), mode="lexical")).hits == []


def test_ask_refuses_bad_options(lib: Library) -> None:
    with pytest.raises(InvalidRequestError, match="mode"):
        lib.ask("dough", mode="fuzzy")
    with pytest.raises(InvalidRequestError, match="question"):
        lib.ask("  ")


def test_context_group_and_citations(lib: Library) -> None:
    result = lib.ask("compost tomatoes dough", top=6, context=1, group="episode", cite="apa")
    assert result.group == "episode"
    assert all(h.citation and h.citation["style"] == "apa" for h in result.hits)
    assert any(h.context_before or h.context_after for h in result.hits)
    order = [h.episode_id for h in result.hits]
    assert order == sorted(order, key=order.index)  # each episode's hits together


def test_cite_and_export(lib: Library) -> None:
    first = lib.ask("dough", top=1).hits[0]
    (cited,) = lib.cite(first.passage_id[:6], style="apa")
    assert cited.passage_id == first.passage_id and cited.quote and cited.in_text
    bib = lib.export([first.passage_id], "bibtex")
    assert bib.startswith("@misc{") and "Audio podcast episode" in bib


def test_episodes_speakers_status(lib: Library) -> None:
    episodes = lib.episodes()
    assert len(episodes) == 3 and all(e["passages"] > 0 for e in episodes)
    assert lib.speakers() and all(s["turns"] > 0 for s in lib.speakers())
    status = lib.status()
    assert status["counts"]["episodes"] == 3
    assert status["vectors"]["type"] == "flat" and status["vectors"]["chosen"] == "auto"


def test_rebuild_changes_the_vector_index_without_re_embedding(lib: Library) -> None:
    before = lib.ask("dough", top=3, mode="semantic").to_json()
    report = lib.rebuild(vector_index="hnsw")
    assert report.passages_embedded == 0
    assert lib.status()["vectors"]["type"] == "hnsw"
    assert lib.status()["vectors"]["chosen"] == "user"
    # The library reopens the new generation by itself; the choice sticks on later writes.
    assert [h["passage_id"] for h in lib.ask("dough", top=3, mode="semantic").to_json()] == [
        h["passage_id"] for h in before
    ]
    lib.remove([lib.episodes()[0]["episode_id"]])
    assert lib.status()["vectors"]["type"] == "hnsw"
    lib.rebuild(vector_index="auto")
    assert lib.status()["vectors"] == {**lib.status()["vectors"], "type": "flat", "chosen": "auto"}


def test_a_given_embedder_is_used_for_passages_and_questions(tmp_path: Path) -> None:
    lib = Library(tmp_path / "idx", embedder=FakeEmbedder("fake-32"))
    lib.index([LIBRARY / "space.srt"])
    assert lib.status()["model"]["dimension"] == 32
    assert lib.ask("rocket", top=1).hits


def test_no_index_is_an_error_not_a_sample(tmp_path: Path) -> None:
    lib = Library(tmp_path / "missing")
    assert not lib.exists
    with pytest.raises(IndexNotFoundError):
        lib.ask("anything")
    assert not (tmp_path / "missing").exists()


@pytest.mark.slow
def test_the_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's Python example, as written, with the real model."""
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    match = next((b for b in blocks if "from podsearch import Library" in b), None)
    assert match, "README has no Python example using Library"
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(match, "README.md", "exec"), namespace)
    result = namespace["result"]
    assert isinstance(result, AskResult) and result.hits
