"""The command line through typer's CliRunner, with the fake embedder unless marked slow."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podsearch.cli.app import app, ask_app

FIXTURES = Path(__file__).parents[1] / "fixtures"
LIBRARY = FIXTURES / "library"
BAD = FIXTURES / "readers" / "bad.json"
HIT_FIELDS = {
    "rank",
    "score",
    "passage_id",
    "episode_id",
    "episode_title",
    "podcast",
    "published",
    "speaker",
    "speaker_source",
    "start",
    "end",
    "time_precision",
    "text",
    "sources",
}

runner = CliRunner()


def invoke(*args: str | Path) -> object:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def library_index(tmp_path: Path) -> Path:
    index = tmp_path / "idx"
    result = invoke("index", LIBRARY, "--index", index, "--model", "fake")
    assert result.exit_code == 0, result.output
    return index


def test_index_reports_counts_and_formats(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    result = invoke("index", LIBRARY, "--index", index, "--model", "fake", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["episodes_added"] == 3
    assert report["formats"] == {"podcasting_json": 1, "srt": 1, "webvtt": 1}
    assert report["failed"] == []
    # Unchanged input: nothing added, nothing embedded, same ids.
    again = json.loads(invoke("index", LIBRARY, "--index", index, "--json").stdout)
    assert again["episodes_unchanged"] == 3
    assert again["passages_embedded"] == 0 and again["episodes_added"] == 0


def test_bad_file_is_reported_and_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    for f in LIBRARY.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "broken.json").write_bytes(BAD.read_bytes())
    index = tmp_path / "idx"
    result = invoke("index", folder, "--index", index, "--model", "fake")
    assert result.exit_code == 1
    assert "broken.json" in result.stderr and "JSON" in result.stderr
    assert "3 added" in result.stdout
    listed = json.loads(invoke("episodes", "--index", index, "--json").stdout)
    assert len(listed) == 3


def test_strict_stops_at_first_bad_file(tmp_path: Path) -> None:
    result = invoke("index", BAD, "--index", tmp_path / "idx", "--model", "fake", "--strict")
    assert result.exit_code == 1
    assert "bad.json" in result.stderr
    assert "Traceback" not in result.output


def test_ask_json_contract(library_index: Path) -> None:
    result = invoke(
        "ask", "heap turns slimy, smells of ammonia", "--index", library_index, "--json"
    )
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert hits and HIT_FIELDS <= set(hits[0])
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))
    top = hits[0]
    assert "ammonia" in top["text"]
    assert top["speaker"] == "Tomás Ferreira"
    assert top["sources"][0].endswith("gardening.vtt")
    assert top["start"] is not None and top["time_precision"] in {"exact", "interpolated"}


def test_ask_top_and_speaker_question(library_index: Path) -> None:
    hits = json.loads(
        invoke("ask", "what did Ada say about boosters", "--index", library_index, "--json").stdout
    )
    assert hits and {h["speaker"] for h in hits} == {"Ada Chen"}
    one = json.loads(
        invoke("ask", "slugs", "--index", library_index, "--top", "1", "--json").stdout
    )
    assert len(one) == 1


def test_ask_filters(library_index: Path) -> None:
    hits = json.loads(
        invoke("ask", "flour", "--index", library_index, "--episode", "cooking", "--json").stdout
    )
    assert hits and all(h["sources"][0].endswith("cooking.json") for h in hits)
    unknown = invoke("ask", "flour", "--index", library_index, "--speaker", "Zelda Quux")
    assert unknown.exit_code == 2 and unknown.stdout == ""
    assert "--speaker" in unknown.stderr and "podsearch speakers" in unknown.stderr


def test_ask_human_output_shows_quote_speaker_and_time(library_index: Path) -> None:
    result = invoke("ask", "tomatoes hate wet leaves", "--index", library_index, "--top", "2")
    assert result.exit_code == 0
    assert "Tomás Ferreira" in result.stdout
    assert "0:47" in result.stdout
    assert "tomatoes" in result.stdout.lower() or "Tomatoes" in result.stdout


def test_a_weak_match_says_why(library_index: Path) -> None:
    """Off-topic: the nearest passages are shown, and why they are weak: once, in the
    header, when it is the same for all of them; else beside each."""
    result = invoke("ask", "quantum chromodynamics lattice", "--index", library_index, "--top", "2")
    assert result.exit_code == 0
    said = " ".join(result.stdout.split())  # the terminal wraps long lines
    assert (
        "No confident match: nothing in the library seems to answer this (all weak: only "
        "loosely like the question)." in said
    )
    assert said.count("weak match") == 2 and "weak match:" not in said
    mixed = invoke("ask", "hungry yeast and fresh flour", "--index", library_index, "--top", "3")
    said = " ".join(mixed.stdout.split())
    assert "No confident match" not in said
    assert said.count("weak match: only loosely like the question") == 2
    hits = json.loads(
        invoke("ask", "quantum chromodynamics lattice", "--index", library_index, "--json").stdout
    )
    assert hits and {h["weak_because"] for h in hits} == {"low_score"}
    assert not any(h["confident"] for h in hits)


def test_model_mismatch_is_refused(library_index: Path) -> None:
    result = invoke("ask", "compost", "--index", library_index, "--model", "fake-64")
    assert result.exit_code == 1
    assert "rebuild" in result.stderr and "Traceback" not in result.output


def test_episodes_and_speakers(library_index: Path) -> None:
    eps = json.loads(invoke("episodes", "--index", library_index, "--json").stdout)
    assert {Path(e["sources"][0]).name for e in eps} == {
        "cooking.json",
        "gardening.vtt",
        "space.srt",
    }
    speakers = json.loads(invoke("speakers", "--index", library_index, "--json").stdout)
    names = {s["speaker"] for s in speakers}
    assert {"Ada Chen", "Tomás Ferreira", "Lena Park"} <= names
    human = invoke("speakers", "--index", library_index)
    assert "Ada Chen" in human.stdout


@pytest.mark.parametrize("command", [("episodes",), ("ask", "anything"), ("status",)])
def test_missing_index_is_one_line_usage_error(tmp_path: Path, command: tuple[str, ...]) -> None:
    """A typo'd --index is an error naming the path and the command that creates it; nothing
    is created, no sample is substituted."""
    missing = tmp_path / "nothing"
    result = invoke(*command, "--index", missing)
    assert result.exit_code == 2
    assert str(missing) in result.stderr and "podsearch index" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_bad_mode_is_rejected(library_index: Path) -> None:
    result = runner.invoke(app, ["ask", "x", "--index", str(library_index), "--mode", "magic"])
    assert result.exit_code == 2


def test_the_ask_only_app_is_the_same_ask() -> None:
    """`podsearch ask` runs on a group of that command alone (faster to build)."""
    for args in (["ask", "--help"], ["ask"], ["ask", "q", "--top", "0"]):
        full, alone = runner.invoke(app, args), runner.invoke(ask_app, args)
        assert (full.exit_code, full.output) == (alone.exit_code, alone.output)


def test_help_does_not_import_torch_or_speech_models() -> None:
    code = (
        "import sys\n"
        "from podsearch.cli.app import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "names = ('torch', 'sentence_transformers', 'faiss',\n"
        "         'faster_whisper', 'ctranslate2', 'av')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout
    assert "ask" in out.stdout


@pytest.mark.slow
def test_sample_library_with_real_model(
    tmp_path: Path, user_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's main job: with no library anywhere, the bundled sample is installed in
    its own folder and answers, and every answer says it came from the sample."""
    monkeypatch.chdir(tmp_path)
    result = invoke("ask", "what did Clem say about distillation", "--json")
    assert result.exit_code == 0, result.output
    assert "installing the bundled sample" in result.stderr
    assert "answering from the bundled sample library" in result.stderr
    hits = json.loads(result.stdout)
    assert "distillation" in hits[0]["text"]
    assert any(Path(s).name.startswith("001_") for s in hits[0]["sources"])
    assert (user_data / "podsearch" / "sample" / "manifest.json").is_file()
    assert list(tmp_path.iterdir()) == []  # nothing written where the command ran
    again = invoke("ask", "open source", "--json")
    assert "installing" not in again.stderr and "bundled sample library" in again.stderr


@pytest.mark.parametrize("command", ["ask", "export"])
def test_filter_options_are_shared(command: str) -> None:
    """ask and export take the same filters, declared once (cli.options.filter_options)."""
    shown = invoke(command, "--help").stdout
    for option in ("--speaker", "--podcast", "--episode", "--since", "--until"):
        assert option in shown


def test_export_applies_the_filters(library_index: Path) -> None:
    args = ("flour", "--format", "csl-json", "--index", library_index, "--mode", "lexical")
    everyone = json.loads(invoke("export", *args).stdout)
    assert everyone
    nobody = invoke("export", *args, "--speaker", "Nobody Known")
    assert nobody.exit_code == 2 and "no speaker 'Nobody Known'" in nobody.stderr


@pytest.mark.parametrize(
    ("args", "option"),
    [(("",), "question"), (("  ",), "question"), (("x", "--group", "show"), "--group")],
)
def test_requests_that_cannot_be_answered_are_usage_errors(
    library_index: Path, args: tuple[str, ...], option: str
) -> None:
    result = invoke("ask", *args, "--index", library_index)
    assert result.exit_code == 2
    assert option in result.output


def test_audio_index_progress_and_transcript(tmp_path: Path) -> None:
    from speech import assemble, require_speech_tools

    require_speech_tools()
    folder = tmp_path / "audio"
    folder.mkdir()
    assemble(folder / "ep.wav", ["Cricket boards fear private leagues and their money."])
    (folder / "broken.mp3").write_bytes(b"ID3 but nothing after it")
    index = tmp_path / "idx"
    result = invoke("index", folder, "--index", index, "--model", "fake")
    assert result.exit_code == 1  # one file failed; the other is indexed
    assert "formats read: 1 audio" in result.stdout
    assert re.search(
        r"transcribing ep\.wav: [\d.]+/[\d.]+ audio min, [\d.]+x real time", result.stderr
    )
    (failed,) = [line for line in result.stderr.splitlines() if line.startswith("failed")]
    assert "broken.mp3" in failed
    srt = invoke("transcript", "ep.wav", "--index", index, "--format", "srt")
    assert srt.exit_code == 0 and " --> " in srt.stdout and "Cricket" in srt.stdout
    bad = invoke("transcript", "ep.wav", "--index", index, "--format", "docx")
    assert bad.exit_code == 2


def test_ctrl_c_during_index_is_one_line_and_keeps_the_index(
    library_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import podsearch.pipeline.build as build

    def stop(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(build, "_read_sources", stop)
    result = invoke("index", LIBRARY, "--index", library_index)
    assert result.exit_code == 130
    assert "Interrupted" in result.stderr and "Traceback" not in result.output
    assert invoke("episodes", "--index", library_index).exit_code == 0
