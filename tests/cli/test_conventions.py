"""Command-line conventions: --version, --jsonl, progress bars on stderr (only on a
terminal, never with --quiet), shell completion offered."""

from __future__ import annotations

import io
import json
from pathlib import Path

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


def test_no_bars_off_a_terminal_or_when_quiet() -> None:
    with progress_bars() as progress:  # pytest's stderr is not a terminal
        assert progress is None
    with progress_bars(quiet=True) as progress:
        assert progress is None
