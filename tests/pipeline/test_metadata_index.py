"""Indexing with metadata: records fill episodes and citations, changed metadata updates
indexed episodes without re-embedding, the user's edits survive rebuilds, titles and
descriptions are searchable; the shared corpus with its metadata.json cites properly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fakes import FakeEmbedder
from typer.testing import CliRunner

from podsearch.api import Library
from podsearch.cli.app import app
from podsearch.core.errors import InvalidRequestError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "seenunseen"
LIBRARY = Path(__file__).parents[1] / "fixtures" / "library"
runner = CliRunner()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "shows"
    folder.mkdir()
    for f in LIBRARY.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    return folder


def test_metadata_fills_episodes_and_citations(tmp_path: Path, folder: Path) -> None:
    meta = tmp_path / "meta.csv"
    meta.write_text(
        "file,title,show,date,url,rating\n"
        "space.srt,Rockets Reused,Space Weekly,16 Jan 2017,https://example.com/space,5\n"
        "nowhere.vtt,Lost,Space Weekly,2017-01-01,,\n"
    )
    lib = Library(tmp_path / "idx", embedder=FakeEmbedder("fake"))
    report = lib.index([folder], metadata=meta)
    assert report.metadata == {
        "files_matched": 1,
        "files_without_record": 2,
        "records_unmatched": 1,
    }
    ep = next(e for e in lib.episodes() if e["title"] == "Rockets Reused")
    assert (ep["podcast"], ep["published"], ep["url"]) == (
        "Space Weekly",
        "2017-01-16",
        "https://example.com/space",
    )
    row = lib.open().episode_rows()[ep["episode_id"]]
    assert json.loads(row["extra"]) == {"rating": "5"}
    hit = lib.ask("reusable boosters", mode="lexical", top=1).hits[0]
    reference = lib.cite(hit.passage_id)[0].reference
    assert "Rockets Reused" in reference and "2017" in reference
    assert "https://example.com/space" in reference


def test_changed_metadata_updates_without_re_embedding(tmp_path: Path, folder: Path) -> None:
    lib = Library(tmp_path / "idx", embedder=FakeEmbedder("fake"))
    lib.index([folder])
    ids = {e["episode_id"] for e in lib.episodes()}
    (folder / "space.srt.json").write_text(json.dumps({"title": "From a sidecar"}))
    report = lib.index([folder])
    assert report.metadata.get("sidecars") == 1
    assert (report.episodes_updated, report.passages_embedded) == (1, 0)
    assert {e["episode_id"] for e in lib.episodes()} == ids  # same ids
    assert "From a sidecar" in {e["title"] for e in lib.episodes()}
    again = lib.index([folder])
    assert again.episodes_unchanged == 3 and again.episodes_updated == 0
    shown = lib.index([folder], show="Mixed Bag")  # --show: for episodes that name none
    assert (shown.episodes_updated, shown.passages_embedded) == (3, 0)
    assert {e["podcast"] for e in lib.episodes()} == {"Mixed Bag"}
    assert lib.index([folder], show="Mixed Bag").episodes_unchanged == 3


def test_edits_survive_rebuilds_and_re_indexing(tmp_path: Path, folder: Path) -> None:
    lib = Library(tmp_path / "idx", embedder=FakeEmbedder("fake"))
    lib.index([folder])
    (folder / "space.srt.json").write_text(json.dumps({"title": "Sidecar title"}))
    lib.index([folder])
    done = lib.edit_episode("space.srt", title="My Title", date="2 March 2021")
    assert done["fixes"] == {"title": "My Title", "published": "2021-03-02"}
    lib.rebuild()
    lib.index([folder])
    ep = next(e for e in lib.episodes() if "space.srt" in e["sources"][0])
    assert (ep["title"], ep["published"]) == ("My Title", "2021-03-02")
    with pytest.raises(InvalidRequestError, match="accepted forms"):
        lib.edit_episode("space.srt", date="someday")
    lib.edit_episode("space.srt", title="")  # drops the fix: the next index reads the sidecar
    lib.index([folder])
    assert "Sidecar title" in {e["title"] for e in lib.episodes()}


def test_title_and_description_are_searchable(tmp_path: Path, folder: Path) -> None:
    (folder / "cooking.json.json").write_text(
        json.dumps({"title": "Zymurgy hour", "description": "Fermentation stories"})
    )
    lib = Library(tmp_path / "idx", embedder=FakeEmbedder("fake"))
    lib.index([folder])
    hits = lib.ask("zymurgy", mode="lexical").hits
    assert hits and {h.episode_title for h in hits} == {"Zymurgy hour"}


def test_the_command_line_takes_metadata_and_edits(tmp_path: Path, folder: Path) -> None:
    index = tmp_path / "idx"
    meta = tmp_path / "m.json"
    meta.write_text(json.dumps([{"n": "space", "title": "Space Talk"}]))
    args = ["index", str(folder), "--index", str(index), "--model", "fake", "--metadata", str(meta)]
    result = runner.invoke(app, [*args, "--metadata-key", "{n}.srt"])
    assert result.exit_code == 0, result.output
    assert "metadata: 1 file(s) matched a record" in result.stdout
    bad = runner.invoke(app, [*args, "--metadata-key", "{nope}.srt"])
    assert bad.exit_code == 2 and "--metadata-key" in bad.stderr
    # Records that name no file: indexed all the same, with a warning saying what to do.
    unmatched = runner.invoke(app, args)
    assert unmatched.exit_code == 0, unmatched.output
    assert "no file matched a metadata record" in unmatched.stderr
    assert "--metadata-key" in unmatched.stderr
    edit = runner.invoke(
        app, ["episodes", "edit", "space.srt", "--show", "Orbit", "--index", str(index)]
    )
    assert edit.exit_code == 0, edit.output
    listed = json.loads(runner.invoke(app, ["episodes", "--index", str(index), "--json"]).stdout)
    assert {"Space Talk"} == {e["title"] for e in listed if e["podcast"] == "Orbit"}


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"needs the shared corpus at {SHARED}")
def test_the_shared_corpus_cites_with_title_date_and_url(tmp_path: Path) -> None:
    folder = tmp_path / "vtt"
    folder.mkdir()
    for n in (41, 42, 80):
        os.symlink(SHARED / "transcripts_vtt" / f"E{n}.mp3.vtt", folder / f"E{n}.mp3.vtt")
    lib = Library(tmp_path / "idx", embedder=FakeEmbedder("fake"))
    report = lib.index([folder], metadata=SHARED / "metadata.json", metadata_key="E{epnum}.mp3.vtt")
    assert report.metadata["files_matched"] == 3
    # Without the key template, the episode numbers in the file names match the records.
    alone = Library(tmp_path / "idx2", embedder=FakeEmbedder("fake"))
    assert alone.index([folder], metadata=SHARED / "metadata.json").metadata["files_matched"] == 3
    records = json.loads((SHARED / "metadata.json").read_text())
    want = next(r for r in records if r.get("epnum") == 41)
    hit = lib.ask("Kerry Packer World Series Cricket", mode="lexical", episode="E41").hits[0]
    reference = lib.cite(hit.passage_id, style="apa")[0].reference
    assert want["title"] in reference and want["url"] in reference
    assert "(2017, November 6)" in reference


def test_a_feed_gives_metadata_and_the_guest_name(tmp_path: Path) -> None:
    """--feed: a local transcript named like an item's enclosure takes the item's metadata,
    and its one guest label becomes the guest the feed names."""
    feed = Path(__file__).parents[1] / "fixtures" / "feeds" / "show.xml"
    folder = tmp_path / "local"
    folder.mkdir()
    (folder / "ep1.vtt").write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:05.000\n"
        "<v Hannah Host>Welcome, today we talk formats.\n\n"
        "00:00:05.000 --> 00:00:09.000\n<v Guest>Thanks, formats are my favourite topic.\n"
    )
    (folder / "with-guests.txt").write_text(
        "Hannah Host: Gus, welcome to the show about guests.\n"
        "Guest: Glad to be here, I love being a guest on shows.\n"
    )
    lib = Library(tmp_path / "idx", embedder=FakeEmbedder("fake"))
    report = lib.index([folder], feeds=[str(feed)])
    assert report.metadata["files_matched"] == 2
    eps = {e["title"]: e for e in lib.episodes()}
    assert eps["Rich formats"]["published"] == "2025-01-06"
    assert eps["Rich formats"]["podcast"] == "Feed Test Show"
    assert "Gus Guest" in {s["speaker"] for s in lib.speakers()}  # the feed's one guest
    assert "Guest (unnamed, ep1)" in {s["speaker"] for s in lib.speakers()}  # no guest named
    with pytest.raises(InvalidRequestError, match="--feed"):
        lib.index([folder], feeds=[str(tmp_path / "missing.xml")])
