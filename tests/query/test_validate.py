"""Filters that talk back: bad dates list the accepted forms, date filters count the undated
episodes they leave out, unknown podcasts, episodes and speakers name the closest known ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeEmbedder
from typer.testing import CliRunner

from podsearch.api import Library
from podsearch.cli.app import app
from podsearch.core.dates import bound_date, normalize_date
from podsearch.core.errors import InvalidRequestError
from podsearch.query.types import AskRequest, Filters

runner = CliRunner()

SHOW = """# {title}

**Podcast:** {show}
**Published:** {date}

## Transcript

Alice: We talked about sourdough starters and how often to feed them.
Bob: Twice a day at room temperature, and the starter doubles within a week.
"""
UNDATED = """Alice: Sourdough starters need flour and water, nothing else.
Bob: And patience with the starter, which is the hard part.
"""


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    folder = tmp_path / "shows"
    folder.mkdir()
    for name, title, show, date in (
        ("a.md", "Bread Basics", "The Baking Hour", "16 Jan 2017"),
        ("b.md", "Starter Care", "The Baking Hour", "2019-03-02"),
        ("c.md", "Rockets", "Space Weekly", "2020-06-01"),
    ):
        (folder / name).write_text(SHOW.format(title=title, show=show, date=date))
    (folder / "undated.txt").write_text(UNDATED)
    library = Library(tmp_path / "idx", embedder=FakeEmbedder("fake"))
    assert not library.index([folder]).failed
    return library


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2017-01-16", "2017-01-16"),
        ("16 Jan 2017", "2017-01-16"),
        ("January 16, 2017", "2017-01-16"),
        ("Tue, 16 Jan 2017 10:00:00 GMT", "2017-01-16"),
        ("2017/01/16", "2017-01-16"),
        ("16.01.2017", "2017-01-16"),
        ("garbage", None),
        ("", None),
    ],
)
def test_normalize_date(text: str, iso: str | None) -> None:
    assert normalize_date(text) == iso


def test_years_and_months_as_bounds() -> None:
    assert bound_date("2017", end=False) == "2017-01-01"
    assert bound_date("2017", end=True) == "2017-12-31"
    assert bound_date("2016-02", end=True) == "2016-02-29"
    assert bound_date("2017-13", end=False) is None


def test_dates_are_made_iso_and_bad_ones_refused() -> None:
    ok = AskRequest("x", Filters(since="16 Jan 2017", until="2018")).validated()
    assert (ok.filters.since, ok.filters.until) == ("2017-01-16", "2018-12-31")
    with pytest.raises(InvalidRequestError) as e:
        AskRequest("x", Filters(since="garbage")).validated()
    assert e.value.option == "--since" and "YYYY-MM-DD" in e.value.problem
    with pytest.raises(InvalidRequestError, match="after --until"):
        AskRequest("x", Filters(since="2020", until="2019")).validated()


def test_a_date_filter_counts_the_undated_episodes_it_leaves_out(lib: Library) -> None:
    result = lib.ask("sourdough starter", since="2018", mode="lexical")
    assert result.undated_left_out == 1
    assert {h.episode_title for h in result.hits} == {"Starter Care", "Rockets"}
    kept = lib.ask("sourdough starter", since="2018", include_undated=True, mode="lexical")
    assert kept.undated_left_out == 0
    assert {h.episode_title for h in kept.hits} == {"Starter Care", "Rockets", "undated.txt"}
    assert lib.ask("sourdough", mode="lexical").undated_left_out == 0  # no date filter


def test_unknown_podcast_episode_and_speaker_name_the_closest(lib: Library) -> None:
    with pytest.raises(InvalidRequestError) as e:
        lib.ask("bread", podcast="Baking Hours Show")
    assert e.value.option == "--podcast" and "closest: The Baking Hour" in e.value.problem
    with pytest.raises(InvalidRequestError) as e:
        lib.ask("bread", episode="Bred Basic")
    assert e.value.option == "--episode" and "Bread Basics" in e.value.problem
    with pytest.raises(InvalidRequestError) as e:
        lib.ask("bread", speaker="Zelda")
    assert e.value.option == "--speaker" and "podsearch speakers" in e.value.problem
    # A podcast that exists but has nothing in the date range is an empty answer, not an error.
    assert lib.ask("bread", podcast="space weekly", until="2019", mode="lexical").hits == []


def test_the_command_line_reports_filters(lib: Library) -> None:
    def invoke(*args: str) -> object:
        return runner.invoke(app, [*args, "--index", str(lib.path)], catch_exceptions=False)

    bad = invoke("ask", "bread", "--since", "garbage")
    assert bad.exit_code == 2 and "accepted forms" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    noted = invoke("ask", "sourdough", "--since", "2018", "--mode", "lexical", "--json")
    assert noted.exit_code == 0
    assert "left out 1 episode(s) without a date; --include-undated" in noted.stderr
    unknown = invoke("ask", "bread", "--podcast", "Baking Hours Show")
    assert unknown.exit_code == 2 and "The Baking Hour" in unknown.stderr


def test_alias_or_rename_of_an_unknown_speaker_is_refused(lib: Library) -> None:
    with pytest.raises(InvalidRequestError) as e:
        lib.alias_speaker("Alise", "Al")
    assert e.value.option == "NAME" and "closest: Alice" in e.value.problem
    episode = lib.episodes()[0]["episode_id"]
    with pytest.raises(InvalidRequestError) as e:
        lib.rename_speaker(episode, "Bobb", "Robert")
    assert "closest: Bob" in e.value.problem
    lib.alias_speaker("Alice", "Al")  # a known speaker is fine
    assert lib.ask("what did Al say about sourdough", mode="lexical").speakers == ["Alice"]
