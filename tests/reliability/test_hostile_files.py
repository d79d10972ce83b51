"""A hostile-file corpus, generated here: each file is refused with a one-line reason or read
with valid values, the run goes on, the good file lands, nothing hangs, and everything
printed afterwards is strict JSON. Every case of issue 14's "Why" about files is one here."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podsearch.cli.app import app
from podsearch.ingest import files as files_module
from podsearch.ingest.readers import READERS, read_file

runner = CliRunner()

GOOD = (
    "WEBVTT\n\n00:00:01.000 --> 00:00:09.000\n"
    "<v Ada Lovelace>Compost heaps warm the garden soil all winter long.\n"
)
TTML = (
    '<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter"'
    " {attrs}><body><div>{inner}</div></body></tt>"
)


def _whisper(start: str, text: str = "hello there friends") -> str:
    segment = f'{{"start": {start}, "end": 2, "text": "{text}"}}'
    return f'{{"text": "x", "segments": [{segment}]}}'


def _deep_ttml(depth: int) -> str:
    inner = "<div>" * depth + '<p begin="1s" end="2s">deep words</p>' + "</div>" * depth
    return TTML.format(attrs="", inner=inner)


# name -> content: each must fail alone, with a reason, without stopping the run.
REFUSED: dict[str, str | bytes] = {
    "json_1e999.json": _whisper("1e999"),
    "json_infinity.json": _whisper("Infinity"),
    "json_nan.json": _whisper("NaN"),
    "json_negative.json": _whisper("-5"),
    # Beyond 48 h even as milliseconds (a time of 200000 is read as ms, with a warning).
    "json_beyond_48h.json": _whisper("900000000"),
    "json_400_digits.json": _whisper("9" * 400),
    "json_nested_100k.json": "[" * 100_000 + "]" * 100_000,
    "json_speaker_10k.json": json.dumps(
        {"utterances": [{"speaker": "A" * 10_000, "start": 0, "end": 1000, "text": "hi there"}]}
    ),
    "ttml_1e999.ttml": TTML.format(attrs="", inner='<p begin="1e999s" end="2s">big time</p>'),
    "ttml_infinity.ttml": TTML.format(attrs="", inner='<p begin="infs" end="2s">inf time</p>'),
    "ttml_400_digits.ttml": TTML.format(
        attrs="", inner=f'<p begin="{"9" * 400}s" end="2s">long time</p>'
    ),
    "ttml_framerate_0.ttml": TTML.format(
        attrs='ttp:frameRate="0"', inner='<p begin="00:00:01:05" end="00:00:02:00">frames</p>'
    ),
    "ttml_tickrate_0.ttml": TTML.format(
        attrs='ttp:tickRate="0"', inner='<p begin="10t" end="20t">ticks</p>'
    ),
    "ttml_nested_100k.ttml": _deep_ttml(100_000),
    "ttml_entity_bomb.ttml": (
        '<?xml version="1.0"?><!DOCTYPE tt [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>' + TTML.format(attrs="", inner="<p>&b;</p>")
    ),
    "ttml_entity_bomb_utf16.ttml": (
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE tt [<!ENTITY a "aaaa">]>'
        + TTML.format(attrs="", inner="<p>&a;</p>")
    ).encode("utf-16"),
    "vtt_400_digits.vtt": f"WEBVTT\n\n{'9' * 400}:00.000 --> 00:02.000\nhello\n",
    "srt_huge_hours.srt": "1\n99999:00:00,000 --> 99999:00:01,000\nhello there\n",
    "binary.txt": bytes(range(256)) * 4,
    "empty.txt": b"",
}


def _hostile_folder(root: Path) -> tuple[Path, list[str]]:
    """A folder of the refused files, special files and one good file; returns the folder
    and the names expected to fail."""
    folder = root / "hostile"
    folder.mkdir()
    (folder / "good.vtt").write_text(GOOD)
    for name, content in REFUSED.items():
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    expected = list(REFUSED)
    os.mkfifo(folder / "a_fifo.txt")  # opening it would block forever
    os.symlink("/dev/zero", folder / "a_device.txt")  # endless bytes
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "a_socket.txt"))
    sock.close()
    with open(os.path.join(os.fsencode(folder), b"latin1-caf\xe9.txt"), "w") as fh:
        fh.write("Host: a file whose name is Latin-1, not UTF-8.\n")
    with open(folder / "sparse_huge.txt", "wb") as fh:  # over the size limit, never read
        fh.truncate(files_module.MAX_SOURCE_BYTES + 1)
    expected += ["a_fifo.txt", "a_device.txt", "a_socket.txt", "latin1-caf\\xe9.txt"]
    return folder, [*expected, "sparse_huge.txt"]


def _strict_json(text: str) -> object:
    def refuse(name: str) -> object:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_hostile_folder_fails_file_by_file_and_the_good_file_lands(tmp_path: Path, tally) -> None:
    folder, expected = _hostile_folder(tmp_path)
    index = tmp_path / "idx"
    result = runner.invoke(
        app, ["index", str(folder), "--index", str(index), "--model", "fake", "--json"]
    )
    assert result.exit_code == 1, result.output  # something failed, nothing crashed
    report = _strict_json(result.stdout)
    failed = {Path(f["path"]).name: f["reason"] for f in report["failed"]}
    for name in expected:
        assert name in failed, f"{name} was not refused: {failed}"
        assert failed[name] and "\n" not in failed[name]
        assert "Traceback" not in failed[name]
    assert "not valid UTF-8" in failed["latin1-caf\\xe9.txt"]
    assert "FIFO" in failed["a_fifo.txt"] and "device" in failed["a_device.txt"]
    assert "socket" in failed["a_socket.txt"]
    assert report["episodes_added"] == 1 and report["files_read"] == 1
    asked = runner.invoke(app, ["ask", "compost garden", "--index", str(index), "--json"])
    assert asked.exit_code == 0, asked.output
    hits = _strict_json(asked.stdout)
    assert hits and hits[0]["speaker"] == "Ada Lovelace"
    tally("hostile files", len(expected))


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_each_hostile_file_is_a_reader_error_with_its_reason(
    name: str, tmp_path: Path, tally
) -> None:
    from podsearch.core.errors import ReaderError

    content = REFUSED[name]
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    with pytest.raises(ReaderError) as caught:
        read_file(path)
    assert caught.value.problem and "\n" not in caught.value.problem
    tally("hostile files (reader level)")


def test_surrogates_become_valid_unicode(tmp_path: Path, tally) -> None:
    path = tmp_path / "s.json"
    path.write_text(_whisper("1", "lone \\ud800 surrogate and \\udfff another"))
    ep = read_file(path).episode
    text = ep.turns[0].text
    text.encode("utf-8")  # would raise on a lone surrogate
    assert "\ufffd" in text
    tally("hostile files (reader level)")


def test_a_reader_bug_or_a_hang_costs_only_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tally
) -> None:
    """A reader that raises something unexpected, or loops, fails its file alone."""
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "good.vtt").write_text(GOOD)
    (folder / "crash.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nCrash me.\n")
    (folder / "slow.srt").write_text("1\n00:00:01,000 --> 00:00:02,000\nSlow me.\n")
    srt = next(r for r in READERS if r.NAME == "srt")
    real_read = srt.read

    def hostile_read(text: str, path: Path):
        if "Crash" in text:
            raise RuntimeError("a bug in a reader")
        if "Slow" in text:
            for _ in range(6000):  # bounded: 60 s, far past the limit set below
                time.sleep(0.01)
        return real_read(text, path)

    monkeypatch.setattr(srt, "read", hostile_read)
    monkeypatch.setattr(files_module, "SOURCE_SECONDS", 0.5)
    index = tmp_path / "idx"
    result = runner.invoke(
        app, ["index", str(folder), "--index", str(index), "--model", "fake", "--json"]
    )
    assert result.exit_code == 1, result.output
    report = _strict_json(result.stdout)
    failed = {Path(f["path"]).name: f["reason"] for f in report["failed"]}
    assert "RuntimeError" in failed["crash.srt"]
    assert "longer than 0.5 s" in failed["slow.srt"]
    assert report["episodes_added"] == 1
    tally("hostile files", 2)


def test_odd_bytes_in_a_question_are_answered(tmp_path: Path, tally) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "good.vtt").write_text(GOOD)
    index = tmp_path / "idx"
    assert runner.invoke(app, ["index", str(folder), "--index", str(index), "--model", "fake"])
    questions = [
        "compost \xff garden",
        "\udcff compost",
        "\x00\x01 soil",
        "\ufffe\uffff",
        "🌱" * 50,
    ]
    for q in questions:
        result = runner.invoke(app, ["ask", q, "--index", str(index), "--json"])
        assert result.exit_code in (0, 2), result.output  # answered, or a usage error
        assert result.exception is None or isinstance(result.exception, SystemExit)
        if result.exit_code == 0:
            _strict_json(result.stdout)
    tally("odd questions", len(questions))


def test_questions_as_odd_bytes_through_the_api(tmp_path: Path, fake_embedder, tally) -> None:
    from podsearch import Library

    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "good.vtt").write_text(GOOD)
    lib = Library(tmp_path / "idx", embedder=fake_embedder)
    lib.index([folder])
    questions: list[object] = [b"compost \xff", "\udcff compost", "garden \ud800"]
    for q in questions:
        result = lib.ask(q)  # type: ignore[arg-type]
        assert result.hits
        result.question.encode("utf-8")  # valid Unicode, printable and storable
    tally("odd questions", len(questions))
