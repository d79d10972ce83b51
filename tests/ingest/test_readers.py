"""Transcript readers, tested through the registry's read_file on small fixtures."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from podsearch.core.errors import ReaderError, UnknownFormatError
from podsearch.core.models import EXACT, LABELLED, UNTIMED, Episode
from podsearch.ingest.readers import read_file

FIXTURES = Path(__file__).parents[1] / "fixtures" / "readers"
SHARED = Path(__file__).resolve().parents[3] / "shared"
SEEDS = SHARED / "seeds"
CORPUS_VTT = SHARED / "corpora" / "seenunseen" / "transcripts_vtt"
PROMO = ("Feed this to your agent", "curl", "$0.10", "spoken.md", "more minutes of transcript")


def read(name: str) -> tuple[Episode, str]:
    result = read_file(FIXTURES / name)
    return result.episode, result.format


def assert_turn_invariants(ep: Episode) -> None:
    for turn in ep.turns:
        assert turn.text == " ".join(c.text for c in turn.cues)
        assert turn.text and turn.text == " ".join(turn.text.split())
        assert turn.speaker_source == (LABELLED if turn.speaker else None)
        assert turn.time_precision == (EXACT if turn.start is not None else UNTIMED)
    for a, b in zip(ep.turns, ep.turns[1:], strict=False):
        assert a.speaker != b.speaker, "consecutive turns of one speaker must coalesce"


def test_markdown_speakers_header_turns_and_trailer() -> None:
    ep, fmt = read("speakers.md")
    assert fmt == "markdown_speakers"
    assert ep.title == "Testing Readers With Care | Demo Show"
    assert ep.podcast == "The Demo Podcast"
    assert ep.published == "2025-03-03"
    assert ep.description == "Alice and Bob talk about reading transcript files."
    assert [(p.name, p.role) for p in ep.people] == [
        ("Alice Example", None),
        ("Bob Builder", None),
        ("SPEAKER_2", None),
    ]
    assert ep.truncated is True
    assert [t.speaker for t in ep.turns] == [
        "Alice Example",
        "Bob Builder",
        "SPEAKER_2",
        "Bob Builder",
    ]
    first = ep.turns[0]
    # Two markers of one speaker: one turn, two cues, each ending at the next marker.
    assert [(c.start, c.end) for c in first.cues] == [(0.0, 12.0), (12.0, 20.0)]
    assert first.text.startswith("Welcome to the show. Today we read files. Every format")
    assert (ep.turns[2].start, ep.turns[2].end) == (65.0, 3723.0)  # h:mm:ss marker
    assert (ep.turns[-1].start, ep.turns[-1].end) == (3723.0, None)
    assert ep.turns[-1].text == "Long pause, then one more thing."
    assert_turn_invariants(ep)


def test_markdown_speakers_malformed_time_names_the_line() -> None:
    with pytest.raises(ReaderError, match=r'malformed time "1:7x" on line 10') as err:
        read_file(FIXTURES / "speakers_bad_time.md")
    assert "speakers_bad_time.md" in str(err.value)


def test_markdown_transcript_metadata_and_labels() -> None:
    ep, fmt = read("transcript.md")
    assert fmt == "markdown_transcript"
    assert ep.title == "Reading Files: A Field Guide"
    assert ep.podcast == "The Demo Podcast"
    assert ep.published == "2026-05-22"
    assert ep.description == "A short episode about readers."
    assert ep.url == "https://example.com/episodes/12"
    assert ep.episode_number == 12
    assert [(p.name, p.role) for p in ep.people] == [("Bob Builder", "guest")]
    assert [t.speaker for t in ep.turns] == [None, "Alice", "Bob", None]
    opening = ep.turns[0]
    assert len(opening.cues) == 4  # unlabelled lines coalesce into one untimed turn
    assert "Note: this line is not a speaker label." in opening.text
    assert "At 10:30 we started recording." in opening.text
    assert ep.turns[1].text == "I label my first line. and this line continues my paragraph."
    assert ep.turns[3].text == "This paragraph has no label, so nobody is credited."
    assert all("must not be indexed" not in t.text for t in ep.turns)  # "## Show notes"
    assert ep.truncated is False
    assert_turn_invariants(ep)


def test_webvtt_voices_labels_carry_forward_and_times() -> None:
    ep, fmt = read("captions.vtt")
    assert fmt == "webvtt"
    assert ep.title is None
    assert ep.language == "en"
    assert [t.speaker for t in ep.turns] == ["Alice", "Bob Builder", None, "Carol"]
    alice, bob, unknown, carol = ep.turns
    assert alice.text == "Hello and welcome. Today we talk about captions."  # tags stripped
    assert [(c.start, c.end) for c in alice.cues] == [(0.0, 2.5), (2.5, 5.0)]
    assert bob.text == "Thanks, Alice. Glad to be here."  # unlabelled cue keeps Bob
    assert (bob.start, bob.end) == (5.0, 9.0)
    assert unknown.text == "(crosstalk)"  # "[Unknown]:" is no speaker, and is not carried
    assert carol.cues[-1].start == carol.cues[-1].end == 12.0  # end before start: clamped
    assert all("NOTE" not in t.text and "comment" not in t.text for t in ep.turns)
    assert_turn_invariants(ep)


def test_webvtt_malformed_time() -> None:
    with pytest.raises(ReaderError, match=r'malformed cue time "00:00:02,000" on line 6'):
        read_file(FIXTURES / "captions_bad_time.vtt")


def test_srt_label_carries_forward_until_the_next() -> None:
    ep, fmt = read("subtitles.srt")
    assert fmt == "srt"
    assert [t.speaker for t in ep.turns] == [None, "ALICE", "Bob"]
    assert ep.turns[0].text == "Before anyone is named."
    assert ep.turns[1].text == "Now I am named. And I keep talking across two lines."
    assert [(c.start, c.end) for c in ep.turns[1].cues] == [(2.0, 4.5), (4.5, 6.0)]
    assert ep.turns[2].end == 9.5  # "00:00:09,5" is half a second, not 5 ms
    assert_turn_invariants(ep)


def test_srt_malformed_time() -> None:
    with pytest.raises(ReaderError, match=r'malformed time "00:00:0x,000" on line 6'):
        read_file(FIXTURES / "subtitles_bad_time.srt")


def test_podcasting_json_word_segments() -> None:
    ep, fmt = read("podcasting.json")
    assert fmt == "podcasting_json"
    assert [t.speaker for t in ep.turns] == ["Alice", "Bob", "Alice"]
    hello = ep.turns[0]
    assert hello.text == "Hello, world."  # no space before punctuation-only bodies
    assert [(c.start, c.end, c.text) for c in hello.cues] == [
        (0.0, 0.45, "Hello,"),
        (0.5, 0.95, "world."),
    ]
    assert ep.turns[1].text == "Hi Alice!"
    assert (ep.turns[1].start, ep.turns[1].end) == (1.2, 2.0)
    assert_turn_invariants(ep)


def test_podcasting_json_malformed_time() -> None:
    with pytest.raises(ReaderError, match=r'malformed time "soon" in segment 1 "startTime"'):
        read_file(FIXTURES / "podcasting_bad_time.json")


def test_whisper_json_without_speakers() -> None:
    ep, fmt = read("whisper.json")
    assert fmt == "whisper_json"
    assert ep.language == "en"
    assert len(ep.turns) == 1 and ep.turns[0].speaker is None
    assert ep.turns[0].text == "Hello there. This is plain Whisper output."
    assert (ep.turns[0].start, ep.turns[0].end) == (0.0, 3.25)
    assert_turn_invariants(ep)


def test_whisperx_json_speakers() -> None:
    ep, fmt = read("whisperx.json")
    assert fmt == "whisper_json"
    assert [t.speaker for t in ep.turns] == ["SPEAKER_00", "SPEAKER_01", None]
    assert ep.turns[0].text == "Welcome back. Let us begin."
    assert [(c.start, c.end) for c in ep.turns[0].cues] == [(0.0, 2.0), (2.0, 4.0)]
    assert_turn_invariants(ep)


def test_podcasting_html_cite_time_p() -> None:
    ep, fmt = read("podcasting.html")
    assert fmt == "podcasting_html"
    assert ep.title == "HTML Transcript Episode"
    assert ep.description == "An episode in Podcasting 2.0 HTML."
    assert ep.language == "en"
    assert [t.speaker for t in ep.turns] == ["Alice", "Bob"]
    alice, bob = ep.turns
    assert alice.text == "Welcome to the HTML episode. No cite here, so I am still Alice."
    assert [(c.start, c.end) for c in alice.cues] == [(0.0, 10.0), (10.0, 3723.0)]
    assert (bob.start, bob.end) == (3723.0, None)
    assert_turn_invariants(ep)


def test_podcasting_html_malformed_time() -> None:
    with pytest.raises(ReaderError, match=r'malformed time "1:7x" in <time> on line 6'):
        read_file(FIXTURES / "podcasting_bad_time.html")


def test_plain_text_labels_paragraphs_and_times() -> None:
    ep, fmt = read("plain.txt")
    assert fmt == "text"
    assert [t.speaker for t in ep.turns] == [None, "Alice", "Bob", None, "Carol"]
    opening, alice, bob, nobody, carol = ep.turns
    assert opening.text == "An unlabelled opening line. Question: is this a speaker? No."
    assert opening.time_precision == UNTIMED
    assert alice.text.endswith("This line continues Alice in the same paragraph.")
    assert (alice.start, alice.end) == (5.0, 12.0)
    assert (bob.start, bob.end) == (12.0, None)
    assert nobody.text == "This paragraph has no label, so its speaker is unknown."
    assert carol.text == "A label alone on its line names the next paragraph."
    assert_turn_invariants(ep)


def test_plain_text_malformed_time() -> None:
    with pytest.raises(ReaderError, match=r'malformed time "00:07:75" on line 2'):
        read_file(FIXTURES / "plain_bad_time.txt")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("empty.txt", "file is empty"),
        ("blank.txt", "file is empty"),
        ("binary.txt", "file is binary"),
        ("bad.json", r"invalid JSON at line 3 column 31: Expecting ',' delimiter"),
        ("unknown_shape.json", "JSON is not a known transcript shape"),
        ("unknown.html", "unrecognised transcript format"),
    ],
)
def test_bad_input_is_one_clear_reader_error(name: str, problem: str) -> None:
    with pytest.raises(ReaderError, match=problem) as err:
        read_file(FIXTURES / name)
    assert str(err.value).startswith(str(FIXTURES / name) + ": ")


def test_latin1_text_is_read_with_the_guess_as_a_warning() -> None:
    result = read_file(FIXTURES / "bad_utf8.txt")  # "café" in Latin-1: was refused
    assert "café au lait" in result.episode.turns[0].text
    assert result.warnings == ["not UTF-8: read as cp1252 (guessed by charset-normalizer)"]


def test_unknown_format_is_its_own_error_class() -> None:
    with pytest.raises(UnknownFormatError):
        read_file(FIXTURES / "unknown.html")


@pytest.mark.parametrize(
    "name", ["speakers.md", "transcript.md", "plain.txt", "captions.vtt", "subtitles.srt"]
)
def test_no_promotional_text_is_indexed(name: str) -> None:
    ep, _ = read(name)
    for turn in ep.turns:
        for phrase in PROMO:
            assert phrase not in turn.text


def test_episode_ids_are_stable_and_distinct() -> None:
    ids = {read(n)[0].id for n in ["speakers.md", "transcript.md", "captions.vtt", "plain.txt"]}
    assert len(ids) == 4
    assert read("captions.vtt")[0].id == read("captions.vtt")[0].id


@pytest.mark.skipif(not SEEDS.exists(), reason="../shared is absent: no seed transcripts")
def test_seed_markdown_speakers() -> None:
    result = read_file(SEEDS / "000_e2bc7c94d098de9e.txt")
    ep = result.episode
    assert result.format == "markdown_speakers"
    assert (
        ep.title == "Hugging Face's Clem Delangue on Open Source AI and the LLM Bubble | MTS Live"
    )
    assert ep.podcast == "The a16z Show"
    assert ep.published == "2026-05-22"
    assert ep.description and ep.description.startswith("Clem Delangue joins MTS")
    assert [p.name for p in ep.people] == ["Clément Delangue", "Theo Jaffee", "Sofia Puccini"]
    assert ep.truncated is True
    assert ep.speakers == ["Clément Delangue", "SPEAKER_2", "Theo Jaffee", "Sofia Puccini"]
    assert (ep.turns[0].start, ep.turns[0].end) == (0.0, 52.0)
    assert ep.turns[-1].start == 312.0 and ep.turns[-1].end is None
    assert ep.turns[-1].text.endswith("capabilities that other people don't have, right?")
    for turn in ep.turns:
        for phrase in PROMO:
            assert phrase not in turn.text
    assert_turn_invariants(ep)


@pytest.mark.skipif(not SEEDS.exists(), reason="../shared is absent: no seed transcripts")
def test_seed_markdown_transcript() -> None:
    result = read_file(SEEDS / "001_2a2fb2494203e8fb.txt")
    ep = result.episode
    assert result.format == "markdown_transcript"
    assert ep.title == "Clem DeLong: China Leads Open Source, LLM Bubble Risks"
    assert ep.podcast == "a16z Podcast"
    assert ep.published == "2026-05-22"
    assert len(ep.turns) == 1 and ep.turns[0].speaker is None  # no false speaker labels
    assert ep.turns[0].text.startswith("The idea of restricting a technology like AI")
    assert ep.turns[0].text.endswith("does not guarantee its accuracy.")
    assert len(ep.turns[0].cues) == 152  # every utterance line, none lost
    assert ep.word_count == 2176 and ep.truncated is False


@pytest.mark.skipif(not CORPUS_VTT.exists(), reason="../shared is absent: no seenunseen corpus")
def test_corpus_vtt_e41() -> None:
    path = CORPUS_VTT / "E41.mp3.vtt"
    started = time.perf_counter()
    result = read_file(path)
    elapsed = time.perf_counter() - started
    ep = result.episode
    assert result.format == "webvtt"
    assert "Amit Varma" in ep.speakers
    assert set(ep.speakers) <= {"Amit Varma", "Guest", "Guest 1", "Guest 2", "Guest 3"}
    first = ep.turns[0]
    assert first.speaker == "Amit Varma"
    assert first.text.startswith("I.V.M On December 2, 1977")
    assert (first.cues[0].start, first.cues[0].end) == (0.0, 8.16)
    assert first.cues[1].start == 8.16
    assert all("[Amit Varma]" not in t.text for t in ep.turns)
    assert ep.duration and ep.duration > 2900
    assert_turn_invariants(ep)
    assert elapsed < 1.0, f"reading E41 took {elapsed:.3f} s"  # ~15 ms; generous for slow CI
