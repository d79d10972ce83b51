#!/usr/bin/env python3
"""Check same-episode detection: no merges among a corpus of distinct episodes, seeds merged.

Usage:
  python scripts/check_merges.py [FOLDER] [--seeds DIR]

Reads every transcript under FOLDER (default ../shared/corpora/seenunseen/transcripts_vtt,
309 different episodes of one show) and the two seed files (two sources of one episode),
groups them all with ``podsearch.episodes.detection.group_same_episodes`` and prints the number of
merges among the corpus files, whether the seeds merged, and how long reading and detection
took. Exits with status 1 when a corpus file merged or the seeds did not.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from podsearch.core.errors import ReaderError
from podsearch.episodes.detection import group_same_episodes, match_score
from podsearch.ingest.files import iter_files
from podsearch.ingest.readers import read_file

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FOLDER = ROOT.parent / "shared" / "corpora" / "seenunseen" / "transcripts_vtt"
DEFAULT_SEEDS = ROOT.parent / "shared" / "seeds"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default=str(DEFAULT_FOLDER))
    ap.add_argument("--seeds", default=str(DEFAULT_SEEDS), help="folder of the seed files")
    args = ap.parse_args()

    t0 = time.perf_counter()
    corpus, failed = [], 0
    for path in iter_files([args.folder]):
        try:
            corpus.append(read_file(path).episode)
        except ReaderError as e:
            failed += 1
            print(f"skipped {path}: {e.problem}", file=sys.stderr)
    seeds = [read_file(p).episode for p in sorted(Path(args.seeds).glob("*.txt"))]
    read_s = time.perf_counter() - t0
    words = sum(e.word_count for e in corpus + seeds)

    t1 = time.perf_counter()
    groups = group_same_episodes(corpus + seeds)
    detect_s = time.perf_counter() - t1

    corpus_ids = {id(e) for e in corpus}
    seed_ids = {id(e) for e in seeds}
    corpus_merges = 0
    seeds_merged = False
    for g in groups:
        members = {id(e) for e in g}
        n_corpus = len(members & corpus_ids)
        if n_corpus > 1 or (n_corpus and members & seed_ids):
            corpus_merges += len(g) - 1
            print("MERGED: " + ", ".join(Path(e.sources[0]).name for e in g))
        if seed_ids and seed_ids <= members:
            seeds_merged = True

    print(f"corpus files read: {len(corpus)} ({failed} unreadable), seeds: {len(seeds)}")
    print(f"words: {words}")
    print(f"merges among corpus files: {corpus_merges}")
    if len(seeds) == 2:
        print(f"seeds merged: {'yes' if seeds_merged else 'no'}")
        result = match_score(*seeds)
        print(f"seed match: score {result.score}; " + "; ".join(result.reasons))
    print(f"reading took {read_s:.1f} s; detection took {detect_s:.1f} s")
    return 0 if corpus_merges == 0 and (seeds_merged or len(seeds) != 2) else 1


if __name__ == "__main__":
    raise SystemExit(main())
