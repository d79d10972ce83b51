"""Command-line conventions: --version, --jsonl, progress bars on stderr (only on a
terminal, never with --quiet), shell completion offered."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from podsearch.cli.app import app
from podsearch.cli.output import progress_bars
from podsearch.core.version import __version__

LIBRARY = Path(__file__).parents[1] / "fixtures" / "library"
runner = CliRunner()


def invoke(*args: str | Path) -> object:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout == f"podsearch {__version__}\n"


def test_completion_is_offered() -> None:
    shown = invoke("--help").stdout
    assert "--install-completion" in shown and "--show-completion" in shown


def test_jsonl_is_one_hit_a_line(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    assert invoke("index", LIBRARY, "--index", index, "--model", "fake", "-q").exit_code == 0
    args = ("ask", "compost and leaves", "--index", index, "--top", "3")
    lines = invoke(*args, "--jsonl").stdout.splitlines()
    assert len(lines) == 3
    assert [json.loads(x) for x in lines] == json.loads(invoke(*args, "--json").stdout)


def test_progress_bars_show_count_rate_and_eta() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    with progress_bars(console=console) as progress:
        for done in range(1, 51):
            progress("embedding", done, 50)
    shown = buffer.getvalue()
    assert "embedding" in shown and "50/50" in shown and "ETA" in shown and "/s" in shown


def test_no_bars_off_a_terminal_or_when_quiet(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from podsearch.cli import output

    clock = iter([0.0, 1.0, 31.0, 32.0, 40.0, 40.5, 41.0, 42.0, 43.0, 44.0])
    monkeypatch.setattr("time.monotonic", lambda: next(clock))
    with progress_bars() as progress:  # pytest's stderr is not a terminal
        # No bars, no redraws: a line every LOG_EVERY seconds of a stage and when it ends,
        # and one per finished transcription.
        assert output.LOG_EVERY == 30.0
        progress("embedding", 10, 1000)  # t=0: first seen
        progress("embedding", 20, 1000)  # t=1: too soon
        progress("embedding", 310, 1000)  # t=31: a line with the time left
        progress("embedding", 320, 1000)  # t=32: too soon
        progress("embedding", 1000, 1000)  # t=40: done
        progress("embedding", 1000, 1000)  # t=40.5: said already
        progress("transcribing ep.wav", 30, 60)  # t=41
        progress("transcribing ep.wav", 60, 60)  # t=42
        progress("reading", 1, 2)  # t=43: a short stage...
        progress("reading", 2, 2)  # t=44: ...ends without a line
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "embedding: 310/1,000 (9.7/s, 1:11 left)", lines
    assert lines[1] == "embedding: 1,000/1,000 (24.8/s, 0:40)", lines
    assert len(lines) == 3 and lines[2].startswith("transcribing ep.wav: 1.0/1.0 audio min")
    with progress_bars(quiet=True) as progress:
        assert progress is None
