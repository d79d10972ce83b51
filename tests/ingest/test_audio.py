"""Audio as a source: the transcriber's words against where espeak-ng spoke them, turns and
the transcript cache, audio paired with its transcript, feed items with only an enclosure."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from speech import assemble, require_speech_tools

from podsearch.core.errors import ModelLoadError
from podsearch.core.models import INFERRED, Episode, Person
from podsearch.ingest.audio import (
    TURN_WORDS,
    AsrOptions,
    Transcriber,
    assign_sole_speaker,
    episode_from_transcript,
    is_audio_file,
    pair_audio,
    transcript_stem,
)
from podsearch.ingest.feeds import read_feed

SENTENCES = [
    "The lighthouse keeper counted forty ships passing the northern rocks every winter.",
    "Cricket boards fear private leagues because the best players follow the money.",
    "Sourdough needs a long cold rest in the fridge before it is baked.",
]


def test_audio_files_are_known_by_extension_and_paired_with_transcripts() -> None:
    assert is_audio_file("a/Ep 1.MP3") and is_audio_file("x.opus") and not is_audio_file("x.vtt")
    assert transcript_stem(Path("ep1.mp3.vtt")) == transcript_stem(Path("EP1.vtt")) == "ep1"
    files = [Path("d/ep1.mp3"), Path("d/ep1.vtt"), Path("d/ep2.m4a"), Path("e/ep2.srt")]
    assert pair_audio(files) == {Path("d/ep1.vtt"): Path("d/ep1.mp3")}


def _words(n: int, start: float, step: float = 0.5) -> list[list[float | str]]:
    return [[start + i * step, start + i * step + 0.4, f"w{i}."] for i in range(n)]


def test_turns_close_at_length_or_long_pauses_and_words_are_cues() -> None:
    segments = [
        {"start": 0.0, "end": 50.0, "words": _words(100, 0.0)},
        {"start": 50.0, "end": 80.0, "words": _words(60, 50.0)},  # past TURN_WORDS after this
        {"start": 80.0, "end": 85.0, "words": _words(10, 80.0)},
        {"start": 120.0, "end": 125.0, "words": _words(10, 120.0)},  # after a 35 s break
    ]
    ep = episode_from_transcript({"segments": segments}, Path("show/ep.mp3"), "abc")
    assert [len(t.cues) for t in ep.turns] == [160, 10, 10]
    assert 160 >= TURN_WORDS
    first = ep.turns[0]
    assert (first.start, first.end, first.speaker, first.time_precision) == (
        0.0,
        79.9,
        None,
        "exact",
    )
    assert first.text.split() == [c.text for c in first.cues]
    assert (ep.title, ep.formats) == ("ep", ["audio"])


def test_a_sole_metadata_person_speaks_every_turn() -> None:
    segments = [{"start": 0.0, "end": 5.0, "words": _words(10, 0.0)}]
    ep = episode_from_transcript({"segments": segments}, Path("ep.mp3"), "abc")
    ep.people = [Person("Ada Host", "host"), Person("Bo Guest", "guest")]
    assign_sole_speaker(ep)
    assert ep.speakers == []
    ep.people = [Person("Ada Host", "host")]
    assign_sole_speaker(ep)
    assert ep.speakers == ["Ada Host"] and ep.turns[0].speaker_source == INFERRED


def test_an_unloadable_model_is_a_one_line_error(tmp_path: Path) -> None:
    require_speech_tools()
    transcriber = Transcriber(AsrOptions(model=str(tmp_path)))  # a folder without a model
    with pytest.raises(ModelLoadError, match="cannot load speech model") as info:
        transcriber.load()
    assert "\n" not in str(info.value)


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    require_speech_tools()
    path = tmp_path_factory.mktemp("speech") / "three.wav"
    return path, assemble(path, SENTENCES, lead=1.5, pause=2.0)


def test_words_come_back_where_they_were_spoken(spoken: tuple[Path, list], tmp_path: Path) -> None:
    path, truth = spoken
    seen: list[tuple[str, int, int]] = []
    transcriber = Transcriber(cache_dir=tmp_path, progress=lambda *a: seen.append(a))
    data = transcriber.transcribe(path, "h1")
    words = [
        (s, e, re.sub(r"\W", "", w).lower()) for seg in data["segments"] for s, e, w in seg["words"]
    ]
    for key, said in zip(("northern", "cricket", "fridge"), truth, strict=True):
        start = next(s for s, _, w in words if w == key)
        assert said.start - 0.5 <= start <= said.end, (key, start, said)
    firsts = [seg["start"] for seg in data["segments"]]
    for said in truth:  # each sentence begins within 2 s of a segment
        assert min(abs(said.start - f) for f in firsts) <= 2.0
    assert seen[0][1] == 0 and seen[-1][1] == seen[-1][2] and seen[0][0].startswith("transcribing")
    assert len(list(tmp_path.glob("h1-*.json"))) == 1
    assert transcriber.transcribe(path, "h1") == data  # from the cache


def _feed(tmp_path: Path, audio: Path, people: str) -> Path:
    """A local feed naming the audio by relative path (a local feed may not name file://
    URLs: ingest.feeds refuses them)."""
    feed = tmp_path / "feed.xml"
    audio = Path(os.path.relpath(audio, tmp_path))
    feed.write_text(
        f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">
  <channel><title>Keepers</title><language>en</language>
    <item><title>Forty ships</title><guid>ep-1</guid>
      <pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate>
      <enclosure url="{audio.as_posix()}" type="audio/wav" length="1"/>{people}
    </item>
  </channel>
</rss>
""",
        encoding="utf-8",
    )
    return feed


def test_a_feed_item_with_only_audio_is_transcribed_when_asked(
    spoken: tuple[Path, list], tmp_path: Path
) -> None:
    path, _ = spoken
    person = '<podcast:person role="host">Ada Keeper</podcast:person>'
    feed = _feed(tmp_path, path, person)
    plain = read_feed(feed, cache_dir=tmp_path / "cache")
    assert plain.episodes == [] and "--transcribe" in plain.failures[0].problem
    transcriber = Transcriber(cache_dir=tmp_path / "transcripts")
    result = read_feed(feed, cache_dir=tmp_path / "cache", transcriber=transcriber)
    assert result.failures == []
    (fe,) = result.episodes
    ep: Episode = fe.episode
    assert (ep.title, ep.podcast, ep.published) == ("Forty ships", "Keepers", "2026-11-02")
    assert ep.audio_url == path.as_uri() and ep.sources == [str(path)]
    assert ep.speakers == ["Ada Keeper"]  # the only person the feed names
    assert "cricket" in " ".join(t.text for t in ep.turns).lower()
    again = read_feed(
        feed, cache_dir=tmp_path / "cache", transcriber=transcriber, known=lambda s, h: True
    )
    assert again.unchanged == [str(path)] and again.episodes == []


def test_a_feed_enclosure_that_is_not_audio_fails_alone(tmp_path: Path) -> None:
    require_speech_tools()
    bogus = tmp_path / "ep.mp3"
    bogus.write_text("<html>not found</html>")
    feed = _feed(tmp_path, bogus, "")
    transcriber = Transcriber(cache_dir=tmp_path / "transcripts")
    result = read_feed(feed, cache_dir=tmp_path / "cache", transcriber=transcriber)
    (failure,) = result.failures
    assert failure.where == bogus.as_uri() and "Forty ships" in failure.problem
    assert "not an audio file" in failure.problem
