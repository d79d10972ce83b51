"""Audio folders indexed end to end (real speech by espeak-ng, transcribed by tiny.en): asked
questions find the spoken sentence at its time, re-indexing transcribes nothing, another
speech model transcribes again, bad audio is a one-line failure, audio beside its transcript
is one episode."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from speech import Spoken, assemble, convert, require_speech_tools, silence

from podsearch import Library
from podsearch.ingest import audio as audio_module
from podsearch.ingest.audio import INSTALL_HINT, Transcriber

MARITIME = [
    "Welcome to the show about old maritime trades and the people who kept them alive.",
    "The lighthouse keeper counted forty ships passing the northern rocks every winter.",
    "His daughter painted the tower white each spring with a brush made of horse hair.",
    "Storms broke the great lamp twice, and the keeper relit it with oil from the village.",
    "Cricket boards fear private leagues because the best players follow the money.",
    "Television contracts decide which tournaments survive and which ones quietly vanish.",
    "Young bowlers now plan their careers around franchise auctions instead of test matches.",
    "That is all for this week, thank you for listening to the programme.",
]
BAKING = [
    "Sourdough needs a long cold rest in the fridge before it is baked.",
    "Rye flour makes the crumb dense and the crust very dark.",
]


@pytest.fixture(scope="module")
def audio_library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[Spoken]]]:
    """A folder with a WAV episode and an Ogg/Opus one (converted with PyAV)."""
    require_speech_tools()
    folder = tmp_path_factory.mktemp("audio-library")
    truth = {"maritime.wav": assemble(folder / "maritime.wav", MARITIME)}
    raw = folder.parent / "baking-raw.wav"
    truth["baking.ogg"] = assemble(raw, BAKING, lead=2.0, pause=2.0)
    convert(raw, folder / "baking.ogg", "libopus", rate=48000)
    raw.unlink()
    return folder, truth


@pytest.fixture(scope="module")
def indexed(
    audio_library: tuple[Path, dict[str, list[Spoken]]], tmp_path_factory: pytest.TempPathFactory
) -> Library:
    folder, _ = audio_library
    lib = Library(tmp_path_factory.mktemp("audio-index") / "idx")
    report = lib.index([folder], model="fake")
    assert report.failed == [] and report.formats == {"audio": 2}
    assert report.episodes_added == 2
    return lib


def _near(t: float | None, times: list[float]) -> bool:
    return t is not None and min(abs(t - x) for x in times) <= 2.0


@pytest.mark.parametrize(
    ("question", "file", "sentence", "word"),
    [
        ("why do cricket boards fear private leagues", "maritime.wav", 4, "cricket"),
        ("how many ships did the lighthouse keeper count", "maritime.wav", 1, "northern"),
        ("how long does dough rest cold in the fridge", "baking.ogg", 0, "fridge"),
    ],
)
def test_ask_finds_the_spoken_sentence_at_its_time(
    indexed: Library,
    audio_library: tuple[Path, dict[str, list[Spoken]]],
    question: str,
    file: str,
    sentence: int,
    word: str,
) -> None:
    _, truth = audio_library
    spoken = truth[file]
    hit = indexed.ask(question, top=1).hits[0]
    assert Path(hit.sources[0]).name == file
    assert word in hit.text.lower()
    said = spoken[sentence]
    # The passage covers the sentence, and it starts and ends where sentences do.
    assert hit.start is not None and hit.end is not None
    assert hit.start <= said.start + 2.0 and hit.end >= said.end - 2.0
    assert _near(hit.start, [s.start for s in spoken])
    assert _near(hit.end, [s.end for s in spoken])
    assert hit.time_precision == "exact"
    assert hit.speaker is None  # no diarization, no metadata people


def test_reindexing_an_unchanged_audio_folder_transcribes_nothing(
    indexed: Library,
    audio_library: tuple[Path, dict[str, list[Spoken]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, _ = audio_library

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("transcribed again")

    monkeypatch.setattr(Transcriber, "_run", refuse)
    report = indexed.index([folder], model="fake")
    assert (report.files_read, report.episodes_unchanged, report.failed) == (0, 2, [])
    status = indexed.status()
    assert status["sources_changed"] == [] and status["sources_missing"] == []


def test_transcript_export_round_trips(indexed: Library) -> None:
    from podsearch.ingest.readers import read_text

    eid = next(e["episode_id"] for e in indexed.episodes() if "maritime" in e["sources"][0])
    vtt = indexed.transcript(eid, "vtt")
    srt = indexed.transcript("maritime.wav", "srt")
    for text, name in ((vtt, "t.vtt"), (srt, "t.srt")):
        ep = read_text(text, name).episode
        assert "northern rock" in " ".join(t.text for t in ep.turns).lower()
        assert ep.turns[0].start is not None and ep.turns[0].start < 2.5
    doc = indexed.transcript(eid, "json")
    assert '"cues"' in doc and "cricket" in doc.lower()


def test_transcript_of_an_unknown_episode_or_format_is_refused(indexed: Library) -> None:
    from podsearch.core.errors import EpisodeNotFoundError, InvalidRequestError

    with pytest.raises(EpisodeNotFoundError):
        indexed.transcript("no-such-episode")
    with pytest.raises(InvalidRequestError):
        indexed.transcript("maritime.wav", "docx")


def test_a_new_speech_model_transcribes_again_and_the_cache_serves_a_rebuild(
    audio_library: tuple[Path, dict[str, list[Spoken]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, _ = audio_library
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(folder / "baking.ogg", one)
    lib = Library(tmp_path / "idx")
    assert lib.index([one], model="fake").formats == {"audio": 1}
    # The same model folder under another name: another model as far as caches know.
    model_dir = audio_module.resolve_model("tiny.en")
    report = lib.index([one], model="fake", asr_model=model_dir)
    assert (report.episodes_updated, report.formats) == (1, {"audio": 1})
    cached = sorted((tmp_path / ".idx.podsearch" / "transcripts").glob("*.json"))
    assert len(cached) == 2
    # A fresh index of the same audio (a rebuild, a resumed run) reads the cache.
    monkeypatch.setattr(Transcriber, "_run", lambda *a, **k: pytest.fail("transcribed again"))
    shutil.copytree(
        tmp_path / ".idx.podsearch" / "transcripts", tmp_path / ".new.podsearch" / "transcripts"
    )
    assert Library(tmp_path / "new").index([one], model="fake").episodes_added == 1


def test_bad_audio_is_a_one_line_failure(
    audio_library: tuple[Path, dict[str, list[Spoken]]], tmp_path: Path
) -> None:
    folder, _ = audio_library
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(folder / "baking.ogg", mixed)
    (mixed / "empty.mp3").write_bytes(b"")
    (mixed / "notes.wav").write_text("this is not audio at all\n" * 20)
    data = (folder / "maritime.wav").read_bytes()
    (mixed / "cut.flac").write_bytes(data[:44])  # a WAV header, no samples, wrong extension
    silence(mixed / "quiet.wav", 40.0)
    report = Library(tmp_path / "idx").index([mixed], model="fake")
    failed = {Path(f.path).name: f.reason for f in report.failed}
    assert set(failed) == {"empty.mp3", "notes.wav", "cut.flac", "quiet.wav"}
    assert all("\n" not in r for r in failed.values())
    assert failed["empty.mp3"] == "file is empty"
    assert "no speech" in failed["quiet.wav"]
    assert report.episodes_added == 1  # the good file is indexed all the same


def test_without_the_audio_extra_audio_is_skipped_with_the_install_line(
    audio_library: tuple[Path, dict[str, list[Spoken]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import podsearch.pipeline.build as build

    folder, _ = audio_library
    (tmp_path / "notes.txt").write_text("Host: a line of text about sourdough and rye bread.\n")
    monkeypatch.setattr(build, "audio_available", lambda: False)
    report = Library(tmp_path / "idx").index([folder, tmp_path / "notes.txt"], model="fake")
    assert report.failed == [] and report.episodes_added == 1
    assert sorted(Path(s.path).name for s in report.skipped) == ["baking.ogg", "maritime.wav"]
    assert all(INSTALL_HINT in s.reason for s in report.skipped)


def test_audio_beside_its_transcript_is_one_episode_with_playback(
    audio_library: tuple[Path, dict[str, list[Spoken]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, truth = audio_library
    pair = tmp_path / "pair"
    pair.mkdir()
    shutil.copy(folder / "baking.ogg", pair / "ep7.ogg")
    cues = [
        f"{i + 1}\n00:00:{int(s.start):02d},000 --> 00:00:{int(s.end) + 1:02d},000\n"
        f"Anna: {s.text}\n"
        for i, s in enumerate(truth["baking.ogg"])
    ]
    (pair / "ep7.srt").write_text("\n".join(cues))
    monkeypatch.setattr(Transcriber, "_run", lambda *a, **k: pytest.fail("transcribed"))
    lib = Library(tmp_path / "idx")
    report = lib.index([pair], model="fake")
    assert (report.episodes_added, report.formats) == (1, {"srt": 1})
    (episode,) = lib.episodes()
    assert episode["sources"] == [str((pair / "ep7.srt").resolve())]
    hit = lib.ask("sourdough cold rest", top=1).hits[0]
    assert hit.speaker == "Anna"
    stored = lib.transcript(episode["episode_id"], "json")
    assert re.search(r'"audio_url": ".*ep7\.ogg"', stored)


def test_an_interrupted_run_resumes_per_episode(
    audio_library: tuple[Path, dict[str, list[Spoken]]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, _ = audio_library
    real_run = Transcriber._run
    runs: list[str] = []

    def interrupted(self: Transcriber, path: Path, name: str) -> dict:
        runs.append(name)
        if len(runs) == 2:
            raise KeyboardInterrupt  # Ctrl-C during the second file
        return real_run(self, path, name)

    monkeypatch.setattr(Transcriber, "_run", interrupted)
    lib = Library(tmp_path / "idx")
    with pytest.raises(KeyboardInterrupt):
        lib.index([folder], model="fake")
    assert not lib.exists
    report = lib.index([folder], model="fake")  # the first file comes from the cache
    assert runs == ["baking.ogg", "maritime.wav", "maritime.wav"]
    assert (report.episodes_added, report.failed) == (2, [])


def test_feed_items_with_only_audio_are_transcribed_with_transcribe(
    audio_library: tuple[Path, dict[str, list[Spoken]]], tmp_path: Path
) -> None:
    folder, _ = audio_library
    feed = tmp_path / "feed.xml"
    audio = os.path.relpath(folder / "baking.ogg", tmp_path)  # local feeds: no file:// URLs
    feed.write_text(
        f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">
  <channel><title>Bakers</title>
    <podcast:person role="host">Rye Baker</podcast:person>
    <item><title>Cold rest</title><guid>b-1</guid>
      <enclosure url="{audio}" type="audio/ogg" length="1"/>
    </item>
  </channel>
</rss>
""",
        encoding="utf-8",
    )
    lib = Library(tmp_path / "idx")
    plain = lib.index([feed], model="fake")
    assert plain.episodes_added == 0 and "--transcribe" in plain.failed[0].reason
    report = lib.index([feed], model="fake", transcribe=True)
    assert (report.episodes_added, report.formats, report.failed) == (1, {"feed+audio": 1}, [])
    hit = lib.ask("dough rest in the fridge", top=1).hits[0]
    assert (hit.episode_title, hit.podcast, hit.speaker) == ("Cold rest", "Bakers", "Rye Baker")
    assert hit.speaker_source == "inferred"
    again = lib.index([feed], model="fake", transcribe=True)
    assert (again.files_read, again.episodes_unchanged) == (0, 1)
