"""Walking folders: what is not a transcript is skipped with a reason, never failed."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeEmbedder
from typer.testing import CliRunner

from podsearch.api import Library
from podsearch.cli.app import app
from podsearch.core.errors import InvalidRequestError
from podsearch.ingest.files import iter_files, skip_reason

LIBRARY = Path(__file__).parents[1] / "fixtures" / "library"
runner = CliRunner()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("README.md", "documentation"),
        ("LICENSE", "documentation"),
        ("license.txt", "documentation"),
        ("metadata.json", "metadata"),
        ("E41.meta.json", "metadata"),
        ("cover.JPG", "image"),
        ("backup.tar.gz", "archive"),
        ("E41.mp3", "audio/video"),
        ("episodes.csv", "data"),
        ("E41.mp3.vtt", None),
        ("whisper.json", None),
        ("notes.txt", None),
    ],
)
def test_skip_reason(name: str, reason: str | None) -> None:
    assert skip_reason(Path("/x") / name) == reason


def test_a_sidecar_is_metadata_only_beside_its_transcript() -> None:
    assert skip_reason(Path("E1.vtt.json"), {"E1.vtt", "E1.vtt.json"}) == "metadata"
    assert skip_reason(Path("E1.vtt.json"), {"E1.vtt.json"}) is None


def test_a_folder_lists_skipped_files_and_reads_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "shows"
    folder.mkdir()
    for f in LIBRARY.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "README.md").write_text("# My transcripts\n\nRead me.\n")
    (folder / "LICENSE").write_text("MIT License\n")
    (folder / "metadata.json").write_text('[{"file": "space.srt", "title": "Space"}]')
    (folder / "cover.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00")
    skipped: list[tuple[Path, str]] = []
    assert len(list(iter_files([folder], skipped))) == 3
    assert sorted(p.name for p, _ in skipped) == [
        "LICENSE",
        "README.md",
        "cover.png",
        "metadata.json",
    ]
    result = runner.invoke(
        app, ["index", str(folder), "--index", str(tmp_path / "idx"), "--model", "fake"]
    )
    assert result.exit_code == 0, result.output
    assert "skipped (not transcripts): 4 file(s)" in result.stdout
    assert "failed" not in result.output


def test_a_folder_without_transcripts_is_an_error_that_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    lib = Library(tmp_path / "idx", embedder=FakeEmbedder("fake"))
    with pytest.raises(InvalidRequestError, match="no transcripts in"):
        lib.index([folder])
    (folder / "README.md").write_text("hello")
    with pytest.raises(InvalidRequestError, match="skipped 1 documentation"):
        lib.index([folder])
    assert not lib.path.exists()
    result = runner.invoke(app, ["index", str(folder), "--index", str(lib.path)])
    assert result.exit_code == 2 and "no transcripts" in result.stderr
