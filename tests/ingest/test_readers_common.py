"""Shared reader helpers, and format detection judged by content rather than extension."""

from __future__ import annotations

from pathlib import Path

import pytest

from podsearch.core.models import EXACT, LABELLED, UNTIMED
from podsearch.ingest.readers import read_file
from podsearch.ingest.readers._common import (
    coalesce,
    normalize_date,
    normalize_speaker,
    split_speaker_prefix,
    strip_trailer,
)
from podsearch.ingest.readers._labels import Opener, find_openers

FIXTURES = Path(__file__).parents[1] / "fixtures" / "readers"


@pytest.mark.parametrize(
    ("text", "speaker", "rest"),
    [
        ("[Amit Varma]: I.V.M On December 2", "Amit Varma", "I.V.M On December 2"),
        ("[Guest 1]: Yes.", "Guest 1", "Yes."),
        ("Clem: Thanks.", "Clem", "Thanks."),
        ("SPEAKER_00: Hi", "SPEAKER_00", "Hi"),
        ("Speaker 2: Hi", "Speaker 2", "Hi"),
        ("Clément Delangue: Bonjour", "Clément Delangue", "Bonjour"),
        ("Dr. Jane O'Brien-Smith: Hello", "Dr. Jane O'Brien-Smith", "Hello"),
        ("J. R. Tolkien: Hobbits", "J. R. Tolkien", "Hobbits"),
        ("Ludwig van Beethoven: Da-da-da-dum", "Ludwig van Beethoven", "Da-da-da-dum"),
        ("Alice:", "Alice", ""),
    ],
)
def test_split_speaker_prefix_finds_labels(text: str, speaker: str, rest: str) -> None:
    assert split_speaker_prefix(text) == (speaker, rest)


@pytest.mark.parametrize(
    "text",
    [
        "Note: this is not a speaker.",
        "Question: who said it?",
        "[Music]: plays",
        "At 10:30 we met.",
        "10:30 is the time.",
        "The thing is: we do not know.",
        "I think: maybe.",
        "Yes. So: here we go.",
        "See https://example.com: a link",
        "One Two Three Four Five: too many words",
        "A really long capitalised label that goes on and On: nope",
        "[00:01:23]: a time, not a name",
        "Well, Bob: no",
    ],
)
def test_split_speaker_prefix_avoids_false_positives(text: str) -> None:
    assert split_speaker_prefix(text) == (None, text)


def test_normalize_speaker() -> None:
    assert normalize_speaker("  Amit   Varma ") == "Amit Varma"
    assert normalize_speaker("SPEAKER_2") == "SPEAKER_2"
    for nobody in ("Unknown", "unknown speaker", "", "  ", None):
        assert normalize_speaker(nobody) is None


def test_coalesce_merges_consecutive_pieces_of_one_speaker() -> None:
    turns = coalesce(
        [
            ("A", 0.0, 1.0, "Hello"),
            ("A", 1.0, 2.0, "  there  "),
            ("A", 2.0, 2.5, "   "),  # empty text is dropped
            ("B", 3.0, 4.0, "Hi"),
            (None, None, None, "untimed"),
            (None, None, None, "aside"),
        ]
    )
    assert [t.speaker for t in turns] == ["A", "B", None]
    a = turns[0]
    assert (a.start, a.end, a.text, len(a.cues)) == (0.0, 2.0, "Hello there", 2)
    assert (a.time_precision, a.speaker_source) == (EXACT, LABELLED)
    assert (turns[2].text, turns[2].time_precision, turns[2].speaker_source) == (
        "untimed aside",
        UNTIMED,
        None,
    )


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("May 22, 2026", "2026-05-22"),
        ("2026-05-22", "2026-05-22"),
        ("22 May 2026", "2026-05-22"),
        ("16 Jan 2017", "2017-01-16"),
        ("Fri, 22 May 2026 10:00:00 GMT", "2026-05-22"),
        ("2026-05-22T10:00:00Z", "2026-05-22"),
        ("September 3rd, 2024", "2024-09-03"),
        ("not a date", None),
        ("2024", None),
        ("", None),
        (None, None),
        (20260522, None),
    ],
)
def test_normalize_date(value: object, iso: str | None) -> None:
    assert normalize_date(value) == iso


def test_strip_trailer_ignores_weak_phrases_mid_episode() -> None:
    lines = ["We pay $5 per transcript, no subscription.", "Real talk continues.", ""]
    assert strip_trailer(lines) == (lines, False)
    promo = ["Content.", "", "From $0.10 per transcript.", "Feed this to your agent", "curl -H x"]
    assert strip_trailer(promo) == (["Content."], False)


@pytest.mark.parametrize(
    ("fixture", "fmt"),
    [
        ("captions.vtt", "webvtt"),
        ("subtitles.srt", "srt"),
        ("podcasting.json", "podcasting_json"),
        ("whisperx.json", "whisper_json"),
        ("podcasting.html", "podcasting_html"),
        ("speakers.md", "markdown_speakers"),
        ("transcript.md", "markdown_transcript"),
    ],
)
def test_detection_uses_content_not_extension(tmp_path: Path, fixture: str, fmt: str) -> None:
    misnamed = tmp_path / "transcript.txt"
    misnamed.write_bytes((FIXTURES / fixture).read_bytes())
    assert read_file(misnamed).format == fmt


def test_json_lookalike_text_without_json_extension_is_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("{laughs} Alice: that was funny }\n", encoding="utf-8")
    result = read_file(path)
    assert result.format == "text"
    assert result.episode.turns[0].text == "{laughs} Alice: that was funny }"


def test_bom_and_crlf_are_handled(tmp_path: Path) -> None:
    path = tmp_path / "bom.vtt"
    path.write_bytes(b"\xef\xbb\xbfWEBVTT\r\n\r\n00:00:01.000 --> 00:00:02.000\r\n[Ann]: Hi\r\n")
    result = read_file(path)
    assert result.format == "webvtt"
    assert [(t.speaker, t.start, t.text) for t in result.episode.turns] == [("Ann", 1.0, "Hi")]


def test_plain_text_may_open_with_an_angle_bracket_aside(tmp_path: Path) -> None:
    path = tmp_path / "aside.txt"
    path.write_text("<laughs> Bob: That was great.\n", encoding="utf-8")
    assert read_file(path).format == "text"


# Which label-like openings of a file are speakers (issue 19 defect 3).
@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["Subtitles: @someone", "text"], [None, None]),  # a single credit
        (["Bob: hi", "Alice: hello"], ["Bob", "Alice"]),  # the file labels two names
        (["Clem: one", "more", "Clem: two"], ["Clem", None, "Clem"]),  # seen twice
        (["APPENDIX: a heading, in text"], [None]),
        (["Speaker 3: diarized"], ["Speaker 3"]),
        (["Bob Builder: two words"], ["Bob Builder"]),
        (["[Music] plays", "[Applause]"], [None, None]),  # sound tags are not speakers
        (["[Ann] hello there"], ["Ann"]),
        (["Note: and", "Question: so"], [None, None]),
    ],
)
def test_trusted_labels(lines: list[str], expected: list[str | None]) -> None:
    found = find_openers(lines)
    assert [o.speaker if o else None for o in found] == expected


def test_labels_in_capitals_are_speakers_in_captions() -> None:
    texts = ["NARRATOR: It began at sea.", "- Who goes?\n- A friend.", "WOMAN ( gasping ): Oh!"]
    assert find_openers(texts, subtitles=True) == [
        Opener("NARRATOR", "It began at sea."),
        Opener(None, "Who goes?\nA friend."),  # dialogue: an unnamed speaker, dashes dropped
        Opener("WOMAN", "Oh!"),  # a stage direction after the name is not part of it
    ]
