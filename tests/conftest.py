"""Shared fixtures: hand-built episodes and the fast deterministic embedder."""

from __future__ import annotations

import random
from typing import Any

import pytest
from builders import GUEST, HOST, MakeEpisode, standard_turns

from podsearch.embedding import FakeEmbedder
from podsearch.models import Episode, Person, Turn


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
