"""Library upkeep through the CLI: merging on index, speaker names, remove, prune, rebuild,
status, the writer lock, and a writer killed mid-run. Fake embedder throughout."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podsearch.cli.app import app
from podsearch.core.text import is_question
from podsearch.ingest.files import sample_paths
from podsearch.store.layout import home_dir, writer_lock

FIXTURES = Path(__file__).parents[1] / "fixtures"
LIBRARY = FIXTURES / "library"

runner = CliRunner()

GUEST_VTT = """WEBVTT

00:00:00.000 --> 00:00:08.000
[Amit Varma]: Welcome to the show. My guest today is a historian of cricket and its money.

00:00:08.000 --> 00:00:20.000
[Guest 1]: Thank you. Kerry Packer changed how cricket was filmed,
with cameras at both ends of the ground and coloured clothing for the night games.

00:00:20.000 --> 00:00:31.000
[Amit Varma]: And what did the players get out of the rebel series in the end, in money?

00:00:31.000 --> 00:00:45.000
[Guest 1]: The players finally got paid properly, the boards had to bargain with them,
and the old amateur culture of the game was gone for good.
"""


def invoke(*args: str | Path) -> object:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def ask_json(index: Path, *args: str) -> list[dict]:
    result = invoke("ask", *args, "--index", index, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    folder = tmp_path / "seeds"
    folder.mkdir()
    for p in sample_paths():
        shutil.copy(p, folder / p.name)
    return folder


def test_the_two_seeds_become_one_episode(tmp_path: Path, seeds: Path) -> None:
    index = tmp_path / "idx"
    assert invoke("index", seeds, "--index", index, "--model", "fake").exit_code == 0
    eps = json.loads(invoke("episodes", "--index", index, "--json").stdout)
    assert len(eps) == 1
    assert sorted(Path(s).name for s in eps[0]["sources"]) == sorted(p.name for p in sample_paths())
    hits = ask_json(index, '"conversations about distillation"', "--mode", "lexical")
    assert hits and "distillation" in hits[0]["text"]
    assert hits[0]["speaker"] == "Clément Delangue"
    assert hits[0]["speaker_source"] in ("inferred", "aligned")
    assert hits[0]["time_precision"] == "estimated" and hits[0]["start"] > 360

    import pyarrow.parquet as pq

    texts = pq.read_table(index / "passages.parquet", columns=["text"]).column(0).to_pylist()
    assert len(texts) == len(set(texts))  # no span indexed twice


def test_guessed_speakers_are_shown_as_guesses_and_never_cited(tmp_path: Path, seeds: Path) -> None:
    """Text only the unlabelled seed holds may carry the likeliest known speaker: marked
    "likely" in JSON, "Name? (likely)" in text, counted apart by 'speakers', never cited."""
    index = tmp_path / "idx"
    assert invoke("index", seeds, "--index", index, "--model", "fake").exit_code == 0
    import pyarrow.parquet as pq

    rows = pq.read_table(index / "passages.parquet").to_pylist()
    guessed = [r for r in rows if r["speaker_source"] == "likely"]
    assert guessed and all(r["speaker"] for r in guessed)
    speakers = json.loads(invoke("speakers", "--index", index, "--json").stdout)
    assert sum(s["guessed"] for s in speakers) == len(guessed)
    assert all(s["sample"] not in {r["text"] for r in guessed} for s in speakers)
    pid = guessed[0]["passage_id"]
    cited = invoke("cite", pid, "--index", index, "--format", "markdown")
    assert cited.exit_code == 0, cited.output
    assert guessed[0]["speaker"] not in cited.stdout  # a guess is not an attribution
    labelled = next(r for r in rows if r["speaker_source"] == "labelled" and r["speaker"])
    assert (
        labelled["speaker"]
        in invoke("cite", labelled["passage_id"], "--index", index, "--format", "markdown").stdout
    )
    shown = invoke(
        "ask",
        f'"{" ".join(guessed[0]["text"].split()[:6])}"',
        "--index",
        index,
        "--mode",
        "lexical",
    )
    assert f"{guessed[0]['speaker']}? (likely)" in shown.stdout


def test_a_hit_that_is_a_question_comes_with_its_answer(tmp_path: Path, seeds: Path) -> None:
    """The host's question matched the user's: the passage after it, another speaker's turn,
    is given as its context_after (JSON) and printed under it; other hits get none."""
    index = tmp_path / "idx"
    assert invoke("index", seeds, "--index", index, "--model", "fake").exit_code == 0
    phrase = '"what do you hope to get out of this in terms of open source"'
    hits = ask_json(index, phrase, "--mode", "lexical")
    assert hits and is_question(hits[0]["text"])
    (answer,) = hits[0]["context_after"]
    assert answer["text"].startswith("Yeah, I mean, I'm excited")
    assert answer["speaker"] != hits[0]["speaker"] and answer["start"] > hits[0]["start"]
    plain = ask_json(index, '"tie down everybody"', "--mode", "lexical")
    assert plain and not any(is_question(h["text"]) for h in plain)  # ", right?" is no question
    assert all("context_after" not in h for h in plain)  # absent unless there is one
    shown = invoke("ask", phrase, "--index", index, "--mode", "lexical").stdout
    assert "Yeah, I mean, I'm excited" in shown
    # When the answer is a hit of its own it is not repeated under the question.
    from podsearch.api import Library
    from podsearch.query.context import attach_answers

    library = Library(index)
    opened = library.open()
    question = library.ask(phrase, mode="lexical", top=1).hits[0]
    row = opened.passage_column("passage_id").index(question.passage_id)
    answer_id = opened.passage_column("passage_id")[row + 1]
    question.context_after = None
    other = library.ask(phrase, mode="lexical", top=1).hits[0]
    other.passage_id, other.passage_ids, other.episode_id = answer_id, [answer_id], "elsewhere"
    other.text = "not a question"
    attach_answers(opened, [question, other], [row, row + 1])
    assert question.context_after is None


def test_changing_one_source_keeps_the_other(tmp_path: Path, seeds: Path) -> None:
    index = tmp_path / "idx"
    invoke("index", seeds, "--index", index, "--model", "fake")
    first_id = json.loads(invoke("episodes", "--index", index, "--json").stdout)[0]["episode_id"]
    again = json.loads(invoke("index", seeds, "--index", index, "--model", "fake", "--json").stdout)
    assert again["passages_embedded"] == 0 and again["episodes_unchanged"] == 1
    full = next(seeds.glob("001_*"))
    full.write_text(full.read_text() + "\nA brand new closing line about tokenizers and GPUs.\n")
    changed = json.loads(
        invoke("index", seeds, "--index", index, "--model", "fake", "--json").stdout
    )
    assert changed["episodes_updated"] == 1 and changed["episodes_added"] == 0
    assert 0 < changed["passages_embedded"] < 5
    eps = json.loads(invoke("episodes", "--index", index, "--json").stdout)
    assert len(eps) == 1 and len(eps[0]["sources"]) == 2
    assert eps[0]["episode_id"] == first_id  # the user's speaker names stay attached


def test_rename_and_alias_survive_rebuild_and_reindex(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    vtt = folder / "E900.vtt"
    vtt.write_text(GUEST_VTT)
    index = tmp_path / "idx"
    invoke("index", folder, "--index", index, "--model", "fake")
    listed = json.loads(invoke("speakers", "--index", index, "--json").stdout)
    assert {s["speaker"]: s["anonymous"] for s in listed} == {
        "Amit Varma": False,
        "Guest 1 (unnamed, E900)": True,
    }
    human = invoke("speakers", "--index", index).stdout
    assert "Guest 1 (unnamed, E900)" in " ".join(human.split())

    result = invoke("speakers", "rename", "E900.vtt", "guest 1", "Gideon Haigh", "--index", index)
    assert result.exit_code == 0, result.output
    result = invoke("speakers", "alias", "Gideon Haigh", "Gids", "--index", index)
    assert result.exit_code == 0, result.output
    assert json.loads((home_dir(index) / "speakers.json").read_text())["aliases"] == {
        "Gideon Haigh": ["Gids"]
    }

    def check() -> None:
        hits = ask_json(
            index, "what did Gids say about the players getting paid", "--mode", "lexical"
        )
        assert hits and {h["speaker"] for h in hits} == {"Gideon Haigh"}
        names = {
            s["speaker"] for s in json.loads(invoke("speakers", "--index", index, "--json").stdout)
        }
        assert names == {"Amit Varma", "Gideon Haigh"}

    check()
    assert invoke("rebuild", "--index", index).exit_code == 0
    check()
    vtt.write_text(GUEST_VTT.replace("for good.", "for good, and nobody missed it."))
    report = json.loads(invoke("index", folder, "--index", index, "--json").stdout)
    assert report["episodes_updated"] == 1
    check()


def test_rename_of_an_unknown_label_is_one_line(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    invoke("index", LIBRARY, "--index", index, "--model", "fake")
    result = runner.invoke(
        app, ["speakers", "rename", "cooking", "Guest 9", "X", "--index", str(index)]
    )
    assert result.exit_code == 2
    assert "no speaker 'Guest 9'" in result.output and "Traceback" not in result.output
    result = runner.invoke(
        app, ["speakers", "rename", "nope", "Guest 9", "X", "--index", str(index)]
    )
    assert result.exit_code == 1 and "matches no episode" in result.output


def test_remove_and_prune(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    shutil.copytree(LIBRARY, folder)
    index = tmp_path / "idx"
    invoke("index", folder, "--index", index, "--model", "fake")
    result = invoke("remove", "space.srt", "--index", index)
    assert result.exit_code == 0, result.output
    eps = json.loads(invoke("episodes", "--index", index, "--json").stdout)
    assert sorted(Path(e["sources"][0]).name for e in eps) == ["cooking.json", "gardening.vtt"]
    (folder / "cooking.json").unlink()
    report = json.loads(invoke("index", folder, "--index", index, "--prune", "--json").stdout)
    # cooking.json is gone; space.srt, removed by hand but still in the folder, comes back.
    assert report["episodes_removed"] == 1 and report["episodes_added"] == 1
    assert report["episodes_unchanged"] == 1
    eps = json.loads(invoke("episodes", "--index", index, "--json").stdout)
    assert sorted(Path(e["sources"][0]).name for e in eps) == ["gardening.vtt", "space.srt"]


def test_rebuild_changes_faiss_type_without_embedding_and_status(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    invoke("index", LIBRARY, "--index", index, "--model", "fake")
    before = ask_json(index, "compost brown material", "--mode", "semantic")
    for kind in ("hnsw", "ivf", "flat"):
        report = json.loads(
            invoke("rebuild", "--index", index, "--faiss-index", kind, "--json").stdout
        )
        assert report["passages_embedded"] == 0
        st = json.loads(invoke("status", "--index", index, "--json").stdout)
        assert st["faiss"]["type"] == kind and st["sources_changed"] == []
        after = ask_json(index, "compost brown material", "--mode", "semantic")
        assert [h["passage_id"] for h in after] == [h["passage_id"] for h in before]
    rechunked = json.loads(
        invoke(
            "rebuild", "--index", index, "--max-words", "20", "--min-words", "10", "--json"
        ).stdout
    )
    assert rechunked["passages_total"] > report["passages_total"]
    st = json.loads(invoke("status", "--index", index, "--json").stdout)
    assert st["chunking"]["max_words"] == 20
    # Later runs keep the index's chunking.
    again = json.loads(invoke("index", LIBRARY, "--index", index, "--json").stdout)
    assert again["passages_total"] == rechunked["passages_total"]
    other = json.loads(invoke("rebuild", "--index", index, "--model", "fake-32", "--json").stdout)
    assert other["passages_embedded"] == other["passages_total"] > 0
    st = json.loads(invoke("status", "--index", index, "--json").stdout)
    assert st["model"]["name"] == "fake-32" and st["model"]["dimension"] == 32
    assert "sources: unchanged" in invoke("status", "--index", index).stdout


def test_precision_is_pinned_per_index_and_changed_by_rebuild(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    made = json.loads(
        invoke(
            "index", LIBRARY, "--index", index, "--model", "fake", "--precision", "int8", "--json"
        ).stdout
    )
    assert made["precision"] == "int8"
    st = json.loads(invoke("status", "--index", index, "--json").stdout)
    assert st["model"]["precision"] == "int8"
    assert "int8 vectors" in invoke("status", "--index", index).stdout
    # Later runs keep it; asking for the other one says how to change it.
    again = json.loads(invoke("index", LIBRARY, "--index", index, "--json").stdout)
    assert again["precision"] == "int8" and again["passages_embedded"] == 0
    refused = runner.invoke(
        app, ["index", str(LIBRARY), "--index", str(index), "--precision", "fp32"]
    )
    assert refused.exit_code == 1
    assert "holds int8 vectors" in refused.output and "rebuild" in refused.output
    assert "Traceback" not in refused.output
    kept = json.loads(invoke("rebuild", "--index", index, "--json").stdout)
    assert kept["precision"] == "int8" and kept["passages_embedded"] == 0
    changed = json.loads(
        invoke("rebuild", "--index", index, "--precision", "fp32", "--json").stdout
    )
    assert changed["precision"] == "fp32"
    assert changed["passages_embedded"] == changed["passages_total"] > 0
    bad = runner.invoke(app, ["rebuild", "--index", str(index), "--precision", "fp16"])
    assert bad.exit_code == 2 and "fp32, int8" in bad.output


def test_status_sees_changed_sources(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    shutil.copytree(LIBRARY, folder)
    index = tmp_path / "idx"
    invoke("index", folder, "--index", index, "--model", "fake")
    (folder / "space.srt").write_text((folder / "space.srt").read_text() + "\n")
    st = json.loads(invoke("status", "--index", index, "--json").stdout)
    assert [Path(p).name for p in st["sources_changed"]] == ["space.srt"]


def test_second_writer_fails_clearly_with_no_wait(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    invoke("index", LIBRARY, "--index", index, "--model", "fake")
    with writer_lock(index):
        result = runner.invoke(app, ["index", str(LIBRARY), "--index", str(index), "--no-wait"])
        assert result.exit_code == 1
        assert "another podsearch process is writing" in result.output
        assert "Traceback" not in result.output
        # Readers never wait for the writer.
        assert ask_json(index, "compost", "--mode", "lexical")


def test_context_and_group(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    invoke("index", LIBRARY, "--index", index, "--model", "fake")
    hits = ask_json(index, "dry leaves cardboard straw", "--context", "1", "--mode", "lexical")
    first = hits[0]
    assert "cardboard" in first["text"]
    assert [t["speaker"] for t in first["context_before"]] == ["Maya Lindqvist"]
    assert "biggest mistake" in first["context_before"][0]["text"]
    assert [t["speaker"] for t in first["context_after"]] == ["Maya Lindqvist"]
    groups = ask_json(index, "compost tomatoes rocket", "--group", "episode", "--top", "6")
    ids = [g["episode_id"] for g in groups]
    assert len(ids) == len(set(ids))
    assert all(h["episode_id"] == g["episode_id"] for g in groups for h in g["hits"])
    human = invoke("ask", "compost heap", "--index", index, "--context", "1").stdout
    assert "compost" in human.lower()


KILL_SCRIPT = """
import sys
from fakes import register
from podsearch.cli.entry import main
register()
sys.argv = ["podsearch", "index", sys.argv[1], "--index", sys.argv[2], "--model", "fake"]
main()
"""


def _make_library(folder: Path, n: int) -> None:
    folder.mkdir()
    words = "compost tomato rocket orbit saffron bread garden launch oven soil".split()
    for i in range(n):
        lines = ["WEBVTT", ""]
        for j in range(30):
            text = " ".join(words[(i + j + k) % len(words)] for k in range(25)) + f" {i} {j}."
            lines += [f"00:{j:02d}:00.000 --> 00:{j:02d}:30.000", f"<v Host {i % 3}>{text}", ""]
        (folder / f"ep{i:03d}.vtt").write_text("\n".join(lines))


def test_sigkill_mid_write_leaves_the_previous_generation(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    invoke("index", LIBRARY, "--index", index, "--model", "fake")
    before = ask_json(index, "compost", "--mode", "lexical")
    big = tmp_path / "big"
    _make_library(big, 150)
    gens = home_dir(index) / "generations"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}  # tests/: fakes
    killed_mid_write = False
    for _attempt in range(3):  # bounded: the write window is short, retry a few times
        proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(big), str(index)], env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if any(p.name.startswith(".tmp-") for p in gens.iterdir()):
                os.kill(proc.pid, signal.SIGKILL)
                killed_mid_write = True
                break
            time.sleep(0.002)
        proc.wait(timeout=30)
        if killed_mid_write:
            break
        # The run finished before we saw it writing: go back to the small index and retry.
        invoke("remove", *[f"ep{i:03d}.vtt" for i in range(150)], "--index", index)
    assert killed_mid_write, "never caught the writer mid-write"
    assert any(p.name.startswith(".tmp-") for p in gens.iterdir())  # the half-written one
    after = ask_json(index, "compost", "--mode", "lexical")
    assert [h["passage_id"] for h in after] == [h["passage_id"] for h in before]
    # The lock died with the writer: the next run works and completes the library.
    report = json.loads(
        invoke("index", big, "--index", index, "--model", "fake", "--no-wait", "--json").stdout
    )
    assert report["episodes_added"] == 150


def test_an_episode_of_short_turns_is_indexed_and_found(tmp_path: Path) -> None:
    """Issue 19: the Podcasting 2.0 spec's JSON example (one word a segment, turns of 4 and 3
    words) was indexed with 0 passages, so its words could not be found."""
    segments = [
        ("Darth Vader", 0.5, 0.75, "I"),
        ("Darth Vader", 0.75, 1.0, "am"),
        ("Darth Vader", 1.0, 1.5, "your"),
        ("Darth Vader", 1.5, 2.0, "father"),
        ("Luke Skywalker", 2.5, 2.8, "No!!"),
        ("Luke Skywalker", 3.0, 3.5, "That's"),
        ("Luke Skywalker", 3.5, 4.0, "impossible!"),
    ]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "example.json").write_text(
        json.dumps(
            {
                "version": "1.0.0",
                "segments": [
                    {"speaker": s, "startTime": a, "endTime": b, "body": t}
                    for s, a, b, t in segments
                ],
            }
        )
    )
    index = tmp_path / "idx"
    result = runner.invoke(app, ["index", str(folder), "--index", str(index), "--model", "fake"])
    assert result.exit_code == 0, result.output
    ask = runner.invoke(app, ["ask", "your father", "--index", str(index), "--json"])
    hits = json.loads(ask.stdout)
    assert [h["text"] for h in hits] == ["I am your father No!! That's impossible!"]
    assert (hits[0]["start"], hits[0]["end"]) == (0.5, 4.0)
