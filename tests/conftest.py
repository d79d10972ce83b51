"""Shared fixtures: hand-built episodes, the fast deterministic embedder, and a model cache
inside the session's temporary folder (tests never write outside their temporary folders)."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from builders import GUEST, HOST, MakeEpisode, standard_turns
from fakes import FakeEmbedder, register

from podsearch.core.models import Episode, Person, Turn

register()  # the model name "fake" works in every test, CLI runs included


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """ONNX exports of the session go to a temporary cache, not the user's
    (``$PODSEARCH_CACHE``; exported once per session, shared by its tests)."""
    cache = tmp_path_factory.mktemp("podsearch-cache")
    before = os.environ.get("PODSEARCH_CACHE")
    os.environ["PODSEARCH_CACHE"] = str(cache)
    yield cache
    if before is None:
        os.environ.pop("PODSEARCH_CACHE", None)
    else:
        os.environ["PODSEARCH_CACHE"] = before


@pytest.fixture(autouse=True)
def user_data(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The per-user data folder (the default library, the sample) of each test is its own
    temporary folder, and no $PODSEARCH_INDEX of the caller leaks in."""
    home = tmp_path_factory.mktemp("xdg-data")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.delenv("PODSEARCH_INDEX", raising=False)
    return home


@pytest.fixture(autouse=True)
def first_stage_by_default(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """By default an unsure first stage is reranked by the real cross-encoder, whose order
    depends on its weights and costs ~1.5 s a question. The tests of everything else check
    the first stage against their own expectations, so in-process asks keep its order unless
    a test is marked ``rerank_when_unsure`` (or asks for rerank=True itself); the second
    stage has its own tests (tests/query/test_rank_rerank.py, tests/embed/test_rerank.py)."""
    if request.node.get_closest_marker("rerank_when_unsure") is None:
        from podsearch.query import rank

        monkeypatch.setattr(rank, "installed_reranker", lambda: None)


@pytest.fixture
def make_episode() -> MakeEpisode:
    """Factory: ``make_episode(episode_id="ep1", turns=None, seed=0, **metadata)``.

    Without ``turns`` the episode gets ``standard_turns`` built from ``seed``."""

    def make(
        episode_id: str = "ep1",
        *,
        turns: list[Turn] | None = None,
        seed: int = 0,
        **metadata: Any,
    ) -> Episode:
        fields: dict[str, Any] = {
            "title": f"Episode {episode_id}",
            "podcast": "Test Podcast",
            "published": "2024-05-01",
            "people": [Person(HOST, "host"), Person(GUEST, "guest")],
            "sources": [f"/transcripts/{episode_id}.vtt"],
            "formats": ["webvtt"],
        }
        fields.update(metadata)
        return Episode(
            id=episode_id,
            turns=turns if turns is not None else standard_turns(random.Random(seed)),
            **fields,
        )

    return make


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder("fake")
