"""Boilerplate shares (``episodes.boilerplate``): text a show repeats across its episodes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from podsearch.episodes import boilerplate
from podsearch.episodes.boilerplate import (
    BOILERPLATE_SHARE,
    EpisodeText,
    Kept,
    boilerplate_shares,
    library_shares,
    passage_shingles,
)

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
    return {k: v.tolist() for k, v in library_shares(fresh).shares.items()}


def _filled(episodes: list[EpisodeText], log: list[str]) -> Callable[[list[EpisodeText]], None]:
    def fill(wanted: list[EpisodeText]) -> None:
        log.extend(e.id for e in wanted)
        for e in wanted:
            e.shingles = passage_shingles(e.texts)

    return fill


def _same_kept(a: Kept, b: Kept) -> bool:
    return (
        a.hashes.keys() == b.hashes.keys()
        and all(np.array_equal(a.hashes[k], b.hashes[k]) for k in a.hashes)
        and all(np.array_equal(a.rows[k], b.rows[k]) for k in a.rows)
        and np.array_equal(a.common, b.common)
        and np.array_equal(a.held, b.held)
    )


@pytest.mark.parametrize(
    ("quote_in", "share"),
    [
        ((10,), BOILERPLATE_SHARE),  # the quote's fourth episode makes it boilerplate
        ((), BOILERPLATE_SHARE),  # nothing flips
        ((10,), 0.5),  # the show's limit changes: all counted again
    ],
)
def test_an_addition_counted_from_kept_counts_equals_a_full_count(
    quote_in: tuple[int, ...], share: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shares and kept counts after adding episodes to kept counts equal those of counting
    the whole show; only the added episodes' shingles are read unless the limit changed."""
    monkeypatch.setattr(boilerplate, "BOILERPLATE_SHARE", share)
    old = _episodes(6, quote_in=(0, 1, 2))
    other = [EpisodeText("x0", "Other", [INTRO, _topic(300)])]
    first = library_shares(old + other)
    more = _episodes(11, quote_in=quote_in)
    added = [more[8], more[10]]
    log: list[str] = []
    fresh = [EpisodeText(e.id, e.show, e.texts) for e in old + other + added]
    got = library_shares(fresh, {"ep8", "ep10"}, kept=first.kept, fill=_filled(fresh, log))
    want = library_shares([EpisodeText(e.id, e.show, e.texts) for e in fresh])
    assert {k: v.tolist() for k, v in got.shares.items()} == {
        k: v.tolist() for k, v in want.shares.items()
    }
    assert _same_kept(got.kept, want.kept)
    limit_changed = share == 0.5
    read = [e.id for e in old] if limit_changed else []
    assert sorted(log) == sorted([*read, "ep10", "ep8"])
    if quote_in and not limit_changed:
        assert want.shares["ep0"][3] == pytest.approx(1.0)  # flipped, in an old episode


def test_kept_counts_of_another_generation_are_not_used() -> None:
    """Counts kept for other rows (a removed episode) are ignored: all is counted again."""
    old = _episodes(6)
    first = library_shares(old)
    log: list[str] = []
    fresh = [EpisodeText(e.id, e.show, e.texts) for e in old[1:] + _episodes(8)[6:]]
    got = library_shares(fresh, {"ep6", "ep7"}, kept=first.kept, fill=_filled(fresh, log))
    assert sorted(log) == sorted(e.id for e in fresh)
    assert {k: v.tolist() for k, v in got.shares.items()} == _full(fresh)


PHRASES = [f"phrase {w} goes like this every single time" for w in "abcdefghijklmnopqrst"]


@st.composite
def _growing_library(draw: st.DrawFn) -> tuple[list[EpisodeText], set[str], float]:
    """Episodes of two shows built from shared phrases (so shingles are held by a few or
    many episodes), the ids of the last ones (added), and the share that sets the limit."""
    n = draw(st.integers(2, 14))
    episodes = []
    for i in range(n):
        passages = draw(
            st.lists(
                st.lists(st.sampled_from([*PHRASES, f"words only episode {i} has"]), max_size=3),
                min_size=1,
                max_size=4,
            )
        )
        show = draw(st.sampled_from(["One", "One", "Two", None]))
        episodes.append(EpisodeText(f"e{i}", show, [" ".join(p) for p in passages]))
    added = draw(st.integers(0, n - 1))
    share = draw(st.sampled_from([BOILERPLATE_SHARE, 0.3, 0.5, 0.8]))
    return episodes, {e.id for e in episodes[n - added :]}, share


# A phrase in 5 of 6 episodes is boilerplate at the limit of 6 (4), not at that of 7 (5).
_LIMIT_RISES = (
    [
        EpisodeText(f"e{i}", "One", [PHRASES[0] if i < 5 else f"only in {i}", f"only in {i}"])
        for i in range(7)
    ],
    {"e6"},
    0.8,
)


@settings(max_examples=300, deadline=None)
@example(_LIMIT_RISES)
@given(_growing_library())
def test_counts_grown_from_kept_counts_equal_counting_everything(
    case: tuple[list[EpisodeText], set[str], float],
) -> None:
    """Whatever the additions flip (or the limit they change), shares and kept counts grown
    from the previous generation's equal those of counting the whole library."""
    episodes, added, share = case
    with pytest.MonkeyPatch.context() as m:
        m.setattr(boilerplate, "BOILERPLATE_SHARE", share)
        old = [EpisodeText(e.id, e.show, e.texts) for e in episodes if e.id not in added]
        first = library_shares(old)
        fresh = [EpisodeText(e.id, e.show, e.texts) for e in episodes]
        grown = library_shares(fresh, added, kept=first.kept)
        want = library_shares([EpisodeText(e.id, e.show, e.texts) for e in episodes])
    assert {k: v.tolist() for k, v in grown.shares.items()} == {
        k: v.tolist() for k, v in want.shares.items()
    }
    assert _same_kept(grown.kept, want.kept)
