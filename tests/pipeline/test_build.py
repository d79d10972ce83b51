"""What `index` reports about the files it reads: warnings from the readers, the reader and
speakers of each file (``--verbose``), and feeds found inside folders (issue 19)."""

from __future__ import annotations

import codecs
import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from podsearch.cli.app import app

FIXTURES = Path(__file__).parents[1] / "fixtures"
runner = CliRunner()

SRT = (
    "1\n00:00:01,000 --> 00:00:04,000\nAnna Lopez: Welcome back to the garden hour, everyone.\n\n"
    "2\n00:00:04,000 --> 00:00:09,000\nBen Ortiz: Thank you, the tomatoes are señor sized.\n\n"
    "3\n00:00:09,000 --> 00:00:12,000\nAnna Lopez: Tell me about the compost.\n"
)


def invoke(*args: str | Path) -> object:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_reader_warnings_reach_the_report_and_json(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "latin.srt").write_bytes(SRT.encode("cp1252"))
    (folder / "utf16.srt").write_bytes(codecs.BOM_UTF16_LE + SRT.encode("utf-16-le"))
    result = invoke("index", folder, "--index", tmp_path / "idx", "--model", "fake", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["failed"] == []
    assert report["formats"] == {"srt": 2}
    warnings = {Path(w["path"]).name: w["reason"] for w in report["warnings"]}
    assert warnings == {"latin.srt": "not UTF-8: read as cp1252 (guessed by charset-normalizer)"}
    human = invoke("index", folder, "--index", tmp_path / "idx2", "--model", "fake")
    assert "latin.srt: not UTF-8: read as cp1252" in " ".join(human.output.split())


def test_verbose_lists_each_file_with_its_reader_and_speakers(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "talk.srt").write_text(SRT, encoding="utf-8")
    result = invoke("index", folder, "--index", tmp_path / "idx", "--model", "fake", "-v")
    assert result.exit_code == 0, result.output
    assert "talk.srt: srt; speakers: Anna Lopez, Ben Ortiz" in " ".join(result.output.split())
    report = json.loads(
        invoke("index", folder, "--index", tmp_path / "idx2", "--model", "fake", "--json").stdout
    )
    assert [(Path(f["path"]).name, f["format"], f["speakers"]) for f in report["files"]] == [
        ("talk.srt", "srt", ["Anna Lopez", "Ben Ortiz"])
    ]


def test_a_feed_inside_a_folder_is_read_as_a_feed(tmp_path: Path) -> None:
    folder = tmp_path / "shows" / "garden"
    shutil.copytree(FIXTURES / "feeds", folder)
    for name in ("malformed.xml", "broken.json", "not_a_feed.html", "ep1.chapters.json"):
        (folder / name).unlink()  # files that fail on their own, whatever the feed does
    index = tmp_path / "idx"
    result = invoke("index", tmp_path / "shows", "--index", index, "--model", "fake", "--json")
    report = json.loads(result.stdout)
    assert not any("unrecognised transcript format" in f["reason"] for f in report["failed"])
    assert any(k.startswith("feed+") for k in report["formats"]), report["formats"]
