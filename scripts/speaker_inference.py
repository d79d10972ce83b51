#!/usr/bin/env python3
"""How often are speakers inferred for merged text right? A measurement on labelled episodes.

Usage:
  python scripts/speaker_inference.py [--corpus DIR] [--episodes E41,E42,...] [--preview 0.3]

For each episode (a speaker-labelled WebVTT of the shared corpus) it makes the two sources the
seeds are: a labelled preview (the first ``--preview`` share of its turns, marked truncated) and
an unlabelled, untimed full text (the words alone, a line per sentence). It merges them as
``podsearch index`` does and compares, word by word, the speaker given to the text past the
preview with the episode's own label. Printed for each posterior a speaker must reach to be
named (``episodes.alignment.INFER_MIN``): words past the preview, the share named ("inferred")
and the share of those that are right, then the same for the guesses ("likely",
``episodes.alignment.GUESS_MIN``) given to the rest.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from podsearch.core.models import LIKELY, UNTIMED, Episode, Turn
from podsearch.core.text import split_sentences
from podsearch.episodes import alignment
from podsearch.episodes.merging import merge_episodes
from podsearch.ingest.readers import read_file

CORPUS = (
    Path(__file__).resolve().parents[2] / "shared" / "corpora" / "seenunseen" / "transcripts_vtt"
)


def sources(path: Path, preview: float) -> tuple[Episode, Episode, list[str], int]:
    """(labelled preview, unlabelled full text, each word's true speaker, preview's words)."""
    ep = read_file(path).episode
    truth = [t.speaker or "" for t in ep.turns for _ in t.text.split()]
    cut = max(1, int(len(ep.turns) * preview))
    head = copy.deepcopy(ep)
    head.id, head.turns, head.truncated, head.sources = "preview", head.turns[:cut], True, ["a"]
    text = " ".join(t.text for t in ep.turns)
    full = copy.deepcopy(ep)
    full.id, full.sources = "asr", ["b"]
    full.turns = [Turn(None, None, None, s, UNTIMED) for s in split_sentences(text) or [text]]
    return head, full, truth, sum(len(t.text.split()) for t in head.turns)


def measure(path: Path, preview: float, threshold: float) -> tuple[int, int, int, int, int]:
    """(words past the preview, inferred, inferred right, guessed "likely", guessed right) at
    posterior ``threshold``."""
    head, full, truth, skip = sources(path, preview)
    saved = alignment.INFER_MIN
    alignment.INFER_MIN = threshold
    try:
        merged = merge_episodes([head, full])
    finally:
        alignment.INFER_MIN = saved
    words = [(t.speaker, t.speaker_source) for t in merged.turns for _ in t.text.split()]
    if len(words) != len(truth):
        raise SystemExit(f"{path.name}: {len(words)} merged words for {len(truth)}")
    tail = list(zip(words[skip:], truth[skip:], strict=True))
    named = [(s, t) for (s, src), t in tail if s and src != LIKELY]
    likely = [(s, t) for (s, src), t in tail if s and src == LIKELY]
    return (
        len(tail),
        len(named),
        sum(s == t for s, t in named),
        len(likely),
        sum(s == t for s, t in likely),
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--episodes", default="E41,E44,E47,E50,E53,E56,E59,E62,E65,E68")
    ap.add_argument("--preview", type=float, default=0.3)
    ap.add_argument("--thresholds", default="0.8,0.6,0.5,0.0", help="posteriors to name at")
    a = ap.parse_args()
    if not a.corpus.is_dir():
        print(f"no corpus at {a.corpus}: give --corpus", file=sys.stderr)
        return 2
    print(f"{'posterior >=':>12} {'words':>8} {'named':>7} {'right':>7} {'likely':>7} {'right':>7}")
    for threshold in [float(x) for x in a.thresholds.split(",")]:
        sums = [0, 0, 0, 0, 0]
        for name in a.episodes.split(","):
            got = measure(a.corpus / f"{name}.mp3.vtt", a.preview, threshold)
            sums = [x + y for x, y in zip(sums, got, strict=True)]
        total, named, right, likely, likely_right = sums
        print(
            f"{threshold:>12.2f} {total:>8,} {named / max(total, 1):>7.1%} "
            f"{right / max(named, 1):>7.1%} {likely / max(total, 1):>7.1%} "
            f"{likely_right / max(likely, 1):>7.1%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
