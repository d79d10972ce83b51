"""Boilerplate shares (``episodes.boilerplate``): text a show repeats across its episodes."""

from __future__ import annotations

import numpy as np
import pytest

from podsearch.episodes.boilerplate import EpisodeText, boilerplate_shares, library_shares

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


def _episodes(n: int, quote_in: tuple[int, ...] = ()) -> list[EpisodeText]:
    quote = "the best time to plant a tree was twenty years ago said the old gardener"
    out = []
    for i in range(n):
        texts = [INTRO, _topic(i), ADVERT if i % 2 else _topic(100 + i)]
        if i in quote_in:
            texts.append(quote)
        out.append(EpisodeText(f"ep{i}", "Garden Hour", texts))
    return out


def _full(episodes: list[EpisodeText]) -> dict[str, list[float]]:
    fresh = [EpisodeText(e.id, e.show, e.texts) for e in episodes]
    return {k: v.tolist() for k, v in library_shares(fresh).items()}


def test_added_episodes_recompute_only_what_they_change() -> None:
    """Old episodes keep their shares (here deliberately wrong, to see they are kept) unless
    an added episode flips the status of one of their shingles; the result equals a full
    computation wherever it is recomputed."""
    old = _episodes(6, quote_in=(0, 1, 2))  # the quote: in 3 episodes, not boilerplate yet
    full = _full(old)
    assert all(v[3] == 0.0 for k, v in full.items() if k in ("ep0", "ep1", "ep2"))
    for e in old:
        e.shares = [0.5] * len(e.texts)  # a marker: kept shares stay 0.5
    more = _episodes(11, quote_in=(10,))
    added = [more[6], more[8]]  # intro and talk (no advert, no quote): nothing flips
    got = library_shares(old + added, {"ep6", "ep8"})
    assert all(got[e.id].tolist() == [0.5] * len(e.texts) for e in old)
    assert got["ep6"].tolist() == _full(old + added)["ep6"]

    # A fourth episode with the quote makes it boilerplate: the three old ones holding it
    # are recomputed (and equal a full computation), the others keep their shares.
    fourth = more[10]
    got = library_shares(old + added + [fourth], {"ep6", "ep8", "ep10"})
    want = _full(old + added + [fourth])
    assert want["ep0"][3] == pytest.approx(1.0)
    for e in old[:3]:
        assert got[e.id].tolist() == want[e.id]
    assert all(got[e.id].tolist() == [0.5] * len(e.texts) for e in old[3:])


def test_without_previous_shares_everything_is_computed() -> None:
    episodes = _episodes(6)
    got = library_shares(episodes, added={"ep5"})  # no episode has shares: all computed
    assert {k: v.tolist() for k, v in got.items()} == _full(episodes)
