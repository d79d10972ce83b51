"""Metadata for local transcripts: files in every supported shape, key templates, sidecars,
feeds matched by enclosure name, GUID or title, unknown fields kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podsearch.core.errors import InvalidRequestError
from podsearch.core.models import Episode
from podsearch.ingest.feed_parse import parse_feed
from podsearch.ingest.metadata import (
    MetadataSet,
    load_records,
    number_in_name,
    parse_record,
    read_sidecar,
)

FEED = Path(__file__).parents[1] / "fixtures" / "feeds" / "show.xml"
RECORD = {
    "file": "E41.mp3.vtt",
    "title": "Money in Cricket",
    "show": "The Seen and the Unseen",
    "date_published": "06 Nov 2017",
    "link": "https://example.com/41",
    "enclosure": "https://cdn.example.com/41.mp3",
    "summary": "Cricket writers on money.",
    "people": [{"name": "Amit Varma", "role": "host"}, {"name": "Gideon Haigh", "role": "Guest"}],
    "epnum": 41,
    "mood": "lively",
}


def test_a_record_maps_known_fields_and_keeps_the_rest() -> None:
    meta = parse_record(RECORD)
    assert (meta.title, meta.podcast, meta.published) == (
        "Money in Cricket",
        "The Seen and the Unseen",
        "2017-11-06",
    )
    assert (meta.url, meta.audio_url) == (
        "https://example.com/41",
        "https://cdn.example.com/41.mp3",
    )
    assert meta.description == "Cricket writers on money." and meta.episode_number == 41
    assert [(p.name, p.role) for p in meta.people] == [
        ("Amit Varma", "host"),
        ("Gideon Haigh", "guest"),
    ]
    assert meta.extra == {"mood": "lively"}
    ep = meta.apply(Episode(id="x", title="E41.mp3.vtt"))
    assert ep.title == "Money in Cricket" and ep.extra == {"mood": "lively"}


def test_guests_and_rss_dates() -> None:
    meta = parse_record({"guests": "Ann One; Bob Two", "pubDate": "Tue, 16 Jan 2017 10:00:00 GMT"})
    assert [(p.name, p.role) for p in meta.people] == [("Ann One", "guest"), ("Bob Two", "guest")]
    assert meta.published == "2017-01-16"


@pytest.mark.parametrize("shape", ["list", "object", "jsonl", "csv"])
def test_every_file_shape_matches_by_file_name(tmp_path: Path, shape: str) -> None:
    records = [{"file": "E41.vtt", "title": "One"}, {"file": "E42", "title": "Two"}]
    path = tmp_path / f"meta.{'csv' if shape == 'csv' else 'json'}"
    if shape == "list":
        path.write_text(json.dumps(records))
    elif shape == "object":
        path.write_text(json.dumps({r["file"]: {"title": r["title"]} for r in records}))
    elif shape == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    else:
        path.write_text("file,title\nE41.vtt,One\nE42,Two\n")
    assert len(load_records(path)) == 2
    found = MetadataSet.from_file(path)
    assert found.match(Path("/x/E41.vtt")).title == "One"
    assert found.match(Path("/x/E42.mp3.vtt")).title == "Two"  # extension optional
    assert found.match(Path("/x/E43.vtt")) is None
    assert found.unmatched == 0


def test_a_key_template_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps([{"epnum": 41, "title": "A"}, {"epnum": 42, "title": "B"}]))
    found = MetadataSet.from_file(path, "E{epnum}.mp3.vtt")
    assert found.match(Path("E42.mp3.vtt")).title == "B"
    assert found.unmatched == 1
    with pytest.raises(InvalidRequestError) as e:
        MetadataSet.from_file(path, "E{number}.vtt")
    assert e.value.option == "--metadata-key" and "epnum" in e.value.problem


def test_a_file_that_is_not_metadata_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "meta.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidRequestError, match="not JSON"):
        load_records(bad)
    with pytest.raises(InvalidRequestError, match="cannot read"):
        load_records(tmp_path / "missing.json")


@pytest.mark.parametrize("name", ["E1.vtt.json", "E1.vtt.meta.json", "E1.meta.json"])
def test_sidecars(tmp_path: Path, name: str) -> None:
    transcript = tmp_path / "E1.vtt"
    transcript.write_text("WEBVTT\n")
    assert read_sidecar(transcript) is None
    (tmp_path / name).write_text(json.dumps({"title": "Side", "date": "2020-02-02"}))
    meta = read_sidecar(transcript)
    assert meta is not None and (meta.title, meta.published) == ("Side", "2020-02-02")


def test_a_feed_matches_by_enclosure_guid_or_title() -> None:
    channel = parse_feed(FEED.read_bytes(), str(FEED), FEED.resolve().as_uri())
    found = MetadataSet.from_feed(channel, str(FEED))
    by_audio = found.match(Path("/local/ep1.mp3.vtt"))
    assert by_audio is not None and by_audio.title == "Rich formats"
    assert by_audio.podcast == "Feed Test Show" and by_audio.published == "2025-01-06"
    by_title = found.match(Path("/local/with-guests.srt"))
    assert by_title is not None and by_title.guid == "show-ep-2"
    assert ("Gus Guest", "guest") in [(p.name, p.role) for p in by_title.people]
    by_guid = found.match(Path("/local/x.json"), Episode(id="e", guid="show-ep-6"))
    assert by_guid is not None and by_guid.title == "No transcript"
    assert found.match(Path("/local/unrelated.vtt")) is None


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("E41.mp3.vtt", 41),
        ("ep-041.srt", 41),
        ("Episode 41 - Money in Cricket.txt", 41),
        ("show_e7.vtt", 7),
        ("#12.json", 12),
        ("041.vtt", 41),
        ("2023-05-01 interview.vtt", None),  # a date is not an episode number
        ("interview.vtt", None),
        ("season2.vtt", None),
    ],
)
def test_the_episode_number_a_file_name_gives(name: str, number: int | None) -> None:
    assert number_in_name(name) == number


def test_records_without_a_file_field_match_by_episode_number(tmp_path: Path) -> None:
    """The shape of the Seen and the Unseen's metadata: numbers, no file names."""
    records = [{"epnum": n, "title": f"Episode {n}"} for n in (1, 2, 41)]
    path = tmp_path / "meta.json"
    path.write_text(json.dumps(records))
    metas = MetadataSet.from_file(path)
    assert metas.match(Path("E41.mp3.vtt")).title == "Episode 41"
    assert metas.match(Path("ep02.srt")).title == "Episode 2"
    assert metas.match(Path("E3.mp3.vtt")) is None
    assert metas.unmatched == 1


def test_a_number_two_records_share_matches_neither(tmp_path: Path) -> None:
    records = [
        {"epnum": 41, "show": "A", "title": "A 41"},
        {"epnum": 41, "show": "B", "title": "B 41"},
        {"epnum": 42, "show": "B", "title": "B 42"},
    ]
    path = tmp_path / "meta.json"
    path.write_text(json.dumps(records))
    metas = MetadataSet.from_file(path)
    assert metas.match(Path("E41.vtt")) is None
    assert metas.match(Path("E42.vtt")).title == "B 42"


def test_a_file_name_field_wins_over_the_number(tmp_path: Path) -> None:
    records = [{"file": "E41.vtt", "epnum": 7, "title": "named"}, {"epnum": 41, "title": "num"}]
    path = tmp_path / "meta.json"
    path.write_text(json.dumps(records))
    assert MetadataSet.from_file(path).match(Path("E41.vtt")).title == "named"
