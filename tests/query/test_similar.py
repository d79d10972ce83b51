"""More like this from the stored vectors, and one episode in full (turns, audio)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from podsearch.api import Library
from podsearch.cli.app import app
from podsearch.core.errors import InvalidRequestError, PassageNotFoundError
from podsearch.query.episode import local_audio, remote_audio
from podsearch.store.index import Index

LIBRARY = Path(__file__).parents[1] / "fixtures" / "library"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    index = tmp_path_factory.mktemp("similar") / "idx"
    result = CliRunner().invoke(
        app, ["index", str(LIBRARY), "--index", str(index), "--model", "fake"]
    )
    assert result.exit_code == 0, result.output
    return Library(index)


def test_similar_passages_are_the_nearest_stored_vectors(library: Library) -> None:
    hit = library.ask("sourdough starter", top=1).hits[0]
    found = library.similar(hit.passage_id, top=3)
    assert found.kind == "passage" and found.of == hit.passage_id and len(found.hits) == 3
    index = Index(library.path)
    vectors = index.vectors()
    rows = {p: i for i, p in enumerate(_ids(index))}
    cosines = vectors @ vectors[rows[hit.passage_id]]
    scores = [h.score for h in found.hits]
    assert scores == sorted(scores, reverse=True)
    for h in found.hits:
        assert h.passage_id != hit.passage_id
        assert h.score == pytest.approx(float(cosines[rows[h.passage_id]]), abs=1e-3)
    assert [h.rank for h in found.hits] == [1, 2, 3]


def _ids(index: Index) -> list[str]:
    return index.read_table("passages.parquet", columns=["passage_id"]).column(0).to_pylist()


def test_similar_needs_no_model(library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    import podsearch.embed.factory as factory

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("similar must not embed")

    monkeypatch.setattr(factory, "load_query_embedder", refuse)
    hit = library.ask("compost", top=1, mode="lexical").hits[0]
    assert library.similar(hit.passage_id, top=2).hits


def test_similar_episodes_rank_other_episodes(library: Library) -> None:
    episodes = library.episodes()
    found = library.similar(episodes[0]["episode_id"])
    assert found.kind == "episode" and found.hits == []
    others = {e["episode_id"] for e in episodes} - {episodes[0]["episode_id"]}
    assert {e["episode_id"] for e in found.episodes} == others
    scores = [e["score"] for e in found.episodes]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= s <= 1.0001 for s in scores)
    assert np.isfinite(scores).all()


def test_similar_refuses_what_it_cannot_find(library: Library) -> None:
    with pytest.raises(PassageNotFoundError, match="neither a passage id nor an episode"):
        library.similar("no-such-thing")
    with pytest.raises(InvalidRequestError):
        library.similar(library.episodes()[0]["episode_id"], top=0)


def test_episode_detail_and_audio(library: Library, tmp_path: Path) -> None:
    episode = library.episodes()[0]
    detail = library.episode(episode["episode_id"][:6])
    assert detail["episode_id"] == episode["episode_id"]
    assert [t["turn_index"] for t in detail["turns"]] == sorted(
        t["turn_index"] for t in detail["turns"]
    )
    assert detail["audio"] is None and library.audio(episode["episode_id"]) is None
    # Audio beside a source, as a source, or named by the episode; URLs are remote.
    (tmp_path / "talk.json").write_text("{}")
    wav = tmp_path / "talk.wav"
    wav.write_bytes(b"RIFF")
    assert local_audio({"sources": [str(tmp_path / "talk.json")]}) == wav
    mp3 = tmp_path / "E41.mp3"
    mp3.write_bytes(b"ID3")
    assert local_audio({"sources": [str(tmp_path / "E41.mp3.vtt")]}) == mp3
    assert local_audio({"audio_url": mp3.as_uri(), "sources": []}) == mp3
    assert local_audio({"audio_url": str(mp3), "sources": []}) == mp3
    assert local_audio({"audio_url": str(tmp_path / "talk.json"), "sources": []}) is None
    assert local_audio({"audio_url": "https://x.org/a.mp3", "sources": []}) is None
    assert remote_audio({"audio_url": "https://x.org/a.mp3"}) == "https://x.org/a.mp3"
    assert remote_audio({"audio_url": str(mp3)}) is None


def test_similar_command(library: Library) -> None:
    runner = CliRunner()
    hit = library.ask("compost", top=1).hits[0]
    result = runner.invoke(
        app, ["similar", hit.passage_id, "--index", str(library.path), "--top", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "Passages like" in result.stdout and hit.passage_id in result.stdout
    as_json = runner.invoke(
        app, ["similar", hit.episode_id, "--index", str(library.path), "--json"]
    )
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout)["kind"] == "episode"
    bad = runner.invoke(app, ["similar", "zzz", "--index", str(library.path)])
    assert bad.exit_code == 1 and bad.stderr.count("\n") == 1
