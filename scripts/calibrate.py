#!/usr/bin/env python3
"""Show how question-passage cosines separate answerable from off-topic questions.

Usage:
  python scripts/calibrate.py QUERIES.jsonl --index DIR [--offtopic FILE]

--offtopic defaults to scripts/data/offtopic_questions.txt.

For the answerable queries it prints the cosine of the first correct hit (scripts/eval.py's
rules); for the negative queries and the off-topic list, the cosine of the top hit. The
threshold `podsearch.search.CONFIDENT_FUSED` (hybrid mode) should sit between the two distributions.
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

from podsearch.query.rank import CONFIDENT_FUSED, search
from podsearch.store.index import Index

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("queries")
    ap.add_argument("--index", required=True)
    ap.add_argument("--offtopic", default=str(HERE / "data" / "offtopic_questions.txt"))
    a = ap.parse_args()
    index = Index(a.index)
    queries = [json.loads(line) for line in open(a.queries) if line.strip()]
    offtopic = [line.strip() for line in open(a.offtopic) if line.strip()]
    positive, negative = [], []
    for q in queries:
        hits = [h.as_json() for h in search(index, q["query"], top=10).hits]
        if not q.get("episode"):
            negative.append((hits[0]["score"] if hits else 0.0, q["query"]))
            continue
        correct = next((h for h in hits if is_correct(h, q)), None)
        if correct:
            positive.append((correct["score"], q["query"]))
    for question in offtopic:
        hits = search(index, question, top=1).hits
        negative.append((hits[0].score if hits else 0.0, question))
    positive.sort()
    negative.sort()
    print(f"answerable, first correct hit ({len(positive)}):")
    p10 = positive[len(positive) // 10][0]
    median = statistics.median(p for p, _ in positive)
    print(f"  min {positive[0][0]:.3f}  p10 {p10:.3f}  median {median:.3f}")
    print(f"off-topic, top hit ({len(negative)}):")
    p90 = negative[int(len(negative) * 0.9)][0]
    median = statistics.median(n for n, _ in negative)
    print(f"  max {negative[-1][0]:.3f}  p90 {p90:.3f}  median {median:.3f}")
    for score, q in negative[-3:]:
        print(f"    {score:.3f}  {q}")
    below = sum(1 for p, _ in positive if p < CONFIDENT_FUSED)
    above = sum(1 for n, _ in negative if n >= CONFIDENT_FUSED)
    print(
        f"CONFIDENT_FUSED = {CONFIDENT_FUSED}: {below} answerable below it, "
        f"{above} off-topic at or above it"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
