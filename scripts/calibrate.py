#!/usr/bin/env python3
"""Show how the confidence bar separates answerable from off-topic questions.

Usage:
  python scripts/calibrate.py [QUERIES.jsonl] --index DIR [--offtopic FILE]

--offtopic defaults to scripts/data/offtopic_questions.txt. QUERIES may be left out (a big
library with no written questions: only the off-topic side is measured).
scripts/data/aside_questions.jsonl holds questions about asides (passages unlike the rest of
their episode) of the held-out sets' episodes, E100-E140 and E150-E190: what the episode
floor costs.

For the answerable queries it prints the score of the first correct hit (scripts/eval.py's
rules) and its episode's mean cosine to the question (``store.episode_means``); for the
negative queries and the off-topic list, the same of the top hit. Then how many answerable
questions' correct hits are confident and how many off-topic questions have a confident hit
in their top 10 (``query.rank``: CONFIDENT_FUSED, and ON_TOPIC unless CONFIDENT_ANYWAY).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval import is_correct

from podsearch.embed.factory import load_query_embedder
from podsearch.query.rank import CONFIDENT_ANYWAY, CONFIDENT_FUSED, ON_TOPIC, search
from podsearch.store.index import Index

HERE = Path(__file__).resolve().parent


def _on_topic(index: Index, embedder: object, question: str, episode_id: str) -> float:
    means = index.episode_means
    if not means or episode_id not in means:
        return float("nan")
    return float(means[episode_id] @ embedder.encode([question])[0])  # type: ignore[attr-defined]


def _spread(values: list[float]) -> str:
    v = sorted(values)
    if not v:
        return "none"
    return (
        f"min {v[0]:.3f}  p10 {v[len(v) // 10]:.3f}  median {statistics.median(v):.3f}  "
        f"p90 {v[int(len(v) * 0.9)]:.3f}  max {v[-1]:.3f}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("queries", nargs="?")
    ap.add_argument("--index", required=True)
    ap.add_argument("--offtopic", default=str(HERE / "data" / "offtopic_questions.txt"))
    a = ap.parse_args()
    index = Index(a.index)
    embedder = load_query_embedder(index.model)
    queries = [json.loads(line) for line in open(a.queries) if line.strip()] if a.queries else []
    offtopic = [line.strip() for line in open(a.offtopic) if line.strip()]
    positive, negative = [], []  # (score, episode mean, confident, question)
    for q in queries:
        result = search(index, q["query"], top=10)
        if not q.get("episode"):
            offtopic.append(q["query"])
            continue
        h = next((h for h in result.hits if is_correct(h.as_json(), q)), None)
        if h is not None:  # the question as searched: a speaker it names taken out
            on = _on_topic(index, embedder, result.query, h.episode_id)
            positive.append((h.score, on, h.confident, q["query"]))
    for question in offtopic:
        result = search(index, question, top=10)
        hits = result.hits
        if hits:
            on = _on_topic(index, embedder, result.query, hits[0].episode_id)
            confident = any(h.confident for h in hits)
            negative.append((hits[0].score, on, confident, question))
    print(f"{index.manifest['counts']['passages']:,} passages")
    print(f"answerable, first correct hit ({len(positive)}):")
    print(f"  score        {_spread([p[0] for p in positive])}")
    print(f"  episode mean {_spread([p[1] for p in positive])}")
    print(f"off-topic, top hit ({len(negative)}):")
    print(f"  score        {_spread([n[0] for n in negative])}")
    print(f"  episode mean {_spread([n[1] for n in negative])}")
    for score, on, confident, q in sorted(negative)[-3:]:
        print(f"    {score:.3f} (episode {on:.3f}{', confident' if confident else ''})  {q}")
    print(
        f"CONFIDENT_FUSED {CONFIDENT_FUSED}, ON_TOPIC {ON_TOPIC}, CONFIDENT_ANYWAY "
        f"{CONFIDENT_ANYWAY}: {sum(not p[2] for p in positive)} of {len(positive)} answerable "
        f"not confident, {sum(n[2] for n in negative)} of {len(negative)} off-topic confident"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
