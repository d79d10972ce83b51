"""Guests are people per episode: unnamed labels are scoped to their episode, never pooled;
a guest named by the metadata replaces the one guest label; "the guest" is a role filter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import FakeEmbedder

from podsearch.api import Library
from podsearch.core.errors import InvalidRequestError
from podsearch.core.models import Episode, Person, Turn
from podsearch.speakers.labels import (
    base_label,
    display_name,
    is_anonymous_label,
    role_of_label,
    scoped_label,
)
from podsearch.speakers.roles import compute_roles
from podsearch.speakers.scope import episode_tag, scope_episode_speakers

INTERVIEW = """Amit Varma: Welcome to the show. Today my guest talks about {topic}.
Guest: Thank you. {topic} is the subject of my whole working life, and I love it dearly.
Amit Varma: Tell us how {topic} changed over the last forty years in this country.
Guest: It changed because money came in, and with money came television and the crowds.
"""


def test_labels() -> None:
    scoped = scoped_label("Guest 2", "E41")
    assert scoped == "Guest 2 (unnamed, E41)"
    assert is_anonymous_label(scoped) and base_label(scoped) == "Guest 2"
    assert display_name(scoped) == scoped and display_name("Guest") == "Guest (unnamed)"
    assert not is_anonymous_label("Amit Varma (unnamed, E41)")
    assert role_of_label(scoped) == "guest" and role_of_label("Host") == "host"
    assert role_of_label("SPEAKER_01") is None


def _episode(people: list[Person], labels: list[str]) -> Episode:
    turns = [Turn(label, None, None, f"words {i}") for i, label in enumerate(labels)]
    return Episode(id="abc123456789", turns=turns, people=people, sources=["/t/E41.mp3.vtt"])


def test_one_guest_named_by_metadata_replaces_the_label() -> None:
    ep = scope_episode_speakers(
        _episode([Person("Amit Varma", "host"), Person("Gideon Haigh", "guest")], ["Host", "Guest"])
    )
    assert [t.speaker for t in ep.turns] == ["Host (unnamed, E41)", "Gideon Haigh"]
    two = scope_episode_speakers(
        _episode([Person("A B", "guest"), Person("C D", "guest")], ["Guest", "Guest"])
    )
    assert {t.speaker for t in two.turns} == {"Guest (unnamed, E41)"}
    assert episode_tag(Episode(id="abcdef1234", episode_number=7)) == "E7"


def test_unnamed_labels_take_their_role() -> None:
    pairs = [("Amit Varma", "e1"), ("Amit Varma", "e2"), ("Guest (unnamed, E1)", "e1")]
    pairs += [("Guest (unnamed, E2)", "e2")]
    roles = compute_roles(pairs, [{"episode_id": "e1"}, {"episode_id": "e2"}])
    assert roles == {
        "host": ["Amit Varma"],
        "guest": ["Guest (unnamed, E1)", "Guest (unnamed, E2)"],
    }


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    folder = tmp_path / "show"
    folder.mkdir()
    (folder / "E41.txt").write_text(INTERVIEW.format(topic="cricket"))
    (folder / "E42.txt").write_text(INTERVIEW.format(topic="monetary policy"))
    library = Library(tmp_path / "idx", embedder=FakeEmbedder("fake"))
    library.index([folder])
    return library


def test_guests_of_different_episodes_are_not_pooled(lib: Library) -> None:
    speakers = {s["speaker"]: (s["episodes"], s["aliases"]) for s in lib.speakers()}
    assert speakers == {
        "Amit Varma": (2, []),
        "Guest (unnamed, E41)": (1, []),
        "Guest (unnamed, E42)": (1, []),
    }
    with pytest.raises(InvalidRequestError, match="unnamed label in 2 episodes"):
        lib.ask("money", speaker="Guest", mode="lexical")
    hits = lib.ask("money television", speaker="Guest", episode="E42", mode="lexical").hits
    assert hits and {h.speaker for h in hits} == {"Guest (unnamed, E42)"}
    assert json.dumps(hits[0].as_json())  # the JSON speaker keeps the label first


def test_the_guest_in_a_question_is_a_role_filter(lib: Library) -> None:
    result = lib.ask("what did the guest say about money and television", mode="lexical")
    assert result.query == "money and television"
    assert set(result.speakers) == {"Guest (unnamed, E41)", "Guest (unnamed, E42)"}
    assert result.hits and all(h.speaker.startswith("Guest (unnamed") for h in result.hits)
    host = lib.ask("what did the host say about forty years", mode="lexical")
    assert host.speakers == ["Amit Varma"]


def test_a_guest_is_never_cited_as_an_author(lib: Library) -> None:
    hit = lib.ask("money television", speaker="Guest", episode="E41", mode="lexical").hits[0]
    assert "unnamed" not in lib.cite(hit.passage_id)[0].reference
