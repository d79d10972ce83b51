"""ingest.files (opening sources safely) and ingest.validate (the values every reader's
episode must hold), unit by unit."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from podsearch.core.errors import ReaderError
from podsearch.core.models import Cue, Episode, Person, Turn
from podsearch.ingest.files import (
    SourceTimeout,
    UnsafeFileError,
    file_problem,
    read_bounded,
    safe_name,
    time_limit,
)
from podsearch.ingest.validate import MAX_SECONDS, validate_episode


def test_special_files_are_refused_by_stat_alone(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert "FIFO" in (file_problem(fifo) or "")
    with pytest.raises(UnsafeFileError, match="FIFO"):
        read_bounded(fifo)  # opened without blocking, refused on the descriptor
    assert "folder" in (file_problem(tmp_path) or "")
    assert "No such file" in (file_problem(tmp_path / "missing") or "")


def test_reads_are_bounded_and_names_rendered(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 100)
    with pytest.raises(UnsafeFileError, match="larger than the 99"):
        read_bounded(big, max_bytes=99)
    assert read_bounded(big, max_bytes=100) == b"x" * 100
    name = os.fsdecode(b"/tmp/caf\xe9.txt")
    assert safe_name(name) == "/tmp/caf\\xe9.txt"
    assert "not valid UTF-8" in (file_problem(name) or "")


def test_time_limit_interrupts_a_loop() -> None:
    with pytest.raises(SourceTimeout, match=r"0\.2 s"), time_limit(0.2):
        for _ in range(500):  # bounded: 5 s, far past the limit
            time.sleep(0.01)
    with time_limit(5):  # a quick block is untouched, and the alarm is cleared after
        pass


def _episode(start: float | None = 1.0, speaker: str = "Ada") -> Episode:
    cue = Cue(start, 2.0, "hello \ud800 there")
    return Episode("e", title="t\udcff", people=[Person("Ada")], turns=[
        Turn(speaker, start, 2.0, "hello \ud800 there", cues=[cue])
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        (float("inf"), "not a finite number"),
        (float("nan"), "not a finite number"),
        (-1.0, "negative"),
        (float(MAX_SECONDS), "48 h limit"),
        (10**400, "too large"),
    ],
)
def test_bad_times_refuse_the_file_with_the_reason(start: float, reason: str) -> None:
    with pytest.raises(ReaderError, match=reason):
        validate_episode(_episode(start), "x.json")


def test_text_is_made_valid_and_names_bounded() -> None:
    ep = validate_episode(_episode(), "x.json")
    assert ep.turns[0].text == "hello \ufffd there" and ep.title == "t\ufffd"
    assert ep.turns[0].cues[0].text == "hello \ufffd there"
    with pytest.raises(ReaderError, match="speaker name of 201 characters"):
        validate_episode(_episode(speaker="A" * 201), "x.json")
