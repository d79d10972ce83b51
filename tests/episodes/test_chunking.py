"""Invariants of chunking: speakers, words, sizes, times and ids of the passages."""

from __future__ import annotations

import itertools
import json
import random
from collections import defaultdict
from dataclasses import dataclass

import pytest
from builders import (
    GUEST,
    HOST,
    SPEAKERS,
    THIRD,
    MakeEpisode,
    cue_turn,
    paragraph,
    sentence,
    timed_turn,
    untimed_turn,
)

from podsearch.core.models import (
    ESTIMATED,
    EXACT,
    INTERPOLATED,
    TIME_PRECISIONS,
    UNTIMED,
    Cue,
    Episode,
    Passage,
    Turn,
)
from podsearch.episodes.chunking import (
    WORDS_PER_SECOND,
    ChunkConfig,
    _clause_cuts,
    _group,
    chunk_episode,
    sentence_word_counts,
)
from podsearch.ingest.readers import read_text

# The config the expected shapes below were worked out for (the default is 30..80).
DEFAULT = ChunkConfig(min_words=40, max_words=120)
# Configurations the rules are checked under (a sentence longer than max_words is cut into
# pieces of at most max_words, so every size rule can be met).
CONFIGS = [
    ChunkConfig(),
    DEFAULT,
    ChunkConfig(min_words=30, max_words=100, min_turn_words=5),
    ChunkConfig(min_words=60, max_words=200, min_turn_words=8),
]


def n_words(text: str) -> int:
    return len(text.split())


def by_turn(passages: list[Passage]) -> dict[int, list[Passage]]:
    out: dict[int, list[Passage]] = defaultdict(list)
    for p in passages:
        out[p.turn_index].append(p)
    return out


def cue_offsets(turn: Turn) -> set[int]:
    """Word offsets inside the turn at which a timed cue starts."""
    out: set[int] = set()
    offset = 0
    for cue in turn.cues:
        if cue.start is not None and cue.text.split():
            out.add(offset)
        offset += n_words(cue.text)
    return out


def expected_precision(episode: Episode, turn_index: int, offset: int) -> str:
    """What a passage starting at ``offset`` of the turn should report, from the source."""
    turn = episode.turns[turn_index]
    later_start = any(t.start is not None for t in episode.turns[turn_index + 1 :])
    if turn.cues:
        if offset in cue_offsets(turn):
            return turn.time_precision
        return INTERPOLATED  # the test cues always have a known or derivable end
    if turn.start is None:
        return UNTIMED
    if offset == 0:
        return turn.time_precision
    return INTERPOLATED if turn.end is not None or later_start else ESTIMATED


def short_stretch_words(episode: Episode, i: int, cfg: ChunkConfig) -> int:
    """Words of the stretch of consecutive short turns of turn ``i``'s speaker around it."""
    turns = episode.turns

    def short_same(k: int) -> bool:
        t = turns[k]
        same = (t.speaker, t.speaker_source) == (turns[i].speaker, turns[i].speaker_source)
        return n_words(t.text) < cfg.min_turn_words and same

    lo = i
    while lo > 0 and short_same(lo - 1):
        lo -= 1
    hi = i
    while hi + 1 < len(turns) and short_same(hi + 1):
        hi += 1
    return sum(n_words(t.text) for t in turns[lo : hi + 1])


def check_invariants(episode: Episode, cfg: ChunkConfig = DEFAULT) -> list[Passage]:
    """Assert every chunking rule over one episode; returns its passages."""
    passages = chunk_episode(episode, cfg)
    turns = episode.turns
    counts = [n_words(t.text) for t in turns]
    short = [n < cfg.min_turn_words for n in counts]
    # An episode whose words are mostly in short turns groups them across speakers.
    across = sum(n for n, s in zip(counts, short, strict=True) if s) * 2 > sum(counts)
    if sum(counts):
        assert passages, "an episode with words has passages"

    # In order, each (turn, offset) once.
    keys = [(p.turn_index, p.word_offset) for p in passages]
    assert keys == sorted(set(keys))

    # Passages starting at a short turn are groups of whole short turns: which turns each
    # covers, found by consuming its words turn by turn.
    covered: dict[int, Passage] = {}
    for p in passages:
        if not short[p.turn_index]:
            continue
        assert p.word_offset == 0
        left = p.text.split()
        k = p.turn_index
        members = []
        while left:
            assert k < len(turns) and short[k], f"group at turn {p.turn_index} overruns"
            words = turns[k].text.split()
            assert left[: len(words)] == words
            left = left[len(words) :]
            assert k not in covered, f"turn {k} in two passages"
            covered[k] = p
            members.append(turns[k])
            k += 1
        assert n_words(p.text) <= cfg.max_words * 1.25 or len(members) == 1
        speakers = {(t.speaker, t.speaker_source) for t in members}
        expected = next(iter(speakers)) if len(speakers) == 1 else (None, None)
        assert (p.speaker, p.speaker_source) == expected
        if not across:
            assert len(speakers) == 1, "a normal episode never groups across speakers"
    for i, is_short in enumerate(short):
        if is_short and i not in covered and counts[i]:
            # Left out of ranking: a backchannel of a normal episode, never more.
            assert not across, f"turn {i} of a short-turn episode lost"
            assert short_stretch_words(episode, i, cfg) < cfg.min_turn_words

    groups = by_turn(passages)
    for i, turn in enumerate(turns):
        words = turn.text.split()
        got = groups.get(i, [])
        if short[i]:
            continue
        assert got, f"turn {i} ({len(words)} words) lost"
        # Every word exactly once, in order, and nothing from another turn.
        assert [w for p in got for w in p.text.split()] == words
        offset = 0
        for p in got:
            size = n_words(p.text)
            assert p.word_offset == offset
            offset += size
            assert p.episode_id == episode.id
            assert p.speaker == turn.speaker
            assert p.speaker_source == turn.speaker_source
            assert size <= cfg.max_words * 1.25, f"turn {i}: {size} words"
            if len(words) >= cfg.min_words:
                assert size >= cfg.min_words, f"turn {i}: {size} words"
            else:
                assert size == len(words)
        # Passages of one turn tile it: each ends where the next one starts.
        for a, b in itertools.pairwise(got):
            if a.end is not None and b.start is not None:
                assert a.end == pytest.approx(b.start)

    for p in passages:
        turn = episode.turns[p.turn_index]
        assert p.time_precision in TIME_PRECISIONS
        assert (p.start is None) == (p.time_precision == UNTIMED)
        if p.start is not None:
            assert p.end is not None
            assert p.start <= p.end
        if turn.start is None and turn.end is None and not turn.cues:
            assert (p.start, p.end, p.time_precision) == (None, None, UNTIMED)
        assert p.time_precision == expected_precision(episode, p.turn_index, p.word_offset)

    starts = [p.start for p in passages if p.start is not None]
    assert starts == sorted(starts), "passage starts go backwards"

    ids = [p.id for p in passages]
    assert len(set(ids)) == len(ids)
    assert [p.id for p in chunk_episode(episode, cfg)] == ids
    return passages


# --- hand-built episodes ---------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.min_words}-{c.max_words}")
def test_invariants_on_standard_episodes(
    make_episode: MakeEpisode, seed: int, cfg: ChunkConfig
) -> None:
    check_invariants(make_episode(f"ep{seed}", seed=seed), cfg)


def test_standard_episode_shape(make_episode: MakeEpisode) -> None:
    ep = make_episode()
    passages = check_invariants(ep)
    groups = by_turn(passages)
    # Backchannels and the 5-word thanks are left out; every other turn is kept.
    assert sorted(groups) == [0, 2, 5, 6, 7, 9]
    assert [ep.turns[i].text for i in (1, 3, 8)] == ["Yeah.", "Absolutely.", "Yeah."]
    # Long turns are split, in passages of one speaker each.
    assert len(groups[0]) == 2 and len(groups[2]) == 2 and len(groups[6]) == 2
    assert {p.speaker for p in groups[2] + groups[6]} == {GUEST}
    assert {p.speaker for p in groups[5]} == {THIRD}
    assert {p.speaker for p in groups[9]} == {None}


def test_short_turns_are_the_only_ones_left_out() -> None:
    cfg = ChunkConfig(min_turn_words=8)
    texts = [
        "Yeah.",
        "Absolutely.",
        "Thanks for having me.",
        "one two three four five six seven",
        "one two three four five six seven eight",
        "Right. So the thing is this part here.",
    ]
    ep = Episode(
        "short", turns=[untimed_turn(HOST if i % 2 else GUEST, t) for i, t in enumerate(texts)]
    )
    passages = check_invariants(ep, cfg)
    assert [p.turn_index for p in passages] == [4, 5]
    assert [p.text for p in passages] == texts[4:]


def test_no_passage_crosses_a_speaker_change() -> None:
    rng = random.Random(7)
    # Short alternating turns that together would make one comfortable passage.
    turns = [
        timed_turn(SPEAKERS[i % 3], 10.0 * i, 10.0 * i + 9.0, sentence(rng, 12)) for i in range(6)
    ]
    passages = check_invariants(Episode("alt", turns=turns))
    assert [p.turn_index for p in passages] == list(range(6))
    assert [p.speaker for p in passages] == [SPEAKERS[i % 3] for i in range(6)]


def test_same_speaker_consecutive_turns_stay_apart() -> None:
    rng = random.Random(8)
    turns = [
        timed_turn(HOST, 0.0, 5.0, sentence(rng, 15)),
        timed_turn(HOST, 5.0, 10.0, sentence(rng, 15)),
    ]
    assert [p.turn_index for p in check_invariants(Episode("same", turns=turns))] == [0, 1]


def test_long_turn_is_balanced() -> None:
    rng = random.Random(1)
    text = paragraph(rng, [10] * 17)  # 170 words
    passages = check_invariants(Episode("bal", turns=[timed_turn(HOST, 0.0, 68.0, text)]))
    assert sorted(n_words(p.text) for p in passages) == [80, 90]


def test_split_happens_at_sentence_ends() -> None:
    rng = random.Random(2)
    sentences = [sentence(rng, n) for n in (25, 30, 20, 35, 28, 22)]
    passages = check_invariants(
        Episode("sent", turns=[timed_turn(HOST, 0.0, 64.0, " ".join(sentences))])
    )
    assert len(passages) == 2
    for p in passages:
        assert p.text.endswith(".")
        assert p.text[0].isupper()


@pytest.mark.parametrize(
    "sentence_lengths",
    [
        [279],  # no punctuation at all: cut into 60-word pieces
        [60, 60, 60, 60, 39],  # a greedy grouping made 120 + 159 here
        [35, 60, 26],  # ... and 35 + 86 here
        [37, 1, 51, 32, 2],
        [121],
        [150, 3],
        [1] * 130,
        [59, 2, 59, 2, 59, 2, 59],
    ],
)
def test_size_bounds_on_awkward_sentences(sentence_lengths: list[int]) -> None:
    rng = random.Random(3)
    ep = Episode("awk", turns=[timed_turn(HOST, 0.0, 200.0, paragraph(rng, sentence_lengths))])
    check_invariants(ep)


def test_group_keeps_word_counts() -> None:
    rng = random.Random(4)
    for _ in range(300):
        counts = [rng.randint(1, 60) for _ in range(rng.randint(1, 30))]
        groups = _group(counts, DEFAULT)
        assert sum(groups) == sum(counts)
        # Cuts fall on sentence ends: every prefix sum of groups is a prefix sum of counts.
        ends = {sum(counts[: k + 1]) for k in range(len(counts))}
        assert {sum(groups[: k + 1]) for k in range(len(groups))} <= ends


# --- short turns -------------------------------------------------------------------------

# The shape of the Podcasting 2.0 namespace's JSON transcript example: one word a segment.
SPEC_EXAMPLE = {
    "version": "1.0.0",
    "segments": [
        {"speaker": "Darth Vader", "startTime": 0.5, "endTime": 0.75, "body": "I"},
        {"speaker": "Darth Vader", "startTime": 0.75, "endTime": 1.0, "body": "am"},
        {"speaker": "Darth Vader", "startTime": 1.0, "endTime": 1.5, "body": "your"},
        {"speaker": "Darth Vader", "startTime": 1.5, "endTime": 2.0, "body": "father"},
        {"speaker": "Luke Skywalker", "startTime": 2.5, "endTime": 2.8, "body": "No!!"},
        {"speaker": "Luke Skywalker", "startTime": 3.0, "endTime": 3.5, "body": "That's"},
        {"speaker": "Luke Skywalker", "startTime": 3.5, "endTime": 4.0, "body": "impossible!"},
    ],
}


def test_an_episode_of_short_turns_has_passages() -> None:
    """Issue 19: the spec's own example (two turns of 4 and 3 words) had 0 passages."""
    episode = read_text(json.dumps(SPEC_EXAMPLE), "example.json").episode
    assert [n_words(t.text) for t in episode.turns] == [4, 3]
    passages = check_invariants(episode, ChunkConfig())
    assert [p.text for p in passages] == ["I am your father No!! That's impossible!"]
    p = passages[0]
    # Two speakers in one passage: the speaker is unknown rather than wrong.
    assert (p.speaker, p.speaker_source) == (None, None)
    assert (p.start, p.end, p.time_precision) == (0.5, 4.0, EXACT)


def test_a_dialogue_of_short_lines_is_grouped_into_sized_passages() -> None:
    rng = random.Random(15)
    turns = [
        timed_turn(SPEAKERS[i % 2], 3.0 * i, 3.0 * i + 2.5, sentence(rng, rng.randint(2, 7)))
        for i in range(60)
    ]
    passages = check_invariants(Episode("lines", turns=turns), ChunkConfig())
    assert sum(n_words(p.text) for p in passages) == sum(n_words(t.text) for t in turns)
    assert all(30 <= n_words(p.text) <= 100 for p in passages)
    # Each starts at its first turn's start and ends where the next passage starts.
    for a, b in itertools.pairwise(passages):
        assert a.start == turns[a.turn_index].start and a.end == b.start


def test_one_speakers_short_segments_group_without_crossing_speakers() -> None:
    """A source that cuts one person's speech into short segments: grouped by speaker; a
    backchannel between two long turns stays out of ranking."""
    rng = random.Random(16)
    host_segments = [timed_turn(HOST, 10.0 + i, 11.0 + i, sentence(rng, 5)) for i in range(8)]
    turns = [
        timed_turn(GUEST, 0.0, 10.0, sentence(rng, 40)),
        *host_segments,  # 40 words of the host in 8 turns of 5
        timed_turn(GUEST, 18.0, 19.0, "Yeah."),
        timed_turn(HOST, 19.0, 40.0, sentence(rng, 40)),
        timed_turn(GUEST, 40.0, 41.0, "Right, right."),
        timed_turn(HOST, 41.0, 60.0, sentence(rng, 40)),
    ]
    passages = check_invariants(Episode("segments", turns=turns), ChunkConfig())
    assert [p.turn_index for p in passages] == [0, 1, 10, 12]
    grouped = passages[1]
    assert grouped.speaker == HOST and n_words(grouped.text) == 40
    assert (grouped.start, grouped.end) == (10.0, 18.0)
    texts = " ".join(p.text for p in passages)
    assert "Yeah." not in texts and "Right, right." not in texts


# --- sentences ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Abbreviations and initials do not end a sentence (the old regex split all of them).
        ("I met Mr. Smith and Dr. Ambedkar in the U.S. Army. Then we left.", [11, 3]),
        ("He studied at St. Stephen's with J. R. D. Tata. So what?", [10, 2]),
        ("It was 3.5 percent, i.e. small. Right.", [6, 1]),
        ('He said, "Go home." And I went.', [4, 3]),
        ("so it was it was good you know and then", [10]),
        ("   ", []),
    ],
)
def test_sentence_word_counts(text: str, expected: list[int]) -> None:
    assert sentence_word_counts(text) == expected


def test_sentences_are_found_across_cues() -> None:
    """Captions end mid-sentence: a turn's cues are joined before its sentences are found,
    and a passage still starts at its first word's own time."""
    rng = random.Random(13)
    first = sentence(rng, 50)
    second = sentence(rng, 50)
    words = (first + " " + second).split()
    # Cues of 20 words each, cutting both sentences in the middle.
    cues = [" ".join(words[i : i + 20]) for i in range(0, len(words), 20)]
    turn = cue_turn(HOST, 10.0, cues, seconds_per_word=0.5)
    passages = check_invariants(Episode("across", turns=[turn]), ChunkConfig())
    assert [p.text for p in passages] == [first, second]
    # The second sentence starts at word 50, inside the third cue (words 40-59, from 30 s).
    assert passages[1].start == pytest.approx(10.0 + 50 * 0.5)
    assert passages[1].time_precision == INTERPOLATED


def test_an_over_long_sentence_is_cut_at_a_clause() -> None:
    rng = random.Random(14)
    head = sentence(rng, 55, end=",")
    tail = sentence(rng, 50).lower()
    text = f"{head} {tail}"  # one 105-word sentence with one comma, after word 55
    ep = Episode("clause", turns=[timed_turn(HOST, 0.0, 50.0, text)])
    passages = check_invariants(ep, ChunkConfig())  # 30..80: the sentence is too long
    assert [n_words(p.text) for p in passages] == [55, 50]
    assert passages[0].text.endswith(",")


def test_clause_cuts_without_a_clause_are_even() -> None:
    words = ["word"] * 170
    assert _clause_cuts(words, 80) == [57, 56, 57]
    words[69] = "word,"  # a comma after word 70: inside the first cut's window (43..70)
    assert _clause_cuts(words, 80)[0] == 70
    words[69], words[75] = "word", "word,"  # after word 76: too far from an even split
    assert _clause_cuts(words, 80)[0] == 57
    assert sum(_clause_cuts(words, 80)) == 170


# --- times ------------------------------------------------------------------------------


def test_cue_start_is_exact_and_inside_cue_interpolated() -> None:
    rng = random.Random(5)
    long_cue = paragraph(rng, [30, 30, 30, 30, 30, 30])  # 180 words, one cue
    turn = Turn(HOST, 100.0, 172.0, long_cue, EXACT, None, [Cue(100.0, 172.0, long_cue)])
    passages = check_invariants(Episode("cue", turns=[turn]))
    assert len(passages) == 2
    first, second = passages
    assert (first.start, first.time_precision) == (100.0, EXACT)
    assert second.time_precision == INTERPOLATED
    assert second.start == pytest.approx(100.0 + 72.0 * second.word_offset / 180)
    assert first.end == pytest.approx(second.start)
    assert second.end == 172.0


def test_passage_at_a_cue_boundary_takes_the_cue_time() -> None:
    rng = random.Random(6)
    cues = [paragraph(rng, [30, 30, 30, 30]), paragraph(rng, [30, 30, 30, 30])]
    turn = cue_turn(GUEST, 50.0, cues, seconds_per_word=0.5)
    passages = check_invariants(Episode("cues", turns=[turn]))
    assert [p.word_offset for p in passages] == [0, 120]
    assert [(p.start, p.time_precision) for p in passages] == [(50.0, EXACT), (110.0, EXACT)]
    assert passages[0].end == 110.0 and passages[1].end == 170.0


def test_cues_without_ends_use_the_next_cue_start() -> None:
    rng = random.Random(9)
    cues = [paragraph(rng, [30, 30, 30, 30]), paragraph(rng, [40, 40, 40])]
    turn = cue_turn(GUEST, 0.0, cues, seconds_per_word=1.0, drop_cue_ends=True)
    assert turn.end == 240.0
    assert [c.end for c in turn.cues] == [None, None]
    passages = check_invariants(Episode("noends", turns=[turn]))
    assert [(p.start, p.time_precision) for p in passages] == [(0.0, EXACT), (120.0, EXACT)]
    assert [p.end for p in passages] == [120.0, 240.0]


def test_turn_with_start_and_no_end_gets_estimated_times() -> None:
    rng = random.Random(10)
    text = paragraph(rng, [25, 25, 25, 25, 25, 25, 25, 25])  # 200 words
    ep = Episode(
        "open",
        turns=[
            timed_turn(HOST, 0.0, 30.0, paragraph(rng, [20])),
            timed_turn(GUEST, 40.0, None, text),
        ],
    )
    passages = check_invariants(ep)
    own = [p for p in passages if p.turn_index == 1]
    assert len(own) == 2
    assert (own[0].start, own[0].time_precision) == (40.0, EXACT)
    assert own[1].time_precision == ESTIMATED
    assert own[1].start == pytest.approx(40.0 + own[1].word_offset / WORDS_PER_SECOND)
    assert own[1].end is not None and own[1].end > own[1].start


def test_turn_with_start_and_no_end_before_a_timed_turn_is_interpolated() -> None:
    rng = random.Random(11)
    text = paragraph(rng, [25] * 8)  # 200 words
    ep = Episode(
        "mid",
        turns=[
            timed_turn(HOST, 10.0, None, text),
            timed_turn(GUEST, 90.0, 99.0, paragraph(rng, [12])),
        ],
    )
    own = [p for p in check_invariants(ep) if p.turn_index == 0]
    assert own[1].time_precision == INTERPOLATED
    assert own[1].start == pytest.approx(10.0 + 80.0 * own[1].word_offset / 200)


def test_untimed_turns_have_no_times() -> None:
    rng = random.Random(12)
    ep = Episode(
        "untimed",
        turns=[
            untimed_turn(None, paragraph(rng, [40, 50, 60, 30])),
            untimed_turn(HOST, paragraph(rng, [15])),
        ],
    )
    passages = check_invariants(ep)
    assert len(passages) == 3
    for p in passages:
        assert (p.start, p.end, p.time_precision) == (None, None, UNTIMED)


def test_ids_stable_across_equal_episodes(make_episode: MakeEpisode) -> None:
    a = chunk_episode(make_episode("same", seed=3))
    b = chunk_episode(make_episode("same", seed=3))
    assert [p.id for p in a] == [p.id for p in b]
    other = chunk_episode(make_episode("other", seed=3))
    assert not {p.id for p in a} & {p.id for p in other}


# --- property-style: random episodes -----------------------------------------------------


@dataclass
class Style:
    name: str
    sentence_range: tuple[int, int]


STYLES = [
    Style("chatty", (1, 12)),
    Style("normal", (5, 40)),
    Style("rambling", (30, 150)),
    Style("unpunctuated", (0, 0)),  # one sentence for the whole turn
]


def random_text(rng: random.Random, length: int) -> str:
    style = rng.choice(STYLES)
    if style.name == "unpunctuated":
        return sentence(rng, length, end="")
    lengths: list[int] = []
    left = length
    while left > 0:
        n = min(left, rng.randint(*style.sentence_range))
        lengths.append(n)
        left -= n
    return paragraph(rng, lengths)


def random_cues(rng: random.Random, text: str) -> list[str]:
    """The turn's words cut at random places (captions do not follow sentences)."""
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        n = rng.randint(1, 40)
        out.append(" ".join(words[i : i + n]))
        i += n
    return out


def random_episode(rng: random.Random, episode_id: str) -> Episode:
    turns: list[Turn] = []
    t = rng.uniform(0.0, 600.0)
    for _ in range(rng.randint(1, 10)):
        speaker = rng.choice([*SPEAKERS, None])
        length = rng.choice(
            [rng.randint(1, 10), rng.randint(8, 130), rng.randint(100, 420), rng.randint(400, 900)]
        )
        text = random_text(rng, length)
        kind = rng.choice(["cues", "cues-no-end", "turn", "start-only", "untimed"])
        duration = length * rng.uniform(0.2, 0.6)
        if kind == "untimed":
            turns.append(untimed_turn(speaker, text))
            continue
        if kind in ("cues", "cues-no-end"):
            turns.append(
                cue_turn(
                    speaker,
                    t,
                    random_cues(rng, text),
                    seconds_per_word=duration / length,
                    drop_cue_ends=kind == "cues-no-end",
                )
            )
        else:
            turns.append(
                timed_turn(speaker, t, None if kind == "start-only" else t + duration, text)
            )
        t += duration + rng.choice([0.0, rng.uniform(0.0, 5.0)])
    return Episode(episode_id, turns=turns)


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.min_words}-{c.max_words}")
def test_invariants_on_random_episodes(cfg: ChunkConfig) -> None:
    rng = random.Random(20240501 + cfg.max_words)
    n_passages = 0
    for k in range(60):  # 3 configs x 60 = 180 generated episodes
        ep = random_episode(rng, f"rand{k}")
        n_passages += len(check_invariants(ep, cfg))
    assert n_passages > 100  # the generator does produce work
