"""Speaker identity: anonymous labels, aliases and ASR variants, the user's speaker book."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podsearch.core.models import LABELLED, Episode, Person, Turn
from podsearch.speakers.book import SpeakerBook
from podsearch.speakers.labels import display_name, is_anonymous_label, plain_label
from podsearch.speakers.names import canonical_names, resolve
from podsearch.speakers.questions import expand_query_name

KNOWN = ["Clément Delangue", "Theo Jaffee", "Sofia Puccini", "SPEAKER_2"]


@pytest.mark.parametrize(
    "label",
    [
        "SPEAKER_00",
        "SPEAKER_2",
        "Speaker A",
        "Speaker 1",
        "speaker_b",
        "Guest",
        "Guest 1",
        "Host 2",
        "Host",
        "Unknown",
        "Unknown Speaker",
        "Spk0",
        "S1",
        "[Guest 2]",
    ],
)
def test_anonymous_labels(label: str) -> None:
    assert is_anonymous_label(label)
    assert display_name(label) == f"{plain_label(label)} (unnamed)"


@pytest.mark.parametrize(
    ("label", "shown"),
    [
        ("SPEAKER_02", "Speaker 2 (unnamed)"),
        ("SPEAKER_00", "Speaker 0 (unnamed)"),
        ("spk_1", "Speaker 1 (unnamed)"),
        ("Spk0", "Speaker 0 (unnamed)"),
        ("S1", "Speaker 1 (unnamed)"),
        ("speaker-b", "Speaker B (unnamed)"),
        ("SPEAKER_2 (unnamed, 77ac46a1)", "Speaker 2 (unnamed, 77ac46a1)"),
        ("Guest 1", "Guest 1 (unnamed)"),
        ("Guest (unnamed, E43)", "Guest (unnamed, E43)"),
    ],
)
def test_a_diarization_label_is_never_shown_raw(label: str, shown: str) -> None:
    assert display_name(label) == shown


@pytest.mark.parametrize(
    "name", ["Clément Delangue", "Amit Varma", "Sam", "Mana", "Guesta", "Hostetler", "Simon"]
)
def test_names_are_not_anonymous(name: str) -> None:
    assert not is_anonymous_label(name)
    assert display_name(name) == name


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Clément Delangue", "Clément Delangue"),
        ("clement delangue", "Clément Delangue"),
        ("Clem", "Clément Delangue"),
        ("Clement", "Clément Delangue"),
        ("Delangue", "Clément Delangue"),
        ("Clem Delangue", "Clément Delangue"),
        ("Clem DeLong", "Clément Delangue"),
        ("Clement DeLong", "Clément Delangue"),
        ("Sofia Porcini", "Sofia Puccini"),
        ("Theo Jaffe", "Theo Jaffee"),
        ("Jaffe", "Theo Jaffee"),
        ("SPEAKER_2", "SPEAKER_2"),
        ("Guest 1", None),
        ("Hugging Face", None),
        ("Clem Jaffee", None),
        ("Sam Altman", None),
    ],
)
def test_resolve_aliases_and_asr_variants(written: str, expected: str | None) -> None:
    assert resolve(written, KNOWN) == expected


def test_resolve_nicknames_and_ambiguity() -> None:
    assert resolve("Bob", ["Robert Smith", "Alice Jones"]) == "Robert Smith"
    assert resolve("Bob Smith", ["Robert Smith"]) == "Robert Smith"
    assert resolve("Theo", ["Theo Jaffee", "Theo Von"]) is None  # two candidates: no guess
    assert resolve("Theo Jaffe", ["Theo Jaffee", "Theo Von"]) == "Theo Jaffee"


def test_canonical_names_prefer_the_full_accented_form() -> None:
    canon = canonical_names(
        {"Clem": 4, "Clem Delangue": 2, "Clément Delangue": 5, "Theo": 3, "Guest 1": 2}
    )
    assert canon["Clem"] == canon["Clem Delangue"] == "Clément Delangue"
    assert canon["Theo"] == "Theo"  # nobody fuller to resolve to
    assert canon["Guest 1"] == "Guest 1"


def test_expand_query_name_through_aliases(tmp_path: Path) -> None:
    assert expand_query_name("Clem", KNOWN) == ["Clément Delangue"]
    assert expand_query_name("Clem DeLong", KNOWN) == ["Clément Delangue"]
    assert expand_query_name("Theo", KNOWN) == ["Theo Jaffee"]
    assert expand_query_name("nobody", KNOWN) == []
    book = SpeakerBook(tmp_path / "speakers.json")
    book.alias("Clément Delangue", "the Hugging Face CEO")
    assert expand_query_name("the hugging face ceo", KNOWN, book) == ["Clément Delangue"]
    # A first name shared by two speakers designates both: the filter must keep both.
    assert sorted(expand_query_name("Theo", ["Theo Jaffee", "Theo Von"])) == [
        "Theo Jaffee",
        "Theo Von",
    ]


def _episode() -> Episode:
    return Episode(
        id="ep1",
        people=[Person("Clem", "guest")],
        turns=[
            Turn("SPEAKER_2", 0.0, 5.0, "This episode originally aired on MTS.", "exact", LABELLED),
            Turn("Clem", 5.0, 9.0, "Thanks for having me.", "exact", LABELLED),
            Turn(None, 9.0, 12.0, "Absolutely.", "exact", None),
        ],
    )


def test_speaker_book_round_trip_and_apply(tmp_path: Path) -> None:
    path = tmp_path / "home" / "speakers.json"
    book = SpeakerBook.load(path)  # no file yet: an empty book
    assert book.renames == {} and book.aliases == {}
    book.rename("ep1", "SPEAKER_2", "Erik Torenberg")
    book.alias("Clément Delangue", "Clem")
    book.alias("Clément Delangue", "clem")  # same alias folded: recorded once
    assert json.loads(path.read_text())["renames"] == {"ep1": {"SPEAKER_2": "Erik Torenberg"}}
    assert [p.name for p in path.parent.iterdir()] == ["speakers.json"]  # no temp file left

    again = SpeakerBook.load(path)
    assert again.aliases_of("Clement Delangue") == ["Clem"]
    ep = again.apply(_episode())
    assert [t.speaker for t in ep.turns] == ["Erik Torenberg", "Clément Delangue", None]
    assert [p.name for p in ep.people] == ["Clément Delangue"]
    # Renames hold for their episode only.
    other = _episode()
    other.id = "ep2"
    assert again.apply(other).turns[0].speaker == "SPEAKER_2"


def test_renames_survive_recreating_the_book_and_a_rebuilt_index(tmp_path: Path) -> None:
    home = tmp_path / "home"
    SpeakerBook.load(home / "speakers.json").rename("ep1", "Guest 1", "Sofia Puccini")
    # A rebuild replaces the index's generations, not the home folder's speaker file.
    (tmp_path / "index" / "gen-2").mkdir(parents=True)
    book = SpeakerBook.load(home / "speakers.json")
    assert book.renamed("ep1", "guest 1") == "Sofia Puccini"
    assert book.speaker_name("ep1", "Guest 1") == "Sofia Puccini"


def test_an_alias_moves_to_its_latest_owner(tmp_path: Path) -> None:
    book = SpeakerBook(tmp_path / "s.json")
    book.alias("Theo Jaffee", "Theo")
    book.alias("Theo Von", "Theo")
    assert book.aliases_of("Theo Jaffee") == []
    assert book.canonical("theo") == "Theo Von"
    with pytest.raises(ValueError):
        book.rename("ep1", " ", "Someone")


def test_canonicalize_episodes_per_show() -> None:
    from podsearch.speakers.names import canonicalize_episodes

    a = _episode()
    a.podcast = "MTS"
    a.people = [Person("Clément Delangue", "guest")]
    b = _episode()
    b.id, b.podcast = "ep2", "mts"
    b.turns[1].speaker = "Clem DeLong"
    c = _episode()
    c.id, c.podcast = "ep3", "Another Show"
    canonicalize_episodes([a, b, c])
    assert b.turns[1].speaker == a.turns[1].speaker == "Clément Delangue"
    assert b.turns[0].speaker == "SPEAKER_2"
    assert c.turns[1].speaker == "Clem"  # another show: its own people
