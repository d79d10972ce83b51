"""Same-episode detection and the merge of several sources of one episode."""

from __future__ import annotations

import random
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from podsearch.core.models import (
    ALIGNED,
    ESTIMATED,
    EXACT,
    INFERRED,
    INTERPOLATED,
    LABELLED,
    LIKELY,
    UNTIMED,
    Cue,
    Episode,
    Person,
    Turn,
)
from podsearch.episodes.alignment import align, tokens
from podsearch.episodes.chunking import chunk_episode
from podsearch.episodes.detection import group_same_episodes, match_score, sketch
from podsearch.episodes.merging import merge_episodes
from podsearch.ingest.readers import read_file

SHARED = Path(__file__).parents[3] / "shared"
CORPUS = SHARED / "corpora" / "seenunseen" / "transcripts_vtt"
HOST, GUEST = "Theo Jaffee", "Clément Delangue"

# Host and guest draw from different words, as real speakers differ in what they say.
COMMON = [f"c{i}" for i in range(400)]
HOST_WORDS = [f"h{i}" for i in range(150)]
GUEST_WORDS = [f"g{i}" for i in range(600)]


def _sentence(rng: random.Random, own: list[str], n: int, end: str) -> str:
    words = [rng.choice(own if rng.random() < 0.4 else COMMON) for _ in range(n)]
    return " ".join(words).capitalize() + end


def conversation(seed: int = 0, turns: int = 24) -> list[tuple[str, list[str]]]:
    """(speaker, sentences): the host asks (last sentence a question), the guest answers."""
    rng = random.Random(seed)
    out = []
    for k in range(turns):
        if k % 2 == 0:
            lead = [_sentence(rng, HOST_WORDS, rng.randint(8, 14), ".") for _ in range(1)]
            out.append((HOST, [*lead, _sentence(rng, HOST_WORDS, rng.randint(8, 12), "?")]))
        else:
            n = rng.randint(5, 9)
            out.append(
                (GUEST, [_sentence(rng, GUEST_WORDS, rng.randint(10, 18), ".") for _ in range(n)])
            )
    return out


def timed_labelled(conv: list[tuple[str, list[str]]], keep_turns: int, **meta: object) -> Episode:
    """The podcast host's source: speakers and exact times, truncated after ``keep_turns``."""
    turns, t = [], 0.0
    for speaker, sentences in conv[:keep_turns]:
        text = " ".join(sentences)
        dur = len(text.split()) / 2.5
        turns.append(Turn(speaker, t, t + dur, text, EXACT, LABELLED))
        t += dur
    turns[-1].end = None
    fields: dict = {
        "title": "Clem Delangue on open models",
        "podcast": "The a16z Show",
        "published": "2026-05-22",
        "people": [Person(GUEST), Person(HOST)],
        "truncated": keep_turns < len(conv),
    }
    fields.update(meta)
    return Episode(id="labelled", sources=["/t/labelled.md"], turns=turns, **fields)


def untimed_plain(
    conv: list[tuple[str, list[str]]], *, typo_every: int = 0, **meta: object
) -> Episode:
    """A transcription service's source: one line per sentence, no speakers, no times, and
    optionally an ASR substitution every ``typo_every`` words."""
    lines = [s for _, sentences in conv for s in sentences]
    if typo_every:
        n = 0
        for i, line in enumerate(lines):
            words = line.split()
            for j in range(len(words)):
                n += 1
                if n % typo_every == 0:
                    words[j] = "zz" + words[j]
            lines[i] = " ".join(words)
    cues = [Cue(None, None, x) for x in lines]
    turn = Turn(None, None, None, " ".join(lines), UNTIMED, None, cues)
    fields: dict = {"title": "Clem DeLong: open models", "podcast": "a16z Podcast"}
    fields.update(meta)
    return Episode(id="plain", sources=["/t/plain.md"], turns=[turn], **fields)


def words_of(ep: Episode) -> list[str]:
    return tokens(" ".join(t.text for t in ep.turns))


# Alignment -------------------------------------------------------------------------------


def test_align_pairs_asr_substitutions_and_leaves_the_tail_unpaired() -> None:
    a = "the idea is to untie everyone otherwise you slow down progress and we lose".split()
    b = "the idea is to untie everyone otherwise you blow down progress and we lose all of it"
    pairs = align(a, b.split())
    assert (8, 8) in pairs  # "slow" / "blow"
    assert pairs[-1] == (len(a) - 1, len(a) - 1)  # nothing of b's tail is paired
    assert [i for i, _ in pairs] == sorted({i for i, _ in pairs})


def test_align_long_texts_anchor_on_unique_shingles() -> None:
    conv = conversation(3, turns=40)
    a = words_of(timed_labelled(conv, 40))
    b = words_of(untimed_plain(conv, typo_every=9))
    pairs = align(a, b)
    assert len(pairs) >= 0.98 * len(a)
    assert all(i == j for i, j in pairs)  # same length texts: every pair on the diagonal


# Merge -------------------------------------------------------------------------------------


@pytest.fixture
def pair() -> tuple[Episode, Episode, list[tuple[str, list[str]]]]:
    conv = conversation(1)
    return timed_labelled(conv, 12), untimed_plain(conv, typo_every=11), conv


def test_constructed_sources_are_the_same_episode(pair) -> None:
    labelled, plain, _ = pair
    result = match_score(labelled, plain)
    assert result.is_same, result.reasons
    assert [len(g) for g in group_same_episodes([plain, labelled])] == [2]


def test_merge_keeps_labelled_turns_and_adds_the_tail_once(pair) -> None:
    labelled, plain, conv = pair
    merged = merge_episodes([plain, labelled])
    assert merged.id == labelled.id
    assert set(merged.sources) == {"/t/labelled.md", "/t/plain.md"}
    assert merged.truncated is False
    assert merged.title == labelled.title and merged.podcast == labelled.podcast
    # The labelled source's turns come first, untouched.
    for t, orig in zip(merged.turns, labelled.turns, strict=False):
        assert (t.speaker, t.start, t.text, t.speaker_source) == (
            orig.speaker,
            orig.start,
            orig.text,
            LABELLED,
        )
    # Every word of the episode once: the labelled part plus the plain source's tail.
    tail_words = sum(len(" ".join(s).split()) for _, s in conv[12:])
    assert merged.word_count == labelled.word_count + tail_words
    texts = [p.text for p in chunk_episode(merged)]
    assert len(texts) == len(set(texts))


def test_tail_times_are_estimated_and_increase(pair) -> None:
    labelled, plain, _ = pair
    merged = merge_episodes([labelled, plain])
    tail = merged.turns[len(labelled.turns) :]
    assert tail and all(t.time_precision == ESTIMATED for t in tail)
    starts = [t.start for t in merged.turns]
    assert all(s is not None for s in starts)
    assert starts == sorted(starts)
    assert tail[0].start > labelled.turns[-1].start
    # The speaking rate was measured on the aligned part: 2.5 words a second.
    last = labelled.turns[-1]
    expected = last.start + len(last.text.split()) / 2.5
    assert tail[0].start == pytest.approx(expected, abs=3.0)
    for p in chunk_episode(merged):
        if p.turn_index >= len(labelled.turns):
            assert p.start is not None and p.time_precision == ESTIMATED


def test_tail_speakers_are_inferred_guessed_or_left_unknown(pair) -> None:
    labelled, plain, conv = pair
    merged = merge_episodes([labelled, plain])
    truth = {s: spk for spk, sentences in conv for s in sentences}
    tail = merged.turns[len(labelled.turns) :]
    inferred = [t for t in tail if t.speaker_source == INFERRED]
    likely = [t for t in tail if t.speaker_source == LIKELY]
    assert all(t.speaker for t in inferred + likely)
    assert all(t.speaker is None and t.speaker_source is None for t in tail if not t.speaker)
    assert inferred, "the question/answer structure should name some speakers"
    # Speakers are checked cue by cue against the conversation: inferred ones are right,
    # guesses mostly.
    plain_lines = [c.text for c in plain.turns[0].cues]
    original = dict(zip(plain_lines, [s for _, ss in conv for s in ss], strict=True))
    for turns, wrong in ((inferred, 0.05), (likely, 0.35)):
        checked = Counter()
        for t in turns:
            for cue in t.cues:
                checked[t.speaker == truth[original[cue.text]]] += 1
        assert checked[False] <= wrong * sum(checked.values())
    assert sum(len(t.cues) for t in inferred) >= 10


def test_times_carry_from_a_timed_unlabelled_source() -> None:
    conv = conversation(2, turns=10)
    labelled = untimed_plain(conv)  # untimed, then given speakers per line
    lines = [(spk, s) for spk, ss in conv for s in ss]
    labelled.turns = [Turn(spk, None, None, s, UNTIMED, LABELLED) for spk, s in lines]
    timed = timed_labelled(conv, 10)
    for t in timed.turns:
        t.speaker, t.speaker_source = None, None
    timed.turns[-1].end = timed.turns[-1].start + 20
    merged = merge_episodes([timed, labelled])
    assert merged.id == labelled.id  # real names win the base
    assert all(t.speaker_source == LABELLED for t in merged.turns)
    timed_turns = [t for t in merged.turns if t.start is not None]
    assert len(timed_turns) >= 0.9 * len(merged.turns)
    assert all(t.time_precision == INTERPOLATED for t in timed_turns)
    starts = [t.start for t in timed_turns]
    assert starts == sorted(starts)


def test_speakers_carry_onto_unlabelled_base_text() -> None:
    conv = conversation(4, turns=10)
    timed = timed_labelled(conv, 10, people=[])
    for t in timed.turns:
        t.speaker, t.speaker_source = None, None
    anon = timed_labelled(conv, 10, people=[])
    for t in anon.turns:  # diarized but anonymous, and without times
        t.speaker = "SPEAKER_00" if t.speaker == HOST else "SPEAKER_01"
        t.start = t.end = None
        t.time_precision = UNTIMED
    anon.id = "anon"
    merged = merge_episodes([anon, timed])
    assert merged.id == "labelled"  # times win when no source has real names
    assert [t.speaker for t in merged.turns] == [
        "SPEAKER_00" if spk == HOST else "SPEAKER_01" for spk, _ in conv
    ]
    assert all(t.speaker_source == ALIGNED for t in merged.turns)


def test_two_untimed_sources_invent_no_times() -> None:
    conv = conversation(5, turns=12)
    a = untimed_plain(conv[:8])
    a.turns = [Turn(spk, None, None, " ".join(ss), UNTIMED, LABELLED) for spk, ss in conv[:8]]
    b = untimed_plain(conv)
    merged = merge_episodes([a, b])
    assert all(t.start is None and t.time_precision == UNTIMED for t in merged.turns)
    assert merged.word_count == b.word_count


# Never merging different episodes ---------------------------------------------------------


def test_same_text_with_different_dates_is_two_episodes(pair) -> None:
    labelled, plain, _ = pair
    plain.published = "2026-06-05"
    result = match_score(labelled, plain)
    assert not result.is_same and "different dates" in result.reasons[0]
    assert len(group_same_episodes([labelled, plain])) == 2


def test_shared_intro_and_outro_do_not_make_one_episode() -> None:
    rng = random.Random(9)
    intro = " ".join(_sentence(rng, COMMON, 15, ".") for _ in range(10))
    outro = " ".join(_sentence(rng, COMMON, 15, ".") for _ in range(6))
    episodes = []
    for k in range(4):
        body = " ".join(" ".join(ss) for _, ss in conversation(100 + k, turns=6))
        text = f"{intro} {body} {outro}"
        episodes.append(
            Episode(
                id=f"e{k}",
                podcast="The Show",
                turns=[Turn("Amit Varma", 0.0, None, text, EXACT, LABELLED)],
            )
        )
    for a, b in [(episodes[0], episodes[1]), (episodes[2], episodes[3])]:
        assert not match_score(a, b).is_same
    assert all(len(g) == 1 for g in group_same_episodes(episodes))


def test_a_short_clip_of_boilerplate_merges_with_nothing() -> None:
    rng = random.Random(10)
    intro = " ".join(_sentence(rng, COMMON, 15, ".") for _ in range(12))
    body = " ".join(" ".join(ss) for _, ss in conversation(11))
    long = Episode(id="long", turns=[Turn(None, None, None, f"{intro} {body}", UNTIMED)])
    clip = Episode(id="clip", turns=[Turn(None, None, None, intro, UNTIMED)])
    assert not match_score(long, clip).is_same  # 180 words in common: text alone is too little


def test_grouping_with_stored_sketches_equals_sketching(pair) -> None:
    labelled, plain, _ = pair
    episodes = [labelled, plain]
    stored = [sketch(e) for e in episodes]
    with_stored = group_same_episodes(episodes, stored)
    assert [[id(e) for e in g] for g in with_stored] == [
        [id(e) for e in g] for g in group_same_episodes(episodes)
    ]
    assert [len(g) for g in with_stored] == [2]
    with pytest.raises(ValueError, match="1 sketches for 2 episodes"):
        group_same_episodes(episodes, stored[:1])


# Real files ----------------------------------------------------------------------------------


def _seed_paths() -> list[Path]:
    bundled = resources.files("podsearch") / "data" / "sample"
    paths = sorted(Path(str(p)) for p in bundled.iterdir() if p.name.endswith(".txt"))
    if len(paths) == 2:
        return paths
    if not (SHARED / "seeds").is_dir():
        pytest.skip(f"no seed files: neither the bundled sample nor {SHARED / 'seeds'}")
    return sorted((SHARED / "seeds").glob("*.txt"))


def test_the_seeds_merge_into_one_episode() -> None:
    a, b = (read_file(p).episode for p in _seed_paths())
    groups = group_same_episodes([a, b])
    assert [len(g) for g in groups] == [2]
    merged = merge_episodes(groups[0])
    assert len(merged.sources) == 2 and merged.truncated is False
    assert merged.title and "Hugging Face" in merged.title
    passages = chunk_episode(merged)
    texts = [p.text for p in passages]
    assert len(texts) == len(set(texts))
    hits = [p for p in passages if "conversations about distillation" in p.text]
    assert len(hits) == 1
    hit = hits[0]
    assert hit.speaker == "Clément Delangue"
    assert hit.speaker_source in (INFERRED, ALIGNED)
    assert hit.start is not None and hit.time_precision == ESTIMATED
    last_labelled = max(t.start for t in merged.turns if t.time_precision == EXACT)
    assert hit.start > last_labelled
    # The labelled part is kept as it is: Theo's question on Claude Mythos is his.
    mythos = [p for p in passages if "Claude Mythos" in p.text]
    assert mythos and all(p.speaker == "Theo Jaffee" for p in mythos)
    assert all(p.speaker_source == LABELLED for p in mythos)


@pytest.mark.slow
def test_real_episodes_of_one_show_never_merge() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus absent: {CORPUS}")
    # Neighbouring episode numbers: one host, same intro and outro, related topics.
    names = ["E01.mp3.vtt", "E02.mp3.vtt", "E03.mp3.vtt", "E08.mp3.vtt", "E10.mp3.vtt"]
    names.append("E100.mp3.vtt" if (CORPUS / "E100.mp3.vtt").exists() else "E101.mp3.vtt")
    episodes = [read_file(CORPUS / n).episode for n in names]
    assert all(len(g) == 1 for g in group_same_episodes(episodes))
    for i, a in enumerate(episodes):
        for b in episodes[i + 1 :]:
            result = match_score(a, b)
            assert not result.is_same and result.score < 0.2, result.reasons


def test_episodes_rebuilt_from_stored_rows_group_and_merge(pair) -> None:
    from podsearch.pipeline.rows import episode_from_rows, episode_row, turn_rows

    labelled, plain, _ = pair
    stored = episode_from_rows(episode_row(plain, ["h"]), turn_rows(plain))
    assert stored.sources == plain.sources and stored.turns == plain.turns
    assert [len(g) for g in group_same_episodes([labelled, stored])] == [2]
    a = merge_episodes([labelled, stored])
    b = merge_episodes([labelled, plain])
    assert [(t.speaker, t.text) for t in a.turns] == [(t.speaker, t.text) for t in b.turns]
