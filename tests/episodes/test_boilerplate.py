"""Boilerplate shares (``episodes.boilerplate``): text a show repeats across its episodes."""

from __future__ import annotations

import numpy as np
import pytest

from podsearch.episodes.boilerplate import boilerplate_shares

INTRO = "Welcome to the Garden Hour, our weekly show on plants and soil. Here is your host."
ADVERT = "This episode is brought to you by Seedly, use the code GARDEN for ten percent off."


def _topic(i: int) -> str:
    words = [f"topic{i}word{j}" for j in range(30)]
    return " ".join(words) + "."


def _library(episodes: int, show: str | None = "Garden Hour") -> tuple[list, list, list]:
    texts, ids, shows = [], [], []
    for i in range(episodes):
        for text in (INTRO, _topic(i), ADVERT if i % 2 else _topic(100 + i)):
            texts.append(text)
            ids.append(f"ep{i}")
            shows.append(show)
    return texts, ids, shows


def test_repeated_intros_and_ads_are_boilerplate_and_talk_is_not() -> None:
    texts, ids, shows = _library(20)
    shares = boilerplate_shares(texts, ids, shows)
    for text, share in zip(texts, shares, strict=True):
        if text in (INTRO, ADVERT):
            assert share == pytest.approx(1.0)
        else:
            assert share == 0.0


def test_a_few_episodes_sharing_a_sentence_is_not_boilerplate() -> None:
    """Three episodes of a large show quoting the same line: below the episode floor."""
    texts, ids, shows = _library(40)
    quote = "the best time to plant a tree was twenty years ago said the old gardener"
    for i in range(3):
        texts.append(quote)
        ids.append(f"ep{i}")
        shows.append("Garden Hour")
    shares = boilerplate_shares(texts, ids, shows)
    assert shares[-3:].tolist() == [0.0, 0.0, 0.0]


def test_each_show_has_its_own_boilerplate() -> None:
    """A sentence repeated by one show is not boilerplate in another that says it once."""
    a = _library(20, "Garden Hour")
    texts, ids, shows = a[0] + [INTRO], a[1] + ["other-1"], a[2] + ["Other Show"]
    texts += [_topic(500 + i) for i in range(5)]
    ids += [f"other-{i}" for i in range(2, 7)]
    shows += ["Other Show"] * 5
    shares = boilerplate_shares(texts, ids, shows)
    assert shares[len(a[0])] == 0.0  # the other show's one intro
    assert shares[0] == pytest.approx(1.0)


def test_a_partly_repeated_passage_gets_a_partial_share() -> None:
    texts, ids, shows = _library(20)
    texts[1] = INTRO + " " + _topic(999)  # episode 0's talk opens with the intro
    share = float(boilerplate_shares(texts, ids, shows)[1])
    assert 0.2 < share < 0.6


def test_shapes_and_empty_input() -> None:
    assert boilerplate_shares([], [], []).shape == (0,)
    assert boilerplate_shares(["one two"], ["e"], [None]).tolist() == [0.0]  # no shingle
    with pytest.raises(ValueError):
        boilerplate_shares(["a"], [], [None])
    assert np.all(boilerplate_shares(*_library(20, show=None)) >= 0)
