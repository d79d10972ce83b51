"""Transcripts written as WebVTT, SRT and JSON, and read back by the readers."""

from __future__ import annotations

import json

import pytest

from podsearch.core.errors import InvalidRequestError, PodsearchError
from podsearch.core.models import EXACT, LIKELY, Cue, Episode, Turn
from podsearch.ingest.readers import read_text
from podsearch.ingest.writers import LINE_WORDS, captions, write_transcript


def _episode() -> Episode:
    words = "Bread is baked twice a week. The oven is shared by the whole village here".split()
    cues = [Cue(10.0 + i * 0.5, 10.4 + i * 0.5, w) for i, w in enumerate(words)]
    return Episode(
        id="e1",
        title="Ovens",
        turns=[
            Turn("Ada", 10.0, 17.4, " ".join(words), EXACT, "labelled", cues),
            Turn("Bo", 3725.5, 3728.0, "A whole line in one cue.", EXACT, "labelled"),
        ],
    )


def test_word_cues_become_caption_lines_ending_at_sentences() -> None:
    lines = captions(_episode())
    assert [c.text for c in lines][:2] == [
        "Bread is baked twice a week.",
        "The oven is shared by the whole village here",
    ]
    assert (lines[0].start, lines[0].end, lines[1].start) == (10.0, 12.9, 13.0)
    assert all(len(c.text.split()) <= LINE_WORDS for c in lines)


@pytest.mark.parametrize("fmt", ["vtt", "srt"])
def test_captions_read_back_with_speakers_and_times(fmt: str) -> None:
    text = write_transcript(_episode(), fmt)
    ep = read_text(text, f"t.{fmt}").episode
    assert ep.speakers == ["Ada", "Bo"]
    assert ep.turns[0].start == 10.0 and ep.turns[-1].start == 3725.5
    assert "01:02:05" in text


def test_json_keeps_turns_and_cues() -> None:
    doc = json.loads(write_transcript(_episode(), "json"))
    assert doc["id"] == "e1" and len(doc["turns"][0]["cues"]) == 15


def test_untimed_episodes_and_unknown_formats_are_refused() -> None:
    untimed = Episode(id="u", turns=[Turn("Ada", None, None, "No times here.")])
    with pytest.raises(PodsearchError, match="use --format json"):
        write_transcript(untimed, "vtt")
    assert json.loads(write_transcript(untimed, "json"))["turns"][0]["start"] is None
    with pytest.raises(InvalidRequestError):
        write_transcript(untimed, "docx")


@pytest.mark.parametrize("fmt", ["vtt", "srt"])
def test_a_guessed_speaker_is_no_voice_tag(fmt: str) -> None:
    """Caption formats state who speaks: a guess (speaker_source 'likely') is left out there;
    JSON keeps it with its source."""
    ep = _episode()
    ep.turns[1].speaker_source = LIKELY
    text = write_transcript(ep, fmt)
    assert "Ada" in text and "Bo" not in text
    doc = json.loads(write_transcript(ep, "json"))
    assert (doc["turns"][1]["speaker"], doc["turns"][1]["speaker_source"]) == ("Bo", LIKELY)
