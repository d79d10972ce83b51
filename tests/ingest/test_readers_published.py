"""Transcripts as they are really published (issue 19): each numbered defect of the issue
has a test here that failed before the readers were fixed. Fixtures: tests/fixtures/readers/
published/, small hand-made files in the published shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podsearch.core.errors import ReaderError
from podsearch.core.models import Episode
from podsearch.ingest.readers import ReadResult, read_file, read_text

PUBLISHED = Path(__file__).parents[1] / "fixtures" / "readers" / "published"


def read(name: str, fmt: str) -> ReadResult:
    result = read_file(PUBLISHED / name)
    assert result.format == fmt
    return result


def speakers_and_starts(ep: Episode) -> list[tuple[str | None, float | None]]:
    return [(t.speaker, t.start) for t in ep.turns]


def text_of(ep: Episode) -> str:
    return " ".join(t.text for t in ep.turns)


# Defect 3: a "Word:" is a speaker only when it can be trusted.


def test_a_subtitle_credit_is_text_not_the_speaker_of_the_film() -> None:
    ep = read("credit.srt", "srt").episode
    assert ep.speakers == []
    assert ep.turns[0].text.startswith("Subtitles: @quietcaptioner The river rose")


def test_spanish_digo_is_speech_and_bracket_and_chevron_labels_are_speakers() -> None:
    ep = read("digo.vtt", "webvtt").episode
    assert ep.speakers == ["Alba", "PEDRO"]
    assert speakers_and_starts(ep) == [("Alba", 1.0), (None, 7.0), ("Alba", 14.0),
                                       ("PEDRO", 18.0), (None, 21.0)]  # fmt: skip
    assert 'Digo: "Le doy un abrazo' in ep.turns[1].text  # "I say:" is not a person
    assert ep.turns[1].text.startswith("¿Qué le dijiste? Nada.")  # dialogue dashes dropped
    assert ep.turns[0].text.startswith("En aquella época")  # "[Alba]" out of the quote
    assert ep.turns[-1].text == "Y entonces se fueron las dos juntas."  # ">>": someone else


# Defect 5: WebVTT with hour-less and minute-less cue times, HTML entities decoded.


def test_webvtt_hourless_times_and_entities() -> None:
    ep = read("hourless.vtt", "webvtt").episode
    cues = [(c.start, c.end) for t in ep.turns for c in t.cues]
    assert cues == [(0.86, 7.38), (7.38, 14.02), (14.02, 75.5), (75.5, 3723.25)]
    assert ep.speakers == ["SPEAKER_0", "SPEAKER_1"]
    assert "third week & talks stall" in ep.turns[0].text


def test_webvtt_malformed_loose_time_is_still_an_error() -> None:
    text = "WEBVTT\n\n1:75.000 --> 2:00.000\nHello.\n"
    with pytest.raises(ReaderError, match=r'malformed cue time "1:75\.000" on line 3'):
        read_text(text, "x.vtt")


# Defect 7: SRT without cue numbers; a cue without its time line.


def test_srt_without_numbers_keeps_times_and_speakers() -> None:
    ep = read("no_numbers.srt", "srt").episode
    assert speakers_and_starts(ep) == [("NARRATOR", 1.0), ("KEEPER", 8.5)]
    assert "-->" not in text_of(ep)
    assert ep.turns[-1].end == 12.0


def test_srt_cue_without_a_time_line_is_joined_with_a_warning() -> None:
    result = read("missing_time.srt", "srt")
    ep = result.episode
    assert text_of(ep) == (
        "The orchard was planted in the spring of the dry year. Nobody expected the apricots "
        "to survive the frost. But the apricots flowered early and the bees came."
    )  # the lost cue's number "2" does not leak into the text
    assert [(c.start, c.end) for c in ep.turns[0].cues] == [(1.0, 4.0), (9.0, 12.0)]
    assert result.warnings == [
        "1 cue(s) without a timing line: their text joined to the cue before"
    ]


def test_webvtt_cue_without_a_time_line_is_joined_not_dropped() -> None:
    text = "WEBVTT\n\n00:01.000 --> 00:02.000\nFirst words.\n\n2\nLost words.\n\n"
    text += "00:03.000 --> 00:04.000\nLast words.\n"
    result = read_text(text, "x.vtt")
    assert text_of(result.episode) == "First words. Lost words. Last words."
    assert result.warnings == [
        "1 cue(s) without a timing line: their text joined to the cue before"
    ]


# Defect 8: YouTube rolling auto-captions.


def test_rolling_captions_are_deduplicated() -> None:
    result = read("rolling.vtt", "webvtt")
    ep = result.episode
    assert text_of(ep) == (
        "so the first thing about sourdough is that the starter needs feeding every single "
        "day with rye flour or it goes sour and flat"
    )
    assert ep.turns[0].cues[0].start == 0.0
    assert ep.turns[0].cues[-1].start == 8.05
    assert result.warnings == [
        "rolling captions (each cue repeats the last): repeated words removed"
    ]


def test_ordinary_captions_repeating_a_word_are_left_alone() -> None:
    text = "WEBVTT\n\n00:01.000 --> 00:02.000\nNo.\n\n00:02.000 --> 00:03.000\nNo.\n\n"
    text += "00:03.000 --> 00:04.000\nI said no.\n\n00:04.000 --> 00:05.000\nFine.\n\n"
    text += "00:05.000 --> 00:06.000\nGood.\n\n00:06.000 --> 00:07.000\nBye.\n\n"
    text += "00:07.000 --> 00:08.000\nBye now.\n"
    assert (
        text_of(read_text(text, "x.vtt").episode) == "No. No. I said no. Fine. Good. Bye. Bye now."
    )


# Defect 9: DFXP / W3C TTML with NAME: prefixes; reader names that say what they read.


def test_dfxp_caption_labels_are_speakers() -> None:
    ep = read("labels.dfxp", "dfxp").episode
    assert speakers_and_starts(ep) == [(None, 1.0), ("CAPTAIN", 4.0), ("FIRST MATE", 11.0),
                                       ("CAPTAIN", 15.0)]  # fmt: skip
    assert "CAPTAIN" not in text_of(ep)
    assert ep.turns[1].text.endswith("it will hold tonight.")  # the label holds, as in SRT


def test_ttml_reader_names_say_which_ttml(tmp_path: Path) -> None:
    body = '<body><div><p begin="1s" end="2s">Hello there.</p></div></body></tt>'
    w3c = f'<tt xmlns="http://www.w3.org/ns/ttml">{body}'
    dfxp = f'<tt xmlns="http://www.w3.org/2006/10/ttaf1">{body}'
    apple = (
        '<tt xmlns="http://www.w3.org/ns/ttml" '
        f'xmlns:podcasts="http://podcasts.apple.com/transcript-ttml-internal">{body}'
    )
    assert read_text(w3c, tmp_path / "a.xml").format == "w3c_ttml"
    assert read_text(dfxp, tmp_path / "a.xml").format == "dfxp"
    assert read_text(w3c, tmp_path / "a.dfxp").format == "dfxp"
    assert read_text(apple, tmp_path / "a.ttml").format == "apple_ttml"


# Defect 1: a JSON array of cues in milliseconds; times never silently off by a unit.


def cue_times(ep: Episode) -> list[tuple[str | None, float | None, float | None]]:
    return [(t.speaker, c.start, c.end) for t in ep.turns for c in t.cues]


def test_the_same_transcript_gives_the_same_times_in_every_unit_and_format() -> None:
    seconds = read("night_trains_seconds.json", "json_cues")
    millis = read("night_trains_ms.json", "json_cues")
    srt = read("night_trains.srt", "srt")
    vtt = read("night_trains.vtt", "webvtt")
    expected = cue_times(seconds.episode)
    assert expected[0] == ("Rosa Diaz", 1.5, 6.25) and expected[-1] == ("Tom Okafor", 33.0, 95.125)
    for other in (millis, srt, vtt):
        assert cue_times(other.episode) == expected  # exact: 95125 ms is 95.125 s
        assert [t.text for t in other.episode.turns] == [t.text for t in seconds.episode.turns]
    assert seconds.warnings == []
    assert millis.warnings == [
        "times read as milliseconds (as seconds, 85 words would span 26.0 h)"
    ]


def test_milliseconds_beyond_any_episode_length_are_detected() -> None:
    text = '[{"start": 0.0, "end": 2500.5, "text": "Hello there."},'
    text += ' {"start": 327000.25, "end": 330000.75, "text": "Goodbye."}]'
    result = read_text(text, "cues.json")
    assert cue_times(result.episode)[-1] == (None, 327.00025, 330.00075)
    assert result.warnings == [
        "times read as milliseconds (the largest, 330001, would be 92 h as seconds)"
    ]


def test_whisper_json_in_seconds_is_left_alone() -> None:
    text = '{"segments": [{"start": 0, "end": 4, "text": "One two three four five six."},'
    text += ' {"start": 4, "end": 9, "text": "Seven eight nine ten."}], "language": "en"}'
    result = read_text(text, "w.json")
    assert result.format == "whisper_json"
    assert cue_times(result.episode) == [(None, 0.0, 4.0), (None, 4.0, 9.0)]
    assert result.warnings == []


def test_unknown_json_lists_every_shape_podsearch_reads() -> None:
    with pytest.raises(ReaderError) as err:
        read_text('{"captions": []}', "x.json")
    for shape in ("Whisper", "array of", "Podcasting 2.0", "AssemblyAI", "Deepgram", "json3"):
        assert shape in err.value.problem


# Defect 2: markdown with "**Name:**" turns, "\[mm:ss\]" markers, links and stage directions.


def test_markdown_bold_labels_turns_times_and_clean_quotes() -> None:
    ep = read("bold_labels.md", "markdown_bold_labels").episode
    assert (ep.title, ep.podcast, ep.published) == (
        "The Quiet Engineering of Bridges",
        "Built Things",
        "2025-03-04",
    )
    assert speakers_and_starts(ep) == [
        ("Maya Chen", 12.0),
        ("Samuel Adeyemi", None),
        ("Maya Chen", 65.0),
        ("Samuel Adeyemi", 74.0),
        ("Maya Chen", 220.0),  # "\[00:03:40\] **Maya Chen:**": the time before the label
        ("Samuel Adeyemi", None),
    ]
    assert ep.turns[0].text.endswith(
        "inspected more than four hundred bridges across three countries."
    )
    assert (
        ep.turns[1].text
        == "Thanks for having me, Maya. Four hundred and twelve, but who is counting?"
    )
    # A paragraph without a label continues its speaker; emphasis and markers are gone.
    assert ep.turns[3].text.startswith(
        "The expansion joints. They tell you whether the deck can still breathe"
    )
    assert ep.turns[3].text.endswith("starts down at the bearings.")
    assert ep.turns[3].cues[0].end == 220.0
    assert not any(ch in text_of(ep) for ch in "*\\[]()")


# Defect 4: timed transcript lines "0:02:48.3 **Name** text" and "[hh:mm:ss] Name: text".


def test_timed_lines_with_bold_names() -> None:
    ep = read("timed_bold.txt", "timed_lines").episode
    assert speakers_and_starts(ep) == [
        ("Priya Nair", 3.5),
        ("Luca Bernardi", 11.2),
        ("Priya Nair", 168.3),
        ("Luca Bernardi", 172.0),
        ("Priya Nair", 330.9),
    ]
    assert ep.turns[3].text.endswith(
        "goes deep red. Some families wait twenty four months for the festival hams."
    )
    assert ep.turns[3].end == 330.9
    assert "**" not in text_of(ep) and "0:0" not in text_of(ep)


def test_timed_lines_with_bracketed_times_and_labels() -> None:
    ep = read("timed_labels.txt", "timed_lines").episode
    assert ep.speakers == ["Ines Moreau", "Karim Haddad"]
    assert [t.start for t in ep.turns] == [4.0, 15.0, 62.0, 69.0, 150.0]
    assert ep.turns[1].text.startswith("The towpath was built for horses")


def test_podcasting_json_in_milliseconds_is_refused_not_1000x_off() -> None:
    segs = [
        {"speaker": "Ann", "startTime": 200000, "endTime": 203500, "body": "Welcome back."},
        {"speaker": "Ann", "startTime": 203500, "endTime": 207000, "body": "Today: rivers."},
    ]
    with pytest.raises(ReaderError, match=r"times look like milliseconds .* are seconds"):
        read_text(json.dumps({"version": "1.0.0", "segments": segs}), "t.json")


def test_srt_number_lines_are_told_from_numbers_spoken() -> None:
    # No numbers and no blank lines between cues: "1984" is the cue's text, not a cue number.
    text = "00:00:01,000 --> 00:00:02,000\nThe year was\n1984\n"
    text += "00:00:03,000 --> 00:00:04,000\nand then came\n\n"
    text += "3\n00:00:05,000 --> 00:00:06,000\nthe end.\n"
    ep = read_text(text, "x.srt").episode
    assert [c.text for c in ep.turns[0].cues] == ["The year was 1984", "and then came", "the end."]
