"""The ask use case's typed request and result: validation once, JSON both ways."""

from __future__ import annotations

from typing import Any

import pytest

from podsearch.core.errors import InvalidRequestError
from podsearch.query.types import AskRequest, AskResult, Filters, Hit


def hit(rank: int, episode: str, **extra: Any) -> Hit:
    return Hit(
        rank=rank,
        score=0.5,
        passage_id=f"p{rank}",
        episode_id=episode,
        episode_title=f"Title {episode}",
        podcast="Show",
        published="2024-01-02",
        speaker="Ada",
        speaker_source="labelled",
        start=1.0,
        end=2.0,
        time_precision="exact",
        text="words",
        sources=[f"/s/{episode}.vtt"],
        url=None,
        turn_index=0,
        **extra,
    )


@pytest.mark.parametrize(
    ("request_", "option"),
    [
        (AskRequest(""), "question"),
        (AskRequest("   "), "question"),
        (AskRequest("q", top=0), "--top"),
        (AskRequest("q", top=1001), "--top"),
        (AskRequest("q", top=True), "--top"),  # type: ignore[arg-type]
        (AskRequest("q", mode="fuzzy"), "--mode"),
        (AskRequest("q", context=21), "--context"),
        (AskRequest("q", context=-1), "--context"),
        (AskRequest("q", group="show"), "--group"),
    ],
)
def test_bad_requests_name_the_option(request_: AskRequest, option: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        request_.validated()
    assert caught.value.option == option


def test_a_good_request_is_itself() -> None:
    r = AskRequest("what did Ada say", Filters(("Ada",)), top=3, mode="lexical", group="episode")
    assert r.validated() is r


def test_json_round_trip() -> None:
    r = AskRequest(
        "cricket",
        Filters(("Ada", "Bo"), "Show", "E1", "2020-01-01", "2021-01-01"),
        top=7,
        mode="semantic",
        context=2,
        group="episode",
        cite="mla",
        model="fake",
    )
    assert AskRequest.from_json(r.to_json()) == r


def test_from_query_string_lists_and_strings() -> None:
    """A query string gives lists of strings: numbers parse, speaker may repeat, q works."""
    r = AskRequest.from_json({"q": ["dough"], "top": ["5"], "speaker": ["Ada", "Bo"]})
    assert (r.question, r.top, r.filters.speakers) == ("dough", 5, ("Ada", "Bo"))
    assert AskRequest.from_json({"question": "x", "speaker": "Ada"}).filters.speakers == ("Ada",)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "question"),
        ({"q": "x", "top": "many"}, "top"),
        ({"q": "x", "top": 2.5}, "top"),
        ({"q": "x", "speaker": 3}, "speaker"),
        ({"q": "x", "speaker": ["a", 3]}, "speaker"),
        ({"q": "x", "podcast": {"a": 1}}, "podcast"),
        ({"q": 5}, "q"),
        ({"q": "x", "mode": "fuzzy"}, "mode"),
    ],
)
def test_from_json_refuses_with_the_field_name(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        AskRequest.from_json(data)
    assert caught.value.option == field


def test_result_json_flat_grouped_and_full() -> None:
    hits = [hit(1, "a"), hit(2, "a", citation={"style": "apa", "in_text": "(X)"}), hit(3, "b")]
    result = AskResult("q", "q", [], hits, index="/idx")
    flat = result.to_json()
    assert [h["passage_id"] for h in flat] == ["p1", "p2", "p3"]
    assert "citation" not in flat[0] and "context_before" not in flat[0]
    assert flat[1]["citation"] == {"style": "apa", "in_text": "(X)"}
    result.group = "episode"
    grouped = result.to_json()
    assert [g["episode_id"] for g in grouped] == ["a", "b"]
    assert [len(g["hits"]) for g in grouped] == [2, 1]
    assert set(grouped[0]) == {
        "episode_id",
        "episode_title",
        "podcast",
        "published",
        "sources",
        "hits",
    }
    again = AskResult.from_full_json(result.to_full_json())
    assert again == result
    assert again.to_json() == grouped
