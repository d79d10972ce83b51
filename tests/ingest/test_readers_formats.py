"""Readers for Apple TTML, AssemblyAI JSON, Deepgram JSON and YouTube json3 captions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from podsearch.core.errors import ReaderError
from podsearch.core.models import EXACT, LABELLED, Episode
from podsearch.ingest.readers import detect, load_text, read_file, read_text
from podsearch.ingest.readers._diarized import anonymous_speaker
from podsearch.ingest.readers.apple_ttml import parse_time

FIXTURES = Path(__file__).parents[1] / "fixtures" / "readers"


def read(name: str, fmt: str) -> Episode:
    result = read_file(FIXTURES / name)
    assert result.format == fmt
    ep = result.episode
    for turn in ep.turns:
        assert turn.text == " ".join(c.text for c in turn.cues)
        assert turn.speaker_source == (LABELLED if turn.speaker else None)
    for a, b in zip(ep.turns, ep.turns[1:], strict=False):
        assert a.speaker != b.speaker
    return ep


def cues(ep: Episode) -> list[tuple[float | None, float | None]]:
    return [(c.start, c.end) for t in ep.turns for c in t.cues]


@pytest.mark.parametrize(
    ("label", "zero_based", "expected"),
    [
        ("A", False, "Speaker A"),
        ("b", False, "Speaker B"),
        (0, True, "Speaker 1"),
        (1, True, "Speaker 2"),
        ("0", True, "Speaker 1"),
        (2, False, "Speaker 2"),
        ("SPEAKER_01", False, "Speaker 1"),
        ("SPEAKER_2", False, "Speaker 2"),
        ("Alice Example", False, "Alice Example"),
        (None, False, None),
        ("", False, None),
        ("unknown", False, None),
        (True, False, None),
    ],
)
def test_anonymous_speaker_labels(label: object, zero_based: bool, expected: str | None) -> None:
    assert anonymous_speaker(label, zero_based=zero_based) == expected


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("12.345s", 12.345),
        ("00:01:02.345", 62.345),
        ("1:00:00", 3600.0),
        ("1500ms", 1.5),
        ("2m", 120.0),
        ("0.5h", 1800.0),
        ("7", 7.0),
        ("00:00:01:15", 1.5),  # 15 frames at the default 30 fps
        ("45f", 1.5),
        ("1:02.5", 62.5),
    ],
)
def test_ttml_time_expressions(value: str, seconds: float) -> None:
    assert parse_time(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["", "9,25s", "1:75:00", "abc", "-3s", "00:00:61.0"])
def test_ttml_bad_time_expressions(value: str) -> None:
    with pytest.raises(ValueError):
        parse_time(value)


def test_apple_ttml_agents_spans_and_times() -> None:
    ep = read("apple.ttml", "apple_ttml")
    assert ep.language == "en-US"
    assert [t.speaker for t in ep.turns] == ["Alice Example", "Speaker 2", "Alice Example"]
    # Word spans get spaces between them, punctuation stays attached, <br/> is a space.
    assert ep.turns[0].text == "Welcome back, everyone. Today we read TTML."
    assert ep.turns[1].text == "Thanks for having me & my notes."
    assert cues(ep) == [(0.16, 4.5), (4.5, 9.25), (9.25, 62.345), (62.345, 95.5)]
    assert all(t.time_precision == EXACT for t in ep.turns)


def test_apple_ttml_detected_by_content_under_any_name(tmp_path: Path) -> None:
    copy = tmp_path / "transcript.xml"
    shutil.copy(FIXTURES / "apple.ttml", copy)
    assert read_file(copy).format == "apple_ttml"
    text = load_text(copy)
    assert detect(text, tmp_path / "no_suffix").NAME == "apple_ttml"


def test_apple_ttml_malformed_time_names_the_paragraph() -> None:
    with pytest.raises(ReaderError, match=r'malformed time end="9,25s" in paragraph 2') as err:
        read_file(FIXTURES / "apple_bad_time.ttml")
    assert "apple_bad_time.ttml" in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '<tt xmlns="http://www.w3.org/ns/ttml"><body><p begin="1s">hi</body></tt>',
            r"invalid TTML: not well-formed XML at line 1 column \d+: mismatched tag",
        ),
        ('<tt xmlns="http://www.w3.org/ns/ttml"><head/></tt>', "TTML has no <body>"),
        (
            '<?xml version="1.0"?><!DOCTYPE tt [<!ENTITY a "aaaa">]>'
            '<tt xmlns="http://www.w3.org/ns/ttml"><body><p>&a;</p></body></tt>',
            "declares entities",
        ),
    ],
)
def test_apple_ttml_malformed_documents(text: str, message: str) -> None:
    with pytest.raises(ReaderError, match=message):
        read_text(text, "broken.ttml")


def test_assemblyai_utterances_with_word_cues() -> None:
    ep = read("assemblyai.json", "assemblyai_json")
    assert [t.speaker for t in ep.turns] == ["Speaker A", "Speaker B", "Speaker A"]
    assert ep.turns[0].text == "Hello and welcome. Today we talk about storage."
    # Word timings of an utterance give one cue per sentence; milliseconds become seconds.
    assert [(c.start, c.end, c.text) for c in ep.turns[0].cues] == [
        (0.25, 1.5, "Hello and welcome."),
        (1.9, 4.1, "Today we talk about storage."),
    ]
    assert (ep.turns[1].start, ep.turns[1].end) == (4.5, 6.25)
    assert ep.language == "en-us"
    assert ep.audio_url == "https://example.com/audio/episode-7.mp3"


def test_assemblyai_words_only_without_speakers() -> None:
    ep = read("assemblyai_words.json", "assemblyai_json")
    assert [t.speaker for t in ep.turns] == [None]
    assert ep.turns[0].text == "One two three. Four five."
    assert cues(ep) == [(0.0, 0.9), (1.0, 1.65)]


def test_assemblyai_malformed_time_and_status(tmp_path: Path) -> None:
    with pytest.raises(ReaderError, match=r'malformed time "4.5s" in utterance 1 "start"'):
        read_file(FIXTURES / "assemblyai_bad_time.json")
    failed = {"status": "error", "error": "audio could not be decoded", "utterances": []}
    with pytest.raises(ReaderError, match="transcription failed: audio could not be decoded"):
        read_text(json.dumps(failed), "t.json", format="assemblyai_json")
    with pytest.raises(ReaderError, match='no "utterances" or "words"'):
        read_text('{"status": "completed", "utterances": null}', "t.json", "assemblyai_json")


def test_deepgram_paragraphs_sentences_and_speakers() -> None:
    ep = read("deepgram.json", "deepgram_json")
    assert [t.speaker for t in ep.turns] == ["Speaker 0", "Speaker 1"]  # as Deepgram numbers them
    assert ep.turns[1].text == "Thank you. Great to be here."
    assert cues(ep) == [(0.1, 1.0), (1.2, 3.2), (3.6, 4.2), (4.4, 6.0)]
    assert ep.language == "en"


def test_deepgram_words_use_punctuated_words() -> None:
    ep = read("deepgram_words.json", "deepgram_json")
    assert [(t.speaker, t.text) for t in ep.turns] == [
        ("Speaker 0", "So what now?"),
        ("Speaker 1", "Well, we wait."),
    ]
    assert cues(ep) == [(0.0, 0.7), (1.0, 1.9)]


def test_deepgram_utterances() -> None:
    ep = read("deepgram_utterances.json", "deepgram_json")
    assert [(t.speaker, t.text, t.start, t.end) for t in ep.turns] == [
        ("Speaker 1", "Hi there.", 0.5, 1.5),
        ("Speaker 0", "Hello.", 2.0, 2.75),
    ]


def test_deepgram_malformed() -> None:
    with pytest.raises(ReaderError, match=r'malformed time -1 in paragraph 1 sentence 0 "end"'):
        read_file(FIXTURES / "deepgram_bad_time.json")
    empty = {"results": {"channels": [{"alternatives": [{"transcript": ""}]}]}}
    with pytest.raises(ReaderError, match="no paragraphs, utterances, words or transcript"):
        read_text(json.dumps(empty), "dg.json")


def test_youtube_json3_events_without_speakers() -> None:
    ep = read("youtube.json3", "youtube_json3")
    assert [t.speaker for t in ep.turns] == [None]
    # "[Music]" and the line-break event are dropped; ">>" marks and newlines become spaces.
    assert [c.text for c in ep.turns[0].cues] == [
        "welcome to the channel",
        "today we look at captions",
    ]
    assert cues(ep) == [(2.16, 6.0), (6.0, 10.5)]


def test_youtube_json3_detected_as_plain_json(tmp_path: Path) -> None:
    copy = tmp_path / "captions.en.json"
    shutil.copy(FIXTURES / "youtube.json3", copy)
    assert read_file(copy).format == "youtube_json3"


def test_youtube_json3_malformed() -> None:
    with pytest.raises(ReaderError, match=r'event 2 segment 1: "utf8" is not text'):
        read_file(FIXTURES / "youtube_bad.json3")
    with pytest.raises(ReaderError, match='expected an object with "events"'):
        read_text('{"events": 3, "tStartMs": 1}', "c.json3", "youtube_json3")


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("whisper.json", "whisper_json"),
        ("whisperx.json", "whisper_json"),
        ("podcasting.json", "podcasting_json"),
        ("captions.vtt", "webvtt"),
        ("podcasting.html", "podcasting_html"),
    ],
)
def test_existing_formats_still_detected(name: str, fmt: str) -> None:
    assert read_file(FIXTURES / name).format == fmt
